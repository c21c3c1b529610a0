"""TOTP software tokens (authenticator apps) as Cognito checks them; moto accepts any code.

moto (5.2.5) gives every user the same secret from AssociateSoftwareToken and, unless an
environment variable says otherwise, takes any code in VerifySoftwareToken and in the
SOFTWARE_TOKEN_MFA challenge: an app's MFA worked locally with a wrong code. Here:
- `AssociateSoftwareToken` gives each user a secret of their own (`new_secret`: 32 random bytes
  in base32, AWS's length); it waits until a code proves the user's app holds it.
- `VerifySoftwareToken` takes only a code of that secret (RFC 6238: HMAC-SHA1, 6 digits, 30 s
  steps, one step of clock skew either way), else AWS's `EnableSoftwareTokenMFAException` "Code
  mismatch and fail enable Software Token MFA"; a right code makes it the user's secret.
- The SOFTWARE_TOKEN_MFA challenge (and the hosted UI's code page) takes only a code of the
  user's verified secret, else `CodeMismatchException` "Invalid code received for user".
- The MFA_SETUP challenge is answered only with the session a successful VerifySoftwareToken
  gave; moto signed in on any session.
Secrets live in memory, with the server, as the keys and the codes do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections.abc import Callable

STEP_SECONDS = 30
DIGITS = 6
SKEW_STEPS = 1  # a code of the step before or after is taken too (a phone's clock drifts)
SETUP_SESSION_SECONDS = 180  # as long as the sign-in's session (AuthSessionValidity's default)

VERIFY_MISMATCH = (
    "EnableSoftwareTokenMFAException",
    "Code mismatch and fail enable Software Token MFA",
)
CHALLENGE_MISMATCH = ("CodeMismatchException", "Invalid code received for user")


def new_secret() -> str:
    """A secret an authenticator app takes: 32 random bytes, base32 without padding."""
    return base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=")


def code_at(secret: str, when: float) -> str:
    """The code an authenticator app shows for `secret` at `when` (RFC 6238, RFC 4226)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = int(when // STEP_SECONDS)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def matches(secret: str, code: str, when: float) -> bool:
    """Whether `code` is `secret`'s at `when`, give or take `SKEW_STEPS` steps."""
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return False
    return any(
        hmac.compare_digest(code_at(secret, when + k * STEP_SECONDS), code)
        for k in range(-SKEW_STEPS, SKEW_STEPS + 1)
    )


class SoftwareTokens:
    """Each user's secrets, by (pool id, user name): the one given out and not yet proven, and
    the verified one sign-in codes are checked against."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], str] = {}
        self._verified: dict[tuple[str, str], str] = {}
        self._setup_sessions: dict[str, float] = {}  # VerifySoftwareToken's session -> expiry

    def associate(self, pool_id: str, username: str) -> str:
        secret = new_secret()
        with self._lock:
            self._pending[(pool_id, username)] = secret
        return secret

    def pending_matches(self, pool_id: str, username: str, code: str) -> bool:
        with self._lock:
            secret = self._pending.get((pool_id, username))
        return secret is not None and matches(secret, code, self.clock())

    def confirm(self, pool_id: str, username: str, session: str | None = None) -> None:
        """The pending secret is the user's from now on (its code was right, and moto agreed);
        `session`, VerifySoftwareToken's, may then finish an MFA_SETUP challenge."""
        now = self.clock()
        with self._lock:
            secret = self._pending.pop((pool_id, username), None)
            if secret is not None:
                self._verified[(pool_id, username)] = secret
            if session:
                self._setup_sessions = {k: v for k, v in self._setup_sessions.items() if v > now}
                self._setup_sessions[session] = now + SETUP_SESSION_SECONDS

    def sign_in_matches(self, pool_id: str, username: str, code: str) -> bool:
        with self._lock:
            secret = self._verified.get((pool_id, username))
        return secret is not None and matches(secret, code, self.clock())

    def take_setup_session(self, session: str) -> bool:
        """Whether `session` came from a successful VerifySoftwareToken (and is still young);
        it finishes one challenge only."""
        with self._lock:
            expires = self._setup_sessions.pop(session, None)
        return expires is not None and expires > self.clock()
