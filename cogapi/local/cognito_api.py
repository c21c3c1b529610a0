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
- answers a refresh token that does not refresh in AWS's words: revoked, expired, or "Invalid
  Refresh Token." (garbage, another client's); a deleted user's, "User does not exist.".
Every body is first checked against the operation's model (`moto_errors.cognito_body`:
not a JSON object, a required parameter missing); anything else goes to moto untouched.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from cogapi.local import srp, urls
from cogapi.local.edge import ADMIN_SCOPE, HostedUi
from cogapi.local.moto_errors import Refused, cognito_body
from cogapi.local.moto_state import ClientView, MotoState
from cogapi.local.tokens import InvalidToken, KeySet, is_expired

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
INCORRECT = "Incorrect username or password."
NOT_FOUND = "Username/client id combination not found."
CHALLENGE_SECONDS = 180  # AuthSessionValidity's default: 3 minutes

# ExplicitAuthFlows value -> the AuthFlow values it enables (legacy names included).
_ENABLES = {
    "ALLOW_USER_SRP_AUTH": {"USER_SRP_AUTH"},
    "ALLOW_USER_PASSWORD_AUTH": {"USER_PASSWORD_AUTH"},
    "USER_PASSWORD_AUTH": {"USER_PASSWORD_AUTH"},
    "ALLOW_ADMIN_USER_PASSWORD_AUTH": {"ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
    "ADMIN_NO_SRP_AUTH": {"ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
    "ALLOW_CUSTOM_AUTH": {"CUSTOM_AUTH"},
    "CUSTOM_AUTH_FLOW_ONLY": {"CUSTOM_AUTH"},
    "ALLOW_REFRESH_TOKEN_AUTH": {"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"},
    "ALLOW_USER_AUTH": {"USER_AUTH"},
}
# CreateUserPoolClient: "If you don't specify a value for ExplicitAuthFlows, your user client
# supports ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH, and ALLOW_CUSTOM_AUTH."
_DEFAULT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
_USER_FLOWS = {
    "USER_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "USER_AUTH",
}
_ADMIN_FLOWS = {
    "ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "USER_AUTH",
}
_PASSWORD_FLOWS = {"USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}
_REFRESH_FLOWS = {"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
# Calls moto answers once the access token passed the stand-in's checks.
_TOKEN_CALLS = {
    "GetUser",
    "UpdateUserAttributes",
    "ChangePassword",
    "GlobalSignOut",
    "SetUserMFAPreference",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
}

StartResponse = Callable[..., Any]


def enabled_flows(explicit: tuple[str, ...]) -> set[str]:
    values = explicit or _DEFAULT_FLOWS
    flows: set[str] = set()
    for value in values:
        flows |= _ENABLES.get(value, set())
    if not any(v.startswith("ALLOW_") for v in values):  # legacy names: SRP and refresh always
        flows |= {"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
    return flows


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]

    @property
    def error(self) -> str | None:
        kind = self.body.get("__type") if self.status >= 400 else None
        return str(kind).rsplit("#", 1)[-1] if kind else None

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.body.get("Message") or "")


def _answer(body: dict[str, Any], status: int = 200) -> Answer:
    return Answer(status, body, [("x-amzn-RequestId", str(uuid.uuid4()))])


def _fail(kind: str, message: str) -> Answer:
    answer = _answer({"__type": kind, "message": message}, 400)
    answer.headers.append(("x-amzn-ErrorType", f"{kind}:"))
    return answer


def _secret_hash_failure(client: ClientView, given: str) -> Answer:
    if not given:
        return _fail(
            "NotAuthorizedException",
            f"Client {client.client_id} is configured with secret but SECRET_HASH was not received",
        )
    return _fail(
        "NotAuthorizedException", f"Unable to verify secret hash for client {client.client_id}"
    )


@dataclass(frozen=True)
class _Pending:
    """A PASSWORD_VERIFIER challenge given out: the SRP state and moto's own session."""

    challenge: srp.Challenge
    client_id: str
    moto_session: str | None  # None: a simulated challenge for an unknown user
    expires: float


def _client_not_found(body: dict[str, Any]) -> Answer:
    return _fail(
        "ResourceNotFoundException", f"User pool client {body.get('ClientId')} does not exist."
    )


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


class CognitoApi:
    """WSGI front for Cognito's JSON API (`__call__`); everything it does not own goes to moto."""

    def __init__(
        self,
        state: MotoState,
        hosted_ui: HostedUi,
        keys: KeySet,
        endpoint: str,
        moto_app: Callable[..., Iterable[bytes]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.hosted_ui = hosted_ui
        self.keys = keys
        self.endpoint = endpoint
        self.moto_app = moto_app
        self.clock = clock
        self._secret = secrets.token_bytes(32)  # salts and simulated users, per server
        self._pending: dict[str, _Pending] = {}
        self._auth_times: dict[str, int] = {}  # origin_jti -> auth_time of the sign-in
        self._lock = threading.Lock()
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
            "ForgotPassword": self._forgot_password,
            "ConfirmForgotPassword": self._confirm_forgot_password,
            "ResendConfirmationCode": self._resend_confirmation_code,
            **{name: self._token_call for name in _TOKEN_CALLS},
        }

    # --- WSGI ----------------------------------------------------------------------------------

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
            answer = _fail(*body)
        elif handler is None:
            return self.moto_app(self._with_body(environ, raw), start_response)
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

    @staticmethod
    def _with_body(environ: dict[str, Any], raw: bytes) -> dict[str, Any]:
        return {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}

    def _moto(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            return lambda data: None

        result = self.moto_app(self._with_body(environ, json.dumps(body).encode()), capture)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        try:
            parsed = json.loads(data or b"{}")
        except ValueError:
            parsed = {"__type": "InternalErrorException", "message": data.decode(errors="replace")}
        status = int(str(seen.get("status", "500")).split(" ", 1)[0])
        return Answer(status, parsed if isinstance(parsed, dict) else {}, seen.get("headers", []))

    # --- sign-in -------------------------------------------------------------------------------

    def _client_for(self, body: dict[str, Any]) -> ClientView | None:
        client_id = str(body.get("ClientId") or "")
        pool_id = body.get("UserPoolId") or self.state.pool_of_client(client_id)
        return self.state.client(str(pool_id), client_id) if pool_id and client_id else None

    def _initiate_auth(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        admin = environ["cogapi.operation"] == "AdminInitiateAuth"
        flow = str(body.get("AuthFlow") or "")
        client = self._client_for(body)
        if flow not in (_ADMIN_FLOWS if admin else _USER_FLOWS) or client is None:
            return self._moto(environ, body)  # moto's validation errors are AWS's
        if flow not in enabled_flows(client.explicit_auth_flows):
            return _fail("InvalidParameterException", f"{flow} flow not enabled for this client")
        params = body.get("AuthParameters") or {}
        if flow in _REFRESH_FLOWS:
            return self._refresh(environ, body, client, params)
        wrong_hash = self._secret_hash_error(client, params)
        if wrong_hash is not None:
            return wrong_hash
        answer = self._moto(environ, body)
        if answer.error == "UserNotFoundException" and client.prevent_user_existence_errors:
            if flow == "USER_SRP_AUTH":
                return self._simulated_challenge(
                    client, str(params.get("USERNAME", "")), str(params.get("SRP_A", ""))
                )
            return _fail("NotAuthorizedException", INCORRECT)
        if (
            flow in _PASSWORD_FLOWS
            and answer.error == "NotAuthorizedException"
            and answer.message != "User is disabled."
        ):
            return _fail("NotAuthorizedException", INCORRECT)  # moto says the user name
        if answer.error is None and flow == "USER_SRP_AUTH":
            return self._real_challenge(client, answer, str(params.get("SRP_A", "")))
        return self._adopt_tokens(client.pool_id, answer)

    @staticmethod
    def _secret_hash_error(
        client: ClientView, params: dict[str, Any], username: str | None = None
    ) -> Answer | None:
        """A client with a secret must send SECRET_HASH = base64(HMAC-SHA256(secret, user name +
        client id)); moto checks it only for SRP and refresh, and names the hash it got."""
        if client.secret is None:
            return None
        given = str(params.get("SECRET_HASH") or "")
        name = str(params.get("USERNAME", "")) if username is None else username
        digest = hmac.new(client.secret.encode(), (name + client.client_id).encode(), "sha256")
        if given and hmac.compare_digest(base64.b64encode(digest.digest()).decode(), given):
            return None
        return _secret_hash_failure(client, given)

    def _refresh(
        self,
        environ: dict[str, Any],
        body: dict[str, Any],
        client: ClientView,
        params: dict[str, Any],
    ) -> Answer:
        """REFRESH_TOKEN_AUTH with a refresh token from an API sign-in (moto's) or from the
        hosted UI (the stand-in's): AWS takes both, from the client they were issued to only."""
        token = str(params.get("REFRESH_TOKEN") or "")
        refreshed = self.hosted_ui.refreshed_grant(token, client)
        if refreshed is None and token:
            # no live token of this client's: moto would refresh another client's token, and
            # fail with a 500 on the token of a user deleted since
            return _fail(*self._refresh_failure(client, token))
        if refreshed is None or refreshed[1]:  # moto's own, or none at all: moto answers
            answer = self._moto(environ, body)
            given = str(params.get("SECRET_HASH") or "")
            if (
                answer.error == "NotAuthorizedException"
                and client.secret is not None
                and answer.message in ("", given)  # moto's message is the hash it got
            ):
                return _secret_hash_failure(client, given)
            return self._adopt_tokens(client.pool_id, answer)
        grant = refreshed[0]
        wrong_hash = self._secret_hash_error(client, params, grant.subject.username)
        if wrong_hash is not None:
            return wrong_hash
        tokens = self.hosted_ui.mint(client.pool_id, grant, id_token=True, at_hash=False)
        return _answer(
            {
                "AuthenticationResult": {
                    "AccessToken": tokens.access_token,
                    "IdToken": tokens.id_token,
                    "ExpiresIn": tokens.expires_in,
                    "TokenType": "Bearer",
                },
                "ChallengeParameters": {},
            }
        )

    def _refresh_failure(self, client: ClientView, token: str) -> tuple[str, str]:
        """AWS's answer to a refresh token that does not refresh: revoked (RevokeToken,
        GlobalSignOut), expired, its user deleted since ("User does not exist.", as AWS users
        report it), or anything else (garbage, another client's): "Invalid Refresh Token."."""
        if self.state.refresh_token_revoked(client.pool_id, token):
            return "NotAuthorizedException", "Refresh Token has been revoked"
        record = self.state.refresh_record(client.pool_id, token)
        if record is not None and record[0] == client.client_id:  # moto's, its user gone
            return "UserNotFoundException", "User does not exist."
        found = self.hosted_ui.refresh_failure(token, client.client_id)
        return found or ("NotAuthorizedException", "Invalid Refresh Token.")

    def _tokens_from_refresh_token(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """GetTokensFromRefreshToken: REFRESH_TOKEN_AUTH's new ID and access tokens, with the
        client's secret itself in place of a SECRET_HASH. Refresh token rotation is not
        emulated: as on AWS with rotation disabled (the default), no new refresh token comes
        back and the one given stays valid."""
        client = self._client_for(body)
        if client is None:
            return _client_not_found(body)
        token = str(body.get("RefreshToken") or "")
        params = {"REFRESH_TOKEN": token}
        if client.secret is not None:
            given = str(body.get("ClientSecret") or "")
            if not given:
                return _fail(
                    "NotAuthorizedException",
                    f"Client {client.client_id} is configured with secret but ClientSecret "
                    "was not received",
                )
            if not hmac.compare_digest(given.encode(), client.secret.encode()):
                return _fail(
                    "NotAuthorizedException",
                    f"Unable to verify secret for client {client.client_id}",
                )
            refreshed = self.hosted_ui.refreshed_grant(token, client)
            if refreshed is not None:  # the flow below wants the SECRET_HASH of its user
                name = refreshed[0].subject.username + client.client_id
                digest = hmac.new(client.secret.encode(), name.encode(), "sha256").digest()
                params["SECRET_HASH"] = base64.b64encode(digest).decode()
        flow = {"ClientId": client.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH"}
        initiate = {
            **environ,
            "HTTP_X_AMZ_TARGET": TARGET_PREFIX + "InitiateAuth",
            "cogapi.operation": "InitiateAuth",
        }
        answer = self._refresh(initiate, {**flow, "AuthParameters": params}, client, params)
        if answer.error is None:  # this call's answer has only the AuthenticationResult
            answer.body = {"AuthenticationResult": answer.body.get("AuthenticationResult", {})}
        return answer

    def _salt(self, pool_id: str, user_id: str) -> int:
        digest = hmac.new(self._secret, f"salt\0{pool_id}\0{user_id}".encode(), "sha256").digest()
        return int.from_bytes(bytes([0x10 + digest[0] % 0x70]) + digest[1:16], "big")

    def _challenge_answer(
        self,
        client: ClientView,
        username: str,
        user_id: str,
        password: str,
        srp_a: str,
        moto_session: str | None,
        session: str,
    ) -> Answer:
        try:
            challenge = srp.start(
                client.pool_id, user_id, password, self._salt(client.pool_id, user_id), srp_a
            )
        except srp.BadSrpA:
            return _fail("InvalidParameterException", "Invalid SRP_A.")
        pending = _Pending(
            challenge, client.client_id, moto_session, self.clock() + CHALLENGE_SECONDS
        )
        with self._lock:
            now = self.clock()
            for key in [k for k, p in self._pending.items() if p.expires < now]:
                del self._pending[key]
            self._pending[challenge.secret_block_b64] = pending
        return _answer(
            {
                "ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeParameters": {
                    "SALT": srp.pad_hex(challenge.salt),
                    "SECRET_BLOCK": challenge.secret_block_b64,
                    "SRP_B": f"{challenge.big_b:x}",
                    "USERNAME": username,
                    "USER_ID_FOR_SRP": user_id,
                },
                "Session": session,
            }
        )

    def _real_challenge(self, client: ClientView, answer: Answer, srp_a: str) -> Answer:
        params = answer.body.get("ChallengeParameters") or {}
        user = self.state.user_record(client.pool_id, str(params.get("USERNAME", "")))
        moto_session = str(params.get("SECRET_BLOCK", ""))
        if user is None or user.password is None:
            return self._simulated_challenge(client, str(params.get("USERNAME", "")), srp_a)
        # AWS's USER_ID_FOR_SRP is the user's (internal) user name, which clients such as
        # amazon-cognito-identity-js send back as USERNAME; moto gives its random user id.
        return self._challenge_answer(
            client,
            user.username,
            user.username,
            user.password,
            srp_a,
            moto_session,
            str(answer.body.get("Session") or moto_session),
        )

    def _simulated_challenge(self, client: ClientView, username: str, srp_a: str) -> Answer:
        """RFC 5054 2.5.1.3: for an unknown user, a challenge no password answers, with the same
        salt and user id for the same user name (AWS: "Managing user existence errors")."""
        digest = hmac.new(
            self._secret, f"user\0{client.pool_id}\0{username}".encode(), "sha256"
        ).digest()
        user_id = str(uuid.UUID(bytes=digest[:16], version=4))
        return self._challenge_answer(
            client,
            user_id,
            user_id,
            secrets.token_urlsafe(32),
            srp_a,
            None,
            secrets.token_urlsafe(64),
        )

    def _respond(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        client = self._client_for(body)
        if client is None:
            return self._moto(environ, body)
        responses = dict(body.get("ChallengeResponses") or {})
        if body.get("ChallengeName") == "PASSWORD_VERIFIER":
            with self._lock:  # single use, right or wrong
                pending = self._pending.pop(str(responses.get("PASSWORD_CLAIM_SECRET_BLOCK")), None)
            if (
                pending is None
                or pending.moto_session is None
                or pending.client_id != client.client_id
                or pending.expires < self.clock()
                or not srp.verify(
                    pending.challenge,
                    str(responses.get("TIMESTAMP", "")),
                    str(responses.get("PASSWORD_CLAIM_SIGNATURE", "")),
                )
            ):
                return _fail("NotAuthorizedException", INCORRECT)
            responses["PASSWORD_CLAIM_SECRET_BLOCK"] = pending.moto_session
            body = {**body, "ChallengeResponses": responses}
        return self._adopt_tokens(client.pool_id, self._moto(environ, body))

    def _adopt_tokens(self, pool_id: str, answer: Answer) -> Answer:
        """moto's AuthenticationResult, re-minted with the stand-in's keys as one sign-in."""
        result = answer.body.get("AuthenticationResult")
        if answer.error is not None or not isinstance(result, dict):
            return answer
        moto_access = str(result.get("AccessToken", ""))
        try:
            claims = jwt.decode(moto_access, options={"verify_signature": False})
        except jwt.PyJWTError:
            return answer
        origin = str(claims.get("origin_jti") or uuid.uuid4())
        owner = self.state.take_api_tokens(pool_id, moto_access, result.get("IdToken"), origin)
        client = self.state.client(pool_id, owner[0]) if owner else None
        subject = self.state.subject(pool_id, owner[1]) if owner else None
        if client is None or subject is None:
            return answer
        with self._lock:
            auth_time = self._auth_times.setdefault(origin, int(self.clock()))
        grant = self.hosted_ui.grant_for(
            pool_id, client, subject, (ADMIN_SCOPE,), auth_time=auth_time, origin_jti=origin
        )
        tokens = self.hosted_ui.mint(pool_id, grant, id_token=True, at_hash=False)
        result.update(
            {
                "AccessToken": tokens.access_token,
                "IdToken": tokens.id_token,
                "ExpiresIn": tokens.expires_in,
            }
        )
        return answer

    # --- calls that take a token ---------------------------------------------------------------

    def _check_access_token(self, token: str) -> tuple[str, dict[str, Any]] | Answer:
        """(pool id, claims) of an access token AWS's user APIs would accept, or their answer."""
        try:
            claims = self.keys.decode(token)
        except InvalidToken:
            return _fail("NotAuthorizedException", "Invalid Access Token")
        pool_id = str(claims.get("iss", "")).rstrip("/").rsplit("/", 1)[-1]
        if claims.get("token_use") != "access" or claims.get("iss") != urls.issuer(
            self.endpoint, pool_id
        ):
            return _fail("NotAuthorizedException", "Invalid Access Token")
        if is_expired(claims, self.clock()):
            return _fail("NotAuthorizedException", "Access Token has expired")
        if ADMIN_SCOPE not in str(claims.get("scope", "")).split():
            return _fail("NotAuthorizedException", "Access Token does not have required scopes")
        if not self.state.access_token_known(pool_id, token):
            return _fail("NotAuthorizedException", "Access Token has been revoked")
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
            return _fail("NotAuthorizedException", INCORRECT)  # moto says the user name
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
        return _answer({})

    def _delete_user_attributes(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        names = [str(n) for n in body.get("UserAttributeNames") or []]
        self.state.delete_user_attributes(pool_id, str(claims.get("username", "")), names)
        return _answer({})

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
            return _fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        return _answer(_code_delivery(name, value))

    def _verify_user_attribute(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        checked = self._check_access_token(str(body.get("AccessToken") or ""))
        if isinstance(checked, Answer):
            return checked
        pool_id, claims = checked
        name = str(body.get("AttributeName") or "")
        if name not in ("email", "phone_number") or not body.get("Code"):
            return _fail("InvalidParameterException", f"{name} is not an attribute to verify.")
        self.state.set_user_attributes(
            pool_id, str(claims.get("username", "")), {f"{name}_verified": "true"}
        )
        return _answer({})

    def _revoke_token(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """RevokeToken: the refresh token, and every access and ID token of its sign-in."""
        client = self._client_for(body)
        if client is None:
            return _client_not_found(body)
        token = str(body.get("Token") or "")
        origin = self.state.revoke_refresh_token(
            client.pool_id, client.client_id, token
        ) or self.hosted_ui.revoke_refresh_token(token, client.client_id)
        if origin is not None:
            self.state.drop_tokens_of(client.pool_id, origin)
        return _answer({})  # an unknown token too (RFC 7009)

    # --- recovery and confirmation -------------------------------------------------------------

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
                return _answer(self._simulated_delivery(client, username))
            return _fail("UserNotFoundException", NOT_FOUND)
        return self._moto(environ, body)

    def _confirm_forgot_password(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        client = self._client_for(body)
        if client is not None and self._unknown(client, str(body.get("Username") or "")):
            if client.prevent_user_existence_errors:
                return _fail(
                    "CodeMismatchException", "Invalid verification code provided, please try again."
                )
            return _fail("UserNotFoundException", NOT_FOUND)
        return self._moto(environ, body)

    def _resend_confirmation_code(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        """Not in moto: a code is "sent" (locally nowhere; ConfirmSignUp accepts any code)."""
        client = self._client_for(body)
        if client is None:
            return _client_not_found(body)
        username = str(body.get("Username") or "")
        user = self.state.user_record(client.pool_id, username)
        if user is None or not user.enabled:
            if client.prevent_user_existence_errors:
                return _answer(self._simulated_delivery(client, username))
            return _fail("UserNotFoundException", NOT_FOUND)
        if user.status != "UNCONFIRMED":
            return _fail("InvalidParameterException", "User is already confirmed.")
        subject = self.state.subject(client.pool_id, user.username)
        email = subject.attributes.get("email") if subject else None
        if email:
            return _answer(_code_delivery("email", email))
        return _answer(self._simulated_delivery(client, username))
