"""A stack CloudFormation adopted: `up` and `down` refuse to change it, reads keep working.

CloudFormation's stack tags (`aws:cloudformation:stack-name`, ...) on a resource the stack owns
mark it as CloudFormation's. moto in-process: the tags are put on by hand, as an IMPORT and the
first stack update leave them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cogapi.local import iam_policies
from cogapi.local.apigw_import import install
from cogapi.stack.adoption import cloudformation_stack, refuse_adopted
from cogapi.stack.discover import Observed
from cogapi.stack.planner import Change, Plan
from tests.helpers import run_cli, write_config

CFN_TAGS = {
    "aws:cloudformation:stack-name": "shop",
    "aws:cloudformation:stack-id": "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1-2-3",
    "aws:cloudformation:logical-id": "Function",
}


def test_stack_name_comes_from_any_of_cloudformations_tags() -> None:
    assert cloudformation_stack(CFN_TAGS) == "shop"
    stack_id = {"aws:cloudformation:stack-id": CFN_TAGS["aws:cloudformation:stack-id"]}
    assert cloudformation_stack(stack_id) == "shop"
    assert cloudformation_stack({"cogapi:stack": "x", "team": "web"}) is None
    assert cloudformation_stack(None) is None


def test_every_mutating_change_is_blocked_and_reads_are_kept() -> None:
    o = Observed(function={"FunctionName": "fn", "Tags": CFN_TAGS})
    plan = Plan([
        Change("user_pool", "pool", "ok", "p1"),
        Change("lambda_permission", "REST API api", "create"),
        Change("app_client", "client", "update", "c1"),
    ])  # fmt: skip
    out = refuse_adopted(plan, o)
    assert [c.action for c in out.changes] == ["ok", "blocked", "blocked"]
    # The function's own permission names the function; the client is refused as part of a stack
    # that now belongs to CloudFormation.
    assert "managed by CloudFormation stack 'shop' (Lambda function fn" in out.changes[1].reason
    assert "belongs to CloudFormation stack 'shop'" in out.changes[2].reason
    assert refuse_adopted(plan, Observed(function={"FunctionName": "fn", "Tags": {}})) is plan


@pytest.fixture
def adopted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A stack made by `up`, then tagged by CloudFormation on its pool and its function."""
    install()  # PutRestApi applied as AWS applies it (moto alone drops the authorizer)
    iam_policies.install()  # AWS managed policies built once per process, not per test
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        cfg = write_config(tmp_path / "cogapi.yaml")
        up = run_cli("up", "-c", str(cfg), "-o", "json")
        assert up.exit_code == 0, up.stderr
        out = up.json()["outputs"]
        s = boto3.Session(region_name="us-east-1")
        cog, lam = s.client("cognito-idp"), s.client("lambda")
        pool = cog.describe_user_pool(UserPoolId=out["user_pool_id"])["UserPool"]
        # moto rebuilds the pool from the update's parameters: send what it had, plus the tags.
        cog.update_user_pool(
            UserPoolId=pool["Id"], UserPoolTags={**pool["UserPoolTags"], **CFN_TAGS},
            AutoVerifiedAttributes=pool["AutoVerifiedAttributes"],
            Policies=pool["Policies"], AdminCreateUserConfig=pool["AdminCreateUserConfig"],
            AccountRecoverySetting=pool["AccountRecoverySetting"],
        )  # fmt: skip
        lam.tag_resource(Resource=out["function_arn"], Tags=CFN_TAGS)
        yield cfg, out


def test_up_and_down_refuse_to_change_an_adopted_stack(
    adopted: tuple[Path, dict[str, Any]],
) -> None:
    cfg, out = adopted
    write_config(cfg, function={"timeout_s": 20}, user_pool={"self_sign_up": False})
    up = run_cli("up", "-c", str(cfg), "--yes")
    assert up.exit_code == 1
    assert up.mutating == []
    assert (
        "managed by CloudFormation stack 'shop'" in up.stderr and "nothing was changed" in up.stderr
    )
    assert "hint: change the stack through its CloudFormation template" in up.stderr
    # one error, once (the plan above lists every blocked row), and a summary that counts them
    errors = [line for line in up.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, up.stderr
    assert "more blocked change(s), listed in the plan" in errors[0]
    assert re.search(r"^Plan: .*\b\d+ blocked\.$", up.stdout, re.M), up.stdout
    down = run_cli("down", "-c", str(cfg), "--yes")
    assert down.exit_code == 1
    assert down.mutating == []
    assert "CloudFormation stack 'shop'" in down.stderr and "nothing was deleted" in down.stderr
    assert len([line for line in down.stderr.splitlines() if line.startswith("error: ")]) == 1
    assert re.search(r"^Plan: \d+ blocked\.$", down.stdout, re.M), down.stdout

    # Reads keep working: status reports (and names the reason), the sign-in lookups find the ids.
    st = run_cli("status", "-c", str(cfg), "-o", "json")
    assert st.exit_code == 3
    drift = {r["kind"]: r for r in st.json()["resources"]}["lambda_function"]["drift"]
    assert any("CloudFormation stack 'shop'" in d for d in drift)
    users = run_cli("user", "ls", "-c", str(cfg), "-o", "json")
    assert users.exit_code == 0, users.stderr
    assert users.json()["user_pool_id"] == out["user_pool_id"]
