"""Resource servers and machine clients through up / status / down, against moto in-process
(with `cogapi local`'s UpdateResourceServer / DeleteResourceServer installed into it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cogapi.local import iam_policies, resource_servers
from tests.helpers import Run, run_cli, write_config

ORDERS = {
    "identifier": "orders",
    "name": "Orders API",
    "scopes": [
        {"name": "read", "description": "Read orders"},
        {"name": "write", "description": "Change orders"},
    ],
}
SECTIONS: dict[str, Any] = {
    "resource_servers": [ORDERS],
    "machine_clients": [
        {"name": "reporting", "scopes": ["orders/read"], "token_validity": {"access": "15m"}},
        {"name": "fulfilment", "scopes": ["orders/read", "orders/write"]},
    ],
    "app_client": {"oauth_scopes": ["openid", "email", "orders/read"]},
    "api": {"routes": [
        {"path": "/orders", "method": "GET", "scopes": ["orders/read"]},
        {"path": "/orders", "method": "POST", "scopes": ["orders/write"]},
    ]},
}  # fmt: skip


@pytest.fixture
def cog() -> Iterator[Any]:
    resource_servers.install()
    iam_policies.install()  # AWS managed policies built once per process, not per test
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield boto3.client("cognito-idp", region_name="us-east-1")


def up(cfg: Path, *extra: str) -> Run:
    return run_cli("up", "-c", str(cfg), "-o", "json", "--yes", *extra)


def rows(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["kind"], r["name"]): r for r in run.json()["resources"]}


def clients(cog: Any, pool_id: str) -> dict[str, dict[str, Any]]:
    listed = cog.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    out = {}
    for c in listed:
        out[c["ClientName"]] = cog.describe_user_pool_client(
            UserPoolId=pool_id, ClientId=c["ClientId"]
        )["UserPoolClient"]
    return out


def test_up_creates_converges_repairs_and_down_removes(cog: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    first = up(cfg)
    assert first.exit_code == 0, first.stderr
    doc = first.json()
    pool_id = doc["outputs"]["user_pool_id"]
    assert doc["outputs"]["token_endpoint"].endswith("/oauth2/token")
    made = clients(cog, pool_id)
    assert sorted(made) == ["fulfilment", "reporting", "test-Client"]
    assert doc["outputs"]["machine_clients"] == {
        "reporting": made["reporting"]["ClientId"],
        "fulfilment": made["fulfilment"]["ClientId"],
    }
    rep = made["reporting"]
    assert rep["AllowedOAuthFlows"] == ["client_credentials"]
    assert rep["AllowedOAuthScopes"] == ["orders/read"]
    assert rep["AllowedOAuthFlowsUserPoolClient"] is True
    assert (rep["AccessTokenValidity"], rep["TokenValidityUnits"]["AccessToken"]) == (15, "minutes")
    assert not rep.get("CallbackURLs")
    assert sorted(made["test-Client"]["AllowedOAuthScopes"]) == ["email", "openid", "orders/read"]
    # The secret exists, and is in no output.
    secrets = [c["ClientSecret"] for c in (made["reporting"], made["fulfilment"])]
    assert all(secrets)
    for s in secrets:
        assert s not in first.stdout and s not in first.stderr
    server = cog.describe_resource_server(UserPoolId=pool_id, Identifier="orders")
    assert [s["ScopeName"] for s in server["ResourceServer"]["Scopes"]] == ["read", "write"]
    # Resource servers are created before the clients that name their scopes.
    kinds = [c for c in first.calls if c in ("CreateResourceServer", "CreateUserPoolClient")]
    assert kinds[0] == "CreateResourceServer"

    again = up(cfg)
    assert again.mutating == [], again.mutating
    assert {(c["kind"], c["action"]) for c in again.json()["plan"]} >= {
        ("resource_server", "ok"), ("app_client", "ok")
    }  # fmt: skip

    # Drift: someone drops a scope and widens a machine client by hand.
    cog.update_resource_server(
        UserPoolId=pool_id, Identifier="orders", Name="Orders API",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "Read orders"}],
    )  # fmt: skip
    status = run_cli("status", "-c", str(cfg), "-o", "json")
    assert status.exit_code == 3
    drifted = rows(status)
    assert drifted[("resource_server", "orders")]["state"] == "drifted"
    fixed = up(cfg)
    assert fixed.exit_code == 0, fixed.stderr
    assert "UpdateResourceServer" in fixed.mutating
    server = cog.describe_resource_server(UserPoolId=pool_id, Identifier="orders")
    assert [s["ScopeName"] for s in server["ResourceServer"]["Scopes"]] == ["read", "write"]
    cog.update_user_pool_client(
        UserPoolId=pool_id, ClientId=rep["ClientId"], AllowedOAuthScopes=["orders/write"]
    )
    drifted = rows(run_cli("status", "-c", str(cfg), "-o", "json"))
    assert drifted[("app_client", "reporting")]["state"] == "drifted"
    assert any("oauth_scopes" in d for d in drifted[("app_client", "reporting")]["drift"])
    assert up(cfg).mutating == ["UpdateUserPoolClient"]
    assert clients(cog, pool_id)["reporting"]["AllowedOAuthScopes"] == ["orders/read"]
    assert run_cli("status", "-c", str(cfg), "-o", "json").exit_code == 0

    down = run_cli("down", "-c", str(cfg), "-o", "json", "--yes")
    assert down.exit_code == 0, down.stderr
    deleted = {(c["kind"], c["name"]) for c in down.json()["deleted"]}
    assert {("resource_server", "orders"), ("app_client", "reporting")} <= deleted
    assert cog.list_user_pools(MaxResults=60)["UserPools"] == []


def test_a_rerun_after_a_crash_finds_clients_by_name_and_drops_what_config_dropped(
    cog: Any, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    assert up(cfg).exit_code == 0
    pool_id = run_cli("status", "-c", str(cfg), "-o", "json").json()["outputs"]["user_pool_id"]
    # A killed run that re-created "reporting" leaves a second client of that name.
    dup = cog.create_user_pool_client(
        UserPoolId=pool_id, ClientName="reporting", GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["orders/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]  # fmt: skip
    run = up(cfg)
    assert run.mutating == ["DeleteUserPoolClient"], run.mutating
    left = cog.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    assert dup["ClientId"] not in [c["ClientId"] for c in left]
    assert sorted(c["ClientName"] for c in left) == ["fulfilment", "reporting", "test-Client"]

    # The config drops fulfilment, the write scope's routes, and adds a second server.
    smaller = {
        **SECTIONS,
        "resource_servers": [{**ORDERS, "identifier": "billing"}],
        "machine_clients": [{"name": "reporting", "scopes": ["billing/read"]}],
        "app_client": {"oauth_scopes": ["openid", "email"]},
        "api": {"routes": [{"path": "/orders", "method": "GET", "scopes": ["billing/read"]}]},
    }
    cfg = write_config(tmp_path / "cogapi.yaml", **smaller)
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    plan = {(c["kind"], c["name"]): c["action"] for c in run.json()["plan"]}
    assert plan[("resource_server", "billing")] == "create"
    assert plan[("resource_server", "orders")] == "delete"
    assert plan[("app_client", "fulfilment")] == "delete"
    assert plan[("app_client", "reporting")] == "update"
    servers = cog.list_resource_servers(UserPoolId=pool_id, MaxResults=50)["ResourceServers"]
    assert [s["Identifier"] for s in servers] == ["billing"]
    names = sorted(c for c in clients(cog, pool_id))
    assert names == ["reporting", "test-Client"]
    # The order that AWS needs: create the server before a client names it; delete it after.
    order = [c for c in run.mutating if "ResourceServer" in c or "UserPoolClient" in c]
    assert order.index("CreateResourceServer") < order.index("UpdateUserPoolClient")
    assert order.index("DeleteUserPoolClient") < order.index("DeleteResourceServer")


class Crash(BaseException):
    """The process dies right after an AWS call returned (like SIGKILL: nothing after runs)."""


def crash_after(monkeypatch: pytest.MonkeyPatch, k: int) -> None:
    """Raise `Crash` right after the k-th successful mutating call of this process."""
    from cogapi.aws.core import READ_PREFIXES, AwsCore

    seen = {"n": 0}
    original = AwsCore._after

    def after(self: Any, model: Any, http_response: Any = None, **kw: Any) -> None:
        original(self, model, http_response=http_response, **kw)
        if not model.name.startswith(READ_PREFIXES):
            seen["n"] += 1
            if seen["n"] == k:
                raise Crash(model.name)

    monkeypatch.setattr(AwsCore, "_after", after)


def test_a_run_killed_around_each_scope_call_converges_without_duplicates(
    cog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    calls = up(cfg).mutating
    assert run_cli("down", "-c", str(cfg), "--yes").exit_code == 0
    # Kill points: right after the first and the last client is made (ids never recorded
    # anywhere but AWS), the resource server already made. SIGKILL at every point of a fresh
    # stack is the e2e suite's job; these are the points new to machine clients.
    made = [i + 1 for i, c in enumerate(calls) if c == "CreateUserPoolClient"]
    assert len(made) == 3 and calls.index("CreateResourceServer") + 1 < made[0]
    points = [made[0], made[-1]]
    for k in points:
        with monkeypatch.context() as m:
            crash_after(m, k)
            with pytest.raises(Crash):
                up(cfg)
        again = up(cfg)
        assert again.exit_code == 0, (k, again.stderr)
        status = run_cli("status", "-c", str(cfg), "-o", "json")
        assert status.exit_code == 0, (k, status.stdout)
        pool_id = status.json()["outputs"]["user_pool_id"]
        listed = cog.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
        names = sorted(c["ClientName"] for c in listed["UserPoolClients"])
        assert names == ["fulfilment", "reporting", "test-Client"], (k, names)
        servers = cog.list_resource_servers(UserPoolId=pool_id, MaxResults=50)
        assert [s["Identifier"] for s in servers["ResourceServers"]] == ["orders"], k
        assert run_cli("down", "-c", str(cfg), "--yes").exit_code == 0


def test_dropping_every_custom_scope_deletes_servers_and_clients(cog: Any, tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    assert up(write_config(path, **SECTIONS)).exit_code == 0
    plain = write_config(path)  # the example config: no resource servers, no machine clients
    run = up(plain)
    assert run.exit_code == 0, run.stderr
    plan = {(c["kind"], c["name"]): c["action"] for c in run.json()["plan"]}
    assert plan[("resource_server", "orders")] == "delete"
    assert plan[("app_client", "reporting")] == plan[("app_client", "fulfilment")] == "delete"
    pool_id = run.json()["outputs"]["user_pool_id"]
    assert cog.list_resource_servers(UserPoolId=pool_id, MaxResults=50)["ResourceServers"] == []
    # Without custom scopes anywhere, discovery does not even ask for resource servers.
    again = up(plain)
    assert again.mutating == [] and "ListResourceServers" not in again.calls
