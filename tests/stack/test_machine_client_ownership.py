"""Which clients in the stack's pool are cogapi's: the pool tag `cogapi:machine-clients` records
the machine clients cogapi made (app clients take no tags). Against moto in-process, through
up / status, with runs killed right after each mutating call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cogapi.local import iam_policies, resource_servers
from tests.helpers import Run, run_cli, write_config
from tests.stack.test_machine_clients_engine import SECTIONS, Crash, up

RECORD = "cogapi:machine-clients"
# The config drops "fulfilment" and adds "billing": one client to delete, one to make.
CHANGED: dict[str, Any] = {
    **SECTIONS,
    "machine_clients": [
        {"name": "reporting", "scopes": ["orders/read"], "token_validity": {"access": "15m"}},
        {"name": "billing", "scopes": ["orders/read", "orders/write"]},
    ],
}


@pytest.fixture
def cog() -> Iterator[Any]:
    resource_servers.install()
    iam_policies.install()  # AWS managed policies built once per process, not per test
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield boto3.client("cognito-idp", region_name="us-east-1")


def status(cfg: Path) -> Run:
    return run_cli("status", "-c", str(cfg), "-o", "json")


def pool_id_of(cfg: Path) -> str:
    return str(status(cfg).json()["outputs"]["user_pool_id"])


def record(cog: Any, pool_id: str) -> str | None:
    tags = cog.describe_user_pool(UserPoolId=pool_id)["UserPool"].get("UserPoolTags") or {}
    return tags.get(RECORD)


def names(cog: Any, pool_id: str) -> list[str]:
    listed = cog.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    return sorted(c["ClientName"] for c in listed)


def hand_made(cog: Any, pool_id: str, name: str) -> str:
    """A client_credentials client a person makes in the stack's pool (the console's shape)."""
    made = cog.create_user_pool_client(
        UserPoolId=pool_id, ClientName=name, GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["orders/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]  # fmt: skip
    return str(made["ClientId"])


def plan_of(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["kind"], c["name"]): c for c in run.json()["plan"]}


def test_a_hand_made_client_survives_up_and_shows_as_not_ours(cog: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    first = up(cfg)
    assert first.exit_code == 0, first.stderr
    pool_id = first.json()["outputs"]["user_pool_id"]
    # Made, then recorded: the record follows the clients.
    assert record(cog, pool_id) == "fulfilment/reporting"
    assert first.mutating.index("UpdateUserPool") > max(
        i for i, c in enumerate(first.mutating) if c == "CreateUserPoolClient"
    )
    mine = hand_made(cog, pool_id, "batch-job")

    dry = run_cli("up", "-c", str(cfg), "-o", "json", "--dry-run")
    row = plan_of(dry)[("app_client", "batch-job")]
    assert (row["action"], row["id"]) == ("skip", mine)
    assert "not made by cogapi" in row["reason"]
    st = status(cfg)
    assert st.exit_code == 0, st.stdout  # left alone is not drift
    shown = {(r["kind"], r["name"]): r for r in st.json()["resources"]}
    assert shown[("app_client", "batch-job")]["state"] == "skip"
    assert any("not made by cogapi" in d for d in shown[("app_client", "batch-job")]["drift"])
    assert shown[("user_pool_tag", RECORD)]["state"] == "ok"
    human = run_cli("status", "-c", str(cfg))
    assert "not made by cogapi" in human.stdout

    again = up(cfg)
    assert again.exit_code == 0 and again.mutating == [], again.mutating
    assert "batch-job" in names(cog, pool_id)
    # Drift on the pool: UpdateUserPool replaces the tags, so the fix must resend the record.
    tags = cog.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolTags"]
    cog.update_user_pool(
        UserPoolId=pool_id,
        UserPoolTags=tags,
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )
    assert up(cfg).mutating == ["UpdateUserPool"]
    assert record(cog, pool_id) == "fulfilment/reporting"
    assert status(cfg).exit_code == 0
    # Dropping a client of cogapi's deletes it and then unrecords it; the person's stays.
    cfg = write_config(tmp_path / "cogapi.yaml", **CHANGED)
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    plan = plan_of(run)
    assert plan[("app_client", "fulfilment")]["action"] == "delete"
    assert plan[("app_client", "batch-job")]["action"] == "skip"
    tag = plan[("user_pool_tag", RECORD)]
    assert tag["action"] == "update"
    assert tag["changes"] == [{
        "field": "machine_clients", "old": ["fulfilment", "reporting"], "new": ["billing", "reporting"],
    }]  # fmt: skip
    order = [
        c
        for c in run.mutating
        if c in ("CreateUserPoolClient", "DeleteUserPoolClient", "UpdateUserPool")
    ]
    assert order[-1] == "UpdateUserPool" and order.count("UpdateUserPool") == 1, order
    assert names(cog, pool_id) == ["batch-job", "billing", "reporting", "test-Client"]
    assert record(cog, pool_id) == "billing/reporting"
    assert up(cfg).mutating == []

    # No machine clients at all: cogapi's go, the record empties, the person's client stays.
    plain = write_config(tmp_path / "cogapi.yaml")
    run = up(plain)
    assert run.exit_code == 0, run.stderr
    assert names(cog, pool_id) == ["batch-job", "test-Client"]
    assert record(cog, pool_id) == ""
    assert up(plain).mutating == []


def test_a_duplicate_of_a_configured_name_goes_only_once_recorded(cog: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    assert up(cfg).exit_code == 0
    pool_id = pool_id_of(cfg)
    tags = cog.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolTags"]
    # A stack from before the record (or a run killed before it): the names are not recorded.
    unrecorded = {k: v for k, v in tags.items() if k != RECORD}
    cog.update_user_pool(UserPoolId=pool_id, UserPoolTags=unrecorded)
    dup = hand_made(cog, pool_id, "reporting")
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    row = plan_of(run)[("app_client", f"reporting (duplicate {dup})")]
    assert row["action"] == "skip" and "not made by cogapi" in row["reason"]
    # (The hand-made UpdateUserPool reset the pool's settings too: the run also repairs those.)
    assert "DeleteUserPoolClient" not in run.mutating, run.mutating
    assert record(cog, pool_id) == "fulfilment/reporting"
    # Now the name is cogapi's: the extra client of that name goes, the oldest stays.
    run = up(cfg)
    assert run.mutating == ["DeleteUserPoolClient"], run.mutating
    assert names(cog, pool_id) == ["fulfilment", "reporting", "test-Client"]


def crash_after_call(monkeypatch: pytest.MonkeyPatch, operation: str, nth: int = 1) -> None:
    """Raise `Crash` right after the nth successful `operation` call: calls run concurrently, so
    a count of all calls would not name the same point in every run."""
    from cogapi.aws.core import AwsCore

    seen = {"n": 0}
    original = AwsCore._after

    def after(self: Any, model: Any, http_response: Any = None, **kw: Any) -> None:
        original(self, model, http_response=http_response, **kw)
        if model.name == operation:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Crash(model.name)

    monkeypatch.setattr(AwsCore, "_after", after)


def test_a_run_killed_after_each_call_never_forgets_nor_claims_a_client(
    cog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", **SECTIONS)
    # A fresh stack killed right after its last client is made (the app client and two machine
    # clients): made, not yet recorded. The re-run finds them by name and records them.
    with monkeypatch.context() as m:
        crash_after_call(m, "CreateUserPoolClient", 3)
        with pytest.raises(Crash):
            up(cfg)
    pool_id = pool_id_of(cfg)
    assert names(cog, pool_id) == ["fulfilment", "reporting", "test-Client"]
    assert record(cog, pool_id) is None
    assert up(cfg).exit_code == 0
    assert names(cog, pool_id) == ["fulfilment", "reporting", "test-Client"]
    assert record(cog, pool_id) == "fulfilment/reporting"
    assert status(cfg).exit_code == 0

    # A change of config (one client made, one deleted, a person's client in the pool) killed
    # right after each of its calls.
    mine = hand_made(cog, pool_id, "batch-job")
    for op in ("CreateUserPoolClient", "DeleteUserPoolClient", "UpdateUserPool"):
        write_config(cfg, **CHANGED)
        with monkeypatch.context() as m:
            crash_after_call(m, op)
            with pytest.raises(Crash):
                up(cfg)
        if op == "DeleteUserPoolClient":
            # Deleted, not yet unrecorded: the record still names it.
            assert "fulfilment" not in names(cog, pool_id)
            assert record(cog, pool_id) == "fulfilment/reporting"
        if op == "CreateUserPoolClient":
            assert "billing" in names(cog, pool_id)
            assert record(cog, pool_id) == "fulfilment/reporting"  # made, not yet recorded
        again = up(cfg)
        assert again.exit_code == 0, (op, again.stderr)
        listed = cog.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        assert names(cog, pool_id) == ["batch-job", "billing", "reporting", "test-Client"], op
        assert mine in [c["ClientId"] for c in listed], op
        assert record(cog, pool_id) == "billing/reporting", op
        st = status(cfg)
        assert st.exit_code == 0, (op, st.stdout)
        # Back to the first config for the next kill point: billing goes, fulfilment returns.
        write_config(cfg, **SECTIONS)
        assert up(cfg).exit_code == 0
        assert names(cog, pool_id) == ["batch-job", "fulfilment", "reporting", "test-Client"]
        assert record(cog, pool_id) == "fulfilment/reporting"
