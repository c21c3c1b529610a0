"""API Gateway's Cognito authorizer (`COGNITO_USER_POOLS`), as aws-notes describes it: the raw
token or `Bearer <token>` from the identity source header, signed by this server's keys, `iss`
one of the authorizer's pools, then `exp` (its own 401 message), then scopes: a method with
`authorizationScopes` takes an access token holding one of them, a method without takes an ID
token of one of the pool's clients. The claims reach the integration as strings.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from cogapi.local import moto_state, urls
from cogapi.local.gateway_errors import GatewayError, internal, unauthorized
from cogapi.local.moto_state import ApiSnapshot, MethodSpec, MotoState, PoolView
from cogapi.local.tokens import InvalidToken, KeySet, is_expired


def claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to a REST integration: every value a string."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, (int, float)):
            out[name] = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


class CognitoAuthorizer:
    """Checks a token as API Gateway's Cognito authorizer does (see the module docstring).

    The signature check is remembered per token string: the server's keys never change while it
    runs, so a token that verified once verifies again, and a warm call skips the RSA check and
    the JWT parsing (and the claims' string form for the event is made once). Everything that
    can change (expiry, the authorizer's pools, the pool's clients, the method's scopes) is
    checked on every call; the pools' clients are read from moto once per state generation
    (`moto_state.generation`), as they change only when the backends do.
    """

    VERIFIED_TOKENS = 4096  # remembered signature checks, least recently used dropped first

    def __init__(
        self, state: MotoState, keys: KeySet, endpoint: str, clock: Callable[[], float]
    ) -> None:
        self.state = state
        self.keys = keys
        self.endpoint = endpoint
        self.clock = clock
        self._verified_tokens: OrderedDict[str, tuple[dict[str, Any], dict[str, str]]] = (
            OrderedDict()
        )
        self._verified_keys: KeySet | None = None
        self._issuers: dict[tuple[str, ...], dict[str, str]] = {}
        self._pools: dict[str, tuple[int, PoolView | None]] = {}
        self._lock = threading.Lock()

    def _verified(self, token: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The token's claims, and their string form, if this server's keys signed it (401
        otherwise)."""
        with self._lock:
            if self._verified_keys is not self.keys:  # new keys: nothing verified holds
                self._verified_tokens.clear()
                self._verified_keys = self.keys
            known = self._verified_tokens.get(token)
            if known is not None:
                self._verified_tokens.move_to_end(token)
                return known
        try:
            claims = self.keys.decode(token)
        except InvalidToken as exc:
            raise unauthorized(str(exc)) from None
        known = (claims, claim_strings(claims))
        with self._lock:
            self._verified_tokens[token] = known
            if len(self._verified_tokens) > self.VERIFIED_TOKENS:
                self._verified_tokens.popitem(last=False)
        return known

    def _trusted_issuers(self, provider_arns: tuple[str, ...]) -> dict[str, str]:
        """issuer -> pool id for an authorizer's pools (a function of the ARNs alone)."""
        known = self._issuers.get(provider_arns)
        if known is None:
            pool_ids = [arn.rsplit("/", 1)[-1] for arn in provider_arns]
            known = {urls.issuer(self.endpoint, pool_id): pool_id for pool_id in pool_ids}
            if len(self._issuers) >= 256:
                self._issuers.clear()
            self._issuers[provider_arns] = known
        return known

    def _pool(self, pool_id: str) -> PoolView | None:
        """The pool as it stands, looked up once per state generation (`moto_state`)."""
        generation = moto_state.generation()
        known = self._pools.get(pool_id)
        if known is not None and known[0] == generation:
            return known[1]
        pool = self.state.pool(pool_id)
        if len(self._pools) >= 256:
            self._pools.clear()
        self._pools[pool_id] = (generation, pool)
        return pool

    def authorize(
        self, request: Request, api: ApiSnapshot, method: MethodSpec
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The claims of the request's token if the method's authorizer lets it through, and
        the claims as the integration sees them (`claim_strings`)."""
        authorizer = api.authorizer(method.authorizer_id)
        if authorizer is None or authorizer.type != "COGNITO_USER_POOLS":
            raise internal(f"method {method.http_method} has no Cognito authorizer")
        header = authorizer.identity_source.removeprefix("method.request.header.")
        token = request.headers.get(header, "").strip()
        if token[:7].lower() == "bearer ":  # undocumented but accepted by AWS (aws-notes)
            token = token[7:].strip()
        if not token:
            raise unauthorized(f"no token in header {header}")
        verified = self._verified(token)
        claims = verified[0]
        pool_id = self._trusted_issuers(authorizer.provider_arns).get(str(claims.get("iss")))
        if pool_id is None:
            raise unauthorized("token issued by a pool this authorizer does not trust")
        if is_expired(claims, self.clock()):
            raise GatewayError(
                401, "The incoming token has expired", "UnauthorizedException", "expired token"
            )
        if method.scopes:
            granted = set(str(claims.get("scope", "")).split())
            if claims.get("token_use") != "access" or not granted & set(method.scopes):
                raise unauthorized(f"needs an access token with one of {list(method.scopes)}")
        else:
            pool = self._pool(pool_id)
            if (
                claims.get("token_use") != "id"
                or pool is None
                or claims.get("aud") not in pool.client_ids
            ):
                raise unauthorized("a method without scopes needs an ID token")
        return verified
