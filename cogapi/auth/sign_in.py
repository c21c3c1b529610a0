"""`cogapi token`: get a verified token for the stack, from the cache, a refresh, or a sign-in.

Order: a cached token that still verifies (and has a minute left) is reused; an expired one is
refreshed when there is a refresh token (through the channel that issued it: `/oauth2/token` for
browser flows, `InitiateAuth REFRESH_TOKEN_AUTH` for the password flow); otherwise the user signs
in again. Every token that comes back is verified against the pool's JWKS (`jwt_verify`) before
it is cached, and a cached token is verified again before it is handed out, so a pool that was
deleted, or a `cogapi local` that restarted with new keys, means a new sign-in rather than a
token that can only fail.

Flows: `code` (authorization code + PKCE + state, loopback callback or a pasted URL), `implicit`
(tokens in the fragment; the callback page relays them), `password` (`InitiateAuth`; its tokens
carry no OAuth scopes, so the result carries a warning saying so).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from cogapi.auth.hosted_ui import (
    HostedUiFlow,
    Opener,
    TokenEndpoint,
    default_opener,
    logout_url,
    loopback_callback,
)
from cogapi.auth.jwt_verify import (
    TokenRejected,
    TokenVerifier,
    seconds_left,
    summarize,
    trusted_issuers,
    unverified_claims,
)
from cogapi.auth.token_cache import CachedTokens, TokenCache
from cogapi.errors import CogapiError, UsageError

FLOWS = ("code", "implicit", "password")
MIN_SECONDS_LEFT = 60  # a token about to expire is treated as expired
SECRET_ENV = "COGAPI_CLIENT_SECRET"
PASSWORD_SCOPE_WARNING = (
    "tokens from the password flow (InitiateAuth) carry no OAuth scopes, only "
    "aws.cognito.signin.user.admin, so routes that require scopes answer 401 to them; "
    "sign in with the code flow (`cogapi token --flow code`) for those"
)


@dataclass
class Tokens:
    """A verified token set and where it came from (`cache`, `refresh` or `sign-in`)."""

    cached: CachedTokens
    access_claims: dict[str, Any]
    id_claims: dict[str, Any] | None
    source: str
    warnings: list[str] = field(default_factory=list)

    def get(self, which: str) -> str | None:
        return {
            "access": self.cached.access_token,
            "id": self.cached.id_token,
            "refresh": self.cached.refresh_token,
        }[which]

    def to_json(self) -> dict[str, Any]:
        def expiry(claims: dict[str, Any] | None) -> str | None:
            exp = (claims or {}).get("exp")
            return _iso(exp) if isinstance(exp, (int, float)) else None

        c = self.cached
        return {
            "access_token": c.access_token, "id_token": c.id_token, "refresh_token": c.refresh_token,
            "token_type": "Bearer", "flow": c.flow, "source": self.source,
            "expires_at": {"access": expiry(self.access_claims), "id": expiry(self.id_claims)},
            "claims": {"access": summarize(self.access_claims),
                       "id": summarize(self.id_claims) if self.id_claims else None},
            "user_pool_id": c.pool_id, "app_client_id": c.client_id, "warnings": self.warnings,
        }  # fmt: skip


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def secret_hash(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class TokenService:
    def __init__(
        self,
        ctx: Any,  # cogapi.stack.context.StackContext
        ui: Any,
        opener: Opener = default_opener,
        clock: Callable[[], float] = time.time,
        stdin: IO[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.ui = ui
        self.opener = opener
        self.clock = clock
        self.stdin = stdin or sys.stdin
        self.env = dict(os.environ) if env is None else env
        self._ids: Any = None  # the stack's PoolIds, looked up once
        self._cache: TokenCache | None = None
        self._prepared: tuple[Any, str | None] | None = None

    def stack_ids(self) -> Any:
        """The stack's pool and client ids (`lookup.find_pool`); a clear error when the stack
        is gone (after `cogapi down`), whatever the cache holds."""
        from cogapi.stack.lookup import find_pool

        if self._ids is None:
            self._ids = find_pool(self.ctx.aws, self.cfg)
        return self._ids

    @property
    def cache(self) -> TokenCache:
        """This pool and client's cache file (keyed by their ids, not the stack's name)."""
        if self._cache is None:
            ids = self.stack_ids()
            self._cache = TokenCache.for_client(ids.pool_id, str(ids.client_id))
        return self._cache

    # ---- shared ---------------------------------------------------------------------------

    def hosted_ui(self) -> str:
        from cogapi.stack.outputs import hosted_ui_base

        return hosted_ui_base(self.cfg, self.ctx.local_endpoint)

    def verifier(self, pool_id: str, client_id: str) -> TokenVerifier:
        issuers = trusted_issuers(
            self.cfg.region, pool_id, self.ctx.endpoint_url, self.ctx.local_endpoint
        )
        return TokenVerifier(issuers, client_id, clock=self.clock)

    def client_secret(self, client_has_secret: bool) -> str | None:
        if not (client_has_secret or self.cfg.app_client.generate_secret):
            return None
        secret = self.env.get(SECRET_ENV)
        if not secret:
            raise UsageError(
                f"the app client {self.cfg.client_name!r} has a secret; cogapi reads it only "
                f"from ${SECRET_ENV}",
                hint=f"export {SECRET_ENV}=... (aws cognito-idp describe-user-pool-client shows it)",
            )
        return secret

    def _verified(self, entry: CachedTokens, source: str) -> Tokens:
        v = self.verifier(entry.pool_id, entry.client_id)
        access = v.verify(entry.access_token, "access", check_expiry=False)
        ident = v.verify(entry.id_token, "id", check_expiry=False) if entry.id_token else None
        warnings = [PASSWORD_SCOPE_WARNING] if entry.flow == "password" else []
        return Tokens(entry, access, ident, source, warnings)

    def _left(self, tokens: Tokens) -> float:
        now = self.clock()
        left = seconds_left(tokens.access_claims, now)
        if tokens.id_claims is not None:
            left = min(left, seconds_left(tokens.id_claims, now))
        return left

    # ---- cache and refresh ----------------------------------------------------------------

    def cached(self, flow: str | None = None) -> Tokens | None:
        """A valid token set from the cache (refreshed if needed), or None when a sign-in is due."""
        entry = self.cache.load()
        if entry is None:
            return None
        ids = self.stack_ids()
        if (entry.pool_id, entry.client_id) != (ids.pool_id, ids.client_id):
            return None  # not this client's (a renamed or hand-made file): never used
        if flow is not None and entry.flow != flow:
            self.ui.info(f"The cached token came from the {entry.flow} flow, not {flow}.")
            return None
        try:
            tokens = self._verified(entry, "cache")
        except TokenRejected as exc:
            # Dead for good (new keys, a pool that is gone): dropped, so this is said once.
            self.cache.clear()
            self.ui.info(f"The cached token is no longer valid ({exc.reason}); removed it.")
            return None
        if self._left(tokens) > MIN_SECONDS_LEFT:
            return tokens
        if not entry.refresh_token:
            self.ui.info("The cached token has expired and there is no refresh token.")
            return None
        try:
            return self.refresh(entry)
        except CogapiError as exc:
            self.ui.info(f"Refreshing the token failed: {exc.message}")
            return None

    def refresh(self, entry: CachedTokens) -> Tokens:
        assert entry.refresh_token
        self.ui.info("Refreshing the expired token...")
        secret = self.client_secret(False)
        if entry.flow == "password":
            sh = secret_hash(secret, entry.username or "", entry.client_id) if secret else None
            answer = self.ctx.aws.refresh_password_auth(entry.client_id, entry.refresh_token, sh)
            body = _from_initiate_auth(answer)
        else:
            # The stack's own hosted UI, never a URL from the cache file: the refresh token and
            # the client secret go only where the config and the stack say.
            endpoint = TokenEndpoint(self.hosted_ui(), self.stack_ids().client_id, secret)
            body = endpoint.refresh(entry.refresh_token)
        fresh = CachedTokens(
            pool_id=entry.pool_id, client_id=entry.client_id, flow=entry.flow,
            access_token=body["access_token"], id_token=body.get("id_token") or entry.id_token,
            refresh_token=body.get("refresh_token") or entry.refresh_token,
            hosted_ui=entry.hosted_ui, username=entry.username,
            expired_access_token=entry.access_token,
        )  # fmt: skip
        if not body.get("id_token"):
            fresh.id_token = None  # never pair a new access token with an old ID token
        tokens = self._verified(fresh, "refresh")
        if self._left(tokens) <= 0:
            raise TokenRejected("the refreshed token is already expired (is the clock right?)")
        self.cache.store(fresh)
        return tokens

    # ---- sign-in --------------------------------------------------------------------------

    def sign_in(
        self,
        flow: str,
        open_browser: bool,
        timeout: float = 300.0,
        username: str | None = None,
        password: str | None = None,
    ) -> Tokens:
        ids, secret = self.prepare(flow)
        assert ids.client_id
        self._ids = ids
        hosted = self.hosted_ui()
        warnings: list[str] = []
        try:
            if flow == "password":
                if not username or password is None:
                    raise UsageError(
                        "the password flow needs --username and a password",
                        hint="pass --username U, and the password at the prompt or "
                        "with --password-stdin",
                    )
                sh = secret_hash(secret, username, ids.client_id) if secret else None
                body = _from_initiate_auth(
                    self.ctx.aws.initiate_password_auth(ids.client_id, username, password, sh)
                )
                warnings.append(PASSWORD_SCOPE_WARNING)
            else:
                body = self._browser(
                    TokenEndpoint(hosted, ids.client_id, secret), flow, open_browser, timeout
                )
        except CogapiError as exc:
            if isinstance(exc, UsageError) or not self._pool_is_empty(ids.pool_id):
                raise
            exc.hint = (
                f"the user pool {ids.pool_id} has no users yet: add one with "
                "`cogapi user add EMAIL`, then sign in as that user"
            )
            raise
        entry = CachedTokens(
            pool_id=ids.pool_id, client_id=ids.client_id, flow=flow,
            access_token=str(body["access_token"]), id_token=body.get("id_token"),
            refresh_token=body.get("refresh_token"), hosted_ui=hosted,
        )  # fmt: skip
        entry.username = str(
            unverified_claims(entry.access_token).get("username") or username or ""
        )
        tokens = self._verified(entry, "sign-in")
        if self._left(tokens) <= 0:
            raise TokenRejected("the new token is already expired (is this machine's clock right?)")
        tokens.warnings = warnings
        self.cache.store(entry)
        return tokens

    def prepare(self, flow: str) -> tuple[Any, str | None]:
        """Everything a sign-in needs that can be checked before asking for a password or
        opening a browser: the client allows the flow, the stack's pool and client exist, a
        client secret is at hand. Returns (the pool's ids, the client secret or None)."""
        check_flow(self.cfg, flow)
        if self._prepared is None:
            ids = self.stack_ids()
            self._prepared = (ids, self.client_secret(ids.client_has_secret))
        return self._prepared

    def _pool_is_empty(self, pool_id: str) -> bool:
        try:
            return not self.ctx.aws.any_user(pool_id)
        except CogapiError:
            return False

    def _browser(
        self, endpoint: TokenEndpoint, flow: str, open_browser: bool, timeout: float
    ) -> dict[str, Any]:
        from cogapi.auth.callback_server import CallbackServer

        callbacks = list(self.cfg.app_client.callback_urls)
        loopback = loopback_callback(callbacks)
        if open_browser:
            if loopback is None:
                raise UsageError(
                    "no loopback callback URL to receive the sign-in: app_client.callback_urls "
                    f"is {callbacks or '[]'}",
                    hint="add http://localhost:8765/callback to app_client.callback_urls and run "
                    "`cogapi up`, or use --no-browser and paste the redirected URL",
                )
            sign_in = HostedUiFlow(endpoint, loopback, list(self.cfg.app_client.oauth_scopes), flow)
            with CallbackServer(
                loopback, sign_in.state, "query" if flow == "code" else "fragment"
            ) as server:
                url = sign_in.authorize_url()
                self.ui.info(f"Sign in at:\n  {url}")  # printed first, whatever the browser does
                if not self.opener(url):
                    self.ui.info("Could not open a browser: open the URL above yourself.")
                self.ui.info(
                    f"Waiting up to {timeout:g} s for the sign-in to come back to {loopback} ..."
                )
                params = server.wait(timeout)
        else:
            redirect = loopback or (callbacks[0] if callbacks else None)
            if redirect is None:
                raise UsageError(
                    "app_client.callback_urls is empty; the hosted UI needs one",
                    hint="add a callback URL and run `cogapi up`",
                )
            sign_in = HostedUiFlow(endpoint, redirect, list(self.cfg.app_client.oauth_scopes), flow)
            self.ui.info(f"Open this URL in a browser and sign in:\n  {sign_in.authorize_url()}")
            self.ui.info(
                f"The browser then goes to {redirect} (the page may fail to load: that is "
                "fine). Paste that whole address here and press Enter:"
            )
            line = self.stdin.readline()
            if not line.strip():
                raise UsageError(
                    "no redirected URL was pasted",
                    hint="paste the address the browser ended on after signing in",
                )
            params = sign_in.params_from_pasted(line)
        return sign_in.tokens(params)

    # ---- logout ---------------------------------------------------------------------------

    def logout(self, open_browser: bool) -> dict[str, Any]:
        from cogapi.auth import http_request

        try:
            self.stack_ids()
        except TokenRejected:
            raise
        except CogapiError as exc:  # the stack is gone: its pool, and its tokens, with it
            self.ui.info(f"Nothing to sign out of: {exc.message}.")
            return {"cleared": False, "cache_file": None, "revoked": False, "logout_url": None}
        entry = self.cache.load()
        cleared = self.cache.clear()
        out: dict[str, Any] = {
            "cleared": cleared,
            "cache_file": str(self.cache.path),
            "revoked": False,
            "logout_url": None,
        }
        if entry is None or entry.flow == "password":
            return out
        # The stack's hosted UI and client, never the cache's: a planted entry must not choose
        # where the refresh token and the client secret go.
        hosted, client_id = self.hosted_ui(), str(self.stack_ids().client_id)
        secret = self.env.get(SECRET_ENV) if self.cfg.app_client.generate_secret else None
        if entry.refresh_token and entry.client_id == client_id:
            try:
                out["revoked"] = TokenEndpoint(hosted, client_id, secret).revoke(
                    entry.refresh_token
                )
            except CogapiError as exc:
                self.ui.warn(f"could not revoke the refresh token: {exc.message}")
        logout_uris = list(self.cfg.app_client.logout_urls)
        if not logout_uris:
            self.ui.warn(
                "app_client.logout_urls is empty, so the hosted UI's /logout cannot be "
                "called; the browser session stays signed in"
            )
            return out
        url = logout_url(hosted, client_id, logout_uris[0])
        out["logout_url"] = url
        self.ui.info(f"Signing out of the hosted UI:\n  {url}")
        # The hosted UI's session cookie lives in the browser: sign out there when we can.
        if open_browser and self.opener(url):
            return out
        try:
            r = http_request.request(url, timeout=10)
            if r.status >= 400:
                self.ui.warn(f"/logout answered HTTP {r.status}")
        except CogapiError as exc:
            self.ui.warn(exc.message)
        return out


def check_flow(cfg: Any, flow: str) -> None:
    """The configured app client allows `flow`; a UsageError naming the key otherwise."""
    if flow != "password" and flow not in cfg.app_client.oauth_flows:
        raise UsageError(
            f"the app client does not allow the {flow} flow (app_client.oauth_flows: "
            f"{', '.join(cfg.app_client.oauth_flows) or 'none'})",
            hint=f"add {flow} to app_client.oauth_flows and run `cogapi up`, or pick another --flow",
        )
    if flow == "password" and "user_password" not in cfg.app_client.auth_flows:
        raise UsageError(
            "the app client does not allow the password flow (USER_PASSWORD_AUTH; "
            f"app_client.auth_flows: {', '.join(cfg.app_client.auth_flows) or 'none'})",
            hint="add user_password to app_client.auth_flows and run `cogapi up`, "
            "or use the code flow",
        )


def _from_initiate_auth(answer: dict[str, Any]) -> dict[str, Any]:
    result = answer.get("AuthenticationResult")
    if not result:
        challenge = answer.get("ChallengeName", "an unknown challenge")
        raise CogapiError(
            f"sign-in needs {challenge}, which the password flow of cogapi does not answer",
            hint="sign in once with the code flow (`cogapi token`) to complete it, or recreate "
            "the user with `cogapi user add`",
        )
    return {"access_token": result["AccessToken"], "id_token": result.get("IdToken"),
            "refresh_token": result.get("RefreshToken"),
            "expires_in": result.get("ExpiresIn")}  # fmt: skip
