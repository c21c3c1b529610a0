"""An authorizer that reads the token from another header (`api.authorizer.token_source: X-Token`):
the data plane takes the token there and nowhere else, and `cogapi call`, `cogapi verify` and
`cogapi token --logout` work with such a stack. One stack per module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.auth.conftest import EMAIL, AuthStack, make_stack
from tests.auth.flows import browser_code_login

ROUTES = [
    {"path": "/hello", "method": "GET", "scopes": ["email"]},
    {"path": "/me", "method": "GET"},
]


@pytest.fixture(scope="module")
def xstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    api = {"name": None, "authorizer": {"name": None, "token_source": "X-Token"}, "routes": ROUTES}
    stack = make_stack(tmp_path_factory.mktemp("xtoken"), api=api)
    yield stack
    stack.server.stop()


def _base(stack: AuthStack) -> str:
    return str(stack.outputs["invoke_url"]).removesuffix("/hello")


def _get(url: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def test_the_token_counts_only_in_the_configured_header(xstack: AuthStack) -> None:
    tokens = xstack.server.issue_tokens(xstack.pool_id, xstack.client_id, EMAIL)
    base = _base(xstack)
    for path, token in (("/hello", tokens["access_token"]), ("/me", tokens["id_token"])):
        ok = _get(base + path, {"X-Token": token})
        assert ok.status_code == 200, (path, ok.text)
        for value in (token, "Bearer " + token):
            refused = _get(base + path, {"Authorization": value})
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json() == {"message": "Unauthorized"}
        # A bad token in the right header is not rescued by a good one in Authorization.
        both = _get(base + path, {"X-Token": "not-a-token", "Authorization": token})
        assert both.status_code == 401, (path, both.text)


def _cached(cache: Path) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(next((cache / "cogapi" / "tokens").iterdir()).read_text())
    return entry


def test_call_verify_and_logout_with_a_custom_token_source(
    xstack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    signed_in = browser_code_login(xstack, cache, url_file)
    assert signed_in.returncode == 0, signed_in.stderr
    entry = _cached(cache)

    hello = xstack.run("call", cache=cache)  # the first route, scoped: the access token in X-Token
    assert hello.returncode == 0, hello.stderr
    assert "Hello World" in hello.stdout
    # The same token sent by hand in Authorization is refused.
    token = entry["access_token"]
    by_hand = xstack.run("call", "--no-token", "-H", f"Authorization: {token}", cache=cache)
    assert by_hand.returncode == 1, by_hand.stdout
    assert '"Unauthorized"' in by_hand.stdout

    verified = xstack.run("verify", "-o", "json", cache=cache)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    checks = verified.json()["checks"]
    assert not [c for c in checks if c["status"] == "fail"], checks
    passed = {(c["name"], c["target"]) for c in checks if c["status"] == "pass"}
    assert ("valid token -> 200", "GET /hello") in passed
    assert ("malformed token -> 401", "GET /hello") in passed

    # `token --logout` revokes the refresh token: it no longer gets new tokens.
    refresh = entry["refresh_token"]
    assert refresh
    token_url = f"{entry['hosted_ui']}/oauth2/token"
    grant = {"grant_type": "refresh_token", "client_id": xstack.client_id, "refresh_token": refresh}
    assert requests.post(token_url, data=grant, timeout=10).status_code == 200  # control
    out = xstack.run("token", "--logout", cache=cache)
    assert out.returncode == 0, out.stderr
    after = requests.post(token_url, data=grant, timeout=10)
    assert after.status_code == 400 and after.json() == {"error": "invalid_grant"}, after.text
