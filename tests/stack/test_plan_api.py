"""The REST API's plan rows: per route, in the config's terms, from what discovery read."""

from __future__ import annotations

from typing import Any

from cogapi.stack.discover import Observed
from cogapi.stack.models import DesiredStack
from cogapi.stack.openapi import fingerprint
from cogapi.stack.planner import FINGERPRINT_PREFIX, Change, FieldChange, Plan, plan_up
from tests.stack.test_openapi import ACCOUNT, POOL_ARN, URI, desired

POOL_ID = POOL_ARN.rsplit("/", 1)[1]
API_ID = "api123"
AUTH_ID = "az1"


def method(verb: str, scopes: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    """A method as GetResources(embed=methods) returns it after cogapi's document."""
    out: dict[str, Any] = {
        "httpMethod": verb,
        "authorizationType": "COGNITO_USER_POOLS",
        "authorizerId": AUTH_ID,
        "methodIntegration": {"type": "AWS_PROXY", "httpMethod": "POST", "uri": URI},
    }
    if scopes:
        out["authorizationScopes"] = scopes
    out.update(changes)
    return out


def preflight(origin: str, methods: str, **extra: str) -> dict[str, Any]:
    params = {
        "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
        "method.response.header.Access-Control-Allow-Methods": f"'{methods}'",
        "method.response.header.Access-Control-Allow-Headers": "'Authorization,Content-Type'",
        "method.response.header.Access-Control-Max-Age": "'600'",
        **{f"method.response.header.{k}": f"'{v}'" for k, v in extra.items()},
    }
    return {
        "httpMethod": "OPTIONS",
        "authorizationType": "NONE",
        "methodIntegration": {
            "type": "MOCK",
            "integrationResponses": {"200": {"statusCode": "200", "responseParameters": params}},
        },
    }


def observed(
    d: DesiredStack,
    resources: dict[str, dict[str, Any]],
    ttl: int = 300,
    stage_fp: str | None = None,
) -> Observed:
    res = {"/": {"id": "root", "path": "/"}}
    for i, (path, methods) in enumerate(sorted(resources.items())):
        res[path] = {"id": f"r{i}", "path": path, "resourceMethods": methods}
    fp = stage_fp or FINGERPRINT_PREFIX + fingerprint(d, POOL_ARN)
    return Observed(
        account_id=ACCOUNT,
        pool={"Id": POOL_ID, "Arn": POOL_ARN},
        api={"id": API_ID, "endpointConfiguration": {"types": ["REGIONAL"]}},
        resources=res,
        authorizers=[
            {
                "id": AUTH_ID,
                "name": "test-Authorizer",
                "type": "COGNITO_USER_POOLS",
                "providerARNs": [POOL_ARN],
                "identitySource": "method.request.header.Authorization",
                "authorizerResultTtlInSeconds": ttl,
            }
        ],  # fmt: skip
        stage={"description": fp, "tags": dict(d.stage_tags)},
    )


def api_rows(plan: Plan) -> dict[tuple[str, str], Change]:
    kinds = ("authorizer", "api_method", "api_resource", "api_document", "stage")
    return {c.key: c for c in plan.changes if c.kind in kinds}


ROUTES = [
    {"path": "/items", "method": "GET", "scopes": ["email"]},
    {"path": "/items/{id}", "method": "DELETE", "scopes": []},
]
CORS = {"allow_origins": ["https://app.example.com"]}


def test_in_sync_api_is_all_ok() -> None:
    d = desired(routes=ROUTES, cors=CORS)
    o = observed(d, {
        "/items": {"GET": method("GET", ["email"]), "OPTIONS": preflight("https://app.example.com", "GET,OPTIONS")},
        "/items/{id}": {"DELETE": method("DELETE"), "OPTIONS": preflight("https://app.example.com", "DELETE,OPTIONS")},
    })  # fmt: skip
    rows = api_rows(plan_up(d, o))
    assert {k: c.action for k, c in rows.items()} == {
        ("authorizer", "test-Authorizer"): "ok",
        ("api_method", "GET /items"): "ok",
        ("api_method", "DELETE /items/{id}"): "ok",
        ("api_method", "OPTIONS /items"): "ok",
        ("api_method", "OPTIONS /items/{id}"): "ok",
        ("api_document", "test-API"): "ok",
        ("stage", "test"): "ok",
    }


def test_changes_are_said_in_the_configs_terms() -> None:
    d = desired(routes=[{**ROUTES[0], "scopes": ["email", "openid"]}, ROUTES[1]],
                authorizer={"name": "test-Authorizer", "result_ttl_s": 60})  # fmt: skip
    o = observed(d, {
        "/items": {"GET": method("GET", ["email"])},
        "/items/{id}": {"DELETE": method("DELETE", authorizationType="NONE", authorizerId=None)},
        "/old": {"POST": method("POST")},
    }, stage_fp="cogapi:old")  # fmt: skip
    rows = api_rows(plan_up(d, o))
    assert rows[("authorizer", "test-Authorizer")].action == "update"  # in place, no replace
    assert rows[("authorizer", "test-Authorizer")].fields == (FieldChange("result_ttl_s", 300, 60),)
    get = rows[("api_method", "GET /items")]
    assert (get.action, get.fields) == (
        "update",
        (FieldChange("scopes", ["email"], ["email", "openid"]),),
    )
    delete = rows[("api_method", "DELETE /items/{id}")]
    assert delete.fields == (FieldChange("authorizer", False, True),)
    assert rows[("api_method", "POST /old")].action == "delete"
    assert rows[("api_document", "test-API")].action == "update"
    assert rows[("stage", "test")].fields[0].field == "deployment"
    for c in rows.values():  # never an AWS field name, never an id
        for f in c.fields:
            assert f.field in ("result_ttl_s", "scopes", "authorizer", "deployment"), f


def test_a_method_on_another_authorizer_names_it() -> None:
    d = desired(routes=ROUTES[:1])
    o = observed(d, {"/items": {"GET": method("GET", ["email"], authorizerId="other")}})
    o.authorizers.append({"id": "other", "name": "their-authorizer"})
    rows = api_rows(plan_up(d, o))
    assert rows[("api_method", "GET /items")].fields == (
        FieldChange("authorizer", "their-authorizer", True),
    )
    assert rows[("authorizer", "their-authorizer")].action == "delete"


def test_integration_and_function_are_compared_by_name() -> None:
    d = desired(routes=[{**ROUTES[0], "integration": "lambda"}])
    other_uri = URI.replace("test-API-function", "someone-else")
    o = observed(d, {"/items": {"GET": method("GET", ["email"], methodIntegration={
        "type": "aws_proxy", "uri": other_uri})}})  # fmt: skip
    fields = api_rows(plan_up(d, o))[("api_method", "GET /items")].fields
    assert fields == (
        FieldChange("integration", "proxy", "lambda"),
        FieldChange("function", "someone-else", "test-API-function"),
        FieldChange("request_template", None, "cogapi's"),
    )


def test_cors_edits_show_on_the_preflight_rows() -> None:
    d = desired(routes=ROUTES[:1], cors={"allow_origins": ["https://a.example", "https://b.example"],
                                         "allow_credentials": True})  # fmt: skip
    o = observed(d, {"/items": {"GET": method("GET", ["email"]),
                                "OPTIONS": preflight("https://a.example", "GET,OPTIONS")}})  # fmt: skip
    row = api_rows(plan_up(d, o))[("api_method", "OPTIONS /items")]
    assert row.action == "update"
    assert row.fields == (
        FieldChange("allow_origins", ["https://a.example"], ["https://a.example", "https://b.example"]),
        FieldChange("allow_credentials", False, True),
    )  # fmt: skip


def test_cors_switched_off_deletes_the_preflights() -> None:
    d = desired(routes=ROUTES[:1])
    o = observed(d, {"/items": {"GET": method("GET", ["email"]),
                                "OPTIONS": preflight("https://a.example", "GET,OPTIONS")}})  # fmt: skip
    rows = api_rows(plan_up(d, o))
    assert rows[("api_method", "OPTIONS /items")].action == "delete"
    assert rows[("api_document", "test-API")].action == "update"


def test_a_stage_serving_another_document_is_re_put_and_redeployed() -> None:
    # A run killed between PutRestApi and the deployment: every row matches, the stage does not.
    d = desired(routes=ROUTES[:1])
    o = observed(d, {"/items": {"GET": method("GET", ["email"])}}, stage_fp="cogapi:before")
    rows = api_rows(plan_up(d, o))
    assert rows[("api_method", "GET /items")].action == "ok"
    assert rows[("api_document", "test-API")].action == "update"
    assert rows[("stage", "test")].action == "update"
