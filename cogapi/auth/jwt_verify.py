"""Verify a Cognito token against its pool's JWKS before cogapi keeps or uses it.

Checks, in order: a JWT with `alg` RS256 and a `kid` the pool's JWKS holds; the signature; `iss`
is one of the issuers this stack trusts; `token_use` is what the caller expects; the client
(`client_id` on access tokens, which have no `aud`; `aud` on ID tokens); `exp` in the future.

Which issuer and JWKS belong to a pool (`trusted_issuers`):
- AWS: `https://cognito-idp.{region}.amazonaws.com/{pool_id}`, keys at `{iss}/.well-known/jwks.json`.
- `cogapi local`: every token (hosted UI and `InitiateAuth`) comes from the stand-in, whose issuer
  is `{endpoint}/{pool_id}` (`cogapi.local.urls.issuer`), keys at `{iss}/.well-known/jwks.json`.
- Any other custom endpoint (a plain moto server): moto keeps the AWS-style `iss` and serves its
  JWKS at `{endpoint}/{pool_id}/.well-known/jwks.json` (aws-notes: moto).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from cogapi.auth import http_request
from cogapi.errors import CogapiError

ALGORITHM = "RS256"


class TokenRejected(CogapiError):
    """The token failed a check; `reason` says which one."""

    def __init__(self, reason: str, expired: bool = False) -> None:
        super().__init__(
            f"token rejected: {reason}", hint="sign in again with `cogapi token --force`"
        )
        self.reason = reason
        self.expired = expired


def aws_issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def trusted_issuers(
    region: str, pool_id: str, endpoint_url: str | None, local_endpoint: str | None
) -> dict[str, str]:
    """issuer -> JWKS URL, for the pool `pool_id`."""
    aws = aws_issuer(region, pool_id)
    if not endpoint_url:
        return {aws: f"{aws}/.well-known/jwks.json"}
    moto_jwks = f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    out = {aws: moto_jwks}
    if local_endpoint:
        from cogapi.local import urls

        local = urls.issuer(local_endpoint.rstrip("/"), pool_id)
        out = {local: f"{local}/.well-known/jwks.json", **out}
    return out


def fetch_jwks(url: str) -> dict[str, Any]:
    r = http_request.request(url, timeout=10)
    doc = r.json()
    if not r.ok or not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise TokenRejected(
            f"the pool's JWKS at {url} answered HTTP {r.status} without keys "
            "(was the pool deleted, or the local server restarted?)"
        )
    return doc


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims without any check: only for hints and summaries, never for trust."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims
    except jwt.PyJWTError:
        return {}


@dataclass
class TokenVerifier:
    issuers: Mapping[str, str]  # issuer -> JWKS URL
    client_id: str
    clock: Callable[[], float] = time.time
    fetch: Callable[[str], dict[str, Any]] = fetch_jwks
    _jwks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _key(self, jwks_url: str, kid: str) -> Any:
        for attempt in (0, 1):  # refetch once: keys rotate
            if jwks_url not in self._jwks or attempt:
                self._jwks[jwks_url] = self.fetch(jwks_url)
            for jwk in self._jwks[jwks_url]["keys"]:
                if isinstance(jwk, dict) and jwk.get("kid") == kid:
                    try:
                        return jwt.PyJWK(jwk, ALGORITHM).key
                    except jwt.PyJWTError as exc:
                        raise TokenRejected(f"the JWKS key {kid} is unusable: {exc}") from None
        raise TokenRejected(f"no key {kid!r} in the pool's JWKS (signed by another pool or server)")

    def verify(self, token: str, token_use: str, check_expiry: bool = True) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"not a JWT ({exc})") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected(f"algorithm {header.get('alg')!r} is not RS256")
        iss = str(unverified_claims(token).get("iss", ""))
        jwks_url = self.issuers.get(iss)
        if jwks_url is None:
            raise TokenRejected(f"issuer {iss or '(none)'} is not this stack's user pool")
        key = self._key(jwks_url, str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=iss,
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                         "verify_nbf": False, "require": ["exp", "iss", "token_use"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"bad signature or claims ({exc})") from None
        if claims.get("token_use") != token_use:
            raise TokenRejected(f"token_use is {claims.get('token_use')!r}, expected {token_use!r}")
        client = claims.get("client_id") if token_use == "access" else claims.get("aud")
        if client != self.client_id:
            raise TokenRejected(f"issued to client {client!r}, not this stack's {self.client_id!r}")
        if check_expiry and seconds_left(claims, self.clock()) <= 0:
            raise TokenRejected("expired", expired=True)
        return claims


def seconds_left(claims: Mapping[str, Any], now: float) -> float:
    exp = claims.get("exp")
    return float(exp) - now if isinstance(exp, (int, float)) else 0.0


SUMMARY_CLAIMS = (
    "token_use",
    "sub",
    "username",
    "cognito:username",
    "email",
    "scope",
    "cognito:groups",
    "client_id",
    "aud",
    "iss",
    "auth_time",
    "iat",
    "exp",
)


def summarize(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {k: claims[k] for k in SUMMARY_CLAIMS if k in claims}
