"""`cogapi call`: one request to the deployed stage with the cached token, like a tiny curl.

The token goes in the authorizer's header (`api.authorizer.token_source`), raw, as API Gateway
expects. Which token: a route with scopes takes an access token, a route without takes an ID
token (aws-notes: the most reported 401 of this stack), unless `--token-type` says otherwise.
A 401 is explained (`unauthorized_hint`) from what was sent: no token, a password-flow token
without scopes, an ID token where an access token is needed or the reverse, an expired token.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogapi.auth import http_request
from cogapi.auth.jwt_verify import unverified_claims
from cogapi.errors import CogapiError, ExitStatus, UsageError

PASSWORD_ONLY_SCOPE = "aws.cognito.signin.user.admin"


def _segments_match(template: str, path: str) -> bool:
    parts, segs = [p for p in template.split("/") if p], [s for s in path.split("/") if s]
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            return len(segs) > i
        if i >= len(segs) or not (part == segs[i] or (part.startswith("{") and part.endswith("}"))):
            return False
    return len(parts) == len(segs)


def find_route(routes: list[Any], path: str, method: str) -> Any | None:
    """The config route serving METHOD PATH (literal segments win over {params}), or None."""
    candidates = [
        r for r in routes if _segments_match(r.path, path) and r.method in (method, "ANY")
    ]
    candidates.sort(key=lambda r: (r.path.count("{"), r.method == "ANY"))
    return candidates[0] if candidates else None


def concrete_path(template: str) -> str:
    """A path that a route template matches: `{id}` -> `test`."""
    return re.sub(r"\{[A-Za-z0-9_]+\+?\}", "test", template)


def default_token_type(route: Any | None) -> str:
    return "access" if route is not None and route.scopes else "id"


def unauthorized_hint(
    route: Any | None,
    token_type: str | None,
    token: str | None,
    body_message: str,
    now: float | None = None,
) -> str:
    if not token:
        return "no token was sent: drop --no-token, or run `cogapi token` first"
    claims = unverified_claims(token)
    now = time.time() if now is None else now
    if "expired" in body_message.lower() or (
        isinstance(claims.get("exp"), (int, float)) and claims["exp"] <= now
    ):
        return "the token has expired: `cogapi token` refreshes it (or --force to sign in again)"
    scopes = str(claims.get("scope", "")).split()
    if route is not None and route.scopes:
        if token_type == "id":
            return (
                f"{route.method} {route.path} requires scopes {route.scopes}, so it needs an "
                "ACCESS token, and an ID token was sent: drop --token-type id"
            )
        if scopes == [PASSWORD_ONLY_SCOPE]:
            return (
                f"{route.method} {route.path} requires scopes {route.scopes}, and tokens from "
                "the password flow carry none: sign in with the code flow (`cogapi token --force`)"
            )
        if not set(scopes) & set(route.scopes):
            return f"the access token's scopes {scopes} include none of {route.scopes}"
    elif route is not None and token_type == "access":
        return (
            f"{route.method} {route.path} requires no scopes, so the authorizer wants an ID "
            "token, and an access token was sent: drop --token-type access"
        )
    return (
        "the authorizer refused the token: is it from this stack's pool and client? "
        "(`cogapi token --force` signs in again; `cogapi verify` checks the whole chain)"
    )


@dataclass(frozen=True)
class Request:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None
    token_type: str | None


def read_data(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data == "-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        if data == "@":  # Path("") is the current directory: "cannot read  (Is a directory)"
            raise UsageError("-d @: no file name after the @", hint="-d @FILE reads FILE")
        try:
            return Path(data[1:]).read_bytes()
        except OSError as exc:
            raise UsageError(f"-d {data}: cannot read {data[1:]} ({exc.strerror})") from None
    return data.encode()


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP method or header name
# Characters a path may carry as typed; anything else (a space, a control character, non-ASCII)
# is percent-encoded, as a browser encodes what is typed in its address bar. `%` stays, so a
# path the user encoded already is sent as given.
_PATH_SAFE = "/?[]@!$&'()*+,;=:%-._~"


def parse_headers(raw: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"-H {item!r} is not 'Name: value'")
        if not _TOKEN.fullmatch(name.strip()):
            raise UsageError(f"-H {item!r}: {name.strip()!r} is not a header name")
        if any(c in value for c in "\r\n\0"):
            raise UsageError(f"-H {item!r}: a header value cannot hold a line break")
        out[name.strip()] = value.strip()
    return out


def check_method(method: str | None) -> None:
    if method is not None and not _TOKEN.fullmatch(method):
        raise UsageError(f"-X {method!r} is not an HTTP method", hint="e.g. -X POST")


def quoted_path(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe=_PATH_SAFE)


def call_stack(
    opts: Any,
    ui: Any,
    path: str | None,
    method: str | None,
    data: str | None,
    headers: tuple[str, ...],
    no_token: bool,
    token_type: str | None,
    include: bool,
    client: str | None = None,
) -> ExitStatus:
    from cogapi.auth.sign_in import TokenService
    from cogapi.stack.context import open_stack
    from cogapi.stack.lookup import find_api_id
    from cogapi.stack.outputs import invoke_base

    if no_token and token_type:
        raise UsageError("--no-token and --token-type contradict each other")
    if client is not None and (no_token or token_type == "id"):
        raise UsageError("--client sends the machine client's access token (it has no other)")
    check_method(method)
    extra = parse_headers(headers)
    body = read_data(data)
    ctx = open_stack(opts, ui)
    cfg = ctx.cfg
    first = cfg.api.routes[0]
    path = path or concrete_path(first.path)
    if not path.startswith("/"):
        path = "/" + path
    verb = (
        method
        or ("POST" if body is not None else None)
        or (first.method if path == concrete_path(first.path) and first.method != "ANY" else "GET")
    ).upper()
    route = find_route(list(cfg.api.routes), path.split("?", 1)[0], verb)
    sent_type: str | None = None
    token: str | None = None
    if client is not None and (route is None or route.authorizer):
        from cogapi.auth.machine import MachineTokens

        sent_type = "access"
        token = MachineTokens(ctx, ui).get(client).cached.access_token
        extra.setdefault(cfg.api.authorizer.token_source, token)
    elif not no_token and (route is None or route.authorizer):
        tokens = TokenService(ctx, ui).cached()
        if tokens is None:
            raise CogapiError(
                "no valid token is cached for this stack",
                hint="run `cogapi token` first (or pass --no-token)",
            )
        sent_type = token_type or default_token_type(route)
        token = tokens.get(sent_type)
        if not token:
            raise CogapiError(
                f"the cached sign-in has no {sent_type} token",
                hint="sign in with the code flow and the openid scope: `cogapi token --force`",
            )
        extra.setdefault(cfg.api.authorizer.token_source, token)
    url = invoke_base(cfg, find_api_id(ctx.aws, cfg), ctx.local_endpoint) + quoted_path(path)
    if body is not None:
        extra.setdefault("Content-Type", "application/json")
    r = http_request.request(url, verb, body, extra)
    message = ""
    doc = r.json()
    if isinstance(doc, dict):
        message = str(doc.get("message", ""))
    if ui.json:
        ui.emit_json(
            {
                "url": url,
                "method": verb,
                "status": r.status,
                "token_type": sent_type,
                "headers": dict(r.headers),
                "body": doc if doc is not None else r.text,
            }
        )
    else:
        if include:
            ui.result(f"HTTP {r.status} {r.reason}")
            for k, v in r.headers:
                ui.result(f"{k}: {v}")
            ui.result("")
        ui.result(r.text)
    if r.status == 401:
        hint = unauthorized_hint(route, sent_type, token, message)
        if client is not None and route is not None and not route.scopes:
            hint = (
                f"{route.method} {route.path} requires no scopes, so it takes ID tokens, which "
                f"machine clients never get: give the route a scope that {client} holds"
            )
        ui.error(f"{verb} {path} answered 401 {message or 'Unauthorized'}", hint)
    elif r.status == 403 and "Missing Authentication Token" in message:
        known = ", ".join(f"{x.method} {x.path}" for x in cfg.api.routes)
        ui.error(
            f"{verb} {path} answered 403 Missing Authentication Token: no such route or method",
            f"the stack serves {known}; `cogapi up` deploys config changes",
        )
    elif not r.ok:
        ui.error(f"{verb} {path} answered HTTP {r.status}")
    return ExitStatus.OK if r.ok else ExitStatus.ERROR
