"""Cognito's lockout after failed sign-ins (`cogapi.local.lockout`), driven by boto3, pycognito's
SRP and the hosted UI on a server whose clock the test turns. moto has none: a sixth attempt
signed in there, so each end-to-end test here fails against it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from local_stack import MFA_PASSWORD, Clock, MfaPool, aws_error, mfa_pool, other_code
from pycognito.aws_srp import AWSSRP

from cogapi.local import lockout
from cogapi.local.server import LocalServer

PASSWORD = MFA_PASSWORD
WRONG = "Wrong-Pass-42"
CALLBACK = "http://localhost:8765/callback"
INCORRECT = ("NotAuthorizedException", "Incorrect username or password.")
EXCEEDED = ("NotAuthorizedException", "Password attempts exceeded")


# --- the rule, alone -----------------------------------------------------------------------------


def test_the_lockout_doubles_from_the_fifth_failure_up_to_a_quarter_hour() -> None:
    assert [lockout.lock_seconds(n) for n in range(1, 9)] == [0, 0, 0, 0, 1, 2, 4, 8]
    assert lockout.lock_seconds(14) == 512 and lockout.lock_seconds(15) == 900
    assert lockout.lock_seconds(40) == 900


def test_attempts_while_locked_do_not_lengthen_it_and_quiet_resets_it() -> None:
    clock = Clock()
    locks = lockout.Lockouts(clock)
    for _ in range(5):
        assert not locks.locked("p", "ann")
        locks.failed("p", "ann")
    assert locks.locked("p", "ann") and locks.locked("p", "ann")  # refused, not counted
    clock.now += 1.01
    assert not locks.locked("p", "ann")
    locks.failed("p", "ann")  # the sixth: two seconds
    clock.now += 1.5
    assert locks.locked("p", "ann")
    clock.now += 0.6
    assert not locks.locked("p", "ann") and not locks.locked("p", "bob")
    locks.succeeded("p", "ann")  # a sign-in: from nothing again
    for _ in range(4):
        locks.failed("p", "ann")
    assert not locks.locked("p", "ann")
    locks.failed("p", "ann")
    assert locks.locked("p", "ann")
    clock.now += lockout.QUIET_RESET_SECONDS  # a quiet quarter of an hour
    locks.failed("p", "ann")
    assert not locks.locked("p", "ann")  # one failure since


# --- through the API and the hosted UI -----------------------------------------------------------


@dataclass
class Locking(MfaPool):
    """An `MfaPool` (optional SMS MFA, PreventUserExistenceErrors) on a server of its own, whose
    clock the test turns."""

    clock: Clock = field(default_factory=Clock)

    def password(self, name: str, password: str) -> tuple[str, str] | None:
        """USER_PASSWORD_AUTH's refusal, or None where it signed in (or asked for MFA)."""
        try:
            self.idp.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": name, "PASSWORD": password})  # fmt: skip
        except ClientError as exc:
            err = exc.response["Error"]
            return err["Code"], err["Message"]
        return None

    def srp(self, name: str, password: str) -> Any:
        return AWSSRP(username=name, password=password, pool_id=self.pool_id,
                      client_id=self.client_id, client=self.idp).authenticate_user()  # fmt: skip


@pytest.fixture(scope="module")
def locking() -> Iterator[Locking]:
    clock = Clock()
    with LocalServer(port=0, clock=clock) as server:
        made = mfa_pool(server.endpoint, "OPTIONAL", sms=True,
                        client={"PreventUserExistenceErrors": "ENABLED"})  # fmt: skip
        yield Locking(**vars(made), clock=clock)


def test_a_sixth_password_attempt_is_refused_until_the_lockout_ends(locking: Locking) -> None:
    name = locking.user()
    for _ in range(5):
        assert locking.password(name, WRONG) == INCORRECT
    assert locking.password(name, PASSWORD) == EXCEEDED  # even the right one
    locking.clock.now += 1.1
    assert locking.password(name, WRONG) == INCORRECT  # the sixth failure: two seconds
    locking.clock.now += 1.1
    assert locking.password(name, PASSWORD) == EXCEEDED
    locking.clock.now += 1.0
    assert locking.password(name, PASSWORD) is None  # signed in: the count starts again
    for _ in range(4):
        assert locking.password(name, WRONG) == INCORRECT
    assert locking.password(name, PASSWORD) is None


def test_srp_failures_lock_out_too(locking: Locking) -> None:
    name = locking.user()
    for _ in range(5):
        with pytest.raises(ClientError) as exc:
            locking.srp(name, WRONG)
        assert aws_error(exc) == INCORRECT
    with pytest.raises(ClientError) as exc:
        locking.srp(name, PASSWORD)
    assert aws_error(exc) == EXCEEDED
    assert locking.password(name, PASSWORD) == EXCEEDED  # one count for every flow
    locking.clock.now += 1.1
    assert locking.srp(name, PASSWORD)["AuthenticationResult"]["AccessToken"]


def test_unknown_users_are_never_locked_out(locking: Locking) -> None:
    for _ in range(7):  # PreventUserExistenceErrors: as a wrong password, every time
        assert locking.password("nobody-" + "x" * 6, WRONG) == INCORRECT


def test_wrong_mfa_codes_lock_out_too(locking: Locking) -> None:
    name = locking.user(phone="+15555550142")
    locking.idp.admin_set_user_mfa_preference(
        UserPoolId=locking.pool_id, Username=name,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": True})  # fmt: skip
    started = locking.idp.initiate_auth(
        ClientId=locking.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})  # fmt: skip
    assert started["ChallengeName"] == "SMS_MFA"
    messages = requests.get(f"{locking.endpoint}/_cogapi/outbox",
                            params={"pool_id": locking.pool_id}, timeout=10).json()["messages"]  # fmt: skip
    code = [m for m in messages if m["username"] == name][-1]["code"]

    def answer(given: str) -> Any:
        return locking.idp.respond_to_auth_challenge(
            ClientId=locking.client_id, ChallengeName="SMS_MFA", Session=started["Session"],
            ChallengeResponses={"USERNAME": name, "SMS_MFA_CODE": given})  # fmt: skip

    for _ in range(5):
        with pytest.raises(ClientError) as exc:
            answer(other_code(code))
        assert aws_error(exc)[0] == "CodeMismatchException"
    with pytest.raises(ClientError) as exc:
        answer(code)
    assert aws_error(exc) == EXCEEDED
    locking.clock.now += 1.1
    assert answer(code)["AuthenticationResult"]["AccessToken"]


def test_the_hosted_ui_says_so_too(locking: Locking) -> None:
    name = locking.user()
    base = locking.hosted_ui
    browser = requests.Session()
    start = browser.get(f"{base}/oauth2/authorize", params={
        "client_id": locking.client_id, "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid"}, allow_redirects=False)  # fmt: skip
    page = browser.get(start.headers["Location"])

    def post(password: str) -> requests.Response:
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action, page.text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                                 page.text))  # fmt: skip
        return browser.post(action.group(1).replace("&amp;", "&"),
                            data={**hidden, "username": name, "password": password},
                            allow_redirects=False)  # fmt: skip

    for _ in range(5):
        page = post(WRONG)
        assert INCORRECT[1] in page.text
    page = post(PASSWORD)
    assert EXCEEDED[1] in page.text
    locking.clock.now += 1.1
    done = post(PASSWORD)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code=")
