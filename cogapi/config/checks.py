"""Rules that span keys, one function per section of the file; each returns `(key.path, what)`
pairs so the loader can report every problem of a file at once, in file order."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from cogapi.config.model import (
    CLIENT_RECORD_LIMIT,
    CLIENT_RECORD_TAG,
    LOOPBACK_HOSTS,
    STANDARD_SCOPES,
    Config,
)


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


def check_domain(cfg: Config) -> list[tuple[str, str]]:
    """`domain`: exactly one of prefix or custom; a certificate only with custom."""
    problems: list[tuple[str, str]] = []
    dom = cfg.domain

    if bool(dom.prefix) == bool(dom.custom):
        problems.append(("domain", "set exactly one of prefix or custom"))
    if dom.custom and not dom.certificate_arn:
        problems.append(
            ("domain.certificate_arn", "a custom domain needs an ACM certificate in us-east-1")
        )
    if dom.certificate_arn and not dom.custom:
        problems.append(("domain.certificate_arn", "only used with domain.custom"))
    return problems


def check_user_pool(cfg: Config) -> list[tuple[str, str]]:
    """`user_pool`: recovery, MFA, custom attributes, identity providers."""
    problems: list[tuple[str, str]] = []
    up = cfg.user_pool

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
    return problems


def _scope_problem(scope: str, custom: set[str]) -> str | None:
    """Why `scope` is neither a standard OAuth scope nor one a resource server defines."""
    if scope in STANDARD_SCOPES or scope in custom:
        return None
    if "/" in scope:
        return f"{scope!r} is not a scope of any resource_servers entry (<identifier>/<scope name>)"
    return (
        f"{scope!r} is not one of {', '.join(STANDARD_SCOPES)}, "
        "nor a custom scope <identifier>/<scope> of resource_servers"
    )


def check_resource_servers(cfg: Config) -> list[tuple[str, str]]:
    """`resource_servers`: identifiers unique; scope names unique in their server; full scope
    names within Cognito's 256 characters."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, rs in enumerate(cfg.resource_servers):
        if rs.identifier in seen:
            problems.append(
                (f"resource_servers[{i}].identifier", f"{rs.identifier!r} is listed twice")
            )
        seen.add(rs.identifier)
        names: set[str] = set()
        for j, scope in enumerate(rs.scopes):
            where = f"resource_servers[{i}].scopes[{j}].name"
            if scope.name in names:
                problems.append((where, f"{scope.name!r} is listed twice"))
            names.add(scope.name)
            full = f"{rs.identifier}/{scope.name}"
            if len(full) > 256:
                problems.append((where, f"{full[:40]!r}... is longer than 256 characters"))
    return problems


def check_machine_clients(cfg: Config) -> list[tuple[str, str]]:
    """`machine_clients`: unique names (the app client's too), custom scopes that a resource
    server defines, an access token lifetime in AWS's range."""
    problems: list[tuple[str, str]] = []
    custom = set(cfg.custom_scopes)
    seen = {cfg.client_name}
    for i, mc in enumerate(cfg.machine_clients):
        where = f"machine_clients[{i}]"
        if mc.name in seen:
            other = "the app client" if mc.name == cfg.client_name else "another machine client"
            problems.append((f"{where}.name", f"{mc.name!r} is already the name of {other}"))
        seen.add(mc.name)
        for j, scope in enumerate(mc.scopes):
            if scope in STANDARD_SCOPES:
                problems.append(
                    (
                        f"{where}.scopes[{j}]",
                        f"{scope!r} needs a signed-in user; machine clients take custom scopes "
                        "(<identifier>/<scope>) only",
                    )
                )
            elif scope not in custom:
                problems.append((f"{where}.scopes[{j}]", str(_scope_problem(scope, custom))))
        if len(set(mc.scopes)) != len(mc.scopes):
            problems.append((f"{where}.scopes", "a scope is listed twice"))
        minutes = mc.token_validity.access_minutes()
        if not 5 <= minutes <= 1440:
            problems.append(
                (
                    f"{where}.token_validity.access",
                    f"{minutes} minutes is outside AWS's range (5 minutes to 1 day)",
                )
            )
        bad = sorted({ch for ch in mc.name if not _taggable(ch)})
        if bad:
            problems.append((
                f"{where}.name",
                f"{mc.name!r} has {', '.join(repr(ch) for ch in bad)}, which the user pool tag "
                f"{CLIENT_RECORD_TAG} that records cogapi's machine clients cannot hold",
            ))  # fmt: skip
    # The record is the names joined by "/", a "," written as ":": as long as the names plus
    # one character between each two.
    length = sum(len(mc.name) for mc in cfg.machine_clients) + len(cfg.machine_clients) - 1
    if length > CLIENT_RECORD_LIMIT:
        problems.append((
            "machine_clients",
            f"the names take {length} characters joined by '/', more than the "
            f"{CLIENT_RECORD_LIMIT} of the user pool tag {CLIENT_RECORD_TAG} in which cogapi "
            "records the machine clients it made; use shorter or fewer names",
        ))  # fmt: skip
    return problems


def _taggable(ch: str) -> bool:
    """A character of a client name that the record can hold (a "," is written as ":")."""
    return ch in "_.=+-@," or unicodedata.category(ch)[0] in "LNZ"


def check_app_client(cfg: Config) -> list[tuple[str, str]]:
    """`app_client`: flows against the secret, URLs, scopes, token lifetimes, providers."""
    problems: list[tuple[str, str]] = []
    client = cfg.app_client
    idp_names = [p.provider_name for p in cfg.user_pool.identity_providers]

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
    custom = set(cfg.custom_scopes)
    for i, scope in enumerate(client.oauth_scopes):
        why = _scope_problem(scope, custom)
        if why:
            problems.append((f"app_client.oauth_scopes[{i}]", why))
    if "client_credentials" in flows:
        for i, scope in enumerate(client.oauth_scopes):
            if scope in STANDARD_SCOPES:
                problems.append(
                    (
                        f"app_client.oauth_scopes[{i}]",
                        f"{scope!r} needs a signed-in user; a client_credentials client takes "
                        "custom scopes (<identifier>/<scope>) only",
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
    return problems


def check_api(cfg: Config) -> list[tuple[str, str]]:
    """`api.routes`: no route twice; each scope grantable by some client (the app client or a
    machine client); scopes need the authorizer."""
    problems: list[tuple[str, str]] = []
    client = cfg.app_client
    custom = set(cfg.custom_scopes)

    seen: set[tuple[str, str]] = set()
    allowed = set(client.oauth_scopes).union(*(m.scopes for m in cfg.machine_clients))
    for i, route in enumerate(cfg.api.routes):
        route_key = (route.path, route.method)
        if route_key in seen:
            problems.append((f"api.routes[{i}]", f"{route.method} {route.path} is listed twice"))
        seen.add(route_key)
        for j, scope in enumerate(route.scopes):
            undefined = _scope_problem(scope, custom) if "/" in scope else None
            if undefined:
                problems.append((f"api.routes[{i}].scopes[{j}]", undefined))
            elif scope not in allowed:
                problems.append(
                    (
                        f"api.routes[{i}].scopes[{j}]",
                        f"{scope!r} is not in app_client.oauth_scopes"
                        + (" or any machine_clients scopes" if "/" in scope else "")
                        + ", so no token can carry it",
                    )
                )
        if route.scopes and not route.authorizer:
            problems.append(
                (f"api.routes[{i}].scopes", "scopes need the authorizer (authorizer: true)")
            )
        if cfg.api.cors is not None and route.method == "OPTIONS":
            problems.append(
                (
                    f"api.routes[{i}].method",
                    "api.cors answers every preflight (OPTIONS) itself; drop this route or api.cors",
                )
            )
    cors = cfg.api.cors
    if cors is not None and cors.allow_credentials and "*" in cors.allow_origins:
        problems.append(
            (
                "api.cors.allow_credentials",
                "browsers refuse credentials with allow_origins '*'; list the origins instead",
            )
        )
    return problems


def check_function(cfg: Config, base_dir: Path) -> list[tuple[str, str]]:
    """`function`: the source exists and holds the handler's module (Lambda would fail only at the
    first call)."""
    if cfg.function.source is None:
        return []
    try:
        return _check_source(cfg, base_dir)
    except OSError as exc:  # a name longer than the OS allows, a loop of links, ...
        shown = cfg.function.source
        shown = repr(shown) if len(shown) <= 60 else repr(shown[:57] + "...")
        return [("function.source", f"{shown} cannot be used as a path ({exc.strerror or exc})")]


def _check_source(cfg: Config, base_dir: Path) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    assert cfg.function.source is not None
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


def cross_checks(cfg: Config, base_dir: Path) -> list[tuple[str, str]]:
    """Every cross-key problem of the file, in the order its sections appear."""
    return [
        *check_user_pool(cfg),
        *check_domain(cfg),
        *check_app_client(cfg),
        *check_resource_servers(cfg),
        *check_machine_clients(cfg),
        *check_api(cfg),
        *check_function(cfg, base_dir),
    ]
