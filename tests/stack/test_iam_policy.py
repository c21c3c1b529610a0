"""`cogapi iam-policy`: the least policy for this config, narrowed to what the config names.

That the policy covers every call cogapi makes is checked on every end-to-end run: the runners
in tests/e2e/conftest.py and tests/auth/conftest.py log each AWS call of the spawned cogapi
(COGAPI_TEST_CALL_LOG) and fail on one its command's policy lacks (`check_calls_against_policy`).
parliament (its own copy of the IAM reference, offline) audits the printed policy: no unknown
action, every resource of a type its action takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogapi.config import parse_config
from cogapi.stack.iam_policy import COMMANDS, command_actions, iam_action, iam_policy
from tests.helpers import (
    EXAMPLE,
    calls_outside_policy,
    check_calls_against_policy,
    merge,
    run_cli,
    write_config,
)

ACCOUNT = "123456789012"


def cfg_of(**over: Any) -> Any:
    return parse_config(yaml.safe_dump(merge(EXAMPLE, over)), "cogapi.yaml", Path("/"))


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_resources_are_narrowed_to_what_the_config_names() -> None:
    st = statements(iam_policy(cfg_of(), "all", ACCOUNT))
    assert (
        st["LambdaFunction"]["Resource"]
        == "arn:aws:lambda:us-east-1:123456789012:function:test-API-function"
    )
    assert st["IamRoles"]["Resource"] == "arn:aws:iam::123456789012:role/test-API-function-role"
    assert (
        st["CognitoUserPools"]["Resource"]
        == "arn:aws:cognito-idp:us-east-1:123456789012:userpool/*"
    )
    assert st["ApiGatewayRestApis"]["Resource"] == [
        "arn:aws:apigateway:us-east-1::/restapis", "arn:aws:apigateway:us-east-1::/restapis/*",
        "arn:aws:apigateway:us-east-1::/tags/*",
    ]  # fmt: skip
    assert st["PassRoleToLambda"] == {
        "Sid": "PassRoleToLambda", "Effect": "Allow", "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::123456789012:role/test-API-function-role",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    }  # fmt: skip
    assert st["CognitoCreateOwnedPool"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/cogapi:stack": "test"}
    }
    # iam:PassRole appears nowhere else, and nothing is allowed on every resource but the two
    # Cognito reads that take none and CreateUserPool (which needs the stack's tag).
    assert [s["Sid"] for s in st.values() if "iam:PassRole" in s["Action"]] == ["PassRoleToLambda"]
    assert {a for s in st.values() if s["Resource"] == "*" for a in s["Action"]} == {
        "cognito-idp:ListUserPools", "cognito-idp:DescribeUserPoolDomain", "cognito-idp:CreateUserPool",
    }  # fmt: skip


def test_each_command_gets_only_its_own_actions() -> None:
    def actions(command: str) -> set[str]:
        return {a for s in iam_policy(cfg_of(), command)["Statement"] for a in s["Action"]}

    assert actions("status") == command_actions("status")
    assert not any(
        a.startswith(("iam:Create", "lambda:Create", "cognito-idp:Delete"))
        for a in actions("status")
    )
    assert actions("token") == {
        "cognito-idp:ListUserPools", "cognito-idp:DescribeUserPool",
        "cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient", "apigateway:GET",
        "cognito-idp:ListUsers",  # only to hint `cogapi user add` after a failed sign-in
    }  # fmt: skip
    assert actions("call") == actions("verify") == actions("token")
    assert "cognito-idp:AdminCreateUser" in actions("user") and "lambda:GetFunction" not in actions(
        "user"
    )
    assert actions("all") == set().union(*(actions(c) for c in COMMANDS))


def test_the_sms_role_is_passed_to_cognito_only() -> None:
    cfg = cfg_of(user_pool={"mfa": "optional", "mfa_methods": ["sms"]})
    st = statements(iam_policy(cfg, "up", ACCOUNT))
    assert (
        st["PassSmsRoleToCognito"]["Resource"]
        == "arn:aws:iam::123456789012:role/test-cognito-sms-role"
    )
    assert st["PassSmsRoleToCognito"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cognito-idp.amazonaws.com"}
    }
    assert st["IamRoles"]["Resource"][1] == "arn:aws:iam::123456789012:role/test-cognito-sms-role"
    assert "PassSmsRoleToCognito" not in statements(iam_policy(cfg_of(), "up", ACCOUNT))


@pytest.mark.parametrize("command", [*COMMANDS, "all"])
def test_parliament_finds_nothing_wrong(command: str) -> None:
    import parliament

    for cfg in (cfg_of(), cfg_of(user_pool={"mfa": "required", "mfa_methods": ["sms", "totp"]})):
        policy = parliament.analyze_policy_string(json.dumps(iam_policy(cfg, command, ACCOUNT)))
        assert [(f.issue, f.detail) for f in policy.findings] == []


def test_parliament_would_catch_a_wrong_action_or_resource() -> None:
    import parliament

    doc = iam_policy(cfg_of(), "up", ACCOUNT)
    st = statements(doc)
    st["LambdaFunction"]["Action"].append("lambda:GetFunctionz")
    st["IamRoles"]["Action"].append("lambda:GetFunction")
    found = {f.issue for f in parliament.analyze_policy_string(json.dumps(doc)).findings}
    assert {"UNKNOWN_ACTION", "RESOURCE_MISMATCH"} <= found


def test_operations_map_to_their_iam_actions() -> None:
    assert iam_action("cognito-idp", "AdminCreateUser", "POST") == "cognito-idp:AdminCreateUser"
    assert iam_action("apigateway", "PutRestApi", "PUT") == "apigateway:PUT"
    assert iam_action("apigateway", "GetRestApis", "GET") == "apigateway:GET"
    assert iam_action("lambda", "Invoke", "POST") == "lambda:InvokeFunction"


def test_the_call_check_fails_on_a_call_the_policy_lacks(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    log.write_text(
        "cognito-idp\tListUserPools\tPOST\tsigned\n"
        "cognito-idp\tInitiateAuth\tPOST\tunsigned\n"  # unsigned: needs no permission
        "sts\tGetCallerIdentity\tPOST\tsigned\n"  # needs no permission
        "apigateway\tGetRestApis\tGET\tsigned\n"
    )
    assert calls_outside_policy(["token", "-c", "x"], log) == []
    log.write_text(log.read_text() + "lambda\tDeleteFunction\tDELETE\tsigned\n")
    assert calls_outside_policy(["status"], log) == ["lambda:DeleteFunction (DeleteFunction)"]
    assert calls_outside_policy(["down", "--yes"], log) == []
    with pytest.raises(AssertionError, match="lambda:DeleteFunction"):
        check_calls_against_policy(["verify"], log)


def test_iam_policy_command_prints_one_json_document(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml")
    run = run_cli("iam-policy", "-c", str(cfg), "--command", "status")
    assert run.exit_code == 0, run.stderr
    assert run.calls == []
    assert json.loads(run.stdout) == iam_policy(cfg_of(), "status", "*")
    assert "--account-id" in run.stderr
    pinned = run_cli("iam-policy", "-c", str(cfg), "--account-id", ACCOUNT, "-o", "json").json()
    assert pinned == iam_policy(cfg_of(), "all", ACCOUNT)
    bad = run_cli("iam-policy", "-c", str(cfg), "--account-id", "12")
    assert bad.exit_code == 2 and "12-digit" in bad.stderr
