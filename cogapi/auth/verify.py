"""`cogapi verify`: the tutorial's test section, run against the deployed (or local) stack.

Each check is one request and one expectation, reported as pass, fail or skip (with why):
- the hosted UI's login page and the pool's JWKS answer;
- on every route with the authorizer, no token is refused (401);
- on the main route (the first with scopes, else the first with the authorizer): a malformed
  token, a token with a forged signature (the pool's `kid`, our own key) and an expired token
  (the one kept from the last refresh, when there is one) are refused; an ID token is refused
  where scopes are required; the cached valid token is let through (2xx) to the handler;
- per machine client: its client_credentials token is let through on a route it has a scope of,
  and refused (401) on a scoped route it has none of; a person's token is refused on a route
  whose custom scopes it lacks (skipped, with why, when the config has no such route or client).
A check that cannot run for lack of a token fails with a hint (`cogapi token`), except the
expired-token check, which is skipped with the reason: no expired token signed by the pool can be
made without waiting for one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from cogapi.auth import http_request
from cogapi.errors import CogapiError, ExitStatus


@dataclass(frozen=True)
class Check:
    name: str
    target: str
    status: str  # pass | fail | skip
    detail: str


def forge(issuer: str, kid: str, client_id: str, token_use: str, scopes: list[str]) -> str:
    """A well-formed token with the pool's `kid` and a valid-looking payload, signed by a key
    that is not the pool's."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "00000000-0000-0000-0000-000000000000",
        "iss": issuer,
        "token_use": token_use,
        "exp": now + 3600,
        "iat": now,
        "auth_time": now,
        "username": "forged",
    }
    if token_use == "access":
        claims.update({"client_id": client_id, "scope": " ".join(scopes)})
    else:
        claims.update({"aud": client_id, "email": "forged@example.com"})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": None})


def _snippet(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StackChecks:
    def __init__(
        self,
        cfg: Any,
        invoke_base: str,
        hosted_ui: str,
        client_id: str,
        jwks_url: str,
        issuer: str,
        tokens: Any | None,
        machine_token: Callable[[str], str] | None = None,
        expired: dict[str, str] | None = None,
    ) -> None:
        self.machine_token = machine_token  # machine client name -> its access token
        self.expired = expired or {}  # expired tokens from `cogapi local`, by token use
        self.cfg = cfg
        self.invoke_base = invoke_base
        self.hosted_ui = hosted_ui
        self.client_id = client_id
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.tokens = tokens
        self.checks: list[Check] = []

    def add(self, name: str, target: str, ok: bool | None, detail: str) -> None:
        status = "skip" if ok is None else ("pass" if ok else "fail")
        self.checks.append(Check(name, target, status, detail))

    def send(self, route: Any, token: str | None) -> http_request.HttpResponse:
        from cogapi.auth.call import concrete_path

        method = "GET" if route.method == "ANY" else route.method
        headers = {self.cfg.api.authorizer.token_source: token} if token is not None else {}
        return http_request.request(
            self.invoke_base + concrete_path(route.path), method, None, headers
        )

    def expect_401(self, name: str, route: Any, token: str | None) -> None:
        r = self.send(route, token)
        msg = _snippet(r.text)
        self.add(name, f"{route.method} {route.path}", r.status == 401, f"got {r.status} {msg}")

    # ---- the checks -----------------------------------------------------------------------

    def edge(self) -> list[str]:
        """Hosted UI and JWKS; returns the JWKS kids (for the forged token)."""
        ac = self.cfg.app_client
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "scope": " ".join(ac.oauth_scopes),
                "redirect_uri": ac.callback_urls[0] if ac.callback_urls else "",
            }
        )
        r = http_request.request(f"{self.hosted_ui}/login?{query}")
        self.add(
            "hosted UI answers",
            f"{self.hosted_ui}/login",
            r.status == 200,
            f"got {r.status}" + ("" if r.status == 200 else f" {_snippet(r.text)}"),
        )
        r = http_request.request(self.jwks_url)
        doc = r.json()
        keys = doc.get("keys") if isinstance(doc, dict) else None
        kids = [str(k.get("kid")) for k in keys or [] if isinstance(k, dict)]
        self.add(
            "JWKS answers",
            self.jwks_url,
            r.status == 200 and bool(kids),
            f"got {r.status} with {len(kids)} key(s)",
        )
        return kids

    def run(self) -> list[Check]:
        kids = self.edge()
        routes = list(self.cfg.api.routes)
        guarded = [r for r in routes if r.authorizer]
        for r in routes:
            if not r.authorizer:
                self.add(
                    "open route (authorizer: false)",
                    f"{r.method} {r.path}",
                    None,
                    "not checked: the config makes it public",
                )
        if not guarded:
            self.add("a route needs a token", "api.routes", False, "no route has the authorizer")
            return self.checks
        for r in guarded:
            self.expect_401("no token -> 401", r, None)
        main = next((r for r in guarded if r.scopes), guarded[0])
        main_use = "access" if main.scopes else "id"
        self.expect_401("malformed token -> 401", main, "not-a.jwt.token")
        if kids:
            forged = forge(
                self.issuer,
                kids[-1 if main_use == "access" else 0],
                self.client_id,
                main_use,
                list(main.scopes),
            )
            self.expect_401("forged signature -> 401", main, forged)
        else:
            self.add(
                "forged signature -> 401",
                f"{main.method} {main.path}",
                False,
                "no JWKS key to forge a kid from",
            )
        self._expired(main, main_use)
        self._with_tokens(main, main_use)
        self._machine_clients(guarded)
        self._person_without_custom_scope(guarded)
        return self.checks

    def _machine_clients(self, guarded: list[Any]) -> None:
        scoped = [r for r in guarded if r.scopes]
        if not self.cfg.machine_clients:  # nothing to check: no row, rather than a SKIP
            return
        for mc in self.cfg.machine_clients:
            allowed = next((r for r in scoped if set(r.scopes) & set(mc.scopes)), None)
            denied = next((r for r in scoped if not set(r.scopes) & set(mc.scopes)), None)
            try:
                token = self.machine_token(mc.name) if self.machine_token else None
            except CogapiError as exc:
                self.add(f"machine token of {mc.name}", "/oauth2/token", False, exc.message)
                continue
            name = f"{mc.name} token on its scope -> 200"
            if allowed is None:
                self.add(name, mc.name, None, "skipped: no route takes any of its scopes")
            elif token is None:
                self.add(name, f"{allowed.method} {allowed.path}", False, "no token")
            else:
                r = self.send(allowed, token)
                self.add(name, f"{allowed.method} {allowed.path}", r.ok,
                         f"got {r.status} {_snippet(r.text)}")  # fmt: skip
            name = f"{mc.name} token without the scope -> 401"
            if denied is None:
                self.add(name, mc.name, None, "skipped: it holds a scope of every scoped route")
            elif token is not None:
                self.expect_401(name, denied, token)

    def _person_without_custom_scope(self, guarded: list[Any]) -> None:
        name = "person's token without the custom scope -> 401"
        custom = [r for r in guarded if any("/" in s for s in r.scopes)]
        if not custom:  # nothing to check: no row, rather than a SKIP
            return
        if self.tokens is None:
            self.add(name, "api.routes", None, "skipped: no person's token is cached")
            return
        granted = set(str(self.tokens.access_claims.get("scope", "")).split())
        lacking = next((r for r in custom if not granted & set(r.scopes)), None)
        if lacking is None:
            self.add(name, "api.routes", None,
                     "skipped: the cached token carries a scope of every custom-scope route")  # fmt: skip
            return
        self.expect_401(name, lacking, self.tokens.get("access"))

    def _expired(self, main: Any, main_use: str) -> None:
        target = f"{main.method} {main.path}"
        if self.expired.get(main_use):  # handed out by the local stand-in
            self.expect_401("expired token -> 401", main, self.expired[main_use])
            return
        old = self.tokens.cached.expired_access_token if self.tokens else None
        if main_use != "access":
            self.add(
                "expired token -> 401",
                target,
                None,
                "skipped: only expired access tokens are kept, and this route takes ID tokens",
            )
        elif not old:
            self.add(
                "expired token -> 401",
                target,
                None,
                "skipped: no expired token signed by the pool is at hand (one is kept when "
                "`cogapi token` refreshes an expired token)",
            )
        else:
            self.expect_401("expired token -> 401", main, old)

    def _with_tokens(self, main: Any, main_use: str) -> None:
        target = f"{main.method} {main.path}"
        hint = "no valid token cached: run `cogapi token` first"
        scoped = next((r for r in self.cfg.api.routes if r.authorizer and r.scopes), None)
        if scoped is not None:
            id_token = self.tokens.get("id") if self.tokens else None
            if id_token:
                self.expect_401("ID token on a scoped route -> 401", scoped, id_token)
            else:
                self.add(
                    "ID token on a scoped route -> 401",
                    f"{scoped.method} {scoped.path}",
                    False,
                    hint if not self.tokens else "the cached sign-in has no ID token",
                )
        token = self.tokens.get(main_use) if self.tokens else None
        if not token:
            self.add("valid token -> 200", target, False, hint)
            return
        r = self.send(main, token)
        detail = f"got {r.status} {_snippet(r.text)}"
        if (
            r.status == 401
            and self.tokens
            and self.tokens.cached.flow == "password"
            and main.scopes
        ):
            detail += " (password-flow tokens carry no OAuth scopes: sign in with the code flow)"
        self.add("valid token -> 200", target, r.ok, detail)


def local_expired_tokens(
    endpoint: str, pool_id: str, client_id: str, tokens: Any
) -> dict[str, str] | None:
    """Expired tokens of the signed-in user from `cogapi local`, or None (then the check falls
    back to the token kept from the last refresh, or is skipped)."""
    import json

    from cogapi.local import urls as local_urls

    claims = tokens.access_claims or {}
    username = claims.get("username") or (tokens.id_claims or {}).get("cognito:username")
    if not username:
        return None
    body = json.dumps({"pool_id": pool_id, "client_id": client_id, "username": username}).encode()
    try:
        r = http_request.request(
            local_urls.expired_tokens_url(endpoint.rstrip("/")), "POST", body,
            {"Content-Type": "application/json"},
        )  # fmt: skip
    except CogapiError:
        return None
    doc = r.json()
    if not r.ok or not isinstance(doc, dict):
        return None
    return {use: str(doc[f"{use}_token"]) for use in ("access", "id") if doc.get(f"{use}_token")}


def verify_stack(opts: Any, ui: Any) -> ExitStatus:
    from cogapi.auth.jwt_verify import trusted_issuers
    from cogapi.auth.machine import MachineTokens
    from cogapi.auth.sign_in import TokenService
    from cogapi.stack.context import open_stack
    from cogapi.stack.lookup import find_api_id, find_pool
    from cogapi.stack.outputs import hosted_ui_base, invoke_base

    ctx = open_stack(opts, ui)
    cfg = ctx.cfg
    ids = find_pool(ctx.aws, cfg)
    assert ids.client_id
    api_id = find_api_id(ctx.aws, cfg)
    issuers = trusted_issuers(cfg.region, ids.pool_id, ctx.endpoint_url, ctx.local_endpoint)
    issuer, jwks_url = next(iter(issuers.items()))  # the hosted UI's issuer comes first
    try:
        service = TokenService(ctx, ui)
        service._ids = ids  # looked up above: one lookup per command
        tokens = service.cached()
    except CogapiError as exc:
        ui.warn(f"cannot use the cached token: {exc.message}")
        tokens = None
    if tokens is not None and tokens.cached.pool_id != ids.pool_id:
        tokens = None
    expired = None
    if ctx.local_endpoint and tokens is not None:
        expired = local_expired_tokens(ctx.local_endpoint, ids.pool_id, ids.client_id, tokens)
    checks = StackChecks(
        cfg,
        invoke_base(cfg, api_id, ctx.local_endpoint),
        hosted_ui_base(cfg, ctx.local_endpoint),
        ids.client_id,
        jwks_url,
        issuer,
        tokens,
        machine_token=lambda name: MachineTokens(ctx, ui).get(name).cached.access_token,
        expired=expired,
    ).run()
    ok = all(c.status != "fail" for c in checks)
    if ui.json:
        ui.emit_json({"ok": ok, "checks": [asdict(c) for c in checks]})
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            ui.result(f"{c.status.upper():4}  {c.name:{width}}  {c.target}  {c.detail}")
        failed = [c for c in checks if c.status == "fail"]
        skipped = sum(1 for c in checks if c.status == "skip")
        ui.info(
            ("All checks passed." if not skipped else f"All checks passed, {skipped} skipped.")
            if ok
            else f"{len(failed)} check(s) failed: "
            + "; ".join(f"{c.name} ({c.target})" for c in failed)
        )
    return ExitStatus.OK if ok else ExitStatus.ERROR
