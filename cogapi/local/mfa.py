"""Which second factor a sign-in asks for once the password was right, as Cognito decides it, and
the words of the challenges that ask (pure: no moto, no I/O).

moto (5.2.5) decides by the user's MFA preference alone, gives SMS_MFA only to a user who turned
it on with SetUserMFAPreference, sends no code, names no destination and takes any code: a pool
that requires SMS MFA signed everyone in with the password alone, and an app's SMS code step
never ran locally. Cognito ("Adding MFA to a user pool", "SMS and email message MFA"):
- MFA `OFF`: no second factor.
- A user's TOTP counts once their authenticator is verified; their SMS once the pool offers SMS
  MFA and they have a `phone_number` (verified or not), and, where MFA is `OPTIONAL`, they turned
  it on (`SMSMfaSettings.Enabled`): "You can't turn off SMS MFA for any of your users when MFA is
  required in your user pool."
- Both count: the preferred one, or, with no preference, `SELECT_MFA_TYPE` (the user picks from
  `MFAS_CAN_CHOOSE`). One counts: that one.
- None counts and MFA is `ON`: `MFA_SETUP`, naming what can be set up (`MFAS_CAN_SETUP`).
The SMS_MFA challenge names where the code went (`CODE_DELIVERY_DESTINATION`, masked but for
the last four digits); the code lasts as long as the challenge's session (three minutes). A wrong
code is `CodeMismatchException` "Invalid code or auth state for the user." and leaves the session
usable; a code past its time, "Invalid session for the user, session is expired.".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SMS = "SMS_MFA"
TOTP = "SOFTWARE_TOKEN_MFA"
SELECT = "SELECT_MFA_TYPE"
SETUP = "MFA_SETUP"

CODE_MISMATCH = ("CodeMismatchException", "Invalid code or auth state for the user.")
SESSION_EXPIRED = ("NotAuthorizedException", "Invalid session for the user, session is expired.")


@dataclass(frozen=True)
class MfaFacts:
    """What the decision reads of a pool and one of its users."""

    mode: str  # the pool's MfaConfiguration: OFF, ON or OPTIONAL
    totp_offered: bool  # SoftwareTokenMfaConfiguration.Enabled
    sms_offered: bool  # an SmsMfaConfiguration is set
    phone: str | None  # the user's phone_number
    totp_ready: bool  # the user verified an authenticator (or turned TOTP MFA on)
    sms_enabled: bool  # the user turned SMS MFA on (SetUserMFAPreference)
    preferred: str | None  # SMS or TOTP, the user's preferred MFA, if any


@dataclass(frozen=True)
class Step:
    """The challenge after the password (None: the sign-in is done), and for SELECT_MFA_TYPE
    and MFA_SETUP the factors it names."""

    challenge: str | None
    choices: tuple[str, ...] = ()


def next_step(facts: MfaFacts) -> Step:
    """See the module docstring."""
    if facts.mode == "OFF":
        return Step(None)
    totp = facts.totp_offered and facts.totp_ready
    sms = facts.sms_offered and bool(facts.phone) and (facts.sms_enabled or facts.mode == "ON")
    if totp and sms:
        if facts.preferred in (SMS, TOTP):
            return Step(facts.preferred)
        return Step(SELECT, (SMS, TOTP))
    if totp:
        return Step(TOTP)
    if sms:
        return Step(SMS)
    if facts.mode == "ON":
        offered = [TOTP] if facts.totp_offered else []
        return Step(SETUP, tuple(offered + ([SMS] if facts.sms_offered else [])))
    return Step(None)


def masked(phone: str) -> str:
    """A phone number as a challenge names it: every digit but the last four hidden."""
    digits = [c for c in phone if c.isdigit()]
    shown = "".join(digits[-4:])
    return ("+" if phone.startswith("+") else "") + "*" * (len(digits) - len(shown)) + shown


def challenge_parameters(step: Step, username: str, phone: str | None) -> dict[str, str]:
    """The ChallengeParameters of `step`'s challenge for `username` (all strings, as AWS's:
    lists are JSON arrays in a string, which Amplify reads with JSON.parse)."""
    if step.challenge == SMS:
        return {
            "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
            "CODE_DELIVERY_DESTINATION": masked(phone or ""),
            "USER_ID_FOR_SRP": username,
        }
    if step.challenge == SELECT:
        return {"MFAS_CAN_CHOOSE": json.dumps(list(step.choices)), "USER_ID_FOR_SRP": username}
    if step.challenge == SETUP:
        return {"MFAS_CAN_SETUP": json.dumps(list(step.choices))}
    return {}
