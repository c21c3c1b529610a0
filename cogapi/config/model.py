"""The config's shape: pydantic models of every key (types, enums, unknown keys, per-field rules)
and the names derived from the stack name (`<name>-user-pool`, ...). Rules that span keys live in
`checks`; reading the file lives in `loader`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_ENVIRONMENT_BYTES = 4096  # Lambda: "the total size of all environment variables"


# A DNS name as botocore accepts one (`botocore.utils.is_valid_endpoint_url`): labels of ASCII
# letters, digits and inner hyphens. Anything else it refuses with a bare ValueError at the call.
HOST_NAME_RE = re.compile(r"^((?!-)[A-Za-z\d-]{1,63}(?<!-)\.)*((?!-)[A-Za-z\d-]{1,63}(?<!-))\.?$")


def endpoint_problem(url: str) -> str | None:
    """What is wrong with an AWS endpoint URL, or None (shared by the config key and the flag)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises for a port that is not a number in 0..65535
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        return f"{url!r} is not an http(s) URL: {str(exc)[:1].lower()}{str(exc)[1:]}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http(s) URL, e.g. http://127.0.0.1:4566"
    if any(c.isspace() or ord(c) < 0x20 for c in url):  # else "cannot reach AWS" at the call
        return f"{url!r} is not an http(s) URL: it holds a space or a control character"
    host = parts.hostname or ""
    if not host:
        return f"{url!r} is not an http(s) URL: it names no host"
    if not parts.netloc.rpartition("@")[2].startswith("[") and not HOST_NAME_RE.match(host):
        return (
            f"{url!r} is not an http(s) URL: {host!r} is not a host name (ASCII letters, digits, "
            "hyphens and dots; a non-ASCII name is written in its xn-- form)"
        )
    return None


def region_problem(region: str) -> str | None:
    if re.fullmatch(REGION_PATTERN, region):  # fullmatch: `$` alone lets a final newline through
        return None
    return f"{region!r} is not an AWS region name, e.g. us-east-1"


class _Strict(BaseModel):
    # defer_build: a model's validator is built when first used, not at import. Only `Config`
    # validates a file (its schema holds the sections'), so the sections' own validators are
    # never built on that path; building all twenty at import cost about 0.1 s of every start.
    # For the same reason the sections' defaults are `model_construct()`ed (an instance with
    # every default, as `X()` gives, without building X's validator).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
    token_validity: TokenValidity = TokenValidity.model_construct()
    read_attributes: list[str] | None = None
    write_attributes: list[str] | None = None


# Cognito's own patterns (botocore cognito-idp model): ResourceServerIdentifierType and ScopeType
# allow printable ASCII but space, '"' and '\\'; ResourceServerScopeNameType also forbids '/';
# ResourceServerNameType and ClientNameType are `[\\w\\s+=,.@-]+`. All are 1-256 characters
# (client names 1-128).
RESOURCE_IDENTIFIER_RE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,256}")
SCOPE_NAME_RE = re.compile(r"[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}")
SCOPE_RE = RESOURCE_IDENTIFIER_RE
COGNITO_NAME_PATTERN = r"^[\w\s+=,.@-]+$"


class ResourceServerScope(_Strict):
    name: str
    description: str = Field(min_length=1, max_length=256)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not SCOPE_NAME_RE.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a valid scope name: 1-256 printable ASCII characters without "
                "spaces, '/', '\"' or '\\'"
            )
        return v


class ResourceServer(_Strict):
    identifier: str
    name: str = Field(min_length=1, max_length=256, pattern=COGNITO_NAME_PATTERN)
    scopes: list[ResourceServerScope] = Field(default_factory=list, max_length=100)

    @field_validator("identifier")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not RESOURCE_IDENTIFIER_RE.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a valid resource server identifier: 1-256 printable ASCII "
                "characters without spaces, '\"' or '\\' (e.g. orders or https://api.example.com)"
            )
        return v

    def scope_names(self) -> list[str]:
        return [f"{self.identifier}/{s.name}" for s in self.scopes]


class MachineTokenValidity(_Strict):
    access: str = "1h"

    @field_validator("access", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError("must be a duration such as 60m, 1h or 30d")
        parse_duration_minutes(v)
        return str(v)

    def access_minutes(self) -> int:
        return parse_duration_minutes(self.access)


# cogapi records the machine clients it made in a user pool tag (app clients take no tags; the
# encoding is in stack/models.py): a Cognito tag value is up to 256 letters, digits, spaces and
# `_.:/=+-@`.
CLIENT_RECORD_TAG = "cogapi:machine-clients"
CLIENT_RECORD_LIMIT = 256


class MachineClient(_Strict):
    """A confidential app client for services: a secret, the client_credentials grant only."""

    name: str = Field(min_length=1, max_length=128, pattern=COGNITO_NAME_PATTERN)
    scopes: list[str] = Field(min_length=1, max_length=50)
    token_validity: MachineTokenValidity = MachineTokenValidity.model_construct()


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
        # Lambda environment values are strings; YAML happily gives ints and bools, which mean
        # their text. A list, a mapping or null has no one text: left as is, pydantic refuses it
        # at its own key (function.environment.NAME).
        if isinstance(v, dict):
            return {
                k: (str(x).lower() if isinstance(x, bool) else str(x))
                if isinstance(x, (bool, int, float))
                else x
                for k, x in v.items()
            }
        return v

    @field_validator("environment")
    @classmethod
    def _lambda_environment(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not ENV_KEY_RE.match(key):
                raise ValueError(
                    f"{key[:60]!r} is not a valid variable name for Lambda "
                    "(a letter, then letters, digits or _)"
                )
        size = sum(len(k.encode()) + len(x.encode()) for k, x in v.items())
        if size > MAX_ENVIRONMENT_BYTES:
            raise ValueError(
                f"names and values take {size} bytes; Lambda allows "
                f"{MAX_ENVIRONMENT_BYTES} bytes (4 KB) in all"
            )
        return v

    @field_validator("source")
    @classmethod
    def _source_path(cls, v: str | None) -> str | None:
        if v is not None and "\x00" in v:
            raise ValueError("contains a NUL byte, which no file name can hold")
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


CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def origin_problem(origin: str) -> str | None:
    """What is wrong with a CORS origin (`*`, or scheme://host[:port] with no path), or None."""
    if origin == "*":
        return None
    try:
        parts = urlsplit(origin)
        port = parts.port  # a non-numeric port raises here
    except ValueError as exc:
        return f"{origin!r} is not an origin such as https://app.example.com ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{origin!r} is not an origin such as https://app.example.com (scheme://host[:port])"
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return f"{origin!r} is an origin only: scheme://host[:port], no path, no trailing '/'"
    if port == 0:
        return f"{origin!r} has an invalid port"
    return None


class Cors(_Strict):
    """CORS for browser apps on other origins: a preflight per path, headers on gateway errors."""

    allow_origins: list[str] = Field(min_length=1)
    allow_headers: list[str] = Field(default_factory=lambda: ["Authorization", "Content-Type"])
    allow_methods: Any = Field("auto", json_schema_extra={"anyOf": [
        {"const": "auto"}, {"type": "array", "items": {"enum": list(CORS_METHODS)}}]})  # fmt: skip
    max_age_s: int = Field(600, ge=0, le=86400)
    allow_credentials: bool = False

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            problem = origin_problem(origin)
            if problem:
                raise ValueError(problem)
        if "*" in v and len(v) > 1:
            raise ValueError("'*' allows every origin: list it alone")
        if len(set(v)) != len(v):
            raise ValueError("an origin is listed twice")
        return v

    @field_validator("allow_headers")
    @classmethod
    def _headers(cls, v: list[str]) -> list[str]:
        for h in v:
            if h != "*" and not HEADER_NAME_RE.match(h):
                raise ValueError(f"{h!r} is not a header name")
        return v

    @field_validator("allow_methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> Any:
        # One validator, not a union, so a bad value gives one error at its own key.
        if v == "auto":
            return v
        if not isinstance(v, list) or not v:
            raise ValueError("must be auto or a list of methods, e.g. [GET, POST]")
        out = []
        for m in v:
            m = m.upper() if isinstance(m, str) else m
            if m not in CORS_METHODS:
                raise ValueError(f"{m!r} is not one of {', '.join(CORS_METHODS)} (or use auto)")
            out.append(m)
        return out


class Api(_Strict):
    name: str | None = Field(None, min_length=1, max_length=128)
    endpoint_type: Literal["REGIONAL", "EDGE"] = "REGIONAL"
    stage: str = Field("dev", pattern=r"^[A-Za-z0-9_-]{1,128}$")
    authorizer: Authorizer = Authorizer.model_construct()
    cors: Cors | None = None  # off when absent
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
    user_pool: UserPool = UserPool.model_construct()
    domain: Domain
    app_client: AppClient = AppClient.model_construct()
    resource_servers: list[ResourceServer] = Field(default_factory=list, max_length=25)
    machine_clients: list[MachineClient] = Field(default_factory=list)
    function: Function = Function.model_construct()
    api: Api = Api.model_construct()

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
    def custom_scopes(self) -> list[str]:
        """Every `<identifier>/<scope>` the resource servers define, in file order."""
        return [name for rs in self.resource_servers for name in rs.scope_names()]

    def machine_client(self, name: str) -> MachineClient | None:
        return next((m for m in self.machine_clients if m.name == name), None)

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
