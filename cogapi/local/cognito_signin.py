"""Sign-in as AWS answers it: `InitiateAuth` / `AdminInitiateAuth` gated on the client's
`ExplicitAuthFlows`, SRP's server side for real (`srp`), `RespondToAuthChallenge`, the second
factor Cognito asks for (`mfa`: SMS codes into the outbox, SELECT_MFA_TYPE), refresh
(`REFRESH_TOKEN_AUTH` and `GetTokensFromRefreshToken`), the answers that hide whether a user
exists, and the re-minting of moto's tokens with the stand-in's keys as one sign-in. The design
is in `cognito_api`'s docstring.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from cogapi.local import codes, lockout, mfa, srp
from cogapi.local.cognito_front import (
    TARGET_PREFIX,
    Answer,
    CognitoFront,
    client_not_found,
    fail,
    ok,
)
from cogapi.local.grants import ADMIN_SCOPE
from cogapi.local.moto_state import INCORRECT, ClientView
from cogapi.local.software_tokens import CHALLENGE_MISMATCH

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
# What moto answers once a password was right: tokens, or the MFA step it decided on.
_MOTO_SECOND_STEPS = (None, mfa.SMS, mfa.TOTP, mfa.SETUP)
_REFRESH_FLOWS = {"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}


def enabled_flows(explicit: tuple[str, ...]) -> set[str]:
    values = explicit or _DEFAULT_FLOWS
    flows: set[str] = set()
    for value in values:
        flows |= _ENABLES.get(value, set())
    if not any(v.startswith("ALLOW_") for v in values):  # legacy names: SRP and refresh always
        flows |= {"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
    return flows


def _secret_hash_failure(client: ClientView, given: str) -> Answer:
    if not given:
        return fail(
            "NotAuthorizedException",
            f"Client {client.client_id} is configured with secret but SECRET_HASH was not received",
        )
    return fail(
        "NotAuthorizedException", f"Unable to verify secret hash for client {client.client_id}"
    )


@dataclass(frozen=True)
class _Pending:
    """A PASSWORD_VERIFIER challenge given out: the SRP state and moto's own session."""

    challenge: srp.Challenge
    client_id: str
    moto_session: str | None  # None: a simulated challenge for an unknown user
    expires: float


class SignIn(CognitoFront):
    """The sign-in calls (see the module docstring)."""

    outbox: codes.Outbox  # where SMS MFA codes go
    _secret: bytes  # salts and simulated users, per server
    _pending: dict[str, _Pending]  # SECRET_BLOCK -> a PASSWORD_VERIFIER challenge given out
    _auth_times: dict[str, int]  # origin_jti -> auth_time of the sign-in

    def _initiate_auth(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        admin = environ["cogapi.operation"] == "AdminInitiateAuth"
        flow = str(body.get("AuthFlow") or "")
        client = self._client_for(body)
        if flow not in (_ADMIN_FLOWS if admin else _USER_FLOWS) or client is None:
            return self._moto(environ, body)  # moto's validation errors are AWS's
        if flow not in enabled_flows(client.explicit_auth_flows):
            return fail("InvalidParameterException", f"{flow} flow not enabled for this client")
        params = body.get("AuthParameters") or {}
        if flow in _REFRESH_FLOWS:
            return self._refresh(environ, body, client, params)
        wrong_hash = self._secret_hash_error(client, params)
        if wrong_hash is not None:
            return wrong_hash
        lockouts = self.hosted_ui.lockouts
        record = (
            self.state.user_record(client.pool_id, str(params.get("USERNAME", "")))
            if flow in _PASSWORD_FLOWS
            else None
        )
        if record is not None and lockouts.locked(client.pool_id, record.username):
            return fail(*lockout.EXCEEDED)
        answer = self._moto(environ, body)
        if answer.error == "UserNotFoundException" and client.prevent_user_existence_errors:
            if flow == "USER_SRP_AUTH":
                return self._simulated_challenge(
                    client, str(params.get("USERNAME", "")), str(params.get("SRP_A", ""))
                )
            return fail("NotAuthorizedException", INCORRECT)
        if (
            flow in _PASSWORD_FLOWS
            and answer.error == "NotAuthorizedException"
            and answer.message != "User is disabled."
        ):
            if record is not None:
                lockouts.failed(client.pool_id, record.username)
            return fail("NotAuthorizedException", INCORRECT)  # moto says the user name
        if answer.error is None and flow == "USER_SRP_AUTH":
            return self._real_challenge(client, answer, str(params.get("SRP_A", "")))
        if flow in _PASSWORD_FLOWS:
            answer = self._second_factor(client, answer)
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
            return fail(*self._refresh_failure(client, token))
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
        return ok(
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
            return client_not_found(body)
        token = str(body.get("RefreshToken") or "")
        params = {"REFRESH_TOKEN": token}
        if client.secret is not None:
            given = str(body.get("ClientSecret") or "")
            if not given:
                return fail(
                    "NotAuthorizedException",
                    f"Client {client.client_id} is configured with secret but ClientSecret "
                    "was not received",
                )
            if not hmac.compare_digest(given.encode(), client.secret.encode()):
                return fail(
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
            return fail("InvalidParameterException", "Invalid SRP_A.")
        pending = _Pending(
            challenge, client.client_id, moto_session, self.clock() + CHALLENGE_SECONDS
        )
        with self._lock:
            now = self.clock()
            for key in [k for k, p in self._pending.items() if p.expires < now]:
                del self._pending[key]
            self._pending[challenge.secret_block_b64] = pending
        return ok(
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
            ):
                return fail("NotAuthorizedException", INCORRECT)
            lockouts = self.hosted_ui.lockouts
            user_id = pending.challenge.user_id  # the user's own user name
            if lockouts.locked(client.pool_id, user_id):
                return fail(*lockout.EXCEEDED)
            if not srp.verify(
                pending.challenge,
                str(responses.get("TIMESTAMP", "")),
                str(responses.get("PASSWORD_CLAIM_SIGNATURE", "")),
            ):
                lockouts.failed(client.pool_id, user_id)
                return fail("NotAuthorizedException", INCORRECT)
            responses["PASSWORD_CLAIM_SECRET_BLOCK"] = pending.moto_session
            body = {**body, "ChallengeResponses": responses}
        elif body.get("ChallengeName") == mfa.SELECT:
            return self._selected(client, str(body.get("Session") or ""), responses)
        refused = self._mfa_refusal(body, responses)
        if refused is not None:
            return refused
        answer = self._moto(environ, body)
        if body.get("ChallengeName") in ("PASSWORD_VERIFIER", "NEW_PASSWORD_REQUIRED"):
            answer = self._second_factor(client, answer)
        return self._adopt_tokens(client.pool_id, answer)

    # --- the second factor (`mfa`) -------------------------------------------------------------

    def _second_factor(self, client: ClientView, answer: Answer) -> Answer:
        """moto's answer to a right password (tokens, or its MFA step), turned into what Cognito
        asks next (`mfa.next_step`) where the pool offers SMS MFA, or moto asked for SMS. Where
        the pool offers TOTP alone, moto's steps stand (checked by `_mfa_refusal`)."""
        body = answer.body
        challenge = body.get("ChallengeName") or None
        result = body.get("AuthenticationResult")
        if answer.error is not None or challenge not in _MOTO_SECOND_STEPS:
            return answer  # refused, or NEW_PASSWORD_REQUIRED: the password step goes on
        session = str(body.get("Session") or "")
        if challenge is None:
            if not isinstance(result, dict):
                return answer
            username = _username_in(str(result.get("AccessToken") or ""))
        else:
            found = self.state.session_user(session)
            username = found[1] if found else ""
        record = self.state.user_record(client.pool_id, username) if username else None
        facts = self.state.mfa_facts(client.pool_id, username) if record else None
        if record is None or facts is None or (not facts.sms_offered and challenge != mfa.SMS):
            return answer
        step = mfa.next_step(facts)
        if step.challenge == challenge == mfa.TOTP:
            return answer
        if step.challenge is None:  # moto asked for a step Cognito does not
            self.state.end_session(session)
            done = self.state.log_user_in(client.pool_id, client.client_id, record.username)
            return ok(done) if done is not None else answer
        if challenge is None:  # moto signed in where Cognito asks for a second factor
            self.state.drop_tokens(client.pool_id, result or {})
            session = self.state.start_session(client.pool_id, record.username) or ""
        return self._challenge(client.pool_id, step, record.username, facts.phone, session)

    def _challenge(
        self, pool_id: str, step: mfa.Step, username: str, phone: str | None, session: str
    ) -> Answer:
        """The challenge of `step` on `session`; SMS_MFA's code goes to the outbox first."""
        if step.challenge == mfa.SMS and phone:
            self.outbox.send(pool_id, username, codes.SIGN_IN, "phone_number", phone)
        return ok(
            {
                "ChallengeName": step.challenge,
                "ChallengeParameters": mfa.challenge_parameters(step, username, phone),
                "Session": session,
            }
        )

    def _selected(self, client: ClientView, session: str, responses: dict[str, Any]) -> Answer:
        """SELECT_MFA_TYPE answered: the challenge of the factor chosen, on a new session."""
        user = self.state.session_user(session)
        record = self.state.user_record(*user) if user else None
        facts = self.state.mfa_facts(*user) if user else None
        if user is None or record is None or facts is None or user[0] != client.pool_id:
            return fail("NotAuthorizedException", "Invalid session for the user.")
        step = mfa.next_step(facts)
        chosen = str(responses.get("ANSWER") or "")
        if step.challenge != mfa.SELECT or chosen not in step.choices:
            return fail(
                "InvalidParameterException",
                f"ANSWER must be one of: {', '.join(step.choices or (mfa.SMS, mfa.TOTP))}",
            )
        wrong_hash = self._secret_hash_error(client, responses, record.username)
        if wrong_hash is not None:
            return wrong_hash
        self.state.end_session(session)
        renewed = self.state.start_session(client.pool_id, record.username) or ""
        return self._challenge(
            client.pool_id, mfa.Step(chosen), record.username, facts.phone, renewed
        )

    def _mfa_refusal(self, body: dict[str, Any], responses: dict[str, Any]) -> Answer | None:
        """AWS's answer to an MFA challenge response that does not pass (`software_tokens`),
        or None. A session moto does not know is left to moto's own answer."""
        challenge = body.get("ChallengeName")
        session = str(body.get("Session") or "")
        tokens = self.hosted_ui.software_tokens
        if challenge == "SOFTWARE_TOKEN_MFA":
            user = self.state.session_user(session)
            record = self.state.user_record(*user) if user else None
            if user is None or record is None:
                return None
            lockouts = self.hosted_ui.lockouts
            if lockouts.locked(user[0], record.username):
                return fail(*lockout.EXCEEDED)
            code = str(responses.get("SOFTWARE_TOKEN_MFA_CODE") or "")
            if not tokens.sign_in_matches(*user, code):
                lockouts.failed(user[0], record.username)
                return fail(*CHALLENGE_MISMATCH)
        elif challenge == mfa.SMS:
            return self._sms_refusal(session, str(responses.get("SMS_MFA_CODE") or ""))
        elif (
            challenge == "MFA_SETUP"
            and self.state.session_user(session) is not None
            and not tokens.take_setup_session(session)
        ):
            return fail("NotAuthorizedException", "Invalid session for the user.")
        return None

    def _sms_refusal(self, session: str, code: str) -> Answer | None:
        """The SMS_MFA challenge's code, checked as the hosted UI's code page checks it
        (`HostedUi.take_texted_code`), in the challenge's words (`mfa`)."""
        user = self.state.session_user(session)
        record = self.state.user_record(*user) if user else None
        if user is None or record is None:
            return None  # a session moto does not know: moto's answer
        lockouts = self.hosted_ui.lockouts
        if lockouts.locked(user[0], record.username):
            return fail(*lockout.EXCEEDED)
        refused = self.hosted_ui.take_texted_code(user[0], record.username, code)
        if refused == codes.EXPIRED:
            self.state.end_session(session)
            return fail(*mfa.SESSION_EXPIRED)
        return None if refused is None else fail(*mfa.CODE_MISMATCH)

    def _adopt_tokens(self, pool_id: str, answer: Answer) -> Answer:
        """moto's AuthenticationResult, re-minted with the stand-in's keys as one sign-in (and
        MFA_SETUP's parameters as AWS gives them: `_challenge_strings`)."""
        _challenge_strings(answer)
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
        self.hosted_ui.lockouts.succeeded(pool_id, subject.username)  # a completed sign-in
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


def _username_in(moto_access: str) -> str:
    """The user name in one of moto's access tokens ("" if it is not one)."""
    try:
        claims = jwt.decode(moto_access, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return str(claims.get("username") or "")


def _challenge_strings(answer: Answer) -> None:
    """MFA_SETUP's MFAS_CAN_SETUP as AWS gives it: a JSON array in a string
    ('["SOFTWARE_TOKEN_MFA"]'), which Amplify reads with JSON.parse. moto's serializer turns its
    list into Python's repr ("['SOFTWARE_TOKEN_MFA']"), which no JSON parser takes."""
    params = answer.body.get("ChallengeParameters")
    if not isinstance(params, dict) or "MFAS_CAN_SETUP" not in params:
        return
    value = params["MFAS_CAN_SETUP"]
    names = value if isinstance(value, list) else re.findall(r"[A-Z][A-Z_]*", str(value))
    params["MFAS_CAN_SETUP"] = json.dumps([str(n) for n in names])
