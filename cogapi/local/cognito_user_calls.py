"""The user APIs as AWS answers them: the calls that take an access token (checked as AWS
checks it first: signature, expiry, the `aws.cognito.signin.user.admin` scope, revocation),
`RevokeToken`, and recovery and confirmation (`ForgotPassword`, `ConfirmForgotPassword`,
`ResendConfirmationCode`), with the neutral answers that hide whether a user exists. moto lacks
several of them (`DeleteUser`, `DeleteUserAttributes`, `RevokeToken`, `ResendConfirmationCode`,
`GetUserAttributeVerificationCode`, `VerifyUserAttribute`). The design is in `cognito_api`'s
docstring.
"""

from __future__ import annotations

from typing import Any

from cogapi.local import urls
from cogapi.local.cognito_front import (
    INCORRECT,
    NOT_FOUND,
    Answer,
    CognitoFront,
    client_not_found,
    fail,
    ok,
)
from cogapi.local.grants import ADMIN_SCOPE
from cogapi.local.moto_state import ClientView
from cogapi.local.tokens import InvalidToken, is_expired

# Calls moto answers once the access token passed the stand-in's checks.
TOKEN_CALLS = {
    "GetUser",
    "UpdateUserAttributes",
    "ChangePassword",
    "GlobalSignOut",
    "SetUserMFAPreference",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
}


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


class UserCalls(CognitoFront):
    """The user APIs (see the module docstring)."""

    def _check_access_token(self, token: str) -> tuple[str, dict[str, Any]] | Answer:
        """(pool id, claims) of an access token AWS's user APIs would accept, or their answer."""
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
        return pool_id, claims

    def _token_call(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        operation = environ["cogapi.operation"]
        if "AccessToken" not in body and operation in (
            "AssociateSoftwareToken",
            "VerifySoftwareToken",
        ):
            return self._moto(environ, body)  # the Session form: no token to check
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        answer = self._moto(environ, body)
        if operation == "ChangePassword" and answer.error == "NotAuthorizedException":
            return fail("NotAuthorizedException", INCORRECT)  # moto says the user name
        if operation == "GlobalSignOut" and answer.error is None:
            self.hosted_ui.sign_out(pool_id, str(claims.get("username", "")))
        return answer

    def _delete_user(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        username = str(claims.get("username", ""))
        self.hosted_ui.sign_out(pool_id, username)
        self.state.delete_user(pool_id, username)
        return ok({})

    def _delete_user_attributes(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        names = [str(n) for n in body.get("UserAttributeNames") or []]
        self.state.delete_user_attributes(pool_id, str(claims.get("username", "")), names)
        return ok({})

    def _attribute_verification_code(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """A code "sent" to the attribute (locally nowhere: VerifyUserAttribute takes any)."""
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        name = str(body.get("AttributeName") or "")
        subject = self.state.subject(pool_id, str(claims.get("username", "")))
        value = subject.attributes.get(name) if subject else None
        if name not in ("email", "phone_number") or not value:
            return fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        return ok(_code_delivery(name, value))

    def _verify_user_attribute(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        name = str(body.get("AttributeName") or "")
        if name not in ("email", "phone_number") or not body.get("Code"):
            return fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        self.state.set_user_attributes(
            pool_id, str(claims.get("username", "")), {f"{name}_verified": "true"}
        )
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
        return self._moto(environ, body)

    def _confirm_forgot_password(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        client = self._client_for(body)
        if client is not None and self._unknown(client, str(body.get("Username") or "")):
            if client.prevent_user_existence_errors:
                return fail(
                    "CodeMismatchException", "Invalid verification code provided, please try again."
                )
            return fail("UserNotFoundException", NOT_FOUND)
        return self._moto(environ, body)

    def _resend_confirmation_code(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """Not in moto: a code is "sent" (locally nowhere; ConfirmSignUp accepts any code)."""
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
        if email:
            return ok(_code_delivery("email", email))
        return ok(self._simulated_delivery(client, username))
