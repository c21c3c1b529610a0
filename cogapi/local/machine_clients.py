"""The `client_credentials` grant of `/oauth2/token`: tokens for services, not people.

As Cognito answers it (aws-notes: "Resource servers and machine clients"):
- credentials by HTTP Basic, or `client_id` + `client_secret` in the form; an unknown client or
  a wrong secret is 401 `invalid_client`;
- a client without the grant (a public client, a hosted-UI client, OAuth switched off) is 400
  `unauthorized_client`;
- `scope` is optional and only narrows: every requested scope must be one the client allows and
  a resource server of the pool still defines, or the answer is 400 `invalid_scope`; no `scope`
  grants all of the client's (existing) custom scopes;
- 200 `{access_token, expires_in, token_type: Bearer}`: no ID token, no refresh token. The access
  token's `sub` and `client_id` are the client id, `token_use` is access, and it has no `username`
  (there is no user); its lifetime is the client's access token validity.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from cogapi.local import urls
from cogapi.local.moto_state import ClientView, MotoState, PoolView
from cogapi.local.tokens import KeySet

GRANT = "client_credentials"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def machine_access_claims(
    issuer: str, client: ClientView, scopes: tuple[str, ...], now: int
) -> dict[str, Any]:
    """Claims in the order Cognito writes them for this grant."""
    return {
        "sub": client.client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": issuer,
        "exp": now + client.access_seconds,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client.client_id,
    }


class ClientCredentials:
    """One per server, next to the hosted UI; `token(request, pool)` answers the grant."""

    def __init__(
        self, state: MotoState, keys: KeySet, endpoint: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.keys = keys
        self.endpoint = endpoint
        self.clock = clock

    @staticmethod
    def _answer(body: dict[str, Any], status: int = 200) -> Response:
        return Response(
            json.dumps(body), status=status, headers=NO_STORE, content_type="application/json"
        )

    def _error(self, code: str, status: int = 400) -> Response:
        return self._answer({"error": code}, status)

    def token(self, request: Request, pool: PoolView) -> Response:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username or "", auth.password
        client = self.state.client(pool.pool_id, client_id) if client_id else None
        if client is None:
            return self._error("invalid_client", 401)
        if client.secret is not None and not secrets.compare_digest(client.secret, secret or ""):
            return self._error("invalid_client", 401)
        # The grant needs a secret, the flow, and OAuth switched on (AllowedOAuthFlowsUserPoolClient).
        if client.secret is None or GRANT not in client.oauth_flows or not client.hosted_ui_enabled:
            return self._error("unauthorized_client")
        existing = self.state.custom_scopes(pool.pool_id)
        allowed = tuple(s for s in client.oauth_scopes if s in existing)
        requested = tuple(dict.fromkeys(request.form.get("scope", "").split()))
        if any(s not in allowed for s in requested):
            return self._error("invalid_scope")
        granted = requested or allowed
        if not granted:
            return self._error("invalid_scope")
        now = int(self.clock())
        claims = machine_access_claims(
            urls.issuer(self.endpoint, pool.pool_id), client, granted, now
        )
        body = {
            "access_token": self.keys.access_key.sign(claims),
            "expires_in": client.access_seconds,
            "token_type": "Bearer",
        }
        return self._answer(body)
