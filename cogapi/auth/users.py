"""Test users of the stack's pool: add (confirmed, permanent password, no email), remove, list.

Only the pool the stack owns (found by name and ownership tag, `cogapi.stack.lookup.find_pool`): a pool
that merely has the right name is refused. The password is checked against the configured
policy before any call, so a weak one never leaves a half-made user behind (AdminCreateUser
succeeds, then AdminSetUserPassword would fail); if the second call fails anyway, the user is
deleted again.
"""

from __future__ import annotations

import contextlib
import string
import unicodedata
from dataclasses import dataclass
from typing import Any

from cogapi.errors import AwsError, CogapiError, NotFound, UsageError

SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


MAX_PASSWORD_LENGTH = 256  # Cognito's PasswordType, whatever the pool's policy


def password_problems(password: str, policy: Any) -> list[str]:
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"at least {policy.min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if policy.require_lowercase and not any(c in string.ascii_lowercase for c in password):
        problems.append("a lowercase letter")
    if policy.require_uppercase and not any(c in string.ascii_uppercase for c in password):
        problems.append("an uppercase letter")
    if policy.require_numbers and not any(c.isdigit() for c in password):
        problems.append("a number")
    if policy.require_symbols and not any(c in SYMBOLS for c in password):
        problems.append("a symbol")
    return problems


MAX_USERNAME_LENGTH = (
    128  # Cognito's UsernameType: 1..128 letters, marks, symbols, digits, punctuation
)


def check_username(name: str) -> None:
    """Refuse what Cognito's UsernameType refuses (a space, a control character, over 128
    characters), before any call: AWS would answer with a multi-line validation error."""
    if not name:
        raise UsageError("the user name is empty")
    if any(unicodedata.category(c)[0] not in "LMSNP" for c in name):
        raise UsageError(
            f"{name[:60]!r} holds a space or a control character, which Cognito does not take "
            "in a user name",
            hint="drop the spaces around it (quote it exactly)",
        )
    if len(name) > MAX_USERNAME_LENGTH:
        raise UsageError(
            f"{name[:40]!r}... is {len(name)} characters long; Cognito takes at most "
            f"{MAX_USERNAME_LENGTH} in a user name"
        )


def check_email(email: str) -> None:
    """Refuse what is not an email address, before any call or prompt."""
    if "@" not in email.strip("@"):
        raise UsageError(f"{email!r} is not an email address")
    check_username(email)


def _attr(user: dict[str, Any], name: str) -> str | None:
    for a in user.get("Attributes", []) or []:
        if a.get("Name") == name:
            return str(a.get("Value"))
    return None


@dataclass
class Users:
    aws: Any
    cfg: Any
    pool_id: str

    @classmethod
    def for_stack(cls, aws: Any, cfg: Any) -> Users:
        from cogapi.stack.lookup import find_pool

        return cls(aws, cfg, find_pool(aws, cfg, need_client=False).pool_id)

    def add(self, email: str, password: str) -> dict[str, Any]:
        check_email(email)
        missing = password_problems(password, self.cfg.user_pool.password)
        if missing:
            raise UsageError(
                f"the password does not meet the pool's policy: it needs {', '.join(missing)}",
                hint="see user_pool.password_policy in the config",
            )
        attributes = {"email": email, "email_verified": "true"}
        try:
            self.aws.create_confirmed_user(self.pool_id, email, password, attributes)
        except AwsError as exc:
            if "UsernameExistsException" in exc.message:
                raise CogapiError(
                    f"user {email} already exists in pool {self.pool_id}",
                    hint=f"`cogapi user rm {email}` first",
                ) from None
            with contextlib.suppress(CogapiError):  # no half-made user (FORCE_CHANGE_PASSWORD)
                self.aws.delete_user(self.pool_id, email)
            raise
        return {"email": email, "user_pool_id": self.pool_id, "status": "CONFIRMED"}

    def remove(self, email: str) -> None:
        try:
            self.aws.delete_user(self.pool_id, email)
        except NotFound:
            raise CogapiError(
                f"no user {email} in pool {self.pool_id}", hint="`cogapi user ls` lists the users"
            ) from None
        except AwsError as exc:
            if "UserNotFoundException" in exc.message:
                raise CogapiError(
                    f"no user {email} in pool {self.pool_id}",
                    hint="`cogapi user ls` lists the users",
                ) from None
            raise

    def list(self) -> list[dict[str, Any]]:
        rows = []
        for u in self.aws.list_users(self.pool_id):
            created = u.get("UserCreateDate")
            rows.append({
                "username": u.get("Username"), "email": _attr(u, "email"),
                "status": u.get("UserStatus", "?"), "enabled": bool(u.get("Enabled", True)),
                "created": created.isoformat(timespec="seconds") if hasattr(created, "isoformat") else created,
            })  # fmt: skip
        return sorted(rows, key=lambda r: str(r["email"] or r["username"]))
