"""The local data plane serves an API built from one OpenAPI document (PutRestApi through the
LocalServer): CORS preflight by MOCK, gateway responses with their headers, many routes."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import requests
from local_stack import REGION, Stack
from openapi_doc import body, document, lambda_uri
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cogapi.local import urls
from cogapi.local.moto_state import ApiSnapshot, GatewayResponseSpec
from cogapi.local.response_mapping import MappingSource, gateway_answer

ORIGIN = "http://localhost:8000"


def build_api(stack: Stack, doc: dict[str, Any], name: str) -> str:
    apigw = stack.clients["apigateway"]
    api_id = str(apigw.create_rest_api(name=name)["id"])
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(doc))
    for fn in ("echo", "raises"):
        stack.clients["lambda"].add_permission(
            FunctionName=fn,
            StatementId=f"{name}-{fn}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/*",
        )
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    return api_id


def shop_document(stack: Stack, origin: str = ORIGIN) -> dict[str, Any]:
    doc = document(
        title="shop",
        region=REGION,
        pool_arn=stack.pool_arn,
        function_arn=stack.functions["echo"],
        origin=origin,
    )
    doc["paths"]["/boom"] = {
        "get": {
            "security": [],
            "responses": {},
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": lambda_uri(REGION, stack.functions["raises"]),
            },
        }
    }
    return doc


@pytest.fixture(scope="module")
def shop(stack: Stack) -> str:
    return build_api(stack, shop_document(stack), "openapi-shop")


def url(stack: Stack, api_id: str, path: str) -> str:
    return urls.invoke_base(stack.endpoint, api_id, "dev") + path


def cors(r: requests.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def test_preflight_is_answered_by_the_mock_without_the_authorizer(stack: Stack, shop: str) -> None:
    r = requests.options(
        url(stack, shop, "/items/42"),
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert cors(r) == {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
        "Access-Control-Allow-Headers": "Authorization,Content-Type",
        "Access-Control-Max-Age": "600",
    }


def test_cors_values_come_from_the_definition_only(stack: Stack, shop: str) -> None:
    evil = "http://evil.example"
    pre = requests.options(url(stack, shop, "/me"), headers={"Origin": evil})
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN  # never the caller's Origin
    denied = requests.get(url(stack, shop, "/items"), headers={"Origin": evil})
    assert denied.headers["Access-Control-Allow-Origin"] == ORIGIN
    # a route whose answers the definition gives no CORS headers gets none (no wildcard)
    ok = requests.get(url(stack, shop, "/files/a"), headers={"Origin": evil})
    assert ok.status_code == 200 and cors(ok) == {}


def test_401_carries_the_gateway_response_headers(stack: Stack, shop: str) -> None:
    r = requests.get(url(stack, shop, "/items"), headers={"Origin": ORIGIN})
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    assert r.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert cors(r) == {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Headers": "Authorization,Content-Type",
    }
    expired = stack.tokens(issued_at=int(time.time()) - 7200)["access_token"]
    r = requests.get(url(stack, shop, "/items"), headers={"Authorization": expired})
    assert r.status_code == 401 and r.json() == {"message": "The incoming token has expired"}
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_403_413_and_502_carry_them_too(stack: Stack, shop: str) -> None:
    for r in (requests.get(url(stack, shop, "/nope")), requests.put(url(stack, shop, "/items/42"))):
        assert r.status_code == 403 and r.json() == {"message": "Missing Authentication Token"}
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    big = requests.post(url(stack, shop, "/files/x"), data=b"x" * (10 * 1024 * 1024 + 1))
    assert big.status_code == 413 and big.json() == {"message": "Request Too Long"}
    assert big.headers["Access-Control-Allow-Origin"] == ORIGIN
    boom = requests.get(url(stack, shop, "/boom"))
    assert boom.status_code == 502 and boom.json() == {"message": "Internal server error"}
    assert cors(boom) == {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Headers": "Authorization,Content-Type",
    }


def test_routes_path_parameters_and_several_methods_per_path(stack: Stack, shop: str) -> None:
    token = stack.tokens()
    auth = {"Authorization": token["access_token"]}
    got = requests.get(url(stack, shop, "/items/42"), headers=auth)
    assert got.status_code == 200, got.text
    event = got.json()["event"]
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "42"}
    assert event["requestContext"]["authorizer"]["claims"]["token_use"] == "access"
    posted = requests.post(url(stack, shop, "/items/7?dry=1"), headers=auth, data="{}")
    assert posted.status_code == 200 and posted.json()["event"]["httpMethod"] == "POST"
    assert requests.get(url(stack, shop, "/items"), headers=auth).status_code == 200
    # GET /me has no security of its own: the document's default (an ID token, no scopes)
    me = requests.get(url(stack, shop, "/me"), headers={"Authorization": token["id_token"]})
    assert me.status_code == 200
    assert requests.get(url(stack, shop, "/me"), headers=auth).status_code == 401
    for method in ("GET", "PUT", "DELETE"):
        r = requests.request(method, url(stack, shop, "/files/a/b/c.txt"))
        assert r.status_code == 200, (method, r.text)
        assert r.json()["event"]["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_stage_serves_the_deployed_document_until_the_next_deployment(stack: Stack) -> None:
    apigw = stack.clients["apigateway"]
    api_id = build_api(stack, shop_document(stack), "openapi-snapshot")
    changed = shop_document(stack, origin="https://app.example.com")
    changed["paths"]["/items"]["get"]["security"] = []
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(changed))

    assert (
        requests.options(url(stack, api_id, "/items")).headers["Access-Control-Allow-Origin"]
        == ORIGIN
    )
    old = requests.get(url(stack, api_id, "/items"))
    assert old.status_code == 401 and old.headers["Access-Control-Allow-Origin"] == ORIGIN

    apigw.create_deployment(restApiId=api_id, stageName="dev")
    assert (
        requests.options(url(stack, api_id, "/items")).headers["Access-Control-Allow-Origin"]
        == "https://app.example.com"
    )
    assert requests.get(url(stack, api_id, "/items")).status_code == 200
    missing = requests.get(url(stack, api_id, "/nope"))
    assert missing.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


# --- gateway responses, as a function of the API's definition -----------------------------------


def answer(
    status: int,
    error_type: str | None,
    *specs: GatewayResponseSpec,
    headers: dict[str, str] | None = None,
) -> Any:
    api = ApiSnapshot("a1", "123456789012", REGION, "d1", (), (), tuple(specs))
    request = Request(EnvironBuilder(path="/x", headers=headers or {}).get_environ())
    source = MappingSource(request, {"requestId": "r-1", "stage": "dev"})
    return gateway_answer(
        status, "Unauthorized" if status == 401 else "Nope", error_type, api, source
    )


def spec(kind: str, status: str | None = None, **headers: str) -> GatewayResponseSpec:
    return GatewayResponseSpec(
        kind,
        status,
        tuple((f"gatewayresponse.header.{k.replace('_', '-')}", v) for k, v in headers.items()),
        (),
    )


def test_the_specific_type_wins_over_the_default_class() -> None:
    r = answer(
        401,
        "UnauthorizedException",
        spec("DEFAULT_4XX", X_From="'4xx'"),
        spec("UNAUTHORIZED", X_From="'unauthorized'"),
    )
    assert r.status_code == 401 and r.headers["X-From"] == "unauthorized"
    assert r.get_json() == {"message": "Unauthorized"}
    assert r.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    r = answer(
        403,
        "MissingAuthenticationTokenException",
        spec("DEFAULT_4XX", X_From="'4xx'"),
        spec("UNAUTHORIZED", X_From="'unauthorized'"),
    )
    assert r.status_code == 403 and r.headers["X-From"] == "4xx"


def test_each_own_answer_finds_its_type() -> None:
    types = (
        "MISSING_AUTHENTICATION_TOKEN",
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "REQUEST_TOO_LARGE",
        "THROTTLED",
        "INTEGRATION_TIMEOUT",
    )
    specs = [spec(t, X_Type=f"'{t}'") for t in types] + [
        spec("DEFAULT_4XX", X_Type="'DEFAULT_4XX'"),
        spec("DEFAULT_5XX", X_Type="'DEFAULT_5XX'"),
    ]
    for status, error_type, expected in (
        (403, "MissingAuthenticationTokenException", "MISSING_AUTHENTICATION_TOKEN"),
        (401, "UnauthorizedException", "UNAUTHORIZED"),
        (403, "AccessDeniedException", "ACCESS_DENIED"),
        (413, None, "REQUEST_TOO_LARGE"),
        (429, None, "THROTTLED"),
        (504, None, "INTEGRATION_TIMEOUT"),
        (400, None, "DEFAULT_4XX"),
        (502, None, "DEFAULT_5XX"),
        (500, "InternalServerErrorException", "DEFAULT_5XX"),
    ):
        r = answer(status, error_type, *specs)
        assert (r.status_code, r.headers["X-Type"]) == (status, expected)


def test_a_status_on_the_default_class_applies_to_its_types() -> None:
    assert answer(403, None, spec("DEFAULT_4XX", "400")).status_code == 400
    assert (
        answer(403, None, spec("DEFAULT_4XX", "400"), spec("ACCESS_DENIED", "418")).status_code
        == 418
    )
    assert answer(502, None, spec("DEFAULT_4XX", "400")).status_code == 502


def test_without_gateway_responses_no_header_is_added() -> None:
    r = answer(401, "UnauthorizedException", headers={"Origin": "http://a.example"})
    assert r.get_json() == {"message": "Unauthorized"}
    assert not [k for k, _ in r.headers.items() if k.lower().startswith("access-control")]


def test_header_mappings_read_what_the_definition_names() -> None:
    mapped = spec(
        "DEFAULT_4XX",
        Access_Control_Allow_Origin="method.request.header.Origin",
        X_Request="context.requestId",
        X_Nothing="integration.response.header.A",
    )
    r = answer(401, None, mapped, headers={"Origin": "http://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert r.headers["X-Request"] == "r-1" and "X-Nothing" not in r.headers


def test_templates_render_the_error_context() -> None:
    custom = GatewayResponseSpec(
        "UNAUTHORIZED",
        None,
        (),
        (
            (
                "application/json",
                '{"error":$context.error.messageString,'
                '"type":"$context.error.responseType","id":"$context.requestId"}',
            ),
        ),
    )
    r = answer(401, None, copy.deepcopy(custom))
    assert r.get_json() == {"error": "Unauthorized", "type": "UNAUTHORIZED", "id": "r-1"}
