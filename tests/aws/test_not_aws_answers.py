"""An endpoint that answers, but not as AWS does (a web server, a proxy's page, the wrong port):
one AwsError naming the call, the endpoint and what came back, never a botocore parser crash
('unexpected KeyError') and never an empty result read as "nothing deployed"."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.session
import pytest

from cogapi.aws import Aws
from cogapi.errors import AwsError
from tests.helpers import answering_server

PAGE = b"<html><body>Welcome to nginx</body></html>"


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """Answers every POST with the status and body its path asks for."""
    answers = {"/page-200": (200, PAGE), "/page-403": (403, PAGE), "/text-200": (200, b"hello {")}

    def answer(path: str) -> tuple[int, str, bytes]:
        status, body = answers[path.rstrip("/")]
        return status, "text/html", body

    with answering_server(answer) as url:
        yield url


def _aws(endpoint: str) -> Aws:
    session = botocore.session.Session()
    session.set_credentials("testing", "testing")
    return Aws(session, "us-east-1", endpoint_url=endpoint)


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/page-200", "HTTP 200 and a web page"),
        ("/page-403", "HTTP 403 and a web page"),
        ("/text-200", "HTTP 200 and a body that is not JSON"),
    ],
)
def test_a_json_service_answered_by_a_web_server(web_server: str, path: str, answer: str) -> None:
    """ListUserPools (JSON protocol): a page answering 200 parsed as 'no pools' before."""
    url = web_server + path
    with pytest.raises(AwsError) as info:
        _aws(url).find_user_pools("test-user-pool")
    assert info.value.message == (
        f"list_user_pools failed for user pools: {url} does not answer as AWS does ({answer})"
    )
    assert info.value.hint and "--endpoint-url" in info.value.hint


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/page-200", "an answer botocore cannot parse"),  # well-formed XML: a KeyError inside
        ("/text-200", "an answer botocore cannot parse"),  # not XML: ResponseParserError
        ("/page-403", "HTTP 403 and a web page"),
    ],
)
def test_a_query_service_answered_by_a_web_server(web_server: str, path: str, answer: str) -> None:
    url = web_server + path
    with pytest.raises(AwsError) as info:
        _aws(url).account_id()
    assert info.value.message == (
        f"get_caller_identity failed for caller identity: {url} does not answer as AWS does "
        f"({answer})"
    )


def test_https_to_a_plain_http_port_fails_at_once_with_a_hint(web_server: str) -> None:
    """The TLS handshake meets plain HTTP: every retry would meet it again (it took 35 s)."""
    messages: list[str] = []
    session = botocore.session.Session()
    session.set_credentials("testing", "testing")
    url = web_server.replace("http://", "https://") + "/page-200"
    aws = Aws(session, "us-east-1", endpoint_url=url, on_wait=messages.append)
    with pytest.raises(AwsError) as info:
        aws.account_id()
    assert "WRONG_VERSION_NUMBER" in info.value.message
    assert info.value.hint == "the endpoint speaks plain HTTP there: write http://, not https://"
    assert messages == []  # not retried, so nothing announced
