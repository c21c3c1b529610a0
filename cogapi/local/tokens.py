"""Signing keys, JWT minting and verification for the local stand-in of a Cognito user pool.

Shaped like Cognito's hosted-UI tokens (aws-notes: "What AWS's edge looks like from outside"):
RS256, header `{"kid", "alg"}` with no `typ`, ID and access tokens signed by two different keys of
one JWKS. The keys are generated once per `KeySet` (one per `LocalServer`), so a token minted by
another server, by moto's `InitiateAuth`, or by anyone else never verifies here.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"


class InvalidToken(Exception):
    """Not a JWT, an unknown key, or a bad signature."""


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = key.public_key().public_numbers().n
        kid = base64.b64encode(hashlib.sha256(_b64url_uint(n).encode()).digest()).decode()
        return cls(kid=kid, private_key=key)

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "alg": ALGORITHM,
            "e": _b64url_uint(numbers.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "use": "sig",
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        # Cognito's header is exactly {"kid", "alg"}: PyJWT adds "typ" unless told not to.
        return jwt.encode(
            dict(claims),
            self.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self.kid, "typ": None},
        )


@dataclass
class KeySet:
    """The two keys of a pool's JWKS: one signs ID tokens, the other access tokens."""

    id_key: SigningKey = field(default_factory=SigningKey.generate)
    access_key: SigningKey = field(default_factory=SigningKey.generate)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.id_key.jwk(), self.access_key.jwk()]}

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of `token` if one of these keys signed it. Expiry is the caller's check
        (API Gateway answers an expired token differently from a forged one)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from None
        key = {k.kid: k for k in (self.id_key, self.access_key)}.get(header.get("kid", ""))
        if key is None or header.get("alg") != ALGORITHM:
            raise InvalidToken("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[ALGORITHM],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"bad signature: {exc}") from None
        return claims


def public_jwk_key(jwk: Mapping[str, Any]) -> Any:
    """A verification key from a JWK (for clients verifying tokens the way AWS's do)."""
    return RSAAlgorithm.from_jwk(dict(jwk))


def is_expired(claims: Mapping[str, Any], now: float | None = None) -> bool:
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return True
    return (time.time() if now is None else now) >= exp


@dataclass(frozen=True)
class Subject:
    """The signed-in user as the tokens describe them."""

    sub: str
    username: str
    attributes: Mapping[str, str]  # user pool attributes, all strings as moto stores them
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """What one sign-in (or refresh) was granted: everything the tokens say."""

    issuer: str
    client_id: str
    subject: Subject
    scopes: tuple[str, ...]
    auth_time: int
    access_seconds: int = 3600
    id_seconds: int = 3600
    origin_jti: str = field(default_factory=lambda: str(uuid.uuid4()))
    nonce: str | None = None  # `/oauth2/authorize`'s nonce, copied into the ID token


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _attribute_value(name: str, value: str) -> Any:
    if name in ("email_verified", "phone_number_verified"):
        return value.lower() == "true"
    return value


def access_claims(grant: Grant, now: int) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": grant.subject.sub}
    if grant.subject.groups:
        claims["cognito:groups"] = list(grant.subject.groups)
    claims.update(
        {
            "iss": grant.issuer,
            "version": 2,
            "client_id": grant.client_id,
            "origin_jti": grant.origin_jti,
            "event_id": str(uuid.uuid4()),
            "token_use": "access",
            "scope": " ".join(grant.scopes),
            "auth_time": grant.auth_time,
            "exp": now + grant.access_seconds,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "username": grant.subject.username,
        }
    )
    return claims


def id_claims(grant: Grant, now: int, access_token: str | None) -> dict[str, Any]:
    """`access_token`: the one issued with it, hashed into `at_hash` (None: no `at_hash`)."""
    claims: dict[str, Any] = {}
    if access_token is not None:
        claims["at_hash"] = _at_hash(access_token)
    claims["sub"] = grant.subject.sub
    if grant.subject.groups:
        claims["cognito:groups"] = list(grant.subject.groups)
    for name, value in sorted(grant.subject.attributes.items()):
        if name != "sub":
            claims[name] = _attribute_value(name, value)
    claims.update(
        {
            "iss": grant.issuer,
            "cognito:username": grant.subject.username,
            "origin_jti": grant.origin_jti,
            "aud": grant.client_id,
            "token_use": "id",
            "auth_time": grant.auth_time,
            "exp": now + grant.id_seconds,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
    )
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    return claims


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    id_token: str | None  # only when `openid` was granted
    expires_in: int


def mint(
    keys: KeySet,
    grant: Grant,
    now: int | None = None,
    *,
    id_token: bool | None = None,
    at_hash: bool = True,
) -> TokenSet:
    """Access and ID token of one sign-in (`grant`), issued at `now`; both carry its origin_jti.

    `id_token`: None gives one only when `openid` was granted (the OAuth endpoints). `at_hash`:
    the ID token carries the hash of the access token issued with it, as at the token endpoint;
    API sign-ins (`InitiateAuth` & co.) give an ID token without one (aws-notes).
    """
    now = int(time.time()) if now is None else now
    access = keys.access_key.sign(access_claims(grant, now))
    identity = None
    if id_token or (id_token is None and "openid" in grant.scopes):
        identity = keys.id_key.sign(id_claims(grant, now, access if at_hash else None))
    return TokenSet(access_token=access, id_token=identity, expires_in=grant.access_seconds)
