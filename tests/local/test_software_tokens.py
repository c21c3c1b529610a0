"""TOTP MFA on `cogapi local` as AWS checks it, driven by pycognito and boto3 with codes from
pyotp (an authenticator's implementation nobody here wrote). moto gives every user one secret
and takes any code; each test here fails against that."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import requests
from botocore.exceptions import ClientError
from local_stack import MFA_PASSWORD, MfaPool, Stack, aws_error, mfa_pool, other_code
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import SoftwareTokenMFAChallengeException

from cogapi.local import software_tokens

PASSWORD = MFA_PASSWORD
CALLBACK = "http://localhost:8765/callback"
VERIFY_MISMATCH = (
    "EnableSoftwareTokenMFAException",
    "Code mismatch and fail enable Software Token MFA",
)
CHALLENGE_MISMATCH = ("CodeMismatchException", "Invalid code received for user")


# --- the codes themselves ------------------------------------------------------------------------


def test_codes_are_an_authenticator_apps() -> None:
    secret = software_tokens.new_secret()
    assert len(secret) == 52 and pyotp.TOTP(secret).now()  # base32 an app takes
    totp = pyotp.TOTP(secret)
    for when in (0, 59, 1_700_000_000, 1_700_000_029.9, 2_000_000_000):
        assert software_tokens.code_at(secret, when) == totp.at(when)
    now = 1_800_000_000
    assert software_tokens.matches(secret, totp.at(now - 30), now)  # one step of skew
    assert software_tokens.matches(secret, totp.at(now + 30), now)
    assert not software_tokens.matches(secret, totp.at(now - 60), now)
    assert not software_tokens.matches(secret, totp.at(now + 60), now)
    assert not software_tokens.matches(secret, "12345", now)
    assert not software_tokens.matches(secret, "abcdef", now)


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def optional(stack: Stack) -> Iterator[MfaPool]:
    yield mfa_pool(stack.endpoint, "OPTIONAL", totp=True)


@pytest.fixture(scope="module")
def required(stack: Stack) -> Iterator[MfaPool]:
    yield mfa_pool(stack.endpoint, "ON", totp=True)


def _enrolled(pool: MfaPool) -> tuple[str, pyotp.TOTP]:
    """A user who set up TOTP MFA with pycognito, and their authenticator."""
    name = pool.user()
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    secret = user.associate_software_token()
    totp = pyotp.TOTP(secret)
    assert user.verify_software_token(totp.now(), "phone")
    user.set_user_mfa_preference(False, True, "SOFTWARE_TOKEN")
    return name, totp


def test_each_user_gets_a_secret_of_their_own(optional: MfaPool) -> None:
    """moto gave every user one and the same secret."""
    got = set()
    for _ in range(2):
        user = optional.cognito(optional.user())
        user.authenticate(PASSWORD)
        got.add(user.associate_software_token())
    assert len(got) == 2 and all(len(s) == 52 for s in got)


def test_verify_software_token_takes_only_the_secrets_code(optional: MfaPool) -> None:
    user = optional.cognito(optional.user())
    user.authenticate(PASSWORD)
    totp = pyotp.TOTP(user.associate_software_token())
    other = pyotp.TOTP(software_tokens.new_secret())
    for code in (other_code(totp.now()), other.now(), "abc123"):
        with pytest.raises(ClientError) as exc:
            user.verify_software_token(code, "phone")
        assert aws_error(exc) == VERIFY_MISMATCH
    with pytest.raises(ClientError, match="not verified software token"):
        user.set_user_mfa_preference(False, True, "SOFTWARE_TOKEN")  # moto's own refusal
    assert user.verify_software_token(totp.now(), "phone")


def test_sign_in_asks_for_the_code_and_checks_it(optional: MfaPool) -> None:
    name, totp = _enrolled(optional)
    user = optional.cognito(name)
    with pytest.raises(SoftwareTokenMFAChallengeException) as challenge:
        user.authenticate(PASSWORD)  # SRP
    tokens = challenge.value.get_tokens()
    with pytest.raises(ClientError) as exc:
        user.respond_to_software_token_mfa_challenge(other_code(totp.now()), tokens)
    assert aws_error(exc) == CHALLENGE_MISMATCH
    stranger = pyotp.TOTP(software_tokens.new_secret()).now()
    with pytest.raises(ClientError) as exc:
        user.respond_to_software_token_mfa_challenge(stranger, tokens)
    assert aws_error(exc) == CHALLENGE_MISMATCH
    user.respond_to_software_token_mfa_challenge(totp.now(), tokens)
    user.verify_tokens()  # the stand-in's keys, at <endpoint>/<pool>/.well-known/jwks.json
    assert user.access_claims["username"] == name
    # USER_PASSWORD_AUTH asks for it too
    started = optional.idp.initiate_auth(
        ClientId=optional.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})  # fmt: skip
    assert started["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(ClientError) as exc:
        optional.idp.respond_to_auth_challenge(
            ClientId=optional.client_id, ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=started["Session"],
            ChallengeResponses={"USERNAME": name,
                                "SOFTWARE_TOKEN_MFA_CODE": other_code(totp.now())})  # fmt: skip
    assert aws_error(exc) == CHALLENGE_MISMATCH


def test_a_required_mfa_is_set_up_during_sign_in(required: MfaPool) -> None:
    """MFA_SETUP: the challenge names what can be set up as AWS does (a JSON array in a string,
    which Amplify parses), and only the session of a passed VerifySoftwareToken finishes it."""
    idp = required.idp
    name = required.user()
    challenge = AWSSRP(username=name, password=PASSWORD, pool_id=required.pool_id,
                       client_id=required.client_id, client=idp).authenticate_user()  # fmt: skip
    assert challenge["ChallengeName"] == "MFA_SETUP"
    assert json.loads(challenge["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA"]
    session = challenge["Session"]

    def finish(with_session: str) -> Any:
        return idp.respond_to_auth_challenge(
            ClientId=required.client_id, ChallengeName="MFA_SETUP", Session=with_session,
            ChallengeResponses={"USERNAME": name})  # fmt: skip

    with pytest.raises(ClientError) as exc:
        finish(session)  # moto signed in here, no authenticator set up
    assert aws_error(exc) == ("NotAuthorizedException", "Invalid session for the user.")
    associated = idp.associate_software_token(Session=session)
    totp = pyotp.TOTP(associated["SecretCode"])
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(Session=associated["Session"], UserCode=other_code(totp.now()))
    assert aws_error(exc) == VERIFY_MISMATCH
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=totp.now())
    assert verified["Status"] == "SUCCESS"
    done = finish(verified["Session"])
    assert done["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        finish(verified["Session"])  # once
    assert aws_error(exc) == ("NotAuthorizedException", "Invalid session for the user.")
    # from now on the sign-in asks for the code
    user = required.cognito(name)
    with pytest.raises(SoftwareTokenMFAChallengeException) as again:
        user.authenticate(PASSWORD)
    user.respond_to_software_token_mfa_challenge(totp.now(), again.value.get_tokens())
    assert user.access_claims["username"] == name


# --- the hosted UI -------------------------------------------------------------------------------


def _form_fields(page: requests.Response) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    return action.group(1).replace("&amp;", "&"), hidden


def _password_page(browser: requests.Session, pool: MfaPool, name: str) -> requests.Response:
    """The login form posted with the right password: what comes next."""
    start = browser.get(f"{pool.hosted_ui}/oauth2/authorize", params={
        "client_id": pool.client_id, "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid", "state": "s1"}, allow_redirects=False)  # fmt: skip
    action, hidden = _form_fields(browser.get(start.headers["Location"]))
    return browser.post(action, data={**hidden, "username": name, "password": PASSWORD},
                        allow_redirects=False)  # fmt: skip


def _post_code(browser: requests.Session, page: requests.Response, code: str) -> requests.Response:
    action, hidden = _form_fields(page)
    return browser.post(action, data={**hidden, "totp": code}, allow_redirects=False)


def test_hosted_ui_asks_an_enrolled_user_for_the_code(optional: MfaPool) -> None:
    name, totp = _enrolled(optional)
    browser = requests.Session()
    page = _password_page(browser, optional, name)
    assert page.status_code == 200 and 'name="totp"' in page.text  # no code without it
    assert "Location" not in page.headers
    wrong = _post_code(browser, page, other_code(totp.now()))
    assert wrong.status_code == 400 and CHALLENGE_MISMATCH[1] in wrong.text
    done = _post_code(browser, wrong, totp.now())
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code=")
    forged = _post_code(browser, page, totp.now())  # the ticket is spent
    assert forged.status_code == 400 and "Your session has expired" in forged.text
    plain = optional.user()  # no authenticator, MFA optional: no code page
    signed_in = _password_page(requests.Session(), optional, plain)
    assert signed_in.status_code == 302 and "code=" in signed_in.headers["Location"]


def test_hosted_ui_sets_up_a_required_authenticator(required: MfaPool) -> None:
    name = required.user()
    browser = requests.Session()
    page = _password_page(browser, required, name)
    found = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text)
    assert page.status_code == 200 and found
    totp = pyotp.TOTP(found.group(1))
    wrong = _post_code(browser, page, other_code(totp.now()))
    assert wrong.status_code == 400 and VERIFY_MISMATCH[1] in wrong.text
    done = _post_code(browser, wrong, totp.now())
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code=")
    # the authenticator is the user's now, for the API as for the hosted UI
    user = required.cognito(name)
    with pytest.raises(SoftwareTokenMFAChallengeException) as challenge:
        user.authenticate(PASSWORD)
    user.respond_to_software_token_mfa_challenge(totp.now(), challenge.value.get_tokens())
    again = _password_page(requests.Session(), required, name)
    assert 'name="totp"' in again.text and 'id="secret"' not in again.text
