"""The tokens the stand-in issues, and the refresh tokens it keeps: grants, minting (an access
token with `aws.cognito.signin.user.admin` is registered with moto, so its user APIs take it),
refresh tokens in memory (they die with the server, as the keys do), their revocation, and why
one no longer refreshes, in AWS's words. The hosted UI (`edge.HostedUi`) is a `TokenIssuer`, and
the Cognito API front re-mints its sign-ins with the same one.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cogapi.local import urls
from cogapi.local.moto_state import ClientView, MotoState
from cogapi.local.tokens import Grant, KeySet, Subject, TokenSet, mint

ADMIN_SCOPE = "aws.cognito.signin.user.admin"  # what the user APIs (GetUser, ...) require


@dataclass(frozen=True)
class _Refresh:
    client_id: str
    pool_id: str
    username: str
    scopes: tuple[str, ...]
    auth_time: int
    expires: float
    origin_jti: str


class TokenIssuer:
    """Grants, minting and the refresh tokens of one server (see the module docstring)."""

    def __init__(
        self, state: MotoState, keys: KeySet, endpoint: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.keys = keys
        self.endpoint = endpoint
        self.clock = clock
        self._refresh: dict[str, _Refresh] = {}
        self._revoked: set[str] = set()  # refresh tokens revoked here, for the error's wording
        self._lock = threading.Lock()

    def grant_for(
        self,
        pool_id: str,
        client: ClientView,
        subject: Subject,
        scopes: tuple[str, ...],
        auth_time: int | None = None,
        origin_jti: str | None = None,
        nonce: str | None = None,
    ) -> Grant:
        now = int(self.clock())
        subject = dataclasses.replace(subject, attributes=client.readable(subject.attributes))
        grant = Grant(
            issuer=urls.issuer(self.endpoint, pool_id),
            client_id=client.client_id,
            subject=subject,
            scopes=scopes,
            auth_time=now if auth_time is None else auth_time,
            access_seconds=client.access_seconds,
            id_seconds=client.id_seconds,
            nonce=nonce,
        )
        return grant if origin_jti is None else dataclasses.replace(grant, origin_jti=origin_jti)

    def mint(
        self, pool_id: str, grant: Grant, *, id_token: bool | None = None, at_hash: bool = True
    ) -> TokenSet:
        """Mint, and let moto's user APIs accept the access token when it may call them
        (scope `aws.cognito.signin.user.admin`, as on AWS)."""
        tokens = mint(self.keys, grant, now=int(self.clock()), id_token=id_token, at_hash=at_hash)
        if ADMIN_SCOPE in grant.scopes:
            self.state.register_access_token(
                pool_id, tokens.access_token, grant.client_id, grant.subject.username
            )
        return tokens

    def new_refresh_token(self, grant: Grant, client: ClientView) -> str:
        token = "local." + secrets.token_urlsafe(48)  # opaque, like Cognito's JWE
        with self._lock:
            self._refresh[token] = _Refresh(
                client.client_id,
                client.pool_id,
                grant.subject.username,
                grant.scopes,
                grant.auth_time,
                self.clock() + client.refresh_seconds,
                grant.origin_jti,
            )
        return token

    def refreshed_grant(self, token: str, client: ClientView) -> tuple[Grant, bool] | None:
        """What a refresh token of `client` grants now, wherever it was issued: here (the code
        flow), or by an API sign-in (moto's, scope `aws.cognito.signin.user.admin`; then True).
        AWS takes either at /oauth2/token and in InitiateAuth(REFRESH_TOKEN_AUTH)."""
        with self._lock:
            stored = self._refresh.get(token)
        if stored is not None:
            if stored.expires < self.clock() or stored.client_id != client.client_id:
                return None
            subject = self.state.subject(stored.pool_id, stored.username)
            if subject is None:
                return None
            grant = self.grant_for(
                stored.pool_id,
                client,
                subject,
                stored.scopes,
                auth_time=stored.auth_time,
                origin_jti=stored.origin_jti,
            )
            return grant, False
        record = self.state.refresh_record(client.pool_id, token)
        if record is None or record[0] != client.client_id:
            return None
        subject = self.state.subject(client.pool_id, record[1])
        if subject is None:
            return None
        return self.grant_for(
            client.pool_id, client, subject, (ADMIN_SCOPE,), origin_jti=record[2]
        ), True

    def revoke_refresh_token(self, token: str, client_id: str) -> str | None:
        """Forget a refresh token of this client; returns the origin_jti of its sign-in."""
        with self._lock:
            stored = self._refresh.get(token)
            if stored is None or stored.client_id != client_id:
                return None
            del self._refresh[token]
            self._revoked.add(token)
        return stored.origin_jti

    def sign_out(self, pool_id: str, username: str) -> None:
        """GlobalSignOut: every refresh token of the user stops working."""
        with self._lock:
            for token, stored in list(self._refresh.items()):
                if stored.pool_id == pool_id and stored.username == username:
                    del self._refresh[token]
                    self._revoked.add(token)

    def refresh_failure(self, token: str, client_id: str) -> tuple[str, str] | None:
        """Why one of this server's refresh tokens no longer refreshes, as AWS answers it
        (error type, message); None: not one of its tokens, or one of another client."""
        with self._lock:
            if token in self._revoked:
                return "NotAuthorizedException", "Refresh Token has been revoked"
            stored = self._refresh.get(token)
        if stored is None or stored.client_id != client_id:
            return None
        if stored.expires < self.clock():
            return "NotAuthorizedException", "Refresh Token has expired"
        if self.state.subject(stored.pool_id, stored.username) is None:
            return "UserNotFoundException", "User does not exist."
        return None

    def issue(
        self,
        pool_id: str,
        client_id: str,
        username: str,
        scopes: tuple[str, ...] | None = None,
        issued_at: int | None = None,
    ) -> dict[str, Any]:
        """Tokens as `/oauth2/token` would answer them, without the browser (tests, CLI)."""
        client = self.state.client(pool_id, client_id)
        subject = self.state.subject(pool_id, username)
        if client is None or subject is None:
            raise LookupError(f"no client {client_id} or user {username} in {pool_id}")
        granted = client.oauth_scopes if scopes is None else scopes
        grant = self.grant_for(pool_id, client, subject, granted, auth_time=issued_at)
        tokens = mint(self.keys, grant, now=issued_at)
        if ADMIN_SCOPE in granted:
            self.state.register_access_token(
                pool_id, tokens.access_token, client_id, subject.username
            )
        return self._token_body(tokens, self.new_refresh_token(grant, client))

    @staticmethod
    def _token_body(tokens: TokenSet, refresh: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": tokens.access_token}
        if tokens.id_token:
            body["id_token"] = tokens.id_token
        if refresh:
            body["refresh_token"] = refresh
        body.update({"token_type": "Bearer", "expires_in": tokens.expires_in})
        return body
