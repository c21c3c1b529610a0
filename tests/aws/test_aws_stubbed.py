"""botocore `Stubber` tests: real AWS behaviour that moto does not show (see shared/aws-notes.md).

moto merges client updates, never answers a Lambda conflict, an IAM propagation error or a
duplicate StatementId, does not enforce domain uniqueness or deletion protection. Here each of
those answers is played back exactly as AWS gives it, and each request cogapi sends is compared
with `expected_params` in full: a key too many or too few fails the test (botocore's Stubber
raises on a mismatch, and `assert_no_pending_responses` on a call that never came).

Note: the Stubber answers on `before-call` ahead of the facade's own counter, so `Aws.calls` stays
0 here; "no mutating call" is proved by the Stubber itself (an unexpected call has no response and
fails) and by a `before-parameter-build` log of every operation attempted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from cogapi.aws import Aws
from cogapi.config import Config, parse_config
from cogapi.errors import AwsError, PlanBlocked
from cogapi.stack import commands
from cogapi.stack.code import package
from cogapi.stack.commands import Options, run_down, run_up
from cogapi.stack.discover import Observed
from cogapi.stack.executor import Executor, apply_down
from cogapi.stack.models import DesiredStack, desired_stack
from cogapi.stack.planner import Change, FieldChange, Plan, plan_down, plan_up
from cogapi.ui import UI

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cogapi" / "config" / "example.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
POOL_ID = "us-east-1_AbCdEf123"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{POOL_ID}"
CLIENT_ID = "1example23456789abcdefghij"
API_ID = "a1b2c3d4e5"
FUNCTION = "test-API-function"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
IAM_PROPAGATION = "The role defined for the function cannot be assumed by Lambda."


# ---- fixtures and helpers ------------------------------------------------------------------


class Waits:
    """The injected clock: records every sleep and every `on_wait` progress message."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.messages: list[str] = []


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def aws(waits: Waits) -> Aws:
    return Aws(
        boto3.Session(region_name=REGION),
        REGION,
        sleep=waits.sleeps.append,
        on_wait=waits.messages.append,
    )


@contextmanager
def stubbed(client: Any) -> Iterator[Stubber]:
    """A Stubber that must be used up: every queued answer consumed, in order."""
    stubber = Stubber(client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def config(**overrides: Any) -> Config:
    """The example config with top-level sections merged in (one level deep)."""
    raw = yaml.safe_load(EXAMPLE.read_text())
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    return parse_config(yaml.safe_dump(raw), "cogapi.yaml", ROOT)


def desired(cfg: Config | None = None) -> DesiredStack:
    cfg = cfg or config()
    return desired_stack(cfg, ACCOUNT, package(None, cfg.function.handler))


def client_error(
    stubber: Stubber, op: str, code: str, message: str, status: int = 400, **expected: Any
) -> None:
    stubber.add_client_error(op, code, message, status, expected_params=expected or None)


def observed_pool(**changes: Any) -> dict[str, Any]:
    """What DescribeUserPool answers for the example config's pool, with `changes` applied."""
    pool: dict[str, Any] = {
        "Id": POOL_ID, "Name": "test-userPool", "Arn": POOL_ARN,
        "Policies": {"PasswordPolicy": {
            "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
            "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7,
        }},
        "DeletionProtection": "INACTIVE",
        "AutoVerifiedAttributes": ["email"],
        "UsernameAttributes": ["email"],
        "MfaConfiguration": "OFF",
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
        "UserPoolTags": {"team": "web", "cogapi:stack": "test", "cogapi:sign-in": "email"},
        "SchemaAttributes": [
            {"Name": "sub", "AttributeDataType": "String", "Required": True, "Mutable": False},
            {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True},
        ],
        "Domain": "test-api-7f3k",
        "EstimatedNumberOfUsers": 3,
    }  # fmt: skip
    pool.update(changes)
    return pool


def observed_client(**changes: Any) -> dict[str, Any]:
    """What DescribeUserPoolClient answers for the example config's client, with `changes`."""
    client: dict[str, Any] = {
        "UserPoolId": POOL_ID, "ClientId": CLIENT_ID, "ClientName": "test-Client",
        "AccessTokenValidity": 60, "IdTokenValidity": 60, "RefreshTokenValidity": 43200,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": ["http://localhost:8765/callback"],
        "LogoutURLs": ["http://localhost:8765/signed-out"],
        "AllowedOAuthFlows": ["code", "implicit"],
        "AllowedOAuthScopes": ["email", "openid"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }  # fmt: skip
    client.update(changes)
    return client


# The full UpdateUserPoolClient request for the example config: written out by hand (not derived
# from the code under test), because every key left out is reset to its default by AWS.
FULL_CLIENT_UPDATE: dict[str, Any] = {
    "UserPoolId": POOL_ID,
    "ClientId": CLIENT_ID,
    "ClientName": "test-Client",
    "AccessTokenValidity": 60,
    "IdTokenValidity": 60,
    "RefreshTokenValidity": 43200,
    "TokenValidityUnits": {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "minutes",
    },
    "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": ["http://localhost:8765/callback"],
    "LogoutURLs": ["http://localhost:8765/signed-out"],
    "AllowedOAuthFlows": ["code", "implicit"],
    "AllowedOAuthScopes": ["email", "openid"],
    "AllowedOAuthFlowsUserPoolClient": True,  # SDK default false: the hosted UI would be off
    "PreventUserExistenceErrors": "ENABLED",
    "EnableTokenRevocation": True,
}

# The full UpdateUserPool request for the example config. Never the creation-only keys
# (UsernameAttributes, Schema, ...): AWS rejects or ignores them on update.
FULL_POOL_UPDATE: dict[str, Any] = {
    "UserPoolId": POOL_ID,
    "PoolName": "test-userPool",
    "Policies": {"PasswordPolicy": {
        "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
        "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7,
    }},
    "DeletionProtection": "INACTIVE",
    "AutoVerifiedAttributes": ["email"],
    "MfaConfiguration": "OFF",
    "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
    "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
    # Omitted tags are dropped by UpdateUserPool: the ownership tag must be in every update.
    "UserPoolTags": {"team": "web", "cogapi:stack": "test", "cogapi:sign-in": "email"},
}  # fmt: skip
CREATION_ONLY = {"UsernameAttributes", "AliasAttributes", "UsernameConfiguration", "Schema"}


def log_params(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every operation attempted on `client` with its parameters, whatever the Stubber answers."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build", record)
    return seen


# ---- (a) the app client update sends every setting -----------------------------------------


def test_client_update_sends_the_full_request(aws: Aws) -> None:
    d = desired()
    o = Observed(
        account_id=ACCOUNT,
        pool=observed_pool(),
        client=observed_client(CallbackURLs=["http://localhost:8765/old"]),
    )
    change = plan_up(d, o).find("app_client")
    # Only one setting drifted...
    assert change == Change(
        "app_client", "test-Client", "update", CLIENT_ID,
        (FieldChange("callback_urls", ["http://localhost:8765/old"], ["http://localhost:8765/callback"]),),
    )  # fmt: skip
    sent = log_params(aws.cognito)
    with stubbed(aws.cognito) as stub:
        # ...but the whole client goes: UpdateUserPoolClient resets whatever is left out.
        stub.add_response("update_user_pool_client", {"UserPoolClient": {}}, FULL_CLIENT_UPDATE)
        Executor(aws, d, o).apply(Plan([change]))
    assert [op for op, _ in sent] == ["UpdateUserPoolClient"]


def test_client_update_with_non_default_settings(aws: Aws) -> None:
    cfg = config(
        user_pool={"identity_providers": [
            {"type": "Google", "client_id": "g-123", "client_secret_env": "GOOGLE_SECRET"},
        ]},
        app_client={
            "oauth_flows": ["code"], "oauth_scopes": ["openid", "email", "profile"],
            "callback_urls": ["https://app.example.com/cb", "http://localhost:8765/callback"],
            "logout_urls": ["https://app.example.com/bye"],
            "auth_flows": ["refresh_token", "user_password"],
            "token_validity": {"access": "30m", "id": "2h", "refresh": "90d"},
            "read_attributes": ["name", "email"], "write_attributes": ["name"],
        },
    )  # fmt: skip
    d = desired(cfg)
    o = Observed(account_id=ACCOUNT, pool=observed_pool(), client=observed_client())
    change = Change(
        "app_client",
        "test-Client",
        "update",
        CLIENT_ID,
        (FieldChange("access_token_minutes", 60, 30),),
    )
    expected = {
        "UserPoolId": POOL_ID,
        "ClientId": CLIENT_ID,
        "ClientName": "test-Client",
        "AccessTokenValidity": 30,
        "IdTokenValidity": 120,
        "RefreshTokenValidity": 90 * 1440,
        "TokenValidityUnits": {
            "AccessToken": "minutes",
            "IdToken": "minutes",
            "RefreshToken": "minutes",
        },
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"],
        "SupportedIdentityProviders": ["COGNITO", "Google"],
        "CallbackURLs": ["https://app.example.com/cb", "http://localhost:8765/callback"],
        "LogoutURLs": ["https://app.example.com/bye"],
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["email", "openid", "profile"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
        "ReadAttributes": ["email", "name"],
        "WriteAttributes": ["name"],
    }
    with stubbed(aws.cognito) as stub:
        stub.add_response("update_user_pool_client", {"UserPoolClient": {}}, expected)
        Executor(aws, d, o).apply(Plan([change]))


# ---- (b) the pool update sends every setting, tags included ---------------------------------


@pytest.mark.parametrize(
    ("drift", "field"),
    [
        ({"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}}, "self_sign_up"),
        ({"UserPoolTags": {"cogapi:stack": "test", "cogapi:sign-in": "email"}}, "tags"),
        ({"AutoVerifiedAttributes": []}, "auto_verify"),
    ],
    ids=["self-sign-up", "tags", "auto-verify"],
)
def test_pool_update_sends_full_settings_with_tags(
    aws: Aws, drift: dict[str, Any], field: str
) -> None:
    d = desired()
    o = Observed(account_id=ACCOUNT, pool=observed_pool(**drift))
    change = plan_up(d, o).find("user_pool")
    assert change is not None and change.action == "update"
    assert [f.field for f in change.fields] == [field]
    sent = log_params(aws.cognito)
    with stubbed(aws.cognito) as stub:
        stub.add_response("update_user_pool", {}, FULL_POOL_UPDATE)
        Executor(aws, d, o).apply(Plan([change]))
    assert len(sent) == 1
    op, params = sent[0]
    assert op == "UpdateUserPool"
    assert params["UserPoolTags"]["cogapi:stack"] == "test"
    assert not CREATION_ONLY & set(params)


def test_pool_mfa_update_sets_mfa_config_then_full_update(aws: Aws) -> None:
    d = desired(config(user_pool={"mfa": "optional", "mfa_methods": ["totp"]}))
    o = Observed(account_id=ACCOUNT, pool=observed_pool(), mfa={"MfaConfiguration": "OFF"})
    change = plan_up(d, o).find("user_pool")
    assert change is not None and {f.field for f in change.fields} == {"mfa", "mfa_methods"}
    with stubbed(aws.cognito) as stub:
        # TOTP is switched on only by SetUserPoolMfaConfig, and before the pool asks for MFA.
        stub.add_response(
            "set_user_pool_mfa_config", {},
            {"UserPoolId": POOL_ID, "MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": True}},
        )  # fmt: skip
        stub.add_response(
            "update_user_pool", {}, {**FULL_POOL_UPDATE, "MfaConfiguration": "OPTIONAL"}
        )
        Executor(aws, d, o).apply(Plan([change]))


# ---- (c) one invoke permission, scoped to the API, check-before-add ------------------------

SID = f"cogapi-{API_ID}-api"
SOURCE_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/*"
ADD_PERMISSION = {
    "FunctionName": FUNCTION,
    "StatementId": SID,
    "Action": "lambda:InvokeFunction",
    "Principal": "apigateway.amazonaws.com",
    "SourceArn": SOURCE_ARN,
}
PERMISSION = "REST API test-API"


def _statement(sid: str, arn: str = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:old/*/GET/x") -> Any:
    return {
        "Sid": sid, "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": FUNCTION_ARN,
        "Condition": {"ArnLike": {"AWS:SourceArn": arn}},
    }  # fmt: skip


def _policy(*sids: str) -> dict[str, Any]:
    statements = [_statement(sid) for sid in sids]
    return {
        "Policy": json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements}),
        "RevisionId": "r1",
    }


def _permission_run(aws: Aws, cfg: Config | None = None) -> None:
    d = desired(cfg)
    o = Observed(
        account_id=ACCOUNT, api={"id": API_ID}, function={"FunctionArn": FUNCTION_ARN, "Tags": {}}
    )
    Executor(aws, d, o).apply(Plan([Change("lambda_permission", PERMISSION, "create")]))


def test_permission_same_sid_is_removed_then_added(aws: Aws) -> None:
    with stubbed(aws.lambda_) as stub:
        stub.add_response("get_policy", _policy("other-statement", SID), {"FunctionName": FUNCTION})
        # AWS answers a duplicate StatementId with ResourceConflictException; moto accepts it.
        stub.add_response("remove_permission", {}, {"FunctionName": FUNCTION, "StatementId": SID})
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        _permission_run(aws)


def test_permission_without_statement_is_added(aws: Aws) -> None:
    with stubbed(aws.lambda_) as stub:
        stub.add_response(
            "get_policy", _policy("cogapi-otherapi-GET-x"), {"FunctionName": FUNCTION}
        )
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        _permission_run(aws)


def test_permission_with_no_policy_at_all_is_added(aws: Aws) -> None:
    with stubbed(aws.lambda_) as stub:
        client_error(stub, "get_policy", "ResourceNotFoundException", "The resource you requested does not exist.", 404,
                     FunctionName=FUNCTION)  # fmt: skip
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        _permission_run(aws)


def test_one_permission_covers_every_route(aws: Aws) -> None:
    routes = [{"path": f"/r{i}/{{id}}", "method": m} for i in range(20) for m in ("GET", "ANY")]
    with stubbed(aws.lambda_) as stub:  # the same single request, whatever the routes
        client_error(
            stub, "get_policy", "ResourceNotFoundException", "not found", 404, FunctionName=FUNCTION
        )
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        _permission_run(aws, config(api={"routes": routes}))


def test_plan_replaces_cogapis_per_route_statements_and_keeps_others() -> None:
    d = desired()
    policy = [
        _statement(f"cogapi-{API_ID}-GET-test-API-resource"),  # what older cogapi made
        _statement("cogapi-oldapi-POST-items"),  # an API of ours that was re-created
        _statement("their-own-statement"),  # never ours to touch
        _statement(SID, SOURCE_ARN),
    ]
    o = Observed(
        account_id=ACCOUNT, api={"id": API_ID}, policy=policy,
        function={"FunctionArn": FUNCTION_ARN, "Tags": {"cogapi:stack": "test"}},
    )  # fmt: skip
    rows = [c for c in plan_up(d, o).changes if c.kind == "lambda_permission"]
    assert [(c.name, c.action) for c in rows] == [
        (PERMISSION, "ok"),
        (f"cogapi-{API_ID}-GET-test-API-resource", "delete"),
        ("cogapi-oldapi-POST-items", "delete"),
    ]


def test_permission_scoped_to_another_api_is_created_again() -> None:
    o = Observed(
        account_id=ACCOUNT, api={"id": API_ID},
        policy=[_statement(SID, f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")],
        function={"FunctionArn": FUNCTION_ARN, "Tags": {"cogapi:stack": "test"}},
    )  # fmt: skip
    row = plan_up(desired(), o).find("lambda_permission", PERMISSION)
    assert row is not None and row.action == "create"


# ---- (c2) the API as one document: PutRestApi, GetResources paging --------------------------


def test_api_document_is_one_put_rest_api_overwrite_then_the_authorizer_is_read(
    aws: Aws,
) -> None:
    from cogapi.stack.openapi import api_document, document_json

    routes = [{"path": f"/items{i}", "method": "GET", "scopes": ["email"]} for i in range(40)]
    cfg = config(api={"routes": routes, "cors": {"allow_origins": ["https://app.example.com"]}})
    d = desired(cfg)
    o = Observed(account_id=ACCOUNT, api={"id": API_ID}, pool={"Id": POOL_ID, "Arn": POOL_ARN})
    body = document_json(api_document(d, POOL_ARN))
    with stubbed(aws.apigw) as stub:
        stub.add_response(
            "put_rest_api",
            {"id": API_ID},
            {"restApiId": API_ID, "mode": "overwrite", "body": body.encode()},
        )
        stub.add_response(
            "get_authorizers",
            {"items": [{"id": "other1", "name": "x"}, {"id": "az9", "name": "test-Authorizer"}]},
            {"restApiId": API_ID, "limit": 500},
        )
        ids = Executor(aws, d, o).apply(
            Plan([Change("api_document", "test-API", "update", API_ID)])
        )
    assert ids["authorizer_id"] == "az9"
    sent = json.loads(body)
    assert len(sent["paths"]) == 40 and all("options" in p for p in sent["paths"].values())
    assert sent["components"]["securitySchemes"]["test-Authorizer"][
        "x-amazon-apigateway-authorizer"
    ]["providerARNs"] == [POOL_ARN]


def test_route_rows_are_applied_by_the_document_not_one_by_one(aws: Aws) -> None:
    d = desired()
    o = Observed(account_id=ACCOUNT, api={"id": API_ID}, pool={"Id": POOL_ID, "Arn": POOL_ARN})
    plan = Plan([
        Change("authorizer", "test-Authorizer", "update", "az1",
               (FieldChange("result_ttl_s", 300, 60),)),
        Change("api_method", "GET /test-API-resource", "update", "r1",
               (FieldChange("scopes", ["email"], ["email", "openid"]),)),
        Change("api_method", "POST /gone", "delete", "r2"),
        Change("api_document", "test-API", "update", API_ID),
    ])  # fmt: skip
    with stubbed(aws.apigw) as stub:  # nothing but the one put (and the id read back)
        stub.add_response("put_rest_api", {"id": API_ID}, None)
        stub.add_response(
            "get_authorizers", {"items": [{"id": "az1", "name": "test-Authorizer"}]}, None
        )
        assert Executor(aws, d, o).apply(plan)["authorizer_id"] == "az1"


def test_get_resources_embeds_methods_and_follows_every_page(aws: Aws) -> None:
    method = {
        "httpMethod": "GET",
        "authorizationType": "NONE",
        "methodIntegration": {"type": "MOCK"},
    }
    with stubbed(aws.apigw) as stub:
        stub.add_response(
            "get_resources",
            {"items": [{"id": "r0", "path": "/"}], "position": "page2"},
            {"restApiId": API_ID, "limit": 500, "embed": ["methods"]},
        )
        stub.add_response(
            "get_resources",
            {"items": [{"id": "r1", "path": "/a", "resourceMethods": {"GET": method}}]},
            {"restApiId": API_ID, "limit": 500, "embed": ["methods"], "position": "page2"},
        )
        items = aws.get_resources(API_ID)
    assert [r["path"] for r in items] == ["/", "/a"]
    assert items[1]["resourceMethods"]["GET"]["methodIntegration"] == {"type": "MOCK"}


def test_every_listing_reads_all_pages(aws: Aws) -> None:
    # Each page's token goes into the next request, and the pages are joined in order; the pool
    # listing describes each matching pool as its page comes (names are not unique).
    with stubbed(aws.apigw) as stub:
        stub.add_response("get_rest_apis", {"items": [{"id": "a1", "name": "x"}, {"id": "o", "name": "y"}],
                          "position": "p2"}, {"limit": 500})  # fmt: skip
        stub.add_response("get_rest_apis", {"items": [{"id": "a2", "name": "x"}]},
                          {"limit": 500, "position": "p2"})  # fmt: skip
        assert [a["id"] for a in aws.find_rest_apis("x")] == ["a1", "a2"]
    with stubbed(aws.cognito) as stub:
        stub.add_response("list_user_pool_clients", {"UserPoolClients": [{"ClientId": "c1"}],
                          "NextToken": "n2"}, {"UserPoolId": POOL_ID, "MaxResults": 60})  # fmt: skip
        stub.add_response("list_user_pool_clients", {"UserPoolClients": [{"ClientId": "c2"}]},
                          {"UserPoolId": POOL_ID, "MaxResults": 60, "NextToken": "n2"})  # fmt: skip
        assert [c["ClientId"] for c in aws.list_clients(POOL_ID)] == ["c1", "c2"]
        stub.add_response("list_users", {"Users": [{"Username": "u1"}], "PaginationToken": "t2"},
                          {"UserPoolId": POOL_ID, "Limit": 60})  # fmt: skip
        stub.add_response("list_users", {"Users": [{"Username": "u2"}]},
                          {"UserPoolId": POOL_ID, "Limit": 60, "PaginationToken": "t2"})  # fmt: skip
        assert [u["Username"] for u in aws.list_users(POOL_ID)] == ["u1", "u2"]
        stub.add_response("list_user_pools", {"UserPools": [{"Id": POOL_ID, "Name": "p"}],
                          "NextToken": "n2"}, {"MaxResults": 60})  # fmt: skip
        stub.add_response("describe_user_pool", {"UserPool": {"Id": POOL_ID, "Name": "p"}},
                          {"UserPoolId": POOL_ID})  # fmt: skip
        stub.add_response("list_user_pools", {"UserPools": [{"Id": "us-east-1_Other", "Name": "q"}]},
                          {"MaxResults": 60, "NextToken": "n2"})  # fmt: skip
        assert [p["Id"] for p in aws.find_user_pools("p")] == [POOL_ID]


# ---- (d) create_function waits out IAM propagation -----------------------------------------


def test_create_function_retries_iam_propagation(aws: Aws, waits: Waits) -> None:
    params = desired().function.create_params()
    with stubbed(aws.lambda_) as stub:
        for _ in range(3):
            client_error(
                stub, "create_function", "InvalidParameterValueException", IAM_PROPAGATION, **params
            )
        stub.add_response(
            "create_function",
            {"FunctionName": FUNCTION, "FunctionArn": FUNCTION_ARN, "State": "Pending"},
            params,
        )
        # A new function is Pending until Lambda has it ready: the executor waits for Active
        # once at the end (nothing before needs it), which is `wait_function_ready`.
        stub.add_response(
            "get_function_configuration", {"State": "Pending"}, {"FunctionName": FUNCTION}
        )
        stub.add_response(
            "get_function_configuration",
            {"State": "Active", "LastUpdateStatus": "Successful"},
            {"FunctionName": FUNCTION},
        )
        conf = aws.create_function(params)
        aws.wait_function_ready(FUNCTION)
    assert conf["FunctionArn"] == FUNCTION_ARN
    assert waits.sleeps[:3] == [2.0, 3.0, 4.5]  # backoff, not a fixed beat
    assert len(waits.sleeps) == 4  # three IAM waits and one Pending wait
    iam_waits = [m for m in waits.messages if "IAM role" in m]
    assert len(iam_waits) == 3
    assert any("Pending" in m for m in waits.messages)


def test_create_function_gives_up_after_about_two_minutes(aws: Aws, waits: Waits) -> None:
    params = desired().function.create_params()
    # Backoff 2 s x1.5 up to 10 s: the attempt after 120 s of waiting is the last (16 in all).
    with stubbed(aws.lambda_) as stub:
        for _ in range(16):
            client_error(
                stub, "create_function", "InvalidParameterValueException", IAM_PROPAGATION, **params
            )
        with pytest.raises(AwsError) as info:
            aws.create_function(params)
    assert "create_function" in info.value.message and FUNCTION in info.value.message
    assert "cannot be assumed by Lambda" in info.value.message
    assert 120 <= sum(waits.sleeps) <= 130
    assert max(waits.sleeps) <= 10
    assert len(waits.messages) == len(waits.sleeps) == 15


def test_create_function_other_errors_are_not_retried(aws: Aws, waits: Waits) -> None:
    params = desired().function.create_params()
    with stubbed(aws.lambda_) as stub:
        client_error(
            stub,
            "create_function",
            "InvalidParameterValueException",
            "Unzipped size must be smaller than 262144000 bytes",
            **params,
        )
        with pytest.raises(AwsError) as info:
            aws.create_function(params)
    assert "Unzipped size" in info.value.message
    assert waits.sleeps == [] and waits.messages == []


# ---- (e) Lambda updates wait for the previous update and retry conflicts --------------------

CONFLICT = f"The operation cannot be performed at this time. An update is in progress for resource: {FUNCTION_ARN}"


def _state(stub: Stubber, state: str, update: str = "Successful") -> None:
    stub.add_response(
        "get_function_configuration",
        {"State": state, "LastUpdateStatus": update},
        {"FunctionName": FUNCTION},
    )


def test_update_code_waits_and_retries_conflicts(aws: Aws, waits: Waits) -> None:
    zip_bytes = b"PK\x05\x06" + b"\x00" * 18
    with stubbed(aws.lambda_) as stub:
        _state(stub, "Active", "InProgress")  # another update still running: wait
        _state(stub, "Active", "Successful")
        client_error(stub, "update_function_code", "ResourceConflictException", CONFLICT, 409,
                     FunctionName=FUNCTION, ZipFile=zip_bytes)  # fmt: skip
        _state(stub, "Active", "Successful")
        stub.add_response(
            "update_function_code",
            {"FunctionName": FUNCTION},
            {"FunctionName": FUNCTION, "ZipFile": zip_bytes},
        )
        _state(stub, "Active", "InProgress")  # our own update: wait until it is done
        _state(stub, "Active", "Successful")
        aws.update_function_code(FUNCTION, zip_bytes)
    assert len(waits.sleeps) == 3
    assert sum(1 for m in waits.messages if "busy" in m) == 1
    assert sum(1 for m in waits.messages if "InProgress" in m) == 2


def test_update_configuration_waits_while_pending(aws: Aws, waits: Waits) -> None:
    conf = desired().function.configuration_params()
    with stubbed(aws.lambda_) as stub:
        _state(stub, "Pending", "Successful")
        _state(stub, "Pending", "Successful")
        _state(stub, "Active", "Successful")
        stub.add_response(
            "update_function_configuration",
            {"FunctionName": FUNCTION},
            {"FunctionName": FUNCTION, **conf},
        )
        _state(stub, "Active", "Successful")
        aws.update_function_configuration(FUNCTION, conf)
    assert waits.sleeps == [1.0, 2.0]
    assert all("Pending" in m for m in waits.messages) and len(waits.messages) == 2


def test_update_gives_up_when_conflicts_persist(aws: Aws, waits: Waits) -> None:
    with stubbed(aws.lambda_) as stub:
        for _ in range(8):
            _state(stub, "Active")
            client_error(stub, "update_function_code", "ResourceConflictException", CONFLICT, 409,
                         FunctionName=FUNCTION, ZipFile=b"zip")  # fmt: skip
        with pytest.raises(AwsError) as info:
            aws.update_function_code(FUNCTION, b"zip")
    assert "ResourceConflictException" in info.value.message
    assert len(waits.sleeps) == 7 and max(waits.sleeps) <= 10


def test_failed_function_state_is_an_error(aws: Aws) -> None:
    with stubbed(aws.lambda_) as stub:
        stub.add_response(
            "get_function_configuration",
            {
                "State": "Failed",
                "StateReason": "The role is not authorized",
                "LastUpdateStatus": "Failed",
            },
            {"FunctionName": FUNCTION},
        )
        with pytest.raises(AwsError) as info:
            aws.wait_function_ready(FUNCTION)
    assert FUNCTION in info.value.message and "not authorized" in info.value.message


# ---- (f) a domain prefix held by another pool blocks everything -----------------------------

OTHER_POOL = "us-east-1_SomeoneElse"
FOREIGN_DOMAIN = {
    "DomainDescription": {
        "UserPoolId": OTHER_POOL, "AWSAccountId": "999999999999", "Domain": "test-api-7f3k",
        "Status": "ACTIVE", "Version": "20240101000000",
    }
}  # fmt: skip


def test_domain_owner_reads_the_other_pool(aws: Aws) -> None:
    with stubbed(aws.cognito) as stub:
        stub.add_response("describe_user_pool_domain", FOREIGN_DOMAIN, {"Domain": "test-api-7f3k"})
        stub.add_response(
            "describe_user_pool_domain", {"DomainDescription": {}}, {"Domain": "free-prefix"}
        )
        owner = aws.domain_owner("test-api-7f3k")
        free = aws.domain_owner("free-prefix")
    assert owner is not None and owner["UserPoolId"] == OTHER_POOL
    assert free is None  # an empty DomainDescription means nobody holds it


@pytest.mark.parametrize(
    "ours", [None, observed_pool(Domain=None)], ids=["new-pool", "existing-pool"]
)
def test_foreign_domain_blocks_the_plan(ours: dict[str, Any] | None) -> None:
    o = Observed(account_id=ACCOUNT, pool=ours, domain_owner=FOREIGN_DOMAIN["DomainDescription"])
    plan = plan_up(desired(), o)
    change = plan.find("user_pool_domain")
    assert change is not None and change.action == "blocked"
    assert OTHER_POOL in change.reason and "prefix" in change.hint
    assert plan.blocked == [change]


def _ui() -> tuple[UI, io.StringIO]:
    out = io.StringIO()
    return UI(output="text", stdout=out, stderr=io.StringIO(), interactive=False), out


def _stub_stack(monkeypatch: pytest.MonkeyPatch, answers: Any) -> tuple[list[str], list[Stubber]]:
    """Let `open_stack` build the real facade, then put Stubbers on its clients."""
    real_open = commands.open_stack
    attempted: list[str] = []
    stubbers: list[Stubber] = []

    def open_and_stub(opts: Options, ui: UI) -> Any:
        ctx = real_open(opts, ui)
        a: Aws = ctx.aws
        clients = {
            "cognito": a.cognito,
            "iam": a.iam,
            "lambda": a.lambda_,
            "apigw": a.apigw,
            "sts": a.client("sts"),
        }
        for client in clients.values():
            client.meta.events.register(
                "before-parameter-build", lambda model, **_: attempted.append(model.name)
            )
        stubs = {name: Stubber(client) for name, client in clients.items()}
        answers(stubs)
        for s in stubs.values():
            s.activate()
            stubbers.append(s)
        return ctx

    monkeypatch.setattr(commands, "open_stack", open_and_stub)
    return attempted, stubbers


def _stub_lambda_and_api_missing(stubs: dict[str, Stubber], sts: bool) -> None:
    client_error(stubs["iam"], "get_role", "NoSuchEntity", "The role with name test-API-function-role cannot be found.",
                 404, RoleName="test-API-function-role")  # fmt: skip
    client_error(stubs["lambda"], "get_function", "ResourceNotFoundException", f"Function not found: {FUNCTION_ARN}",
                 404, FunctionName=FUNCTION)  # fmt: skip
    stubs["apigw"].add_response("get_rest_apis", {"items": []}, {"limit": 500})
    if sts:
        stubs["sts"].add_response(
            "get_caller_identity",
            {
                "Account": ACCOUNT,
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev",
                "UserId": "AIDAEXAMPLE",
            },
            {},
        )


def test_run_up_stops_on_a_foreign_domain_before_any_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(EXAMPLE.read_text())

    def answers(stubs: dict[str, Stubber]) -> None:
        stubs["cognito"].add_response("list_user_pools", {"UserPools": []}, {"MaxResults": 60})
        stubs["cognito"].add_response(
            "describe_user_pool_domain", FOREIGN_DOMAIN, {"Domain": "test-api-7f3k"}
        )
        _stub_lambda_and_api_missing(stubs, sts=True)

    attempted, stubbers = _stub_stack(monkeypatch, answers)
    ui, out = _ui()
    with pytest.raises(PlanBlocked) as info:
        run_up(Options(config_path=str(path)), ui, dry_run=False, yes=True)
    assert "user_pool_domain test-api-7f3k" in info.value.message
    assert OTHER_POOL in info.value.message and "nothing was changed" in info.value.message
    assert info.value.exit_status == 1
    for s in stubbers:
        s.assert_no_pending_responses()
    assert attempted and all(op.startswith(("Get", "List", "Describe")) for op in attempted), (
        attempted
    )
    assert "blocked" in out.getvalue()


# ---- (g) deletion protection ---------------------------------------------------------------


def test_deletion_protection_blocks_plan_down() -> None:
    cfg = config()
    o = Observed(
        account_id=ACCOUNT,
        pool=observed_pool(DeletionProtection="ACTIVE"),
        client=observed_client(),
    )
    plan = plan_down(cfg, o)
    pool = plan.find("user_pool")
    assert pool is not None and pool.action == "blocked"
    assert POOL_ID in pool.reason and "deletion protection" in pool.reason
    assert "--keep-user-pool" in pool.hint

    kept = plan_down(cfg, o, keep_user_pool=True)
    assert kept.blocked == []
    assert [(c.kind, c.action) for c in kept.changes] == [
        ("user_pool_domain", "skip"), ("app_client", "skip"), ("user_pool", "skip"),
    ]  # fmt: skip

    unprotected = plan_down(cfg, Observed(account_id=ACCOUNT, pool=observed_pool()))
    assert unprotected.blocked == []
    assert unprotected.find("user_pool") == Change(
        "user_pool", "test-userPool", "delete", POOL_ID, reason="3 user(s) will be lost"
    )


def test_run_down_refuses_a_protected_pool_and_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(EXAMPLE.read_text())

    def answers(stubs: dict[str, Stubber]) -> None:
        c = stubs["cognito"]
        c.add_response(
            "list_user_pools",
            {"UserPools": [{"Id": POOL_ID, "Name": "test-userPool"}]},
            {"MaxResults": 60},
        )
        c.add_response(
            "describe_user_pool",
            {"UserPool": observed_pool(DeletionProtection="ACTIVE")},
            {"UserPoolId": POOL_ID},
        )
        c.add_response(
            "list_user_pool_clients",
            {"UserPoolClients": []},
            {"UserPoolId": POOL_ID, "MaxResults": 60},
        )
        # No role to read the account from: discovery asks STS alongside the other parts.
        _stub_lambda_and_api_missing(stubs, sts=True)

    attempted, stubbers = _stub_stack(monkeypatch, answers)
    with pytest.raises(PlanBlocked) as info:
        run_down(Options(config_path=str(path)), _ui()[0], yes=True, keep_user_pool=False)
    assert (
        "deletion protection" in info.value.message and "nothing was deleted" in info.value.message
    )
    for s in stubbers:
        s.assert_no_pending_responses()
    assert all(op.startswith(("Get", "List", "Describe")) for op in attempted), attempted


@pytest.mark.parametrize(
    "message",
    [
        "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.",
        "User pool cannot be deleted. It has a domain configured that should be deleted first.",
    ],
    ids=["deletion-protection", "domain-attached"],
)
def test_delete_user_pool_refusal_names_the_pool(aws: Aws, message: str) -> None:
    with stubbed(aws.cognito) as stub:
        client_error(
            stub, "delete_user_pool", "InvalidParameterException", message, UserPoolId=POOL_ID
        )
        with pytest.raises(AwsError) as info:
            aws.delete_user_pool(POOL_ID)
    assert (
        info.value.message
        == f"delete_user_pool failed for user pool {POOL_ID}: InvalidParameterException: {message}"
    )


def test_apply_down_deletes_the_domain_first_and_surfaces_the_refusal(aws: Aws) -> None:
    o = Observed(account_id=ACCOUNT, pool=observed_pool())
    plan = plan_down(config(), o)
    events: list[tuple[str, str]] = []
    with stubbed(aws.cognito) as stub:
        stub.add_response(
            "delete_user_pool_domain", {}, {"Domain": "test-api-7f3k", "UserPoolId": POOL_ID}
        )
        client_error(stub, "delete_user_pool", "InvalidParameterException",
                     "Deletion protection must be inactivated first.", UserPoolId=POOL_ID)  # fmt: skip
        with pytest.raises(AwsError) as info:
            apply_down(aws, plan, o, on_event=lambda c, state, _: events.append((c.kind, state)))
    assert POOL_ID in info.value.message
    assert events == [
        ("user_pool_domain", "start"), ("user_pool_domain", "done"), ("user_pool", "start"), ("user_pool", "failed"),
    ]  # fmt: skip


# ---- (h) error mapping ---------------------------------------------------------------------

DENIED = "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: {} on resource: *"


def test_access_denied_is_an_aws_error_with_a_hint(aws: Aws) -> None:
    with stubbed(aws.cognito) as stub:
        client_error(stub, "list_user_pools", "AccessDeniedException", DENIED.format("cognito-idp:ListUserPools"),
                     MaxResults=60)  # fmt: skip
        with pytest.raises(AwsError) as info:
            aws.find_user_pools("test-userPool")
    err = info.value
    assert err.message.startswith(
        "list_user_pools failed for user pools: AccessDeniedException: User: "
    )
    assert err.hint is not None and "permission" in err.hint and "cogapi iam-policy" in err.hint
    assert err.exit_status == 1


def test_access_denied_on_a_read_is_not_taken_for_missing(aws: Aws) -> None:
    with stubbed(aws.iam) as stub:
        client_error(
            stub, "get_role", "AccessDenied", DENIED.format("iam:GetRole"), 403, RoleName="r"
        )
        with pytest.raises(AwsError) as info:
            aws.get_role("r")
    assert info.value.hint is not None and "cogapi iam-policy" in info.value.hint


@pytest.mark.parametrize(
    ("client", "op", "code", "call"),
    [
        (
            "cognito",
            "describe_user_pool",
            "ResourceNotFoundException",
            lambda a: a.describe_user_pool(POOL_ID),
        ),
        (
            "cognito",
            "describe_user_pool_client",
            "ResourceNotFoundException",
            lambda a: a.describe_client(POOL_ID, CLIENT_ID),
        ),
        (
            "cognito",
            "describe_user_pool_domain",
            "ResourceNotFoundException",
            lambda a: a.domain_owner("test-api-7f3k"),
        ),
        (
            "lambda_",
            "get_function",
            "ResourceNotFoundException",
            lambda a: a.get_function(FUNCTION),
        ),
        ("iam", "get_role", "NoSuchEntity", lambda a: a.get_role("test-API-function-role")),
        ("apigw", "get_stage", "NotFoundException", lambda a: a.get_stage(API_ID, "test")),
        ("apigw", "get_method", "NotFoundException", lambda a: a.get_method(API_ID, "res1", "GET")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_not_found_on_a_read_is_none(aws: Aws, client: str, op: str, code: str, call: Any) -> None:
    with stubbed(getattr(aws, client)) as stub:
        stub.add_client_error(op, code, "Resource not found", 404)
        assert call(aws) is None


def test_missing_policy_reads_as_no_statements(aws: Aws) -> None:
    with stubbed(aws.lambda_) as stub:
        client_error(stub, "get_policy", "ResourceNotFoundException", "No policy is associated with the given resource.",
                     404, FunctionName=FUNCTION)  # fmt: skip
        assert aws.get_policy_statements(FUNCTION) == []


def test_throttling_beyond_retries_has_a_hint(aws: Aws) -> None:
    with stubbed(aws.apigw) as stub:
        client_error(stub, "create_deployment", "TooManyRequestsException", "Too Many Requests", 429,
                     restApiId=API_ID, description="d")  # fmt: skip
        with pytest.raises(AwsError) as info:
            aws.create_deployment(API_ID, "d")
    assert info.value.hint is not None and "throttled" in info.value.hint


# ---- (i) throttling: botocore's standard retries with a high attempt count ------------------


def _retries(client: Any) -> tuple[str, int]:
    """(mode, retries after the first try) of a client's botocore config."""
    retries = client.meta.config.retries
    # botocore stores Config(retries={"max_attempts": n}) as total_max_attempts = n + 1.
    total = retries.get("total_max_attempts", retries.get("max_attempts", 0) + 1)
    return retries["mode"], total - 1


def test_api_gateway_retries_throttling_patiently(aws: Aws) -> None:
    # CreateDeployment is limited to 1 per 5 s and DeleteRestApi to 1 per 30 s per account:
    # standard mode retries TooManyRequestsException with backoff; legacy mode does not.
    mode, retries = _retries(aws.apigw)
    assert mode == "standard"
    assert retries >= 5


@pytest.mark.parametrize("client", ["cognito", "lambda_", "iam"])
def test_other_clients_use_standard_retries(aws: Aws, client: str) -> None:
    mode, retries = _retries(getattr(aws, client))
    assert mode == "standard"
    assert retries > 2  # more than botocore's standard default


def test_permission_on_a_function_this_run_created_is_added_without_a_check(aws: Aws) -> None:
    o = Observed(account_id=ACCOUNT, api={"id": API_ID})  # no function before this run
    with stubbed(aws.lambda_) as stub:  # no get_policy: a new function has no policy
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        Executor(aws, desired(), o).apply(Plan([Change("lambda_permission", PERMISSION, "create")]))


PENDING = (
    "The operation cannot be performed at this time. The function is currently in the following "
    "state: Pending"
)


def test_permission_while_the_new_function_is_pending_waits_and_retries(
    aws: Aws, waits: Waits
) -> None:
    # The permission goes on right after CreateFunction, not after Pending -> Active: should
    # Lambda refuse it as busy, the facade waits for Active and adds it again.
    o = Observed(account_id=ACCOUNT, api={"id": API_ID})
    with stubbed(aws.lambda_) as stub:
        client_error(stub, "add_permission", "ResourceConflictException", PENDING, 409,
                     **ADD_PERMISSION)  # fmt: skip
        _state(stub, "Pending")
        _state(stub, "Active")
        stub.add_response("add_permission", {"Statement": "{}"}, ADD_PERMISSION)
        Executor(aws, desired(), o).apply(Plan([Change("lambda_permission", PERMISSION, "create")]))
    assert any("busy" in m for m in waits.messages), waits.messages


def test_permission_duplicate_statement_is_not_retried(aws: Aws, waits: Waits) -> None:
    duplicate = (
        f"The statement id ({SID}) provided already exists. Please provide a new statement id, "
        "or remove the existing statement."
    )
    with stubbed(aws.lambda_) as stub:
        client_error(stub, "add_permission", "ResourceConflictException", duplicate, 409,
                     **ADD_PERMISSION)  # fmt: skip
        with pytest.raises(AwsError) as info:
            aws.add_permission(FUNCTION, SID, SOURCE_ARN, check=False)
    assert "already exists" in info.value.message
    assert waits.sleeps == [] and waits.messages == []


def test_permission_still_busy_after_every_retry_fails(aws: Aws, waits: Waits) -> None:
    with stubbed(aws.lambda_) as stub:
        for attempt in range(4):
            client_error(stub, "add_permission", "ResourceConflictException", PENDING, 409,
                         **ADD_PERMISSION)  # fmt: skip
            if attempt < 3:
                _state(stub, "Active")
        with pytest.raises(AwsError) as info:
            aws.add_permission(FUNCTION, SID, SOURCE_ARN, check=False)
    assert "ResourceConflictException" in info.value.message
    assert len([m for m in waits.messages if "busy" in m]) == 3


def test_a_user_whose_password_aws_refuses_is_not_left_behind(aws: Aws) -> None:
    # the deployed pool's policy can be stricter than the config's (drift, a policy changed by
    # hand): AdminSetUserPassword refuses, and the user AdminCreateUser just made goes again
    with stubbed(aws.cognito) as stub:
        stub.add_response("admin_create_user", {"User": {"Username": "bob@example.com"}}, {
            "UserPoolId": POOL_ID, "Username": "bob@example.com", "MessageAction": "SUPPRESS",
            "UserAttributes": [{"Name": "email", "Value": "bob@example.com"}]})  # fmt: skip
        client_error(
            stub, "admin_set_user_password", "InvalidPasswordException",
            "Password did not conform with policy: Password not long enough",
            UserPoolId=POOL_ID, Username="bob@example.com", Password="Short-1!", Permanent=True,
        )  # fmt: skip
        stub.add_response(
            "admin_delete_user", {}, {"UserPoolId": POOL_ID, "Username": "bob@example.com"}
        )
        with pytest.raises(AwsError, match="InvalidPasswordException"):
            aws.create_confirmed_user(
                POOL_ID, "bob@example.com", "Short-1!", {"email": "bob@example.com"}
            )
