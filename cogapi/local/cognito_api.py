"""Cognito's user-facing JSON API as AWS answers it, in front of moto's.

moto (5.2.5) answers sign-in and the user APIs, but not as AWS does (aws-notes: "Sign-in APIs a
real client uses"): it accepts any SRP signature, ignores the client's `ExplicitAuthFlows` and
`PreventUserExistenceErrors`, signs tokens with its own key, and lacks `DeleteUser`,
`DeleteUserAttributes`, `RevokeToken`, `ResendConfirmationCode`,
`GetUserAttributeVerificationCode`, `VerifyUserAttribute` and `GetTokensFromRefreshToken`
(Amplify v6's refresh). `CognitoApi` sees every `AWSCognitoIdentityProviderService.*` call
first and:
- gates each `AuthFlow` on the client's `ExplicitAuthFlows` (AWS's default when it has none:
  SRP, custom and refresh), answering `InvalidParameterException` "<FLOW> flow not enabled for
  this client";
- runs SRP's server side for real (`srp`): moto still makes the challenge and finishes the
  sign-in (new-password and MFA challenges included), but the SALT, SRP_B and SECRET_BLOCK the
  client sees are the stand-in's, and PASSWORD_CLAIM_SIGNATURE must prove the password;
- answers unknown users with `PreventUserExistenceErrors=ENABLED` the way AWS documents
  ("Managing user existence error responses"): "Incorrect username or password." for every
  sign-in flow, a simulated SRP challenge (same salt and user id for the same name), a simulated
  code delivery for ForgotPassword and ResendConfirmationCode, `CodeMismatchException` for
  ConfirmForgotPassword;
- re-mints the tokens of every API sign-in with the stand-in's keys as one sign-in (access and
  ID token share `origin_jti`; refreshes keep it), and registers them with moto, so the calls
  that take an access token accept them; those calls first check the token as AWS does (its
  signature, expiry, the `aws.cognito.signin.user.admin` scope, revocation);
- checks TOTP MFA for real (`software_tokens`): a secret per user, only its codes, MFA_SETUP
  finished only after a passed VerifySoftwareToken (moto: one secret, any code);
- asks for SMS MFA where Cognito would (`mfa`): the SMS_MFA challenge, its code into the outbox
  and checked; SELECT_MFA_TYPE for a user with both factors (moto: the preference alone, any
  code, no code sent);
- locks a user out after five failed sign-ins or MFA codes, for 2^(n-5) seconds, as AWS
  documents (`lockout`: "Password attempts exceeded"; moto never locks anyone out);
- answers a refresh token that does not refresh in AWS's words: revoked, expired, or "Invalid
  Refresh Token." (garbage, another client's); a deleted user's, "User does not exist.".
Every body is first checked against the operation's model (`moto_errors.cognito_body`:
not a JSON object, a required parameter missing); anything else goes to moto untouched.

`CognitoApi` dispatches; the sign-in calls are `cognito_signin.SignIn`'s, the user APIs
`cognito_user_calls.UserCalls`', and what both use is in `cognito_front`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cogapi.local.codes import Outbox
from cogapi.local.cognito_front import TARGET_PREFIX, Answer, StartResponse, fail, with_body
from cogapi.local.cognito_signin import SignIn
from cogapi.local.cognito_user_calls import TOKEN_CALLS, UserCalls
from cogapi.local.edge import HostedUi
from cogapi.local.moto_errors import Refused, cognito_body
from cogapi.local.moto_state import MotoState
from cogapi.local.tokens import KeySet

__all__ = ["TARGET_PREFIX", "CognitoApi"]


class CognitoApi(SignIn, UserCalls):
    """WSGI front for Cognito's JSON API (`__call__`); everything it does not own goes to moto."""

    def __init__(
        self,
        state: MotoState,
        hosted_ui: HostedUi,
        keys: KeySet,
        endpoint: str,
        moto_app: Callable[..., Iterable[bytes]],
        clock: Callable[[], float] = time.time,
        outbox: Outbox | None = None,
    ) -> None:
        self.state = state
        self.hosted_ui = hosted_ui
        self.keys = keys
        self.endpoint = endpoint
        self.moto_app = moto_app
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self._pending = {}
        self._auth_times = {}
        self._lock = threading.Lock()
        self.outbox = outbox or Outbox(clock=clock)
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, Any]], Answer]] = {
            "InitiateAuth": self._initiate_auth,
            "AdminInitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond,
            "AdminRespondToAuthChallenge": self._respond,
            "DeleteUser": self._delete_user,
            "DeleteUserAttributes": self._delete_user_attributes,
            "RevokeToken": self._revoke_token,
            "GetTokensFromRefreshToken": self._tokens_from_refresh_token,
            "GetUserAttributeVerificationCode": self._attribute_verification_code,
            "VerifyUserAttribute": self._verify_user_attribute,
            "UpdateUserAttributes": self._update_user_attributes,
            "AdminUpdateUserAttributes": self._admin_update_user_attributes,
            "ForgotPassword": self._forgot_password,
            "ConfirmForgotPassword": self._confirm_forgot_password,
            "ResendConfirmationCode": self._resend_confirmation_code,
            "SignUp": self._sign_up,
            "ConfirmSignUp": self._confirm_sign_up,
            **{name: self._token_call for name in TOKEN_CALLS},
        }

    # --- WSGI --------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length else b""
        body = cognito_body(operation, raw)
        handler = self._handlers.get(operation)
        if isinstance(body, Refused):
            answer = fail(*body)
        elif handler is None:
            return self.moto_app(with_body(environ, raw), start_response)
        else:
            answer = handler({**environ, "cogapi.operation": operation}, body)
        data = json.dumps(answer.body).encode()
        reason = "OK" if answer.status < 400 else "Bad Request"
        start_response(
            f"{answer.status} {reason}",
            [
                *[
                    (k, v)
                    for k, v in answer.headers
                    if k.lower() not in ("content-length", "content-type")
                ],
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(data))),
            ],
        )
        return [data]
