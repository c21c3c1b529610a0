"""Retries against a real loopback HTTP server: a refused connection fails at once, and a retry
that botocore does make is announced (what, where, attempt n of m)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from cogapi.aws import Aws
from cogapi.errors import AwsError
from tests.helpers import answering_server, free_port

IDENTITY = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AID</UserId>
<Account>123456789012</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"""


def _aws(endpoint: str, messages: list[str]) -> Aws:
    session = botocore.session.Session()
    session.set_credentials("testing", "testing")
    return Aws(session, "us-east-1", endpoint_url=endpoint, on_wait=messages.append)


@pytest.fixture
def flaky_sts() -> Iterator[str]:
    """Answers 503 to the first request, then a valid GetCallerIdentity."""
    answers = [503]

    def answer(path: str) -> tuple[int, str, bytes]:
        status = answers.pop(0) if answers else 200
        return status, "text/xml", IDENTITY if status == 200 else b"<ErrorResponse/>"

    with answering_server(answer) as url:
        yield url


def test_a_refused_connection_is_not_retried() -> None:
    messages: list[str] = []
    aws = _aws(f"http://127.0.0.1:{free_port()}", messages)  # nothing listens there
    start = time.monotonic()
    with pytest.raises(AwsError, match="cannot reach AWS"):
        aws.account_id()
    assert time.monotonic() - start < 2
    assert messages == []  # no retry, so nothing to announce


def test_a_retry_says_what_where_and_which_attempt(flaky_sts: str) -> None:
    messages: list[str] = []
    assert _aws(flaky_sts, messages).account_id() == "123456789012"
    host = flaky_sts.removeprefix("http://")
    assert messages == [f"  retrying GetCallerIdentity at {host} after HTTP 503 (attempt 2 of 5)"]


def test_a_host_name_dns_says_does_not_exist_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A made-up region (cognito-idp.us-east-9.amazonaws.com) or a mistyped endpoint host: DNS's
    "no such name" is its final answer, so no half minute of retries; "try again" still is."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "sts.example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    messages: list[str] = []
    aws = _aws("http://sts.example.invalid:4566", messages)
    with pytest.raises(AwsError) as info:
        aws.account_id()
    assert info.value.message == (
        "cannot reach AWS at http://sts.example.invalid:4566/ (get_caller_identity): the host "
        "name does not resolve"
    )
    assert messages == []  # no retry announced
