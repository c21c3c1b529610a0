"""The codes Cognito would send by email or SMS, and the local outbox that stands in for both.

AWS sends a code to confirm a sign-up (when the pool verifies the address the user gave), to reset
a password (`ForgotPassword`), to verify an attribute (`GetUserAttributeVerificationCode`), and
to sign in with SMS MFA (the SMS_MFA challenge, `mfa`), and the call that takes it back refuses
any other code. Locally there is no mailbox, so each code "sent" goes to the outbox:
`Outbox.send` makes a six-digit code, keeps it for its purpose, and hands a message to the
server, which prints it in the terminal that runs `cogapi local` (the developer's mailbox, shown
with or without -v) and lists it at `/_cogapi/outbox`.

`Outbox.check` answers as AWS does:
- the code last sent for that user and purpose, and not expired: accepted, and used up (the
  message comes back, so the caller knows which attribute the code went to);
- any other code: `CodeMismatchException` "Invalid verification code provided, please try again."
  (also when none was sent);
- the right code past its validity: `ExpiredCodeException` "Invalid code provided, please request
  a code again." (sign-up and attribute codes last 24 hours, password-reset codes one hour, a
  sign-in's SMS code as long as its challenge's session: three minutes). The SMS_MFA challenge
  words both refusals its own way (`mfa`).
A new code for the same purpose replaces the last (ResendConfirmationCode, ForgotPassword again).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from cogapi.local.moto_errors import Refused

SIGN_UP = "sign-up"
PASSWORD = "password reset"
SIGN_IN = "sign-in"  # an SMS MFA code: the SMS_MFA challenge's
MISMATCH = Refused("CodeMismatchException", "Invalid verification code provided, please try again.")
EXPIRED = Refused("ExpiredCodeException", "Invalid code provided, please request a code again.")
# how long a code lasts, by purpose (an attribute's: 24 hours, as sign-up's)
_VALID_SECONDS = {SIGN_UP: 24 * 3600, PASSWORD: 3600, SIGN_IN: 180}
KEPT_MESSAGES = 100  # the outbox lists the latest this many


def attribute_purpose(attribute: str) -> str:
    return f"{attribute} verification"


@dataclass(frozen=True)
class Message:
    """One code "sent": to whom, what for, and the code."""

    pool_id: str
    username: str  # the user's user name in the pool (moto's key for the user)
    attribute: str  # "email" or "phone_number": what the destination is
    destination: str  # the address or number the code "went" to
    purpose: str  # SIGN_UP, PASSWORD, SIGN_IN or attribute_purpose(name)
    code: str
    sent_at: int

    def line(self) -> str:
        return (
            f"[cognito] {self.purpose} code for {self.destination} "
            f"(pool {self.pool_id}): {self.code}"
        )


class Outbox:
    """The codes of one server (see the module docstring); `notify` gets each message sent."""

    def __init__(
        self,
        notify: Callable[[Message], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notify = notify or (lambda message: None)
        self.clock = clock
        self._live: dict[tuple[str, str, str], tuple[Message, float]] = {}
        self._sent: deque[Message] = deque(maxlen=KEPT_MESSAGES)
        self._lock = threading.Lock()

    def send(
        self, pool_id: str, username: str, purpose: str, attribute: str, destination: str
    ) -> Message:
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self.clock()
        valid = _VALID_SECONDS.get(purpose, 24 * 3600)
        message = Message(pool_id, username, attribute, destination, purpose, code, int(now))
        with self._lock:
            self._live[(pool_id, username, purpose)] = (message, now + valid)
            self._sent.append(message)
        self.notify(message)
        return message

    def check(self, pool_id: str, username: str, purpose: str, code: str) -> Message | Refused:
        """The message that sent `code` if it is the live one (then it is used up), else AWS's
        refusal."""
        key = (pool_id, username, purpose)
        with self._lock:
            live = self._live.get(key)
            if live is None or not secrets.compare_digest(live[0].code.encode(), code.encode()):
                return MISMATCH
            if live[1] < self.clock():
                return EXPIRED
            del self._live[key]
        return live[0]

    def messages(self, pool_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            sent = list(self._sent)
        return [asdict(m) for m in sent if pool_id is None or m.pool_id == pool_id]
