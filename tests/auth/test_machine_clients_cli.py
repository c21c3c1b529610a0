"""Machine callers and custom scopes end to end: the installed `cogapi` against `cogapi local`.

One stack for the module, with a resource server (`orders`: read, write), two machine clients
(reporting: read; fulfilment: read, write), the app client allowed `orders/read`, and a route
per scope.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
import requests

from cogapi.local import urls
from tests.auth.conftest import AuthStack, make_stack
from tests.auth.flows import browser_code_login

ORDERS = {
    "identifier": "orders",
    "name": "Orders API",
    "scopes": [
        {"name": "read", "description": "Read orders"},
        {"name": "write", "description": "Change orders"},
    ],
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    s = make_stack(
        tmp_path_factory.mktemp("machine"),
        resource_servers=[ORDERS],
        machine_clients=[
            {"name": "reporting", "scopes": ["orders/read"], "token_validity": {"access": "15m"}},
            {"name": "fulfilment", "scopes": ["orders/read", "orders/write"]},
        ],
        app_client={"oauth_scopes": ["openid", "email", "orders/read"]},
        api={"routes": [
            {"path": "/orders", "method": "GET", "scopes": ["orders/read"]},
            {"path": "/orders", "method": "POST", "scopes": ["orders/write"]},
            {"path": "/me", "method": "GET"},
        ]},
    )  # fmt: skip
    yield s
    s.server.stop()


def cognito(stack: AuthStack) -> Any:
    return boto3.client(
        "cognito-idp", region_name="us-east-1", endpoint_url=stack.endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def secret_of(stack: AuthStack, name: str) -> str:
    cid = stack.outputs["machine_clients"][name]
    desc = cognito(stack).describe_user_pool_client(UserPoolId=stack.pool_id, ClientId=cid)
    return str(desc["UserPoolClient"]["ClientSecret"])


def test_outputs_name_the_token_endpoint_and_machine_client_ids(stack: AuthStack) -> None:
    out = stack.outputs
    assert sorted(out["machine_clients"]) == ["fulfilment", "reporting"]
    domain = stack.config.read_text().split("prefix: ", 1)[1].split()[0]
    assert out["token_endpoint"] == urls.hosted_ui_base(stack.endpoint, domain) + "/oauth2/token"


def test_a_machine_token_reaches_its_route_and_not_the_other(stack: AuthStack, cache: Path) -> None:
    got = stack.run("token", "--client", "reporting", cache=cache)
    assert got.returncode == 0, got.stderr
    token = got.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    cid = stack.outputs["machine_clients"]["reporting"]
    assert claims["sub"] == claims["client_id"] == cid
    assert claims["scope"] == "orders/read" and "username" not in claims
    assert claims["exp"] - claims["iat"] == 15 * 60
    # The secret is read from AWS when needed, and never shown or kept.
    secret = secret_of(stack, "reporting")
    files = list((cache / "cogapi" / "tokens").glob(f"*-{cid}.json"))  # keyed by pool + client id
    assert len(files) == 1 and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert secret not in files[0].read_text() and secret not in got.stdout + got.stderr
    cached = files[0].read_text()

    ok = stack.run("call", "/orders", "--client", "reporting", cache=cache)
    assert ok.returncode == 0, ok.stderr
    assert "Hello World" in ok.stdout
    # Reused from the cache until it expires (there is no refresh token to use instead).
    assert files[0].read_text() == cached and token in cached
    refused = stack.run("call", "/orders", "-X", "POST", "--client", "reporting", cache=cache)
    assert refused.returncode == 1
    assert "401" in refused.stderr and "include none of ['orders/write']" in refused.stderr
    flow = stack.run("token", "--flow", "client_credentials", "--client", "fulfilment",
                     "-o", "json", cache=cache)  # fmt: skip
    assert flow.returncode == 0, flow.stderr
    assert flow.json()["claims"]["access"]["scope"] == "orders/read orders/write"
    assert flow.json()["refresh_token"] is None and flow.json()["id_token"] is None
    writer = stack.run("call", "/orders", "-X", "POST", "--client", "fulfilment", cache=cache)
    assert writer.returncode == 0, writer.stderr
    unscoped = stack.run("call", "/me", "--client", "fulfilment", cache=cache)
    assert unscoped.returncode == 1 and "machine clients never get" in unscoped.stderr


def test_refusals_are_cognitos(stack: AuthStack, cache: Path) -> None:
    wrong = stack.run("token", "--client", "reporting", "--force", cache=cache,
                      COGAPI_CLIENT_SECRET="not-the-secret")  # fmt: skip
    assert wrong.returncode == 1
    assert "HTTP 401 invalid_client" in wrong.stderr and "COGAPI_CLIENT_SECRET" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unknown = stack.run("token", "--client", "nobody", cache=cache)
    assert unknown.returncode == 2 and "no such machine client" in unknown.stderr
    endpoint = stack.outputs["token_endpoint"]
    cid = stack.outputs["machine_clients"]["reporting"]
    basic = (cid, secret_of(stack, "reporting"))
    for scope in ("orders/admin", "orders/write"):  # unknown; known but not this client's
        r = requests.post(endpoint, data={"grant_type": "client_credentials", "scope": scope},
                          auth=basic, timeout=10)  # fmt: skip
        assert (r.status_code, r.json()) == (400, {"error": "invalid_scope"}), scope
    public = requests.post(
        endpoint, data={"grant_type": "client_credentials", "client_id": stack.client_id},
        timeout=10,
    )  # fmt: skip
    assert (public.status_code, public.json()) == (400, {"error": "unauthorized_client"})


def test_a_custom_scope_from_the_hosted_ui_and_verify(
    stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    signed = browser_code_login(stack, cache, url_file, "-o", "json")
    assert signed.returncode == 0, signed.stderr
    scopes = signed.json()["claims"]["access"]["scope"].split()
    assert sorted(scopes) == ["email", "openid", "orders/read"]
    person = stack.run("call", "/orders", cache=cache)
    assert person.returncode == 0, person.stderr
    verify = stack.run("verify", "-o", "json", cache=cache)
    checks = {c["name"]: c for c in verify.json()["checks"]}
    assert verify.returncode == 0, verify.stdout
    assert checks["reporting token on its scope -> 200"]["status"] == "pass"
    assert checks["reporting token without the scope -> 401"]["status"] == "pass"
    assert checks["reporting token without the scope -> 401"]["target"] == "POST /orders"
    assert checks["fulfilment token without the scope -> 401"]["status"] == "skip"
    lacking = checks["person's token without the custom scope -> 401"]
    assert (lacking["status"], lacking["target"]) == ("pass", "POST /orders")


def test_drift_is_shown_repaired_and_down_removes_it_all(stack: AuthStack, cache: Path) -> None:
    # Last in the module: it ends with `down`.
    idp = cognito(stack)
    idp.update_resource_server(
        UserPoolId=stack.pool_id, Identifier="orders", Name="Orders API",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "Read orders"}],
    )  # fmt: skip
    cid = stack.outputs["machine_clients"]["fulfilment"]
    idp.delete_user_pool_client(UserPoolId=stack.pool_id, ClientId=cid)
    status = stack.run("status", "-o", "json", cache=cache)
    assert status.returncode == 3
    state = {(r["kind"], r["name"]): r["state"] for r in status.json()["resources"]}
    assert state[("resource_server", "orders")] == "drifted"
    assert state[("app_client", "fulfilment")] == "missing"
    fixed = stack.run("up", "--yes", "-o", "json", cache=cache)
    assert fixed.returncode == 0, fixed.stderr
    assert stack.run("status", cache=cache).returncode == 0
    new_id = fixed.json()["outputs"]["machine_clients"]["fulfilment"]
    assert new_id != cid
    down = stack.run("down", "--yes", "-o", "json", cache=cache)
    assert down.returncode == 0, down.stderr
    deleted = {(c["kind"], c["name"]) for c in down.json()["deleted"]}
    assert {
        ("resource_server", "orders"), ("app_client", "reporting"), ("app_client", "fulfilment")
    } <= deleted  # fmt: skip
    # moto's state is per process, shared with other servers of this worker: look for ours.
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    assert stack.pool_id not in [p["Id"] for p in pools]
