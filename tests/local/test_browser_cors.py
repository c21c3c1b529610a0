"""A real browser calls the local API from another origin: headless Chromium loads a page from
`http://localhost:<port>` while the API is on `http://127.0.0.1:<port2>`, and fetch() sees what a
browser app on AWS would see with the API `cogapi up` builds (one OpenAPI document, `api.cors`,
the built-in handler): the 200 body with a token, the 401 status without one (the gateway
response carries the CORS headers), and a rejected fetch from an origin the API does not allow.

Without Chromium this fails (never skips), as tests/auth/test_real_browser.py does.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from local_stack import EMAIL, Stack

from tests.chromium import chromium_driver, page_origin
from tests.helpers import cogapi_command, write_config

FETCH = """
const [url, token, done] = arguments;
fetch(url, {headers: token ? {Authorization: token} : {}})
  .then(async (r) => done({status: r.status, body: await r.text()}))
  .catch((e) => done({error: e.name + ": " + e.message}));
"""


PAGE = {"/": (b"<!doctype html><title>app</title><p>a browser app</p>", "text/html")}


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, str]]:
    """Two page origins on loopback: the one the API allows, and another."""
    with page_origin(PAGE) as allowed, page_origin(PAGE) as other:
        yield allowed, other


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_driver() as driver:
        yield driver


@dataclass
class Deployed:
    """What `cogapi up` made on the local server: the invoke URL and a token for its pool."""

    invoke_url: str
    token: str


@pytest.fixture(scope="module")
def deployed(
    stack: Stack, pages: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Deployed:
    """The API as users get it: the installed `cogapi up` on the local server, with `api.cors`
    allowing the first page's origin and cogapi's built-in handler (one PutRestApi with the
    document cogapi renders, one deployment, one invoke permission for the whole API)."""
    allowed, _ = pages
    tmp = tmp_path_factory.mktemp("browser-cors")
    routes = [{"path": p, "method": "GET", "scopes": ["email"]} for p in ("/items", "/items/{id}")]
    cfg = write_config(tmp / "cogapi.yaml", name="browser", api={
        "routes": routes, "cors": {"allow_origins": [allowed]}})  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": stack.endpoint, "AWS_CONFIG_FILE": str(tmp / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"), "XDG_CACHE_HOME": str(tmp / "cache"),
    })  # fmt: skip
    up = subprocess.run(
        [*cogapi_command(), "up", "--yes", "-c", str(cfg), "-o", "json"], env=env,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    outputs = json.loads(up.stdout)["outputs"]
    pool_id, client_id = outputs["user_pool_id"], outputs["app_client_id"]
    stack.clients["cognito-idp"].admin_create_user(
        UserPoolId=pool_id, Username=EMAIL, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": EMAIL}, {"Name": "email_verified", "Value": "true"}],
    )  # fmt: skip
    tokens = stack.server.issue_tokens(pool_id, client_id, EMAIL, ("openid", "email"))
    base = outputs["invoke_url"].removesuffix(routes[0]["path"])
    return Deployed(base, tokens["access_token"])


def fetch_from(driver: Any, page: str, url: str, token: str | None) -> dict[str, Any]:
    if not driver.current_url.startswith(page + "/"):
        driver.get(page + "/")
    result: dict[str, Any] = driver.execute_async_script(FETCH, url, token)
    return result


def test_allowed_origin_reads_the_200_body_with_a_token(
    chromium: Any, pages: tuple[str, str], deployed: Deployed
) -> None:
    assert deployed.invoke_url.startswith("http://127.0.0.1:")  # another origin than the page's
    result = fetch_from(chromium, pages[0], deployed.invoke_url + "/items/42", deployed.token)
    assert result.get("status") == 200, result
    body = json.loads(result["body"])  # the built-in handler's answer, read by the page
    assert body["path"] == "/items/42" and body["method"] == "GET"
    assert body["caller"]  # from the access token's claims (its username: no email claim there)


def test_allowed_origin_reads_the_401_without_a_token(
    chromium: Any, pages: tuple[str, str], deployed: Deployed
) -> None:
    result = fetch_from(chromium, pages[0], deployed.invoke_url + "/items", None)
    assert result == {"status": 401, "body": '{"message":"Unauthorized"}'}
    unknown = fetch_from(chromium, pages[0], deployed.invoke_url + "/nope", None)
    assert unknown.get("status") == 403, unknown


def test_another_origin_is_blocked(
    chromium: Any, pages: tuple[str, str], deployed: Deployed
) -> None:
    token = deployed.token
    with_token = fetch_from(chromium, pages[1], deployed.invoke_url + "/items/42", token)
    assert with_token.get("error", "").startswith("TypeError"), with_token
    without = fetch_from(chromium, pages[1], deployed.invoke_url + "/items", None)
    assert without.get("error", "").startswith("TypeError"), without
