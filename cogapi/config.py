"""The config file: a public contract, validated completely before any AWS call.

Parsing is pure: `load_config(path)` reads YAML, validates it with pydantic (types, unknown keys,
enums) and then with `_cross_checks` (rules that span keys: route scopes allowed by the client,
implicit flow on a secret-holding client, ...). Every problem becomes one `(key.path, what)` pair in
a `ConfigError`, so the CLI prints `error: <file>: <key.path>: <what is wrong>` and exits 2.

Defaults that depend on other keys (`<name>-user-pool`, `<function name>-role`, ...) are filled in
by `Config.resolved()` so the rest of the program never sees a `None` name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cogapi.errors import ConfigError

DEFAULT_PATH = "cogapi.yaml"
PREFIX_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_IN_PREFIX = ("aws", "amazon", "cognito")
SUPPORTED_RUNTIMES = ("python3.14", "python3.13", "python3.12", "python3.11")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
STANDARD_SCOPES = ("openid", "email", "phone", "profile", "aws.cognito.signin.user.admin")
STANDARD_ATTRIBUTES = (
    "address", "birthdate", "email", "family_name", "gender", "given_name", "locale",
    "middle_name", "name", "nickname", "phone_number", "picture", "preferred_username",
    "profile", "updated_at", "website", "zoneinfo",
)  # fmt: skip
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$"
DURATION_RE = re.compile(r"^(\d+)\s*(m|min|h|d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration_minutes(value: str | int) -> int:
    """'90m' / '1h' / '30d' -> minutes. A bare integer is minutes."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 60m, 1h or 30d")
    if isinstance(value, int) or str(value).strip().isdigit():
        return int(value)
    m = DURATION_RE.match(str(value).strip())
    if not m:
        raise ValueError(f"{value!r} is not a duration; use minutes, hours or days: 60m, 1h, 30d")
    n, unit = int(m.group(1)), m.group(2)
    return n * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]


class PasswordPolicy(_Strict):
    min_length: int = Field(8, ge=6, le=99)
    require_lowercase: bool = True
    require_uppercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True
    temporary_password_validity_days: int = Field(7, ge=0, le=365)


class CustomAttribute(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_]{1,20}$")
    type: Literal["String", "Number", "DateTime", "Boolean"] = "String"
    mutable: bool = True
    min_length: int | None = Field(None, ge=0, le=2048)
    max_length: int | None = Field(None, ge=1, le=2048)
    min_value: int | None = None
    max_value: int | None = None


class EmailCognito(_Strict):
    sender: Literal["cognito"] = "cognito"


class EmailSes(_Strict):
    sender: Literal["ses"]
    source_arn: str = Field(pattern=r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity/.+$")
    from_address: str | None = None
    reply_to: str | None = None


class IdentityProvider(_Strict):
    type: Literal["Google", "Facebook", "LoginWithAmazon", "SignInWithApple", "OIDC"]
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{1,31}$")
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email"])
    attribute_mapping: dict[str, str] = Field(default_factory=lambda: {"email": "email"})
    issuer: str | None = None  # OIDC only
    team_id: str | None = None  # SignInWithApple only
    key_id: str | None = None  # SignInWithApple only
    private_key_env: str | None = None  # SignInWithApple only

    @property
    def provider_name(self) -> str:
        return self.name or self.type


class UserPool(_Strict):
    name: str | None = Field(None, min_length=1, max_length=128)
    sign_in: list[Literal["username", "email", "phone_number"]] = Field(
        default=["email"], min_length=1
    )
    self_sign_up: bool = True
    password_policy: Literal["default"] | PasswordPolicy = "default"
    mfa: Literal["off", "optional", "required"] = "off"
    mfa_methods: list[Literal["totp", "sms"]] = Field(default=["totp"])
    sms_role_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    account_recovery: list[Literal["verified_email", "verified_phone_number", "admin_only"]] = (
        Field(default=["verified_email"], min_length=1, max_length=2)
    )
    auto_verify: list[Literal["email", "phone_number"]] = Field(default=["email"])
    required_attributes: list[str] = Field(default_factory=lambda: ["email"])
    custom_attributes: list[CustomAttribute] = Field(default_factory=list, max_length=50)
    email: Annotated[EmailCognito | EmailSes, Field(discriminator="sender")] = EmailCognito()
    deletion_protection: bool = False
    identity_providers: list[IdentityProvider] = Field(default_factory=list)

    @field_validator("mfa", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        # YAML 1.1 reads an unquoted `off` as false.
        return "off" if v is False else v

    @field_validator("required_attributes")
    @classmethod
    def _standard_only(cls, v: list[str]) -> list[str]:
        for a in v:
            if a not in STANDARD_ATTRIBUTES:
                raise ValueError(
                    f"{a!r} is not a standard attribute (one of {', '.join(STANDARD_ATTRIBUTES)})"
                )
        return v

    @property
    def password(self) -> PasswordPolicy:
        return PasswordPolicy() if self.password_policy == "default" else self.password_policy


class Domain(_Strict):
    prefix: str | None = None
    custom: str | None = Field(None, max_length=253, pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    certificate_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/.+$"
    )

    @field_validator("prefix")
    @classmethod
    def _prefix_rules(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not PREFIX_RE.match(v):
            raise ValueError(
                f"{v!r} is not a valid domain prefix: lowercase letters, digits and hyphens, "
                "1-63 characters, not starting or ending with a hyphen"
            )
        for word in RESERVED_IN_PREFIX:
            if word in v:
                raise ValueError(f"{v!r} may not contain the reserved word {word!r}")
        return v

    @property
    def name(self) -> str:
        return self.prefix or self.custom or ""


class TokenValidity(_Strict):
    access: str = "1h"
    id: str = "1h"
    refresh: str = "30d"

    @field_validator("access", "id", "refresh", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        # One type (str), so a bad value gives one error at its own key, not one per union branch.
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError("must be a duration such as 60m, 1h or 30d")
        parse_duration_minutes(v)
        return str(v)

    def minutes(self) -> dict[str, int]:
        return {k: parse_duration_minutes(getattr(self, k)) for k in ("access", "id", "refresh")}


class AppClient(_Strict):
    name: str | None = Field(None, min_length=1, max_length=128)
    generate_secret: bool = False
    callback_urls: list[str] = Field(
        default_factory=lambda: ["http://localhost:8765/callback"], max_length=100
    )
    logout_urls: list[str] = Field(
        default_factory=lambda: ["http://localhost:8765/signed-out"], max_length=100
    )
    oauth_flows: list[Literal["code", "implicit", "client_credentials"]] = Field(
        default=["code", "implicit"]
    )
    oauth_scopes: list[str] = Field(default_factory=lambda: ["openid", "email"])
    identity_providers: list[str] | None = None
    auth_flows: list[
        Literal["refresh_token", "user_srp", "user_password", "admin_user_password", "custom"]
    ] = Field(default=["refresh_token", "user_srp"])
    token_validity: TokenValidity = TokenValidity()
    read_attributes: list[str] | None = None
    write_attributes: list[str] | None = None


class Function(_Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    runtime: str = "python3.13"
    handler: str = Field("app.handler", pattern=r"^[A-Za-z0-9_.]+\.[A-Za-z0-9_]+$")
    source: str | None = None
    memory_mb: int = Field(128, ge=128, le=10240)
    timeout_s: int = Field(10, ge=1, le=900)
    environment: dict[str, str] = Field(default_factory=dict)
    role_name: str | None = Field(None, pattern=r"^[\w+=,.@-]{1,64}$")

    @field_validator("runtime")
    @classmethod
    def _supported(cls, v: str) -> str:
        if v not in SUPPORTED_RUNTIMES:
            raise ValueError(
                f"{v!r} is not a supported runtime; use one of {', '.join(SUPPORTED_RUNTIMES)}"
            )
        return v

    @field_validator("environment", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # Lambda environment values are strings; YAML happily gives ints and bools.
        if isinstance(v, dict):
            return {k: (str(x).lower() if isinstance(x, bool) else str(x)) for k, x in v.items()}
        return v


class Authorizer(_Strict):
    name: str | None = Field(None, min_length=1, max_length=128)
    token_source: str = Field("Authorization", pattern=r"^[A-Za-z0-9-]{1,128}$")
    result_ttl_s: int = Field(300, ge=0, le=3600)


PATH_SEGMENT_RE = re.compile(r"^([A-Za-z0-9._~:@!$&'()*+,;=-]+|\{[A-Za-z0-9_]+\+?\})$")


class Route(_Strict):
    path: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"] = "GET"
    scopes: list[str] = Field(default_factory=list)
    integration: Literal["proxy", "lambda"] = "proxy"
    authorizer: bool = True  # false: an open route (e.g. a CORS preflight), no token checked

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or v == "/" or v.endswith("/"):
            raise ValueError(
                f"{v!r} must start with '/', name at least one segment, and not end with '/'"
            )
        for seg in v.strip("/").split("/"):
            if not PATH_SEGMENT_RE.match(seg):
                raise ValueError(f"segment {seg!r} of {v!r} is not a valid resource path part")
        return v


class Api(_Strict):
    name: str | None = Field(None, min_length=1, max_length=128)
    endpoint_type: Literal["REGIONAL", "EDGE"] = "REGIONAL"
    stage: str = Field("dev", pattern=r"^[A-Za-z0-9_-]{1,128}$")
    authorizer: Authorizer = Authorizer()
    routes: list[Route] = Field(
        default_factory=lambda: [Route(path="/hello", method="GET", scopes=["email"])],
        min_length=1,
    )


class Config(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
    region: str = Field("us-east-1", pattern=REGION_PATTERN)
    endpoint_url: str | None = None

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        problem = endpoint_problem(v) if v else None
        if problem:
            raise ValueError(problem)
        return v

    tags: dict[str, str] = Field(default_factory=dict)
    user_pool: UserPool = UserPool()
    domain: Domain
    app_client: AppClient = AppClient()
    function: Function = Function()
    api: Api = Api()

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if k.startswith(("cogapi:", "aws:")):
                raise ValueError(f"tag key {k!r} uses a reserved prefix (cogapi: or aws:)")
        return v

    # Names with defaults derived from the stack name, resolved once here.
    @property
    def pool_name(self) -> str:
        return self.user_pool.name or f"{self.name}-user-pool"

    @property
    def client_name(self) -> str:
        return self.app_client.name or f"{self.name}-client"

    @property
    def function_name(self) -> str:
        return self.function.name or f"{self.name}-function"

    @property
    def role_name(self) -> str:
        return self.function.role_name or f"{self.function_name}-role"

    @property
    def sms_role_name(self) -> str:
        return f"{self.name}-cognito-sms-role"

    @property
    def api_name(self) -> str:
        return self.api.name or f"{self.name}-api"

    @property
    def authorizer_name(self) -> str:
        return self.api.authorizer.name or f"{self.name}-authorizer"

    @property
    def client_identity_providers(self) -> list[str]:
        if self.app_client.identity_providers is not None:
            return list(self.app_client.identity_providers)
        return ["COGNITO"] + [p.provider_name for p in self.user_pool.identity_providers]

    @property
    def wants_sms_role(self) -> bool:
        up = self.user_pool
        return up.mfa != "off" and "sms" in up.mfa_methods and up.sms_role_arn is None


UNION_BRANCH_TAGS = ("cognito", "ses", "PasswordPolicy", "literal['default']")


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) in UNION_BRANCH_TAGS:
            continue  # names of union branches pydantic adds to the location, not config keys
        else:
            out += ("." if out else "") + str(part)
    return out


def _relevant(errors: list[Any]) -> list[Any]:
    """Drop union-branch noise: `'default' | {...}` given a mapping also fails the literal branch,
    which would tell the user to write 'default'; keep the errors of the branch that was meant."""
    out = []
    for e in errors:
        if e["type"] == "literal_error" and not isinstance(e.get("input"), str):
            base = _key_path(e["loc"])
            if any(o is not e and _key_path(o["loc"]).startswith(base) for o in errors):
                continue
        out.append(e)
    return out


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def endpoint_problem(url: str) -> str | None:
    """What is wrong with an AWS endpoint URL, or None (shared by the config key and the flag)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http(s) URL, e.g. http://127.0.0.1:4566"
    return None


def region_problem(region: str) -> str | None:
    if re.match(REGION_PATTERN, region):
        return None
    return f"{region!r} is not an AWS region name, e.g. us-east-1"


def _url_ok(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname  # lowercased, IPv6 brackets removed: "[::1]:9" -> "::1"
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http":
        if host in LOOPBACK_HOSTS:
            return None
        return (
            f"{url!r} must use https (plain http is only allowed for localhost, 127.0.0.1, [::1])"
        )
    return f"{url!r} is not an http(s) URL"


def _cross_checks(cfg: Config, base_dir: Path) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    up, client, dom = cfg.user_pool, cfg.app_client, cfg.domain

    if bool(dom.prefix) == bool(dom.custom):
        problems.append(("domain", "set exactly one of prefix or custom"))
    if dom.custom and not dom.certificate_arn:
        problems.append(
            ("domain.certificate_arn", "a custom domain needs an ACM certificate in us-east-1")
        )
    if dom.certificate_arn and not dom.custom:
        problems.append(("domain.certificate_arn", "only used with domain.custom"))

    if "admin_only" in up.account_recovery and len(up.account_recovery) > 1:
        problems.append(
            ("user_pool.account_recovery", "admin_only cannot be combined with other methods")
        )
    if len(set(up.account_recovery)) != len(up.account_recovery):
        problems.append(("user_pool.account_recovery", "lists a method twice"))
    if up.mfa != "off" and not up.mfa_methods:
        problems.append(
            ("user_pool.mfa_methods", f"mfa is {up.mfa}: name at least one method (totp, sms)")
        )
    if up.sms_role_arn and "sms" not in up.mfa_methods:
        problems.append(("user_pool.sms_role_arn", "only used when mfa_methods includes sms"))
    for i, attr in enumerate(up.custom_attributes):
        if attr.type != "String" and (attr.min_length is not None or attr.max_length is not None):
            problems.append(
                (
                    f"user_pool.custom_attributes[{i}]",
                    "min_length/max_length apply to String attributes only",
                )
            )
        if attr.type != "Number" and (attr.min_value is not None or attr.max_value is not None):
            problems.append(
                (
                    f"user_pool.custom_attributes[{i}]",
                    "min_value/max_value apply to Number attributes only",
                )
            )
    names = [a.name for a in up.custom_attributes]
    if len(set(names)) != len(names):
        problems.append(("user_pool.custom_attributes", "an attribute name is listed twice"))
    idp_names = [p.provider_name for p in up.identity_providers]
    for i, idp in enumerate(up.identity_providers):
        where = f"user_pool.identity_providers[{i}]"
        if idp.type == "OIDC" and not idp.issuer:
            problems.append((f"{where}.issuer", "an OIDC provider needs its issuer URL"))
        if idp.type == "OIDC" and not idp.name:
            problems.append((f"{where}.name", "an OIDC provider needs a name"))
        if idp.type == "SignInWithApple":
            for key in ("team_id", "key_id", "private_key_env"):
                if not getattr(idp, key):
                    problems.append((f"{where}.{key}", "required for SignInWithApple"))
        elif not idp.client_secret_env:
            problems.append(
                (
                    f"{where}.client_secret_env",
                    "name the environment variable holding the client secret (secrets never go in YAML)",
                )
            )
    if len(set(idp_names)) != len(idp_names):
        problems.append(("user_pool.identity_providers", "two providers share a name"))

    flows = set(client.oauth_flows)
    if client.generate_secret and "implicit" in flows:
        problems.append(
            (
                "app_client.oauth_flows",
                "the implicit flow would expose a client secret; drop implicit or set generate_secret: false",
            )
        )
    if "client_credentials" in flows and (flows - {"client_credentials"}):
        problems.append(
            (
                "app_client.oauth_flows",
                "client_credentials cannot be combined with code or implicit",
            )
        )
    if "client_credentials" in flows and not client.generate_secret:
        problems.append(
            ("app_client.oauth_flows", "client_credentials needs generate_secret: true")
        )
    if flows & {"code", "implicit"} and not client.callback_urls:
        problems.append(
            (
                "app_client.callback_urls",
                "the code and implicit flows need at least one callback URL",
            )
        )
    for key in ("callback_urls", "logout_urls"):
        for i, url in enumerate(getattr(client, key)):
            why = _url_ok(url)
            if why:
                problems.append((f"app_client.{key}[{i}]", why))
    for i, scope in enumerate(client.oauth_scopes):
        if scope not in STANDARD_SCOPES:
            problems.append(
                (
                    f"app_client.oauth_scopes[{i}]",
                    f"{scope!r} is not one of {', '.join(STANDARD_SCOPES)}",
                )
            )
    minutes = client.token_validity.minutes()  # formats were checked by the field validator
    limits = {"access": (5, 1440), "id": (5, 1440), "refresh": (60, 3650 * 1440)}
    for kind, value in minutes.items():
        lo, hi = limits[kind]
        if not lo <= value <= hi:
            problems.append(
                (
                    f"app_client.token_validity.{kind}",
                    f"{value} minutes is outside AWS's range ({lo} minutes to {hi // 1440} days)",
                )
            )
    if client.identity_providers is not None:
        for i, name in enumerate(client.identity_providers):
            if name != "COGNITO" and name not in idp_names:
                problems.append(
                    (
                        f"app_client.identity_providers[{i}]",
                        f"{name!r} is neither COGNITO nor a provider under user_pool.identity_providers",
                    )
                )

    seen: set[tuple[str, str]] = set()
    allowed = set(client.oauth_scopes)
    for i, route in enumerate(cfg.api.routes):
        route_key = (route.path, route.method)
        if route_key in seen:
            problems.append((f"api.routes[{i}]", f"{route.method} {route.path} is listed twice"))
        seen.add(route_key)
        for j, scope in enumerate(route.scopes):
            if scope not in allowed:
                problems.append(
                    (
                        f"api.routes[{i}].scopes[{j}]",
                        f"{scope!r} is not in app_client.oauth_scopes, so no token can carry it",
                    )
                )
        if route.scopes and not route.authorizer:
            problems.append(
                (f"api.routes[{i}].scopes", "scopes need the authorizer (authorizer: true)")
            )

    if cfg.function.source is not None:
        src = (base_dir / cfg.function.source).resolve()
        if not src.exists():
            problems.append(
                (
                    "function.source",
                    f"{cfg.function.source!r} does not exist (relative to {base_dir})",
                )
            )
        elif src.is_file() and src.suffix != ".py":
            problems.append(("function.source", "must be a folder or a .py file"))
        else:
            # Lambda would only fail at the first call ("Unable to import module"): say it now.
            module = cfg.function.handler.rsplit(".", 1)[0]
            expected = src.name if src.is_file() else module.replace(".", "/") + ".py"
            if (src.is_file() and src.stem != module) or (
                src.is_dir() and not (src / expected).is_file()
            ):
                problems.append(
                    (
                        "function.handler",
                        f"module {module!r} is not in function.source "
                        f"(expected {module.replace('.', '/')}.py {'as the file' if src.is_file() else 'in the folder'})",
                    )
                )
    return problems


def parse_config(text: str, path: str = DEFAULT_PATH, base_dir: Path | None = None) -> Config:
    """Parse and validate config text; raise ConfigError listing every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [(where, f"not valid YAML: {problem}")]) from None
    if raw is None:
        raise ConfigError(
            path, [("", "the file is empty")], hint="run `cogapi init` for a commented example"
        )
    if not isinstance(raw, dict):
        raise ConfigError(path, [("", "the top level must be a mapping of keys")])
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [(_key_path(e["loc"]), _message(e)) for e in _relevant(exc.errors())]
        raise ConfigError(path, problems) from None
    base = base_dir or Path(path).resolve().parent
    problems = _cross_checks(cfg, base)
    if problems:
        raise ConfigError(path, problems)
    if cfg.function.source is not None:  # relative to the config file, wherever we run from
        fn = cfg.function.model_copy(update={"source": str((base / cfg.function.source).resolve())})
        cfg = cfg.model_copy(update={"function": fn})
    return cfg


def resolve_path(explicit: str | None) -> str:
    return explicit or os.environ.get("COGAPI_CONFIG") or DEFAULT_PATH


def load_config(path: str) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, [("", "no such file")], hint="run `cogapi init` to write one, or pass -c PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(path, [("", f"cannot read: {exc.strerror}")]) from None
    return parse_config(text, path, p.resolve().parent)


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cogapi config"
    return schema
