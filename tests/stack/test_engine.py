"""up / status / down against moto in-process: what is created, what is changed, what is left alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cogapi.local import iam_policies
from cogapi.local.apigw_import import install
from tests.helpers import Run, run_cli, write_config

REGION = "us-east-1"
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    install()  # PutRestApi applied as AWS applies it (moto alone drops the authorizer)
    iam_policies.install()  # AWS managed policies built once per process, not per test
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        s = boto3.Session(region_name=REGION)
        yield {n: s.client(n) for n in ("cognito-idp", "apigateway", "lambda", "iam")}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path / "cogapi.yaml")


def up(cfg: Path, *extra: str) -> Run:
    return run_cli("up", "-c", str(cfg), "-o", "json", *extra)


def status(cfg: Path) -> Run:
    return run_cli("status", "-c", str(cfg), "-o", "json")


def states(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["kind"], r["name"]): r for r in run.json()["resources"]}


def our_pools(aws: dict[str, Any], name: str = "test-userPool") -> list[dict[str, Any]]:
    pools = aws["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
    return [p for p in pools if p["Name"] == name]


def the_api(aws: dict[str, Any]) -> dict[str, Any]:
    apis = [a for a in aws["apigateway"].get_rest_apis()["items"] if a["name"] == "test-API"]
    assert len(apis) == 1
    return apis[0]


def method(aws: dict[str, Any], api_id: str, path: str, verb: str = "GET") -> dict[str, Any]:
    res = {r["path"]: r for r in aws["apigateway"].get_resources(restApiId=api_id)["items"]}
    return aws["apigateway"].get_method(
        restApiId=api_id, resourceId=res[path]["id"], httpMethod=verb
    )


def test_fresh_up_creates_exactly_the_configured_stack(aws: dict[str, Any], cfg: Path) -> None:
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert {c["action"] for c in doc["plan"]} == {"create"}
    out = doc["outputs"]
    cog, apigw, lam, iam = aws["cognito-idp"], aws["apigateway"], aws["lambda"], aws["iam"]

    pools = our_pools(aws)
    assert len(pools) == 1 and pools[0]["Id"] == out["user_pool_id"]
    pool = cog.describe_user_pool(UserPoolId=out["user_pool_id"])["UserPool"]
    assert pool["UserPoolTags"]["cogapi:stack"] == "test" and pool["UserPoolTags"]["team"] == "web"
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert [m["Name"] for m in pool["AccountRecoverySetting"]["RecoveryMechanisms"]] == [
        "verified_email"
    ]
    assert pool["Domain"] == "test-api-7f3k"
    assert (
        cog.describe_user_pool_domain(Domain="test-api-7f3k")["DomainDescription"]["UserPoolId"]
        == pool["Id"]
    )

    clients = cog.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
    assert [c["ClientName"] for c in clients] == ["test-Client"]
    client = cog.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=out["app_client_id"])[
        "UserPoolClient"
    ]
    assert client["CallbackURLs"] == ["http://localhost:8765/callback"]
    assert client["LogoutURLs"] == ["http://localhost:8765/signed-out"]
    assert sorted(client["AllowedOAuthFlows"]) == ["code", "implicit"]
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "ClientSecret" not in client
    assert (client["AccessTokenValidity"], client["TokenValidityUnits"]["AccessToken"]) == (
        60,
        "minutes",
    )
    assert (client["RefreshTokenValidity"], client["TokenValidityUnits"]["RefreshToken"]) == (
        43200,
        "minutes",
    )

    role = iam.get_role(RoleName="test-API-function-role")["Role"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["cogapi:stack"] == "test"
    assert (
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        == "lambda.amazonaws.com"
    )
    attached = iam.list_attached_role_policies(RoleName="test-API-function-role")[
        "AttachedPolicies"
    ]
    assert [p["PolicyArn"] for p in attached] == [BASIC]

    fn = lam.get_function(FunctionName="test-API-function")
    conf = fn["Configuration"]
    assert (conf["Runtime"], conf["MemorySize"], conf["Timeout"], conf["Handler"]) == (
        "python3.13",
        128,
        10,
        "app.handler",
    )
    assert conf["Role"] == role["Arn"] == out["role_arn"]
    assert fn["Tags"]["cogapi:stack"] == "test"
    policy = json.loads(lam.get_policy(FunctionName="test-API-function")["Policy"])["Statement"]
    assert len(policy) == 1
    assert policy[0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    arn = policy[0]["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert arn == f"arn:aws:execute-api:{REGION}:123456789012:{out['api_id']}/*"

    api = the_api(aws)
    assert api["id"] == out["api_id"] and api["tags"]["cogapi:stack"] == "test"
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    authorizers = apigw.get_authorizers(restApiId=api["id"])["items"]
    assert len(authorizers) == 1
    auth = authorizers[0]
    assert auth["type"] == "COGNITO_USER_POOLS" and auth["name"] == "test-Authorizer"
    assert auth["providerARNs"] == [pool["Arn"]]
    assert auth["identitySource"] == "method.request.header.Authorization"
    m = method(aws, api["id"], "/test-API-resource")
    assert m["authorizationType"] == "COGNITO_USER_POOLS" and m["authorizerId"] == auth["id"]
    assert m["authorizationScopes"] == ["email"]
    assert m["methodIntegration"]["type"] == "AWS_PROXY"
    assert m["methodIntegration"]["uri"].endswith(f"{conf['FunctionArn']}/invocations")
    assert out["authorizer_id"] == auth["id"]
    stage = apigw.get_stage(restApiId=api["id"], stageName="test")
    assert stage["tags"]["cogapi:stack"] == "test"
    assert stage["description"].startswith("cogapi:")

    assert (
        out["invoke_url"]
        == f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/test/test-API-resource"
    )
    assert out["hosted_ui_url"].startswith(
        "https://test-api-7f3k.auth.us-east-1.amazoncognito.com/login?client_id="
    )
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback" in out["hosted_ui_url"]


def test_second_up_makes_no_mutating_call(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    again = up(cfg)
    assert again.exit_code == 0
    assert again.mutating == []
    assert {c["action"] for c in again.json()["plan"]} == {"ok"}
    assert len(again.calls) <= 13, again.calls
    assert status(cfg).exit_code == 0


def many_routes(n: int) -> list[dict[str, Any]]:
    return [{"path": f"/r{i}/{{id}}", "method": "GET", "scopes": ["email"]} for i in range(n)]


@pytest.mark.parametrize("n", [1, 40])
def test_discovery_does_not_grow_with_routes(aws: dict[str, Any], cfg: Path, n: int) -> None:
    write_config(
        cfg, api={"routes": many_routes(n), "cors": {"allow_origins": ["https://a.example"]}}
    )
    fresh = up(cfg)
    assert fresh.exit_code == 0, fresh.stderr
    assert fresh.mutating.count("PutRestApi") == 1 and "CreateResource" not in fresh.mutating
    again = up(cfg)
    assert again.mutating == [], [c for c in again.json()["plan"] if c["action"] != "ok"]
    assert len(again.calls) <= 13, again.calls
    st = status(cfg)
    assert st.exit_code == 0 and len(st.calls) <= 13, st.calls
    edited = many_routes(n)
    edited[0]["scopes"] = ["email", "openid"]
    write_config(cfg, api={"routes": edited, "cors": {"allow_origins": ["https://a.example"]}})
    edit = up(cfg)
    assert edit.exit_code == 0, edit.stderr
    assert edit.mutating == ["PutRestApi", "CreateDeployment", "UpdateStage"]
    assert len(edit.calls) <= 16, edit.calls
    assert status(cfg).exit_code == 0


def test_memory_change_touches_only_lambda(aws: dict[str, Any], tmp_path: Path, cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    write_config(cfg, function={"memory_mb": 256})
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    assert run.mutating == ["UpdateFunctionConfiguration"]
    changed = [c for c in run.json()["plan"] if c["action"] != "ok"]
    assert [(c["kind"], c["changes"]) for c in changed] == [
        ("lambda_function", [{"field": "memory_mb", "old": 128, "new": 256}])
    ]
    assert (
        aws["lambda"].get_function_configuration(FunctionName="test-API-function")["MemorySize"]
        == 256
    )


def test_scope_change_updates_the_method_and_redeploys(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    api_id = the_api(aws)["id"]
    before = aws["apigateway"].get_stage(restApiId=api_id, stageName="test")["deploymentId"]
    write_config(
        cfg, api={"routes": [{"path": "/test-API-resource", "method": "GET", "scopes": ["openid"]}]}
    )
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    assert run.mutating == ["PutRestApi", "CreateDeployment", "UpdateStage"]
    changed = [c for c in run.json()["plan"] if c["kind"] == "api_method"]
    assert changed == [{
        "kind": "api_method", "name": "GET /test-API-resource", "id": changed[0]["id"],
        "action": "update", "changes": [{"field": "scopes", "old": ["email"], "new": ["openid"]}],
        "reason": "",
    }]  # fmt: skip
    assert method(aws, api_id, "/test-API-resource")["authorizationScopes"] == ["openid"]
    after = aws["apigateway"].get_stage(restApiId=api_id, stageName="test")["deploymentId"]
    assert after != before
    # The authorizer id is read back after the document, not lost with an update.
    authorizers = aws["apigateway"].get_authorizers(restApiId=api_id)["items"]
    assert run.json()["outputs"]["authorizer_id"] == authorizers[0]["id"]
    assert status(cfg).exit_code == 0


def test_code_change_updates_only_the_code(aws: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'v1'}\n"
    )
    cfg = write_config(tmp_path / "cogapi.yaml", function={"source": "src"})
    assert up(cfg).exit_code == 0
    assert up(cfg).mutating == []  # same source, same zip: no update
    (src / "app.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'v2'}\n"
    )
    run = up(cfg)
    assert run.mutating == ["UpdateFunctionCode"]


def test_drift_shows_in_status_and_up_repairs_it(aws: dict[str, Any], cfg: Path) -> None:
    first = up(cfg).json()["outputs"]
    aws["lambda"].update_function_configuration(FunctionName="test-API-function", Timeout=30)
    aws["cognito-idp"].update_user_pool_client(
        UserPoolId=first["user_pool_id"], ClientId=first["app_client_id"], ClientName="test-Client",
        CallbackURLs=["https://evil.example.com/cb"], AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"], AllowedOAuthFlowsUserPoolClient=True,
    )  # fmt: skip
    api_id = first["api_id"]
    res = {r["path"]: r["id"] for r in aws["apigateway"].get_resources(restApiId=api_id)["items"]}
    aws["apigateway"].delete_method(
        restApiId=api_id, resourceId=res["/test-API-resource"], httpMethod="GET"
    )

    st = status(cfg)
    assert st.exit_code == 3
    rows = states(st)
    assert rows[("lambda_function", "test-API-function")]["state"] == "drifted"
    assert any("timeout_s" in d for d in rows[("lambda_function", "test-API-function")]["drift"])
    assert rows[("app_client", "test-Client")]["state"] == "drifted"
    assert any("callback_urls" in d for d in rows[("app_client", "test-Client")]["drift"])
    assert rows[("api_method", "GET /test-API-resource")]["state"] == "missing"
    assert rows[("user_pool", "test-userPool")]["state"] == "ok"

    fix = up(cfg)
    assert fix.exit_code == 0, fix.stderr
    assert status(cfg).exit_code == 0
    assert (
        aws["lambda"].get_function_configuration(FunctionName="test-API-function")["Timeout"] == 10
    )
    client = aws["cognito-idp"].describe_user_pool_client(
        UserPoolId=first["user_pool_id"], ClientId=first["app_client_id"]
    )
    assert client["UserPoolClient"]["CallbackURLs"] == ["http://localhost:8765/callback"]
    assert method(aws, api_id, "/test-API-resource")["authorizationScopes"] == ["email"]
    assert "CreateDeployment" in fix.mutating  # a repaired method is deployed


def test_deleted_resources_are_recreated(aws: dict[str, Any], cfg: Path) -> None:
    first = up(cfg).json()["outputs"]
    aws["lambda"].delete_function(FunctionName="test-API-function")
    aws["cognito-idp"].delete_user_pool_domain(
        Domain="test-api-7f3k", UserPoolId=first["user_pool_id"]
    )
    aws["cognito-idp"].delete_user_pool_client(
        UserPoolId=first["user_pool_id"], ClientId=first["app_client_id"]
    )
    rows = states(status(cfg))
    assert rows[("lambda_function", "test-API-function")]["state"] == "missing"
    assert rows[("user_pool_domain", "test-api-7f3k")]["state"] == "missing"
    assert rows[("app_client", "test-Client")]["state"] == "missing"
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    assert status(cfg).exit_code == 0
    assert (
        aws["lambda"].get_function(FunctionName="test-API-function")["Configuration"]["MemorySize"]
        == 128
    )
    policy = json.loads(aws["lambda"].get_policy(FunctionName="test-API-function")["Policy"])[
        "Statement"
    ]
    assert len(policy) == 1


def test_deleted_pool_is_recreated_and_the_authorizer_follows(
    aws: dict[str, Any], cfg: Path
) -> None:
    first = up(cfg).json()["outputs"]
    aws["cognito-idp"].delete_user_pool_domain(
        Domain="test-api-7f3k", UserPoolId=first["user_pool_id"]
    )
    aws["cognito-idp"].delete_user_pool(UserPoolId=first["user_pool_id"])
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    new_pool = run.json()["outputs"]["user_pool_id"]
    assert new_pool != first["user_pool_id"]
    auths = aws["apigateway"].get_authorizers(restApiId=first["api_id"])["items"]
    assert len(auths) == 1 and auths[0]["providerARNs"][0].endswith(new_pool)
    assert method(aws, first["api_id"], "/test-API-resource")["authorizerId"] == auths[0]["id"]
    assert status(cfg).exit_code == 0


def test_routes_added_and_removed(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    two = [
        {"path": "/test-API-resource", "method": "GET", "scopes": ["email"]},
        {"path": "/items/{id}", "method": "POST", "scopes": [], "integration": "lambda"},
    ]
    write_config(cfg, api={"routes": two})
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    api_id = the_api(aws)["id"]
    m = method(aws, api_id, "/items/{id}", "POST")
    assert m["methodIntegration"]["type"] == "AWS" and "authorizationScopes" not in m
    assert status(cfg).exit_code == 0
    policy = json.loads(aws["lambda"].get_policy(FunctionName="test-API-function")["Policy"])[
        "Statement"
    ]
    assert [s["Condition"]["ArnLike"]["AWS:SourceArn"].split(":")[-1] for s in policy] == [
        f"{api_id}/*"
    ]

    write_config(cfg, api={"routes": two[:1]})
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    paths = {r["path"] for r in aws["apigateway"].get_resources(restApiId=api_id)["items"]}
    assert paths == {"/", "/test-API-resource"}
    policy = json.loads(aws["lambda"].get_policy(FunctionName="test-API-function")["Policy"])[
        "Statement"
    ]
    assert len(policy) == 1
    assert status(cfg).exit_code == 0


def test_dry_run_makes_no_mutating_call(aws: dict[str, Any], cfg: Path) -> None:
    run = up(cfg, "--dry-run")
    assert run.exit_code == 0
    assert run.mutating == []
    assert run.json()["dry_run"] is True
    assert our_pools(aws) == []


def test_foreign_role_and_function_are_never_touched(aws: dict[str, Any], cfg: Path) -> None:
    iam, lam = aws["iam"], aws["lambda"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(
        RoleName="test-API-function-role", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]
    from cogapi.stack.code import package

    lam.create_function(FunctionName="test-API-function", Runtime="python3.12", Role=role["Arn"], Handler="x.y",
                        Code={"ZipFile": package(None, "app.handler").zip_bytes}, MemorySize=512)  # fmt: skip
    run = up(cfg)
    assert run.exit_code == 1
    assert run.mutating == []
    assert "not created by cogapi" in run.stderr and "Traceback" not in run.stderr
    rows = states(status(cfg))
    assert rows[("iam_role", "test-API-function-role")]["state"] == "foreign"
    assert rows[("lambda_function", "test-API-function")]["state"] == "foreign"

    down = run_cli("down", "-c", str(cfg), "--yes")
    assert down.exit_code == 0
    assert down.mutating == []
    assert lam.get_function_configuration(FunctionName="test-API-function")["MemorySize"] == 512
    assert iam.get_role(RoleName="test-API-function-role")["Role"].get("Tags", []) == []


def test_same_named_pool_and_api_of_others_are_left_alone(aws: dict[str, Any], cfg: Path) -> None:
    theirs = aws["cognito-idp"].create_user_pool(PoolName="test-userPool")["UserPool"]["Id"]
    their_api = aws["apigateway"].create_rest_api(name="test-API")["id"]
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    assert run.json()["outputs"]["user_pool_id"] != theirs
    assert run.json()["outputs"]["api_id"] != their_api
    assert "PutRestApi" in run.mutating
    # Their API was never put: it still has only its root resource.
    theirs_now = aws["apigateway"].get_resources(restApiId=their_api)["items"]
    assert [r["path"] for r in theirs_now] == ["/"]
    assert len(our_pools(aws)) == 2
    assert run_cli("down", "-c", str(cfg), "--yes").exit_code == 0
    assert [p["Id"] for p in our_pools(aws)] == [theirs]
    assert [a["id"] for a in aws["apigateway"].get_rest_apis()["items"]] == [their_api]


def test_domain_of_another_pool_stops_up_before_any_change(aws: dict[str, Any], cfg: Path) -> None:
    other = aws["cognito-idp"].create_user_pool(PoolName="someone-else")["UserPool"]["Id"]
    aws["cognito-idp"].create_user_pool_domain(Domain="test-api-7f3k", UserPoolId=other)
    run = up(cfg)
    assert run.exit_code == 1
    assert run.mutating == []
    assert "already belongs to another user pool" in run.stderr
    assert "hint:" in run.stderr
    assert our_pools(aws) == []
    rows = states(status(cfg))
    assert rows[("user_pool_domain", "test-api-7f3k")]["state"] == "foreign"


def test_fixed_setting_change_is_refused(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    write_config(cfg, user_pool={"sign_in": ["username", "email"]})
    run = up(cfg)
    assert run.exit_code == 1
    assert run.mutating == []
    assert "fixed when a user pool is created" in run.stderr and "sign_in" in run.stderr
    write_config(cfg, app_client={"generate_secret": True, "oauth_flows": ["code"]})
    run = up(cfg)
    assert run.exit_code == 1 and run.mutating == []
    assert "generate_secret" in run.stderr


def test_mfa_and_custom_attribute_changes_converge(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    write_config(cfg, user_pool={"mfa": "optional", "mfa_methods": ["totp"],
                                 "custom_attributes": [{"name": "tenant", "type": "String", "max_length": 64}]})  # fmt: skip
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    pool_id = run.json()["outputs"]["user_pool_id"]
    mfa = aws["cognito-idp"].get_user_pool_mfa_config(UserPoolId=pool_id)
    assert (
        mfa["MfaConfiguration"] == "OPTIONAL"
        and mfa["SoftwareTokenMfaConfiguration"]["Enabled"] is True
    )
    pool = aws["cognito-idp"].describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "custom:tenant" in {a["Name"] for a in pool["SchemaAttributes"]}
    assert pool["UserPoolTags"]["cogapi:stack"] == "test"  # the full-settings update kept the tag
    again = up(cfg)
    assert again.mutating == [], again.json()["plan"]
    write_config(cfg, user_pool={"mfa": "optional", "custom_attributes": []})
    refused = up(cfg)
    assert refused.exit_code == 1 and "custom_attributes.tenant" in refused.stderr


def test_down_asks_first_and_leaves_nothing(aws: dict[str, Any], cfg: Path) -> None:
    assert up(cfg).exit_code == 0
    refused = run_cli("down", "-c", str(cfg))  # CliRunner: not a terminal
    assert refused.exit_code == 2
    assert refused.mutating == []
    assert "--yes" in refused.stderr
    down = run_cli("down", "-c", str(cfg), "--yes", "-o", "json")
    assert down.exit_code == 0, down.stderr
    assert our_pools(aws) == []
    assert aws["apigateway"].get_rest_apis()["items"] == []
    assert aws["lambda"].list_functions()["Functions"] == []
    assert [r for r in aws["iam"].list_roles()["Roles"] if r["RoleName"].startswith("test-")] == []
    assert (
        aws["cognito-idp"].describe_user_pool_domain(Domain="test-api-7f3k")["DomainDescription"]
        == {}
    )
    again = run_cli("down", "-c", str(cfg), "--yes")
    assert again.exit_code == 0 and again.mutating == []
    assert "Nothing to delete" in again.stdout
    st = status(cfg)
    assert st.exit_code == 3 and {r["state"] for r in st.json()["resources"]} == {"missing"}


def test_deletion_protection_stops_down_unless_the_pool_is_kept(
    aws: dict[str, Any], cfg: Path
) -> None:
    write_config(cfg, user_pool={"deletion_protection": True})
    first = up(cfg).json()["outputs"]
    run = run_cli("down", "-c", str(cfg), "--yes")
    assert run.exit_code == 1
    assert run.mutating == []
    assert "deletion protection" in run.stderr
    kept = run_cli("down", "-c", str(cfg), "--yes", "--keep-user-pool")
    assert kept.exit_code == 0, kept.stderr
    assert [p["Id"] for p in our_pools(aws)] == [first["user_pool_id"]]
    assert (
        aws["cognito-idp"].describe_user_pool_domain(Domain="test-api-7f3k")["DomainDescription"][
            "UserPoolId"
        ]
        == first["user_pool_id"]
    )
    assert aws["apigateway"].get_rest_apis()["items"] == []
    assert aws["lambda"].list_functions()["Functions"] == []


def test_status_text_output_and_exit_codes(aws: dict[str, Any], cfg: Path) -> None:
    missing = run_cli("status", "-c", str(cfg))
    assert missing.exit_code == 3
    assert "missing" in missing.stdout and "user_pool" in missing.stdout
    assert up(cfg).exit_code == 0
    ok = run_cli("status", "-c", str(cfg))
    assert ok.exit_code == 0
    assert "in sync" in ok.stderr


def test_sms_mfa_creates_its_own_role_and_wires_it_to_the_pool(
    aws: dict[str, Any], cfg: Path
) -> None:
    write_config(cfg, user_pool={"mfa": "optional", "mfa_methods": ["totp", "sms"]})
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    role = aws["iam"].get_role(RoleName="test-cognito-sms-role")["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"]["Service"] == "cognito-idp.amazonaws.com"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "cogapi-test"}}
    assert aws["iam"].list_role_policies(RoleName="test-cognito-sms-role")["PolicyNames"] == [
        "cogapi-sms"
    ]
    pool_id = run.json()["outputs"]["user_pool_id"]
    mfa = aws["cognito-idp"].get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["SmsMfaConfiguration"]["SmsConfiguration"]["SnsCallerArn"] == role["Arn"]
    assert up(cfg).mutating == []
    assert run_cli("down", "-c", str(cfg), "--yes").exit_code == 0
    assert [
        r["RoleName"] for r in aws["iam"].list_roles()["Roles"] if r["RoleName"].startswith("test-")
    ] == []


GOOGLE = {
    "type": "Google",
    "client_id": "123.apps.googleusercontent.com",
    "client_secret_env": "GOOGLE_SECRET",
}


def test_identity_provider_secret_comes_from_the_environment(
    aws: dict[str, Any], cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(cfg, user_pool={"identity_providers": [GOOGLE]})
    missing = up(cfg)
    assert missing.exit_code == 2
    assert "GOOGLE_SECRET" in missing.stderr and "user_pool.identity_providers[0]" in missing.stderr
    assert missing.mutating == []

    monkeypatch.setenv("GOOGLE_SECRET", "s3cr3t-value")
    run = up(cfg)
    assert run.exit_code == 0, run.stderr
    assert "s3cr3t-value" not in run.stdout + run.stderr
    pool_id = run.json()["outputs"]["user_pool_id"]
    idp = aws["cognito-idp"].describe_identity_provider(UserPoolId=pool_id, ProviderName="Google")[
        "IdentityProvider"
    ]
    assert idp["ProviderDetails"]["client_id"] == GOOGLE["client_id"]
    assert idp["ProviderDetails"]["client_secret"] == "s3cr3t-value"
    client = aws["cognito-idp"].describe_user_pool_client(
        UserPoolId=pool_id, ClientId=run.json()["outputs"]["app_client_id"]
    )
    assert sorted(client["UserPoolClient"]["SupportedIdentityProviders"]) == ["COGNITO", "Google"]
    assert up(cfg).mutating == []

    write_config(
        cfg,
        user_pool={
            "identity_providers": [{**GOOGLE, "client_id": "456.apps.googleusercontent.com"}]
        },
    )
    changed = up(cfg)
    assert changed.mutating == ["UpdateIdentityProvider"]

    write_config(cfg, user_pool={"identity_providers": []})
    removed = up(cfg)
    assert removed.exit_code == 0, removed.stderr
    assert set(removed.mutating) == {"DeleteIdentityProvider", "UpdateUserPoolClient"}
    assert aws["cognito-idp"].list_identity_providers(UserPoolId=pool_id)["Providers"] == []
    assert status(cfg).exit_code == 0


def test_unknown_profile_is_a_usage_error(aws: dict[str, Any], cfg: Path) -> None:
    run = run_cli("status", "-c", str(cfg), "--profile", "nope")
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "error: AWS profile 'nope' not found",
        "hint: check ~/.aws/config or drop --profile",
    ]
    assert run.calls == []


def test_the_pool_waits_for_the_sms_role_only() -> None:
    from cogapi.stack.executor import dependencies
    from cogapi.stack.planner import Change, Plan

    plan = Plan([
        Change("iam_role", "test-cognito-sms-role", "create"),
        Change("iam_role", "test-API-function-role", "create"),
        Change("user_pool", "test-userPool", "create"),
    ])  # fmt: skip
    pool = plan.changes[2]
    assert dependencies(pool, plan, "test-cognito-sms-role") == {
        ("iam_role", "test-cognito-sms-role")
    }
    assert dependencies(pool, plan, None) == set()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--region", "Mars-1"],
            {},
            "error: --region: 'Mars-1' is not an AWS region name, e.g. us-east-1",
        ),
        (
            ["--endpoint-url", "localhost:4566"],
            {},
            "error: --endpoint-url: 'localhost:4566' is not an http(s) URL",
        ),
        (
            [],
            {"AWS_ENDPOINT_URL": "ftp://x"},
            "error: AWS_ENDPOINT_URL: 'ftp://x' is not an http(s) URL",
        ),
        (
            ["--endpoint-url", "http://127.0.0.1:4566/x y"],
            {},
            "error: --endpoint-url: 'http://127.0.0.1:4566/x y' is not an http(s) URL: it holds "
            "a space or a control character",
        ),
        (
            [],
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:99999"},
            "error: AWS_ENDPOINT_URL: 'http://127.0.0.1:99999' is not an http(s) URL: port out "
            "of range 0-65535",
        ),
        (
            ["--endpoint-url", "http://127.0.0.1:abc"],
            {},
            "error: --endpoint-url: 'http://127.0.0.1:abc' is not an http(s) URL: port could not "
            "be cast to integer value as 'abc'",
        ),
        (
            ["--endpoint-url", "http://[::1:4566"],
            {},
            "error: --endpoint-url: 'http://[::1:4566' is not an http(s) URL: invalid IPv6 URL",
        ),
        (
            [],
            {"AWS_ENDPOINT_URL": "http://ünï.example:4566"},
            "error: AWS_ENDPOINT_URL: 'http://ünï.example:4566' is not an http(s) URL: "
            "'ünï.example' is not a host name",
        ),
        (
            ["--region", ""],
            {},
            "error: --region: '' is not an AWS region name, e.g. us-east-1",
        ),
        (
            ["--endpoint-url", ""],
            {},
            "error: --endpoint-url: '' is not an http(s) URL",
        ),
        (
            ["-c", ""],
            {},
            "error: -c/--config: the path is empty",
        ),
        (
            ["--region", "us-east-1\n"],
            {},
            "error: --region: 'us-east-1\\n' is not an AWS region name, e.g. us-east-1",
        ),
    ],
)
def test_bad_region_or_endpoint_is_a_usage_error_before_any_call(
    aws: dict[str, Any],
    cfg: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    run = run_cli("up", "-c", str(cfg), *args)
    assert run.exit_code == 2
    assert run.stderr.startswith(message)
    assert run.calls == []
