"""SMS MFA on `cogapi local` as Cognito asks for it (`cogapi.local.mfa`), driven by boto3 and
pycognito (Amplify's SMS step is in test_js_clients). moto signs a user of a pool that requires
SMS MFA in with the password alone, sends no code and takes any: each API test here fails
against that."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import requests
from botocore.exceptions import ClientError
from local_stack import (
    MFA_PASSWORD,
    Clock,
    MfaPool,
    Stack,
    aws_error,
    fits_aws_model,
    mfa_pool,
    other_code,
)
from pycognito.exceptions import SMSMFAChallengeException

from cogapi.local import mfa
from cogapi.local.server import LocalServer

PASSWORD = MFA_PASSWORD
CALLBACK = "http://localhost:8765/callback"
PHONE = "+15555550123"
CODE_MISMATCH = ("CodeMismatchException", "Invalid code or auth state for the user.")
SESSION_EXPIRED = ("NotAuthorizedException", "Invalid session for the user, session is expired.")


# --- the decision, alone -------------------------------------------------------------------------


def _facts(**given: Any) -> mfa.MfaFacts:
    base: dict[str, Any] = {"mode": "ON", "totp_offered": True, "sms_offered": True,
                            "phone": PHONE, "totp_ready": False, "sms_enabled": False,
                            "preferred": None}  # fmt: skip
    return mfa.MfaFacts(**{**base, **given})


@pytest.mark.parametrize(
    ("given", "challenge", "choices"),
    [
        ({"mode": "OFF", "totp_ready": True, "sms_enabled": True}, None, ()),
        ({}, mfa.SMS, ()),  # required: a phone number is enough
        ({"phone": None}, mfa.SETUP, (mfa.TOTP, mfa.SMS)),
        ({"phone": None, "totp_offered": False}, mfa.SETUP, (mfa.SMS,)),
        ({"sms_offered": False}, mfa.SETUP, (mfa.TOTP,)),
        ({"totp_ready": True}, mfa.SELECT, (mfa.SMS, mfa.TOTP)),
        ({"totp_ready": True, "preferred": mfa.TOTP}, mfa.TOTP, ()),
        ({"totp_ready": True, "preferred": mfa.SMS}, mfa.SMS, ()),
        ({"totp_ready": True, "sms_offered": False}, mfa.TOTP, ()),
        ({"mode": "OPTIONAL"}, None, ()),  # optional: only once the user turns it on
        ({"mode": "OPTIONAL", "sms_enabled": True}, mfa.SMS, ()),
        ({"mode": "OPTIONAL", "sms_enabled": True, "phone": None}, None, ()),
        ({"mode": "OPTIONAL", "sms_enabled": True, "sms_offered": False}, None, ()),
        ({"mode": "OPTIONAL", "totp_ready": True, "sms_enabled": True}, mfa.SELECT,
         (mfa.SMS, mfa.TOTP)),
    ],
)  # fmt: skip
def test_the_second_factor_is_cognitos(
    given: dict[str, Any], challenge: str | None, choices: tuple[str, ...]
) -> None:
    assert mfa.next_step(_facts(**given)) == mfa.Step(challenge, choices)


def test_the_destination_is_masked_but_for_four_digits() -> None:
    assert mfa.masked("+15555550123") == "+*******0123"
    assert mfa.masked("+447700900077") == "+********0077"
    step = mfa.Step(mfa.SELECT, (mfa.SMS, mfa.TOTP))
    params = mfa.challenge_parameters(step, "alice", PHONE)
    assert json.loads(params["MFAS_CAN_CHOOSE"]) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]


# --- through the API ---------------------------------------------------------------------------


class SmsPool(MfaPool):
    """An `MfaPool` offering SMS MFA, whose users have a phone number unless told otherwise."""

    def user(self, phone: str | None = PHONE) -> str:
        return super().user(phone)

    def texted(self, username: str) -> list[dict[str, Any]]:
        """The sign-in codes "texted" to the user, from the outbox, as a script reads them."""
        answer = requests.get(
            f"{self.endpoint}/_cogapi/outbox", params={"pool_id": self.pool_id}, timeout=10
        )
        messages = answer.json()["messages"]
        return [m for m in messages if m["username"] == username and m["purpose"] == "sign-in"]

    def code(self, username: str) -> str:
        texted = self.texted(username)
        assert texted, username
        return str(texted[-1]["code"])

    def password_sign_in(self, username: str) -> Any:
        return self.idp.initiate_auth(
            ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})  # fmt: skip

    def respond(self, challenge: str, session: str, **responses: str) -> Any:
        return self.idp.respond_to_auth_challenge(
            ClientId=self.client_id, ChallengeName=challenge, Session=session,
            ChallengeResponses=responses)  # fmt: skip


def _sms_pool(endpoint: str, mode: str, *, totp: bool = False) -> SmsPool:
    return SmsPool(**vars(mfa_pool(endpoint, mode, totp=totp, sms=True)))


@pytest.fixture(scope="module")
def required(stack: Stack) -> Iterator[SmsPool]:
    yield _sms_pool(stack.endpoint, "ON")


@pytest.fixture(scope="module")
def optional(stack: Stack) -> Iterator[SmsPool]:
    yield _sms_pool(stack.endpoint, "OPTIONAL", totp=True)


def test_required_sms_mfa_texts_a_code_and_checks_it(required: SmsPool) -> None:
    name = required.user()
    started = required.password_sign_in(name)
    assert started["ChallengeName"] == "SMS_MFA"  # moto: tokens at once
    assert started["ChallengeParameters"] == {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******0123",
        "USER_ID_FOR_SRP": name,
    }
    assert "AuthenticationResult" not in started
    fits_aws_model("initiate_auth", started)
    texted = required.texted(name)
    assert len(texted) == 1 and texted[0]["destination"] == PHONE
    code = texted[0]["code"]
    session = started["Session"]
    for wrong in (other_code(code), "abc", ""):
        with pytest.raises(ClientError) as exc:
            required.respond("SMS_MFA", session, USERNAME=name, SMS_MFA_CODE=wrong or " ")
        assert aws_error(exc) == CODE_MISMATCH  # and the session stays usable
    done = required.respond("SMS_MFA", session, USERNAME=name, SMS_MFA_CODE=code)
    tokens = done["AuthenticationResult"]
    assert tokens["IdToken"] and tokens["RefreshToken"]
    user = required.idp.get_user(AccessToken=tokens["AccessToken"])  # the stand-in's token
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["phone_number_verified"] == "true"  # the first SMS MFA verifies it
    # the admin flow asks too; a code is used once
    admin = required.idp.admin_initiate_auth(
        UserPoolId=required.pool_id, ClientId=required.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})  # fmt: skip
    assert admin["ChallengeName"] == "SMS_MFA"
    with pytest.raises(ClientError) as exc:
        required.idp.admin_respond_to_auth_challenge(
            UserPoolId=required.pool_id, ClientId=required.client_id, ChallengeName="SMS_MFA",
            Session=admin["Session"],
            ChallengeResponses={"USERNAME": name, "SMS_MFA_CODE": code})  # fmt: skip
    assert aws_error(exc) == CODE_MISMATCH
    again = required.idp.admin_respond_to_auth_challenge(
        UserPoolId=required.pool_id, ClientId=required.client_id, ChallengeName="SMS_MFA",
        Session=admin["Session"],
        ChallengeResponses={"USERNAME": name, "SMS_MFA_CODE": required.code(name)})  # fmt: skip
    assert again["AuthenticationResult"]["AccessToken"]


def test_a_new_password_is_followed_by_the_texted_code(required: SmsPool) -> None:
    """An administrator's new user sets a password (NEW_PASSWORD_REQUIRED), then gets SMS_MFA."""
    name = "s" + secrets.token_hex(4)
    required.idp.admin_create_user(
        UserPoolId=required.pool_id, Username=name, MessageAction="SUPPRESS",
        TemporaryPassword="Temp-Pass-42", UserAttributes=[{"Name": "phone_number", "Value": PHONE}])  # fmt: skip
    started = required.idp.initiate_auth(
        ClientId=required.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": "Temp-Pass-42"})  # fmt: skip
    assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert required.texted(name) == []  # the password step first
    texted = required.respond("NEW_PASSWORD_REQUIRED", started["Session"], USERNAME=name,
                              NEW_PASSWORD=PASSWORD)  # fmt: skip
    assert texted["ChallengeName"] == "SMS_MFA"  # moto: tokens
    done = required.respond(
        "SMS_MFA", texted["Session"], USERNAME=name, SMS_MFA_CODE=required.code(name)
    )
    assert done["AuthenticationResult"]["AccessToken"]


def test_pycognito_signs_in_with_srp_and_the_texted_code(required: SmsPool) -> None:
    name = required.user()
    user = required.cognito(name)
    with pytest.raises(SMSMFAChallengeException) as challenge:
        user.authenticate(PASSWORD)  # SRP: PASSWORD_VERIFIER, then SMS_MFA
    tokens = challenge.value.get_tokens()
    with pytest.raises(ClientError) as exc:
        user.respond_to_sms_mfa_challenge(other_code(required.code(name)), tokens)
    assert aws_error(exc) == CODE_MISMATCH
    user.respond_to_sms_mfa_challenge(required.code(name), tokens)
    user.verify_tokens()  # the stand-in's keys
    assert user.access_claims["username"] == name


def test_a_required_pool_sets_up_mfa_for_a_user_without_a_number(required: SmsPool) -> None:
    name = required.user(phone=None)
    started = required.password_sign_in(name)
    assert started["ChallengeName"] == "MFA_SETUP"  # moto: tokens at once
    assert json.loads(started["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SMS_MFA"]
    assert required.texted(name) == []


def test_optional_sms_mfa_asks_only_users_who_turned_it_on(optional: SmsPool) -> None:
    name = optional.user()
    assert "AuthenticationResult" in optional.password_sign_in(name)
    assert optional.texted(name) == []
    optional.idp.admin_set_user_mfa_preference(
        UserPoolId=optional.pool_id, Username=name,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": False})  # fmt: skip
    started = optional.password_sign_in(name)
    assert started["ChallengeName"] == "SMS_MFA"  # moto: tokens (no preference)
    done = optional.respond(
        "SMS_MFA", started["Session"], USERNAME=name, SMS_MFA_CODE=optional.code(name)
    )
    assert done["AuthenticationResult"]["AccessToken"]


def test_a_user_with_both_factors_picks_one(optional: SmsPool) -> None:
    """SELECT_MFA_TYPE, where moto signed in (or asked for TOTP) by the preference alone."""
    name = optional.user()
    user = optional.cognito(name)
    user.authenticate(PASSWORD)
    totp = pyotp.TOTP(user.associate_software_token())
    assert user.verify_software_token(totp.now(), "phone")
    optional.idp.set_user_mfa_preference(  # both on, none preferred (pycognito insists on one)
        AccessToken=user.access_token,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})  # fmt: skip
    started = optional.password_sign_in(name)
    assert started["ChallengeName"] == "SELECT_MFA_TYPE"
    params = started["ChallengeParameters"]
    assert json.loads(params["MFAS_CAN_CHOOSE"]) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    fits_aws_model("initiate_auth", started)
    with pytest.raises(ClientError) as exc:
        optional.respond("SELECT_MFA_TYPE", started["Session"], USERNAME=name, ANSWER="EMAIL_OTP")
    assert aws_error(exc)[0] == "InvalidParameterException"
    sms = optional.respond("SELECT_MFA_TYPE", started["Session"], USERNAME=name, ANSWER="SMS_MFA")
    assert sms["ChallengeName"] == "SMS_MFA" and sms["Session"] != started["Session"]
    assert sms["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "+*******0123"
    with pytest.raises(ClientError) as exc:  # the choice used up the session it was made on
        optional.respond("SELECT_MFA_TYPE", started["Session"], USERNAME=name, ANSWER="SMS_MFA")
    assert aws_error(exc)[0] == "NotAuthorizedException"
    done = optional.respond(
        "SMS_MFA", sms["Session"], USERNAME=name, SMS_MFA_CODE=optional.code(name)
    )
    assert done["AuthenticationResult"]["AccessToken"]
    again = optional.password_sign_in(name)
    app = optional.respond("SELECT_MFA_TYPE", again["Session"], USERNAME=name,
                           ANSWER="SOFTWARE_TOKEN_MFA")  # fmt: skip
    assert app["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(ClientError) as exc:
        optional.respond("SOFTWARE_TOKEN_MFA", app["Session"], USERNAME=name,
                         SOFTWARE_TOKEN_MFA_CODE=other_code(totp.now()))  # fmt: skip
    assert aws_error(exc)[0] == "CodeMismatchException"
    done = optional.respond("SOFTWARE_TOKEN_MFA", app["Session"], USERNAME=name,
                            SOFTWARE_TOKEN_MFA_CODE=totp.now())  # fmt: skip
    assert done["AuthenticationResult"]["AccessToken"]
    user.set_user_mfa_preference(True, True, "SOFTWARE_TOKEN")  # a preference decides
    assert optional.password_sign_in(name)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_a_texted_code_lasts_as_long_as_its_session() -> None:
    clock = Clock()
    with LocalServer(port=0, clock=clock) as server:
        pool = _sms_pool(server.endpoint, "ON")
        name = pool.user()
        started = pool.password_sign_in(name)
        code = pool.code(name)
        clock.now += 181  # three minutes: AuthSessionValidity's default
        with pytest.raises(ClientError) as exc:
            pool.respond("SMS_MFA", started["Session"], USERNAME=name, SMS_MFA_CODE=code)
        assert aws_error(exc) == SESSION_EXPIRED
        fresh = pool.password_sign_in(name)
        clock.now += 170
        done = pool.respond("SMS_MFA", fresh["Session"], USERNAME=name,
                            SMS_MFA_CODE=pool.code(name))  # fmt: skip
        assert done["AuthenticationResult"]["AccessToken"]


# --- the hosted UI -------------------------------------------------------------------------------


def _form_fields(page: requests.Response) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    return action.group(1).replace("&amp;", "&"), hidden


def test_hosted_ui_asks_for_the_texted_code(required: SmsPool) -> None:
    name = required.user()
    browser = requests.Session()
    start = browser.get(f"{required.hosted_ui}/oauth2/authorize", params={
        "client_id": required.client_id, "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid", "state": "s1"}, allow_redirects=False)  # fmt: skip
    action, hidden = _form_fields(browser.get(start.headers["Location"]))
    page = browser.post(action, data={**hidden, "username": name, "password": PASSWORD},
                        allow_redirects=False)  # fmt: skip
    assert page.status_code == 200 and 'id="texted"' in page.text and "+*******0123" in page.text
    code = required.code(name)
    action, hidden = _form_fields(page)
    wrong = browser.post(action, data={**hidden, "totp": other_code(code)}, allow_redirects=False)
    assert wrong.status_code == 400 and CODE_MISMATCH[1] in wrong.text
    action, hidden = _form_fields(wrong)
    done = browser.post(action, data={**hidden, "totp": code}, allow_redirects=False)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code=")
    assert "state=s1" in done.headers["Location"]
