"""Tokens for machine clients: the `client_credentials` grant (`cogapi token --client NAME`).

A machine client signs in as itself, with its secret: the secret is read when it is needed, from
`COGAPI_CLIENT_SECRET` when set, else from AWS (`DescribeUserPoolClient`), and never stored,
printed or logged. It is posted to the hosted UI's `/oauth2/token` with HTTP Basic. What comes
back is an access token only (this grant has no ID or refresh token); it is verified against the
pool's JWKS like every other token, cached per client (mode 0600, a file of its own) and reused
until it is about to expire, then simply fetched again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from cogapi.auth import http_request
from cogapi.auth.jwt_verify import TokenRejected, TokenVerifier, seconds_left, trusted_issuers
from cogapi.auth.sign_in import MIN_SECONDS_LEFT, SECRET_ENV, Tokens
from cogapi.auth.token_cache import CachedTokens, TokenCache
from cogapi.errors import CogapiError, UsageError

FLOW = "client_credentials"
HINTS = {
    "invalid_client": f"the client secret is wrong: check ${SECRET_ENV}, or unset it so cogapi "
    "reads the secret from AWS",
    "invalid_scope": "the client is not allowed that scope; check machine_clients[].scopes and "
    "run `cogapi up`",
    "unauthorized_client": "the client does not allow client_credentials; run `cogapi up`",
}


class MachineTokens:
    def __init__(
        self,
        ctx: Any,  # cogapi.stack.context.StackContext
        ui: Any,
        clock: Callable[[], float] = time.time,
        env: dict[str, str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.ui = ui
        self.clock = clock
        self.env = dict(os.environ) if env is None else env
        self._ids: dict[str, tuple[str, str]] = {}  # name -> (pool id, client id), looked up once

    def ids(self, name: str) -> tuple[str, str]:
        """The pool's and the machine client's ids (a clear error when the stack is gone)."""
        from cogapi.stack.lookup import find_machine_client_id, find_pool

        if name not in self._ids:
            pool_id = find_pool(self.ctx.aws, self.cfg, need_client=False).pool_id
            self._ids[name] = (
                pool_id,
                find_machine_client_id(self.ctx.aws, self.cfg, pool_id, name),
            )
        return self._ids[name]

    def _machine(self, name: str) -> Any:
        mc = self.cfg.machine_client(name)
        if mc is None:
            known = ", ".join(m.name for m in self.cfg.machine_clients) or "none"
            raise UsageError(
                f"--client {name}: no such machine client in the config (machine_clients: {known})"
            )
        return mc

    def cache(self, name: str) -> TokenCache:
        """The machine client's own file, keyed like a person's by the pool and client ids."""
        return TokenCache.for_client(*self.ids(name))

    def _verify(self, entry: CachedTokens, source: str) -> Tokens:
        issuers = trusted_issuers(
            self.cfg.region, entry.pool_id, self.ctx.endpoint_url, self.ctx.local_endpoint
        )
        verifier = TokenVerifier(issuers, entry.client_id, clock=self.clock)
        claims = verifier.verify(entry.access_token, "access", check_expiry=False)
        return Tokens(entry, claims, None, source)

    def cached(self, name: str) -> Tokens | None:
        entry = self.cache(name).load()
        if entry is None or entry.flow != FLOW or entry.client_name != name:
            return None
        try:
            tokens = self._verify(entry, "cache")
        except TokenRejected as exc:
            self.ui.info(f"The cached token of {name} is no longer valid: {exc.reason}.")
            return None
        if seconds_left(tokens.access_claims, self.clock()) <= MIN_SECONDS_LEFT:
            return None  # no refresh token for this grant: fetch a new one
        return tokens

    def get(self, name: str, force: bool = False) -> Tokens:
        """A verified access token for machine client `name`: cached, or fetched now."""
        self._machine(name)
        if not force:
            tokens = self.cached(name)
            if tokens is not None:
                return tokens
        return self.fetch(name)

    def fetch(self, name: str) -> Tokens:
        from cogapi.stack.outputs import hosted_ui_base

        self._machine(name)
        pool_id, client_id = self.ids(name)
        secret = self.env.get(SECRET_ENV) or self.ctx.aws.client_secret(pool_id, client_id)
        if not secret:
            raise CogapiError(
                f"machine client {name!r} ({client_id}) has no secret",
                hint="a machine client needs one: rename it in the config and run `cogapi up`",
            )
        hosted = hosted_ui_base(self.cfg, self.ctx.local_endpoint)
        r = http_request.post_form(
            f"{hosted}/oauth2/token", {"grant_type": FLOW}, basic_auth=(client_id, secret)
        )
        body = r.json()
        if not (r.ok and isinstance(body, dict) and body.get("access_token")):
            error = body.get("error") if isinstance(body, dict) else None
            raise CogapiError(
                f"the token endpoint refused client_credentials for {name}: "
                f"HTTP {r.status} {error or r.text[:200]}",
                hint=HINTS.get(str(error)),
            )
        entry = CachedTokens(
            pool_id=pool_id, client_id=client_id, flow=FLOW,
            access_token=str(body["access_token"]), hosted_ui=hosted, client_name=name,
        )  # fmt: skip
        tokens = self._verify(entry, "client_credentials")
        if seconds_left(tokens.access_claims, self.clock()) <= 0:
            raise TokenRejected("the new token is already expired (is this machine's clock right?)")
        self.cache(name).store(entry)
        return tokens
