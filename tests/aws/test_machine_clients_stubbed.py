"""Stubber tests for resource servers and machine clients: the requests as AWS must get them.

`UpdateResourceServer` replaces the name and the whole scope list, and `UpdateUserPoolClient`
resets whatever it is not sent, so each request is written out here by hand and compared in full
(a key too many or too few fails). moto cannot show either: it lacks UpdateResourceServer and
merges client updates.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from cogapi.aws import Aws
from cogapi.stack.discover import Observed
from cogapi.stack.executor import Executor
from cogapi.stack.planner import Change, Plan, plan_up
from tests.aws.test_aws_stubbed import (
    ACCOUNT,
    FULL_POOL_UPDATE,
    POOL_ID,
    REGION,
    config,
    desired,
    log_params,
    observed_client,
    observed_pool,
    stubbed,
)

MACHINE_ID = "2machine3456789abcdefghijk"
SERVER = {
    "identifier": "orders",
    "name": "Orders API",
    "scopes": [
        {"name": "read", "description": "Read orders"},
        {"name": "write", "description": "Change orders"},
    ],
}
FULL_SERVER: dict[str, Any] = {
    "UserPoolId": POOL_ID,
    "Identifier": "orders",
    "Name": "Orders API",
    "Scopes": [
        {"ScopeName": "read", "ScopeDescription": "Read orders"},
        {"ScopeName": "write", "ScopeDescription": "Change orders"},
    ],
}
# Every setting of the machine client, by hand: a secret (at creation), client_credentials
# only, custom scopes only, the OAuth switch on (the SDK default is off), no callback URLs.
MACHINE_SETTINGS: dict[str, Any] = {
    "ClientName": "reporting",
    "AccessTokenValidity": 15,
    "IdTokenValidity": 60,
    "RefreshTokenValidity": 43200,
    "TokenValidityUnits": {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "minutes",
    },
    "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
    "AllowedOAuthFlows": ["client_credentials"],
    "AllowedOAuthScopes": ["orders/read", "orders/write"],
    "AllowedOAuthFlowsUserPoolClient": True,
    "PreventUserExistenceErrors": "ENABLED",
    "EnableTokenRevocation": True,
}


@pytest.fixture
def aws() -> Aws:
    return Aws(boto3.Session(region_name=REGION), REGION, sleep=lambda s: None)


def machine_config() -> Any:
    return config(
        resource_servers=[SERVER],
        machine_clients=[{
            "name": "reporting", "scopes": ["orders/write", "orders/read"],
            "token_validity": {"access": "15m"},
        }],
        api={"routes": [{"path": "/orders", "scopes": ["orders/read"]}]},
    )  # fmt: skip


def observed(**extra: Any) -> Observed:
    return Observed(account_id=ACCOUNT, pool=observed_pool(), client=observed_client(), **extra)


def machine_answer(**changes: Any) -> dict[str, Any]:
    answer = {
        **MACHINE_SETTINGS,
        "UserPoolId": POOL_ID,
        "ClientId": MACHINE_ID,
        "ClientSecret": "s3cr3t-never-printed-0123456789",
    }
    answer.update(changes)
    return answer


def test_resource_server_update_sends_the_whole_scope_list(aws: Aws) -> None:
    d = desired(machine_config())
    seen = {**FULL_SERVER, "Scopes": FULL_SERVER["Scopes"][:1]}  # "write" was removed by hand
    o = observed(resource_servers={"orders": seen}, machine_clients={"reporting": machine_answer()})
    plan = plan_up(d, o)
    change = plan.find("resource_server", "orders")
    assert change is not None and change.action == "update"
    assert [f.field for f in change.fields] == ["scopes"]
    assert plan.find("app_client", "reporting") == Change(
        "app_client", "reporting", "ok", MACHINE_ID
    )
    sent = log_params(aws.cognito)
    with stubbed(aws.cognito) as stub:
        # One scope drifted, but every scope goes: the update replaces the list.
        stub.add_response("update_resource_server", {"ResourceServer": FULL_SERVER}, FULL_SERVER)
        Executor(aws, d, o).apply(Plan([change]))
    assert [op for op, _ in sent] == ["UpdateResourceServer"]


def test_machine_client_create_sends_a_secret_and_client_credentials_only(aws: Aws) -> None:
    d = desired(machine_config())
    o = observed(resource_servers={"orders": FULL_SERVER})
    change = plan_up(d, o).find("app_client", "reporting")
    assert change == Change("app_client", "reporting", "create")
    with stubbed(aws.cognito) as stub:
        stub.add_response(
            "create_user_pool_client",
            {"UserPoolClient": machine_answer()},
            {"UserPoolId": POOL_ID, "GenerateSecret": True, **MACHINE_SETTINGS},
        )
        ids = Executor(aws, d, o).apply(Plan([change]))
    assert ids["machine_client:reporting"] == MACHINE_ID
    assert "s3cr3t-never-printed-0123456789" not in repr(ids)


def test_machine_client_update_sends_the_full_settings(aws: Aws) -> None:
    d = desired(machine_config())
    drifted = machine_answer(AllowedOAuthScopes=["orders/read"], AccessTokenValidity=60)
    o = observed(resource_servers={"orders": FULL_SERVER}, machine_clients={"reporting": drifted})
    plan = plan_up(d, o)
    change = plan.find("app_client", "reporting")
    assert change is not None and change.action == "update"
    assert {f.field for f in change.fields} == {"access_token_minutes", "oauth_scopes"}
    assert "s3cr3t" not in repr(plan.to_json())
    with stubbed(aws.cognito) as stub:
        stub.add_response(
            "update_user_pool_client",
            {"UserPoolClient": machine_answer()},
            {"UserPoolId": POOL_ID, "ClientId": MACHINE_ID, **MACHINE_SETTINGS},
        )
        Executor(aws, d, o).apply(Plan([change]))


def test_a_machine_client_without_a_secret_blocks_the_plan() -> None:
    d = desired(machine_config())
    public = {k: v for k, v in machine_answer().items() if k != "ClientSecret"}
    o = observed(resource_servers={"orders": FULL_SERVER}, machine_clients={"reporting": public})
    change = plan_up(d, o).find("app_client", "reporting")
    assert change is not None and change.action == "blocked"
    assert "fixed when a client is created" in change.reason


def test_resource_server_delete_and_list(aws: Aws) -> None:
    with stubbed(aws.cognito) as stub:
        stub.add_response(
            "list_resource_servers",
            {"ResourceServers": [FULL_SERVER], "NextToken": "page2"},
            {"UserPoolId": POOL_ID, "MaxResults": 50},
        )
        stub.add_response(
            "list_resource_servers",
            {"ResourceServers": []},
            {"UserPoolId": POOL_ID, "MaxResults": 50, "NextToken": "page2"},
        )
        stub.add_client_error(
            "delete_resource_server", "ResourceNotFoundException", "gone", 400,
            expected_params={"UserPoolId": POOL_ID, "Identifier": "orders"},
        )  # fmt: skip
        assert aws.list_resource_servers(POOL_ID) == [FULL_SERVER]
        aws.delete_resource_server(POOL_ID, "orders")  # already gone: done


def test_a_made_client_is_then_recorded_in_the_pool_s_full_settings(aws: Aws) -> None:
    d = desired(machine_config())
    o = observed(resource_servers={"orders": FULL_SERVER})
    plan = plan_up(d, o)
    record = plan.find("user_pool_tag")
    assert record is not None and record.action == "create"
    made = plan.find("app_client", "reporting")
    assert made is not None and made.action == "create"
    sent = log_params(aws.cognito)
    with stubbed(aws.cognito) as stub:
        stub.add_response(
            "create_user_pool_client",
            {"UserPoolClient": machine_answer()},
            {"UserPoolId": POOL_ID, "GenerateSecret": True, **MACHINE_SETTINGS},
        )
        # UpdateUserPool resets what it is not sent: the record goes with every setting.
        tags = {**FULL_POOL_UPDATE["UserPoolTags"], "cogapi:machine-clients": "reporting"}
        stub.add_response("update_user_pool", {}, {**FULL_POOL_UPDATE, "UserPoolTags": tags})
        Executor(aws, d, o).apply(Plan([record, made]))
    assert [op for op, _ in sent] == ["CreateUserPoolClient", "UpdateUserPool"]


def test_a_pool_update_resends_the_record_as_it_is(aws: Aws) -> None:
    d = desired(machine_config())
    tags = {**observed_pool()["UserPoolTags"], "cogapi:machine-clients": "old:one/reporting"}
    o = observed(
        resource_servers={"orders": FULL_SERVER}, machine_clients={"reporting": machine_answer()}
    )
    o.pool = observed_pool(UserPoolTags=tags, AutoVerifiedAttributes=[])
    plan = plan_up(d, o)
    change = plan.find("user_pool")
    assert change is not None and [f.field for f in change.fields] == ["auto_verify"]
    # "old:one" is the client "old,one": cogapi made it and the config dropped it.
    record = plan.find("user_pool_tag")
    assert record is not None and record.fields[0].old == ["old,one", "reporting"]
    with stubbed(aws.cognito) as stub:
        stub.add_response("update_user_pool", {}, {**FULL_POOL_UPDATE, "UserPoolTags": tags})
        Executor(aws, d, o).apply(Plan([change]))
