"""A real browser calls the local API from another origin: headless Chromium loads a page from
`http://localhost:<port>` while the API is on `http://127.0.0.1:<port2>`, and fetch() sees what a
browser app on AWS would see with the API built from one OpenAPI document: the 200 body with a
token, the 401 status without one (the gateway response carries the CORS headers), and a
rejected fetch from an origin the API does not allow.

Without Chromium this fails (never skips), as tests/auth/test_real_browser.py does.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack import HANDLERS, REGION, Stack, _function
from openapi_doc import body, document

from cogapi.local import urls
from cogapi.stack import code as lambda_code
from tests.chromium import chromium_driver

FETCH = """
const [url, token, done] = arguments;
fetch(url, {headers: token ? {Authorization: token} : {}})
  .then(async (r) => done({status: r.status, body: await r.text()}))
  .catch((e) => done({error: e.name + ": " + e.message}));
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = b"<!doctype html><title>app</title><p>a browser app</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, str]]:
    """Two page origins on loopback: the one the API allows, and another."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        allowed, other = (f"http://localhost:{s.server_address[1]}" for s in servers)
        yield allowed, other
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_driver() as driver:
        yield driver


@pytest.fixture(scope="module")
def invoke_url(stack: Stack, pages: tuple[str, str]) -> str:
    """The API, built as the engine builds it: one PutRestApi with a hand-written document, one
    deployment, one invoke permission for the whole API."""
    allowed, _ = pages
    package = lambda_code.package(HANDLERS / "cors.py", "cors.handler")
    fn = _function(stack.clients, stack.role_arn, "cors-browser", package)
    stack.clients["lambda"].update_function_configuration(
        FunctionName="cors-browser", Environment={"Variables": {"ALLOW_ORIGIN": allowed}}
    )
    apigw = stack.clients["apigateway"]
    api_id = apigw.create_rest_api(name="browser-app")["id"]
    doc = document(
        title="browser-app", region=REGION, pool_arn=stack.pool_arn, function_arn=fn, origin=allowed
    )
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(doc))
    stack.clients["lambda"].add_permission(
        FunctionName="cors-browser",
        StatementId="browser-app",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/*",
    )
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    return urls.invoke_base(stack.endpoint, api_id, "dev")


def fetch_from(driver: Any, page: str, url: str, token: str | None) -> dict[str, Any]:
    if not driver.current_url.startswith(page + "/"):
        driver.get(page + "/")
    result: dict[str, Any] = driver.execute_async_script(FETCH, url, token)
    return result


def test_allowed_origin_reads_the_200_body_with_a_token(
    chromium: Any, pages: tuple[str, str], invoke_url: str, stack: Stack
) -> None:
    assert invoke_url.startswith("http://127.0.0.1:")  # another origin than the page's
    token = stack.tokens()["access_token"]
    result = fetch_from(chromium, pages[0], invoke_url + "/items/42", token)
    assert result.get("status") == 200, result
    assert '"path": "/items/42"' in result["body"]


def test_allowed_origin_reads_the_401_without_a_token(
    chromium: Any, pages: tuple[str, str], invoke_url: str
) -> None:
    result = fetch_from(chromium, pages[0], invoke_url + "/items", None)
    assert result == {"status": 401, "body": '{"message":"Unauthorized"}'}
    unknown = fetch_from(chromium, pages[0], invoke_url + "/nope", None)
    assert unknown.get("status") == 403, unknown


def test_another_origin_is_blocked(
    chromium: Any, pages: tuple[str, str], invoke_url: str, stack: Stack
) -> None:
    token = stack.tokens()["access_token"]
    with_token = fetch_from(chromium, pages[1], invoke_url + "/items/42", token)
    assert with_token.get("error", "").startswith("TypeError"), with_token
    without = fetch_from(chromium, pages[1], invoke_url + "/items", None)
    assert without.get("error", "").startswith("TypeError"), without
