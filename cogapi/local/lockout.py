"""Cognito's lockout after failed sign-in attempts; moto has none, so a locally tested app never
met "Password attempts exceeded".

AWS ("Lockout behavior for failed sign-in attempts"): "After five failed unauthenticated or
IAM-authorized sign-in attempts with a password, Amazon Cognito locks out your user for one
second. The lockout duration then doubles after each additional one failed attempt, up to a
maximum of approximately 15 minutes. Attempts made during a lockout period generate a Password
attempts exceeded exception, and don't affect the duration of subsequent lockout periods. For a
cumulative number of failed sign-in attempts n, [...] Amazon Cognito locks out your user for
2^(n-5) seconds. To reset the lockout to its n=0 initial state, your user must either sign in
successfully after a lockout period expires, or not initiate any sign-in attempts for 15
consecutive minutes at any time after a lockout." And for MFA: "After five unsuccessful attempts
to present an MFA code, Amazon Cognito begins the exponential-timeout lockout process".

Here one count per user covers wrong passwords (password flows, SRP, the hosted UI) and wrong MFA
codes; a completed sign-in (tokens issued) resets it, as does a quiet quarter of an hour. AWS
does not say whether failures short of five ever expire: here the quiet quarter of an hour
clears them too. Unknown users are never counted (there is nobody to lock out). In memory, with
the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FREE_ATTEMPTS = 5  # failures before the first lockout
MAX_LOCK_SECONDS = 15 * 60  # "up to a maximum of approximately 15 minutes"
QUIET_RESET_SECONDS = 15 * 60  # no attempt for this long resets the count
EXCEEDED = ("NotAuthorizedException", "Password attempts exceeded")


@dataclass
class _Count:
    failures: int = 0
    locked_until: float = 0.0
    last_attempt: float = 0.0


def lock_seconds(failures: int) -> float:
    """How long the `failures`-th failure in a row locks the user out (0: not at all)."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return float(min(2 ** (failures - FREE_ATTEMPTS), MAX_LOCK_SECONDS))


class Lockouts:
    """The failure counts of one server's users, by (pool id, user name)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], _Count] = {}

    def _current(self, key: tuple[str, str], now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last_attempt >= QUIET_RESET_SECONDS:
            del self._counts[key]
            return None
        return count

    def locked(self, pool_id: str, username: str) -> bool:
        """Whether an attempt now is refused with `EXCEEDED` (it is an attempt all the same:
        the quiet quarter of an hour starts again, the lockout's length does not grow)."""
        now = self.clock()
        with self._lock:
            count = self._current((pool_id, username), now)
            if count is None:
                return False
            count.last_attempt = now
            return now < count.locked_until

    def failed(self, pool_id: str, username: str) -> None:
        """A wrong password or MFA code: the user's count grows, and from the fifth on they are
        locked out for 2^(n-5) seconds."""
        now = self.clock()
        with self._lock:
            count = self._current((pool_id, username), now) or _Count()
            count.failures += 1
            count.last_attempt = now
            count.locked_until = now + lock_seconds(count.failures)
            self._counts[(pool_id, username)] = count

    def succeeded(self, pool_id: str, username: str) -> None:
        """A completed sign-in: the count starts again from nothing."""
        with self._lock:
            self._counts.pop((pool_id, username), None)
