"""The user APIs as AWS answers them: the calls that take an access token (checked as AWS
checks it first: signature, expiry, the `aws.cognito.signin.user.admin` scope, revocation),
`RevokeToken`, and sign-up, recovery and confirmation (`SignUp`, `ConfirmSignUp`,
`ForgotPassword`, `ConfirmForgotPassword`, `ResendConfirmationCode`), with the neutral answers
that hide whether a user exists. The codes AWS would send go to the outbox (`codes`), also the
one for a new email address or phone number given with `UpdateUserAttributes` or
`AdminUpdateUserAttributes` (moto sends none), and the calls that take one back accept only it
(moto takes any code). `SignUp` and `UpdateUserAttributes` write only what the app client may
write (`unwritable`; moto lets a user write any attribute, `email_verified` included), and
`GetUser` answers only what it may read (`ClientView.readable`; moto answers every attribute).
`SignUp` needs a value for each of the pool's required attributes (`missing_required`; moto
makes the user without). moto lacks several of them (`DeleteUser`, `DeleteUserAttributes`, `RevokeToken`,
`ResendConfirmationCode`, `GetUserAttributeVerificationCode`, `VerifyUserAttribute`). The design
is in `cognito_api`'s docstring.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cogapi.local import codes, urls
from cogapi.local.cognito_front import (
    NOT_FOUND,
    Answer,
    CognitoFront,
    client_not_found,
    fail,
    ok,
)
from cogapi.local.grants import ADMIN_SCOPE
from cogapi.local.moto_errors import Refused, schema_refusal
from cogapi.local.moto_state import INCORRECT, ClientView, PoolView
from cogapi.local.software_tokens import VERIFY_MISMATCH
from cogapi.local.tokens import InvalidToken, is_expired

# Calls moto answers once the access token passed the stand-in's checks.
TOKEN_CALLS = {
    "GetUser",
    "ChangePassword",
    "GlobalSignOut",
    "SetUserMFAPreference",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
}

_SOFTWARE_TOKEN_CALLS = ("AssociateSoftwareToken", "VerifySoftwareToken")


def _code_delivery(attribute: str, value: str) -> dict[str, Any]:
    """Where a code "went": the masked email address, or the phone number's last four digits."""
    if attribute == "email":
        details = {"Destination": _mask_email(value), "DeliveryMedium": "EMAIL"}
    else:
        details = {"Destination": "+*******" + value[-4:], "DeliveryMedium": "SMS"}
    return {"CodeDeliveryDetails": {**details, "AttributeName": attribute}}


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


@dataclass(frozen=True)
class Caller:
    """Whose access token a user API got: the pool, the user name in it, and the app client
    the token was issued to."""

    pool_id: str
    username: str
    client_id: str


# What an app client may write when its WriteAttributes are not set: the standard attributes
# (AWS's documentation of WriteAttributes), `sub` aside, which no one writes.
STANDARD_WRITABLE = frozenset(
    ("address", "birthdate", "email", "family_name", "gender", "given_name", "locale",
     "middle_name", "name", "nickname", "phone_number", "picture", "preferred_username",
     "profile", "updated_at", "website", "zoneinfo")
)  # fmt: skip
_VERIFIED_FLAGS = ("email_verified", "phone_number_verified")
UNAUTHORIZED_WRITE = Refused(
    "NotAuthorizedException", "A client attempted to write unauthorized attribute"
)


def unwritable(client: ClientView | None, attributes: Any) -> Refused | None:
    """Why `attributes` (a request's UserAttributes) may not be written by the app client, or
    None. A verification flag is never the client's to write (only an administrator, or a
    code, verifies an address): AWS calls it non-mutable. Anything else must be in the client's
    WriteAttributes, or among the standard attributes when it sets none."""
    if client is None or not isinstance(attributes, list):
        return None
    allowed = set(client.write_attributes) if client.write_attributes else STANDARD_WRITABLE
    names = [a.get("Name") for a in attributes if isinstance(a, dict)]
    for name in names:
        if name in _VERIFIED_FLAGS:
            return Refused(
                "InvalidParameterException", f"Cannot modify the non-mutable attribute {name}"
            )
    if any(isinstance(n, str) and n != "sub" and n not in allowed for n in names):
        return UNAUTHORIZED_WRITE
    return None


def missing_required(pool: PoolView | None, username: str, attributes: Any) -> Refused | None:
    """AWS's refusal of a sign-up whose UserAttributes (`attributes`) leave a required attribute
    without a value (moto makes the user anyway), or None."""
    if pool is None:
        return None
    given = {
        str(a.get("Name")): str(a.get("Value") or "")
        for a in (attributes if isinstance(attributes, list) else [])
        if isinstance(a, dict)
    }
    return schema_refusal(pool.missing_required(username, given))


_TokenCall = Callable[["UserCalls", dict[str, Any], dict[str, Any], Caller], Answer]


def _takes_access_token(call: _TokenCall) -> Callable[..., Answer]:
    """The call, run once the body's AccessToken passed AWS's checks (`_check_access_token`);
    AWS's answer to the token otherwise."""

    @functools.wraps(call)
    def checked(self: UserCalls, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        caller = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(caller, Answer):
            return caller
        return call(self, environ, body, caller)

    return checked


class UserCalls(CognitoFront):
    """The user APIs (see the module docstring)."""

    outbox: codes.Outbox

    def _check_access_token(self, token: str) -> Caller | Answer:
        """Whose access token this is, if AWS's user APIs would accept it, else their answer."""
        try:
            claims = self.keys.decode(token)
        except InvalidToken:
            return fail("NotAuthorizedException", "Invalid Access Token")
        pool_id = str(claims.get("iss", "")).rstrip("/").rsplit("/", 1)[-1]
        if claims.get("token_use") != "access" or claims.get("iss") != urls.issuer(
            self.endpoint, pool_id
        ):
            return fail("NotAuthorizedException", "Invalid Access Token")
        if is_expired(claims, self.clock()):
            return fail("NotAuthorizedException", "Access Token has expired")
        if ADMIN_SCOPE not in str(claims.get("scope", "")).split():
            return fail("NotAuthorizedException", "Access Token does not have required scopes")
        if not self.state.access_token_known(pool_id, token):
            return fail("NotAuthorizedException", "Access Token has been revoked")
        return Caller(pool_id, str(claims.get("username", "")), str(claims.get("client_id", "")))

    def _token_call(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        operation = environ["cogapi.operation"]
        if "AccessToken" not in body and operation in _SOFTWARE_TOKEN_CALLS:
            # the Session form (an MFA_SETUP challenge's): no token to check, moto's session
            user = self.state.session_user(str(body.get("Session") or ""))
            if user is None:
                return self._moto(environ, body)  # moto's answer to a session it lacks
            return self._software_token(environ, body, *user)
        return self._checked_token_call(environ, body)

    def _software_token(
        self, environ: dict[str, Any], body: dict[str, Any], pool_id: str, username: str
    ) -> Answer:
        """AssociateSoftwareToken and VerifySoftwareToken with a secret of the user's own and
        a code checked against it (`software_tokens`); moto keeps the MFA bookkeeping."""
        tokens = self.hosted_ui.software_tokens
        if environ["cogapi.operation"] == "VerifySoftwareToken":
            if not tokens.pending_matches(pool_id, username, str(body.get("UserCode") or "")):
                return fail(*VERIFY_MISMATCH)
            answer = self._moto(environ, body)
            if answer.error is None:
                tokens.confirm(pool_id, username, str(answer.body.get("Session") or ""))
            return answer
        answer = self._moto(environ, body)
        if answer.error is None:
            answer.body["SecretCode"] = tokens.associate(pool_id, username)
        return answer

    @_takes_access_token
    def _checked_token_call(
        self, environ: dict[str, Any], body: dict[str, Any], caller: Caller
    ) -> Answer:
        operation = environ["cogapi.operation"]
        if operation in _SOFTWARE_TOKEN_CALLS:
            return self._software_token(environ, body, caller.pool_id, caller.username)
        answer = self._moto(environ, body)
        if operation == "ChangePassword" and answer.error == "NotAuthorizedException":
            return fail("NotAuthorizedException", INCORRECT)  # moto says the user name
        if operation == "GlobalSignOut" and answer.error is None:
            self.hosted_ui.sign_out(caller.pool_id, caller.username)
        if operation == "GetUser" and answer.error is None:
            return self._readable_only(answer, caller)
        return answer

    def _readable_only(self, answer: Answer, caller: Caller) -> Answer:
        """GetUser's answer with only the attributes the token's app client may read (moto
        answers them all)."""
        client = self.state.client(caller.pool_id, caller.client_id)
        listed = answer.body.get("UserAttributes")
        if client is None or not isinstance(listed, list):
            return answer
        named = [a for a in listed if isinstance(a, dict) and isinstance(a.get("Name"), str)]
        kept = client.readable({a["Name"]: "" for a in named})
        body = {**answer.body, "UserAttributes": [a for a in named if a["Name"] in kept]}
        return dataclasses.replace(answer, body=body)

    @_takes_access_token
    def _delete_user(self, environ: dict[str, Any], body: dict[str, Any], caller: Caller) -> Answer:
        self.hosted_ui.sign_out(caller.pool_id, caller.username)
        self.state.delete_user(caller.pool_id, caller.username)
        return ok({})

    @_takes_access_token
    def _delete_user_attributes(
        self, environ: dict[str, Any], body: dict[str, Any], caller: Caller
    ) -> Answer:
        names = [str(n) for n in body.get("UserAttributeNames") or []]
        self.state.delete_user_attributes(caller.pool_id, caller.username, names)
        return ok({})

    @_takes_access_token
    def _attribute_verification_code(
        self, environ: dict[str, Any], body: dict[str, Any], caller: Caller
    ) -> Answer:
        """A code "sent" to the attribute: into the outbox (`codes`), for VerifyUserAttribute."""
        name = str(body.get("AttributeName") or "")
        subject = self.state.subject(caller.pool_id, caller.username)
        value = subject.attributes.get(name) if subject else None
        if name not in ("email", "phone_number") or not value:
            return fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        self.outbox.send(
            caller.pool_id, caller.username, codes.attribute_purpose(name), name, value
        )
        return ok(_code_delivery(name, value))

    @_takes_access_token
    def _update_user_attributes(
        self, environ: dict[str, Any], body: dict[str, Any], caller: Caller
    ) -> Answer:
        """A user's own update: only what the app client may write (`unwritable`), then
        `_update_verifying`, whose codes AWS lists in `CodeDeliveryDetailsList`."""
        attributes = body.get("UserAttributes")
        refused = unwritable(self.state.client(caller.pool_id, caller.client_id), attributes)
        if refused is not None:
            return fail(*refused)
        answer, deliveries = self._update_verifying(
            environ, body, caller.pool_id, caller.username, attributes
        )
        return ok({"CodeDeliveryDetailsList": deliveries}) if deliveries else answer

    def _admin_update_user_attributes(
        self, environ: dict[str, Any], body: dict[str, Any]
    ) -> Answer:
        """An administrator's update, verified as AWS documents AdminUpdateUserAttributes: a new
        email address or phone number the pool verifies gets a code and stays unverified (or,
        where the pool requires verification before an update, is held) unless the same call
        sets its `*_verified` flag to true. Its answer is `{}` either way (no delivery list in
        AWS's model); moto applied the new value, verified as the old one was, and sent nothing."""
        answer, _ = self._update_verifying(
            environ,
            body,
            str(body.get("UserPoolId") or ""),
            str(body.get("Username") or ""),
            body.get("UserAttributes"),
        )
        return answer

    def _update_verifying(
        self,
        environ: dict[str, Any],
        body: dict[str, Any],
        pool_id: str,
        username: str,
        attributes: Any,
    ) -> tuple[Answer, list[dict[str, Any]]]:
        """moto's update, then what AWS adds when an email address or phone number the pool
        verifies (`AutoVerifiedAttributes`) gets a new value that the call does not itself mark
        verified: a code to the new value (into the outbox), and the attribute unverified until
        VerifyUserAttribute takes the code. Where the pool requires verification before an
        update (`AttributesRequireVerificationBeforeUpdate`), the old value stays (verified)
        and the new one is applied by VerifyUserAttribute. Returns moto's answer and where the
        codes went."""
        pool, subject = self.state.pool(pool_id), self.state.subject(pool_id, username)
        if pool is None or subject is None or not isinstance(attributes, list):
            return self._moto(environ, body), []  # moto's own answer to these
        given = {str(a.get("Name")): a.get("Value") for a in attributes if isinstance(a, dict)}
        new = {
            name: str(value or "")
            for name, value in given.items()
            if name in ("email", "phone_number")
        }
        verified = [
            name
            for name, value in new.items()
            if name in pool.auto_verified_attributes
            and value != subject.attributes.get(name)
            and str(given.get(f"{name}_verified", "")).lower() != "true"
        ]
        held = [name for name in verified if name in pool.verify_before_update]
        if "email" in held and self.state.email_in_use(pool_id, new["email"]):
            # moto checks this only for the address it is given, which a held one is not
            return fail(
                "AliasExistsException", "An account with the given email already exists."
            ), []
        if held:
            body = {**body, "UserAttributes": [
                a for a in attributes if not (isinstance(a, dict) and a.get("Name") in held)
            ]}  # fmt: skip
        answer = self._moto(environ, body)
        if answer.error is not None or not verified:
            return answer, []
        unverified = {f"{name}_verified": "false" for name in verified if name not in held}
        if unverified:
            self.state.set_user_attributes(pool_id, subject.username, unverified)
        deliveries = []
        for name in verified:
            self.outbox.send(
                pool_id, subject.username, codes.attribute_purpose(name), name, new[name]
            )
            deliveries.append(_code_delivery(name, new[name])["CodeDeliveryDetails"])
        return answer, deliveries

    @_takes_access_token
    def _verify_user_attribute(
        self, environ: dict[str, Any], body: dict[str, Any], caller: Caller
    ) -> Answer:
        name = str(body.get("AttributeName") or "")
        if name not in ("email", "phone_number"):
            return fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        checked_code = self.outbox.check(
            caller.pool_id,
            caller.username,
            codes.attribute_purpose(name),
            str(body.get("Code") or ""),
        )
        if isinstance(checked_code, Refused):
            return fail(*checked_code)
        values = {f"{name}_verified": "true"}
        pool = self.state.pool(caller.pool_id)
        if pool is not None and name in pool.verify_before_update:
            held = checked_code.destination  # the value held back until now
            if name == "email" and self.state.email_in_use(caller.pool_id, held):
                # taken while its code was out: applying it would give two users one user name
                return fail(
                    "AliasExistsException", "An account with the given email already exists."
                )
            values[name] = held
        self.state.set_user_attributes(caller.pool_id, caller.username, values)
        return ok({})

    def _revoke_token(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """RevokeToken: the refresh token, and every access and ID token of its sign-in."""
        client = self._client_for(body)
        if client is None:
            return client_not_found(body)
        token = str(body.get("Token") or "")
        origin = self.state.revoke_refresh_token(
            client.pool_id, client.client_id, token
        ) or self.hosted_ui.revoke_refresh_token(token, client.client_id)
        if origin is not None:
            self.state.drop_tokens_of(client.pool_id, origin)
        return ok({})  # an unknown token too (RFC 7009)

    # --- recovery and confirmation -----------------------------------------------------------------

    def _unknown(self, client: ClientView, username: str) -> bool:
        user = self.state.user_record(client.pool_id, username)
        return user is None or not user.enabled

    def _simulated_delivery(self, client: ClientView, username: str) -> dict[str, Any]:
        """A code "sent" to a simulated medium, chosen by the user name's form and the pool's
        verification settings."""
        pool = self.state.pool(client.pool_id)
        by_phone = username.startswith("+") or (
            "@" not in username
            and pool is not None
            and "phone_number" in pool.auto_verified_attributes
            and "email" not in pool.auto_verified_attributes
        )
        if by_phone:
            return _code_delivery("phone_number", username)
        return _code_delivery("email", username if "@" in username else f"{username}@example.com")

    def _forgot_password(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        client = self._client_for(body)
        username = str(body.get("Username") or "")
        if client is not None and self._unknown(client, username):
            if client.prevent_user_existence_errors:
                return ok(self._simulated_delivery(client, username))
            return fail("UserNotFoundException", NOT_FOUND)
        answer = self._moto(environ, body)
        if client is not None and answer.error is None:
            self._send_code(client, username, codes.PASSWORD, answer)
        return answer

    def _confirm_forgot_password(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        client = self._client_for(body)
        username = str(body.get("Username") or "")
        if client is not None and self._unknown(client, username):
            if client.prevent_user_existence_errors:
                return fail(*codes.MISMATCH)
            return fail("UserNotFoundException", NOT_FOUND)
        if client is not None:
            accepted = self._check_code(client, username, codes.PASSWORD, body)
            if isinstance(accepted, Answer):
                return accepted
        return self._moto(environ, body)

    def _sign_up(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """moto signs the user up; the code AWS sends goes to the outbox. It goes where AWS
        sends it: to the phone number when the pool verifies phone numbers and the user gave
        one, else to the email address when the pool verifies those (moto names a phone
        number even where there is none); no code when the pool verifies neither. Only what
        the client may write is written (`unwritable`), and every required attribute must have a
        value (`missing_required`), both checked before moto makes the user."""
        client = self._client_for(body)
        refused = unwritable(client, body.get("UserAttributes")) or missing_required(
            self.state.pool(client.pool_id) if client else None,
            str(body.get("Username") or ""),
            body.get("UserAttributes"),
        )
        if refused is not None:
            return fail(*refused)
        answer = self._moto(environ, body)
        if client is None or answer.error is not None or answer.body.get("UserConfirmed"):
            return answer
        username = str(body.get("Username") or "")
        user = self.state.user_record(client.pool_id, username)
        subject = self.state.subject(client.pool_id, user.username) if user else None
        pool = self.state.pool(client.pool_id)
        verified = pool.auto_verified_attributes if pool else ()
        answer.body.pop("CodeDeliveryDetails", None)
        for attribute in ("phone_number", "email"):
            value = subject.attributes.get(attribute) if subject else None
            if value and attribute in verified:
                answer.body.update(_code_delivery(attribute, value))
                self._send_code(client, username, codes.SIGN_UP, answer)
                break
        return answer

    def _confirm_sign_up(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """The code the outbox holds for the user's sign-up, or AWS's refusal; on success the
        address it went to is verified, as on AWS (moto only confirms)."""
        client = self._client_for(body)
        username = str(body.get("Username") or "")
        if client is None:
            return self._moto(environ, body)
        user = self.state.user_record(client.pool_id, username)
        if user is None or not user.enabled:
            if client.prevent_user_existence_errors:
                return fail(*codes.MISMATCH)
            return self._moto(environ, body)
        if user.status != "UNCONFIRMED":
            # AWS's wording, as its users report it (amplify-ui#219)
            return fail(
                "NotAuthorizedException",
                f"User cannot be confirmed. Current status is {user.status}",
            )
        accepted = self._check_code(client, username, codes.SIGN_UP, body)
        if isinstance(accepted, Answer):
            return accepted
        answer = self._moto(environ, body)
        subject = self.state.subject(client.pool_id, user.username)
        if answer.error is None and subject and subject.attributes.get(accepted.attribute):
            self.state.set_user_attributes(
                client.pool_id, user.username, {f"{accepted.attribute}_verified": "true"}
            )
        return answer

    def _send_code(self, client: ClientView, username: str, purpose: str, answer: Answer) -> None:
        """The code of a call whose answer says where it went (`CodeDeliveryDetails`), to the
        user's real address or number, into the outbox."""
        details = answer.body.get("CodeDeliveryDetails") or {}
        user = self.state.user_record(client.pool_id, username)
        subject = self.state.subject(client.pool_id, user.username) if user else None
        if not isinstance(details, dict) or user is None or subject is None:
            return
        attribute = "phone_number" if details.get("DeliveryMedium") == "SMS" else "email"
        destination = subject.attributes.get(attribute) or str(details.get("Destination") or "")
        self.outbox.send(client.pool_id, user.username, purpose, attribute, destination)

    def _check_code(
        self, client: ClientView, username: str, purpose: str, body: dict[str, Any]
    ) -> codes.Message | Answer:
        """The message of the `ConfirmationCode` given, if the outbox accepts it; else the
        refusal, as the call's answer."""
        user = self.state.user_record(client.pool_id, username)
        key = user.username if user else username
        checked = self.outbox.check(
            client.pool_id, key, purpose, str(body.get("ConfirmationCode") or "")
        )
        return fail(*checked) if isinstance(checked, Refused) else checked

    def _resend_confirmation_code(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """Not in moto: a new code goes to the outbox (`codes`), in place of the last."""
        client = self._client_for(body)
        if client is None:
            return client_not_found(body)
        username = str(body.get("Username") or "")
        user = self.state.user_record(client.pool_id, username)
        if user is None or not user.enabled:
            if client.prevent_user_existence_errors:
                return ok(self._simulated_delivery(client, username))
            return fail("UserNotFoundException", NOT_FOUND)
        if user.status != "UNCONFIRMED":
            return fail("InvalidParameterException", "User is already confirmed.")
        subject = self.state.subject(client.pool_id, user.username)
        email = subject.attributes.get("email") if subject else None
        answer = ok(
            _code_delivery("email", email) if email else self._simulated_delivery(client, username)
        )
        self._send_code(client, username, codes.SIGN_UP, answer)
        return answer
