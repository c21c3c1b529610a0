"""A web page on this machine cannot drive `cogapi local`: Host, Origin and CORS checks, over
real loopback HTTP against the running server."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from local_stack import EMAIL, PASSWORD, Stack, login_form

from cogapi.local import guard, urls

FORM = "application/x-amz-json-1.1"
# What a page's script sends: moto routes on the credential scope and never checks the signature.
FAKE_SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cognito-idp/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0000"
)


def _port(stack: Stack) -> int:
    return int(urlsplit(stack.endpoint).port or 0)


def control_plane(
    stack: Stack, operation: str, body: dict[str, Any], **headers: str
) -> requests.Response:
    return requests.post(
        stack.endpoint + "/",
        data=json.dumps(body),
        headers={
            "Content-Type": FORM,
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
            "Authorization": FAKE_SIGV4,
            **headers,
        },
    )


def planes(stack: Stack) -> dict[str, tuple[str, str]]:
    """One request per plane: (method, url)."""
    return {
        "control": ("POST", stack.endpoint + "/"),
        "edge": ("GET", urls.issuer(stack.endpoint, stack.pool_id) + "/.well-known/jwks.json"),
        "hosted-ui": ("GET", f"{stack.hosted_ui}/login"),
        "data": ("GET", stack.url("/open")),
        "info": ("GET", urls.info_url(stack.endpoint)),
    }


def _send(method: str, url: str, host: str | None) -> tuple[int, bytes]:
    """A raw request with exactly this Host header (or none at all)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.putrequest(method, parts.path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        if method == "POST":
            body = b'{"MaxResults": 10}'
            conn.putheader("Content-Type", FORM)
            conn.putheader("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPools")
            conn.putheader("Authorization", FAKE_SIGV4)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        else:
            conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("plane", ["control", "edge", "hosted-ui", "data", "info"])
def test_a_foreign_host_is_refused_on_every_plane(stack: Stack, plane: str) -> None:
    port = _port(stack)
    method, url = planes(stack)[plane]
    for host in (
        f"evil.example:{port}",  # a DNS-rebinding page: its name, our address
        "evil.example",
        f"127.0.0.1:{port + 1}",
        "127.0.0.1",
        f"localhost.evil.example:{port}",
        None,
    ):
        status, body = _send(method, url, host)
        assert status == 403, (plane, host, body)
        assert set(json.loads(body)) == {"message"}, body


@pytest.mark.parametrize("plane", ["control", "edge", "hosted-ui", "data", "info"])
def test_loopback_hosts_are_served_on_every_plane(stack: Stack, plane: str) -> None:
    port = _port(stack)
    method, url = planes(stack)[plane]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LocalHost:{port}"):
        status, body = _send(method, url, host)
        assert status != 403, (plane, host, body)


def test_a_foreign_host_never_reaches_moto(stack: Stack) -> None:
    name = "rebinding-page-pool"
    r = control_plane(stack, "CreateUserPool", {"PoolName": name}, Host="evil.example")
    assert r.status_code == 403
    pools = stack.clients["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
    assert name not in [p["Name"] for p in pools]


def test_control_plane_refuses_a_foreign_origin(stack: Stack) -> None:
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example", "file://"):
        r = control_plane(stack, "ListUserPools", {"MaxResults": 10}, Origin=origin)
        assert r.status_code == 403, (origin, r.text)
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "UserPools" not in r.text


def test_a_foreign_origin_cannot_create_anything(stack: Stack) -> None:
    name = "cross-origin-pool"
    r = control_plane(stack, "CreateUserPool", {"PoolName": name}, Origin="https://evil.example")
    assert r.status_code == 403
    pools = stack.clients["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
    assert name not in [p["Name"] for p in pools]


def test_control_plane_grants_no_cors_even_to_loopback_origins(stack: Stack) -> None:
    # a loopback page may send a Cognito user-pool call's preflight (below), which cannot name
    # the call: any other X-Amz-Target with an Origin is refused, and moto never sees it
    name = "loopback-page-pool"
    for operation, body in [("ListUserPools", {"MaxResults": 10}), ("CreateUserPool",
                            {"PoolName": name})]:  # fmt: skip
        r = control_plane(stack, operation, body, Origin="http://localhost:3000")
        assert r.status_code == 403, r.text
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers
    pools = stack.clients["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
    assert name not in [p["Name"] for p in pools]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000"])
def test_control_plane_preflight_is_refused(stack: Stack, origin: str) -> None:
    r = requests.options(
        stack.endpoint + "/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,authorization,content-type",
        },
    )
    assert r.status_code == 403
    assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


LIBRARY_HEADERS = "content-type,x-amz-target,x-amz-user-agent,cache-control"  # identity-js


def _preflight(stack: Stack, origin: str, headers: str = LIBRARY_HEADERS) -> requests.Response:
    return requests.options(
        stack.endpoint + "/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_user_pool_calls_get_cors_for_loopback_pages(stack: Stack) -> None:
    # what AWS serves browser apps (amazon-cognito-identity-js, Amplify): their sign-in calls
    origin = "http://localhost:3000"
    pre = _preflight(stack, origin)
    assert pre.status_code == 200, pre.text
    assert pre.headers["Access-Control-Allow-Origin"] == origin
    assert pre.headers["Access-Control-Allow-Methods"] == "POST"
    allowed = {h.strip() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == set(LIBRARY_HEADERS.split(","))
    r = requests.post(
        stack.endpoint + "/",
        data=json.dumps({"ClientId": stack.client_id, "AuthFlow": "USER_SRP_AUTH",
                         "AuthParameters": {"USERNAME": EMAIL, "SRP_A": "0"}}),
        headers={"Content-Type": FORM, "Origin": origin,
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
    )  # fmt: skip
    assert r.status_code == 400 and r.json()["__type"].endswith("InvalidParameterException")
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert "x-amzn-ErrorType" in r.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    ("origin", "headers"),
    [("https://evil.example", LIBRARY_HEADERS), ("null", LIBRARY_HEADERS),
     ("http://localhost:3000", LIBRARY_HEADERS + ",authorization,x-amz-date"),  # signed: an SDK
     ("http://localhost:3000", "content-type")],
)  # fmt: skip
def test_other_preflights_are_refused(stack: Stack, origin: str, headers: str) -> None:
    r = _preflight(stack, origin, headers)
    assert r.status_code == 403
    assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


def test_user_pool_calls_from_a_foreign_origin_are_refused(stack: Stack) -> None:
    r = control_plane(stack, "GetUser", {"AccessToken": "x"}, Origin="https://evil.example")
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r.headers


def test_data_plane_adds_no_cors_of_its_own(stack: Stack) -> None:
    origin = "https://evil.example"
    for r in (
        requests.get(stack.url("/open"), headers={"Origin": origin}),  # the handler answers
        requests.get(stack.url("/hello"), headers={"Origin": origin}),  # the authorizer: 401
        requests.get(stack.url("/nope"), headers={"Origin": origin}),  # the gateway: 403
        requests.options(
            stack.url("/hello"),
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        ),
    ):
        assert r.status_code in (200, 401, 403), r.text
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers
        assert origin not in str(r.headers)


def test_login_post_without_or_with_a_wrong_csrf_token_is_refused(stack: Stack) -> None:
    credentials = {"username": EMAIL, "password": PASSWORD}
    for form in ({}, {"_csrf": ""}, {"_csrf": "forged"}):
        session = requests.Session()
        action, _ = login_form(session, stack)
        r = session.post(action, data={**form, **credentials}, allow_redirects=False)
        assert r.status_code == 400 and "Location" not in r.headers, form
    # a page elsewhere has the form's token but not the cookie (SameSite, other origin)
    session = requests.Session()
    action, csrf = login_form(session, stack)
    r = requests.post(action, data={"_csrf": csrf, **credentials}, allow_redirects=False)
    assert r.status_code == 400 and "Location" not in r.headers
    # the same form, posted back by the browser that got it, signs in
    r = session.post(action, data={"_csrf": csrf, **credentials}, allow_redirects=False)
    assert r.status_code == 302


def test_loopback_origin_rules() -> None:
    for origin in ("http://127.0.0.1:3000", "http://localhost", "https://[::1]:8443"):
        assert guard.is_loopback_origin(origin), origin
    for origin in (
        "null",
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1:3000/path",
        "http://127.0.0.1:abc",
        "ftp://localhost",
        "",
    ):
        assert not guard.is_loopback_origin(origin), origin
    assert guard.host_allowed("127.0.0.1:80", 80) and guard.host_allowed("localhost", 80)
    assert not guard.host_allowed("localhost", 4566) and not guard.host_allowed(None, 4566)
