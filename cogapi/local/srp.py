"""The server side of Cognito's SRP sign-in (`USER_SRP_AUTH` + `PASSWORD_VERIFIER`).

Cognito runs SRP-6a (RFC 5054's 3072-bit group, g = 2, SHA-256) with its own details, the ones
amazon-cognito-identity-js, Amplify, pycognito and warrant implement on the client side:
- numbers are hashed as "padded hex": even length, with a leading `00` when the first nibble
  has its high bit set (a positive two's-complement byte string), so k = H(00N | 02);
- x = H(salt | H(pool name | user id | ":" | password)), the pool name being the pool id
  without its region (`us-east-1_AbC` -> `AbC`), the user id `USER_ID_FOR_SRP`;
- the session key is an HKDF-SHA256 of S, salted with u, with info "Caldera Derived Key" + 0x01,
  cut to 16 bytes;
- the client proves it with PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, pool name |
  user id | SECRET_BLOCK bytes | TIMESTAMP)), the timestamp as `EEE MMM d HH:mm:ss UTC yyyy`.
The server needs the password verifier v = g^x; the local stand-in derives it from the password
moto stores, at the moment the challenge is made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)  # RFC 5054 appendix A, the 3072-bit group
G = 2
_INFO = b"Caldera Derived Key\x01"


def pad_hex(value: int) -> str:
    """A positive number as Cognito hashes it: even-length hex, `00` first if the top bit is set."""
    text = f"{value:x}"
    if len(text) % 2:
        return "0" + text
    return "00" + text if text[0] in "89abcdef" else text


def _hash_hex(hex_text: str) -> int:
    return int(hashlib.sha256(bytes.fromhex(hex_text)).hexdigest(), 16)


K = _hash_hex(pad_hex(N) + pad_hex(G))


def pool_name(pool_id: str) -> str:
    return pool_id.split("_", 1)[-1]


def verifier(pool_id: str, user_id: str, password: str, salt: int) -> int:
    inner = hashlib.sha256(f"{pool_name(pool_id)}{user_id}:{password}".encode()).hexdigest()
    x = _hash_hex(pad_hex(salt) + inner)
    return pow(G, x, N)


def new_salt() -> int:
    """A 16-byte salt whose hex needs no padding (first byte 0x10-0x7f), so clients that hash
    the SALT text as given and those that parse it as a number first agree."""
    return int.from_bytes(bytes([secrets.randbelow(0x70) + 0x10]) + secrets.token_bytes(15), "big")


@dataclass(frozen=True)
class Challenge:
    """One PASSWORD_VERIFIER challenge: what the server keeps between the two calls."""

    pool_id: str
    user_id: str
    salt: int
    a: int  # the client's SRP_A
    b: int  # the server's secret
    big_b: int  # SRP_B, sent to the client
    v: int
    secret_block: bytes

    @property
    def secret_block_b64(self) -> str:
        return base64.standard_b64encode(self.secret_block).decode()


class BadSrpA(ValueError):
    """SRP_A is not a number, or is 0 mod N (RFC 5054: the server must abort)."""


def start(pool_id: str, user_id: str, password: str, salt: int, srp_a_hex: str) -> Challenge:
    try:
        a = int(srp_a_hex, 16)
    except ValueError:
        raise BadSrpA("SRP_A is not hex") from None
    if a % N == 0:
        raise BadSrpA("SRP_A is 0 mod N")
    v = verifier(pool_id, user_id, password, salt)
    while True:
        b = secrets.randbits(256) | 1 << 255  # RFC 5054 2.5.3: at least 256 bits
        big_b = (K * v + pow(G, b, N)) % N
        if big_b and _u(a, big_b):
            break
    return Challenge(pool_id, user_id, salt, a, b, big_b, v, secrets.token_bytes(96))


def _u(a: int, big_b: int) -> int:
    return _hash_hex(pad_hex(a) + pad_hex(big_b))


def session_key(challenge: Challenge) -> bytes:
    u = _u(challenge.a, challenge.big_b)
    s = pow(challenge.a * pow(challenge.v, u, N), challenge.b, N)
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(s)), hashlib.sha256).digest()
    return hmac.new(prk, _INFO, hashlib.sha256).digest()[:16]


def signature(challenge: Challenge, timestamp: str) -> bytes:
    message = (
        pool_name(challenge.pool_id).encode()
        + challenge.user_id.encode()
        + challenge.secret_block
        + timestamp.encode()
    )
    return hmac.new(session_key(challenge), message, hashlib.sha256).digest()


def verify(challenge: Challenge, timestamp: str, claim_signature_b64: str) -> bool:
    """Does PASSWORD_CLAIM_SIGNATURE prove the password behind `challenge.v`?"""
    try:
        claimed = base64.standard_b64decode(claim_signature_b64)
    except ValueError:
        return False
    return hmac.compare_digest(claimed, signature(challenge, timestamp))
