"""PutRestApi with an OpenAPI 3.0 document, as AWS applies it, on moto patched by apigw_import."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from openapi_doc import body, document

from cogapi.local import apigw_import

REGION = "us-east-1"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{REGION}_Abc"
FN_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:fn"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN_ARN}/invocations"


def doc(**kw: Any) -> dict[str, Any]:
    return document(title="shop", region=REGION, pool_arn=POOL_ARN, function_arn=FN_ARN, **kw)


@pytest.fixture
def apigw() -> Iterator[Any]:
    with mock_aws():
        apigw_import.install()
        yield boto3.client("apigateway", region_name=REGION)


@pytest.fixture
def api_id(apigw: Any) -> str:
    api = apigw.create_rest_api(name="shop")
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=body(doc()))
    return str(api["id"])


def methods(apigw: Any, api_id: str) -> dict[str, dict[str, Any]]:
    """{"GET /items": method, ...} from one GetResources with embedded methods."""
    items = apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]
    return {f"{m} {r['path']}": v for r in items for m, v in r.get("resourceMethods", {}).items()}


def test_install_is_idempotent() -> None:
    from moto.apigateway.models import APIGatewayBackend

    apigw_import.install()
    patched = APIGatewayBackend.put_rest_api
    apigw_import.install()
    assert APIGatewayBackend.put_rest_api is patched


def test_security_scheme_becomes_a_cognito_authorizer(apigw: Any, api_id: str) -> None:
    [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["name"] == "cognito"
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [POOL_ARN]
    # the header named by the scheme, and API Gateway's default TTL
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 300


def test_method_security_sets_authorizer_and_scopes(apigw: Any, api_id: str) -> None:
    authorizer_id = apigw.get_authorizers(restApiId=api_id)["items"][0]["id"]
    found = methods(apigw, api_id)
    assert set(found) == {
        "GET /items",
        "OPTIONS /items",
        "GET /items/{id}",
        "POST /items/{id}",
        "OPTIONS /items/{id}",
        "GET /me",
        "OPTIONS /me",
        "ANY /files/{proxy+}",
        "OPTIONS /files/{proxy+}",
    }
    for key in ("GET /items", "GET /items/{id}", "POST /items/{id}"):
        assert found[key]["authorizationType"] == "COGNITO_USER_POOLS", key
        assert found[key]["authorizerId"] == authorizer_id
        assert found[key]["authorizationScopes"] == ["email"]
    # no `security` on the operation: the document's top-level one, with no scopes
    me = found["GET /me"]
    assert me["authorizationType"] == "COGNITO_USER_POOLS" and me["authorizerId"] == authorizer_id
    assert not me.get("authorizationScopes")
    # `security: []` is no authorizer (the preflight must never meet it)
    for key in ("OPTIONS /items", "ANY /files/{proxy+}"):
        assert found[key]["authorizationType"] == "NONE", key
        assert not found[key].get("authorizerId")


def test_proxy_integration_is_reported_as_aws_reports_it(apigw: Any, api_id: str) -> None:
    integ = methods(apigw, api_id)["GET /items/{id}"]["methodIntegration"]
    assert integ["type"] == "AWS_PROXY"
    assert integ["uri"] == URI and integ["httpMethod"] == "POST"
    assert integ["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert integ["timeoutInMillis"] == 29000
    got = apigw.get_integration(
        restApiId=api_id,
        httpMethod="GET",
        resourceId=next(
            r["id"]
            for r in apigw.get_resources(restApiId=api_id)["items"]
            if r["path"] == "/items/{id}"
        ),
    )
    assert got["type"] == "AWS_PROXY"


def test_mock_integration_and_its_responses(apigw: Any, api_id: str) -> None:
    method = methods(apigw, api_id)["OPTIONS /items/{id}"]
    integ = method["methodIntegration"]
    assert integ["type"] == "MOCK"
    assert "uri" not in integ and "httpMethod" not in integ
    assert integ["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
    response = integ["integrationResponses"]["200"]
    assert "selectionPattern" not in response  # `default`
    assert response["responseParameters"] == {
        "method.response.header.Access-Control-Allow-Origin": "'http://localhost:8000'",
        "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
        "method.response.header.Access-Control-Allow-Headers": "'Authorization,Content-Type'",
        "method.response.header.Access-Control-Max-Age": "'600'",
    }
    declared = method["methodResponses"]["200"]
    assert declared["responseParameters"] == {
        f"method.response.header.{h}": False
        for h in (
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Max-Age",
        )
    }
    assert declared["responseModels"] == {"application/json": "Empty"}


def test_parameters_become_request_parameters(apigw: Any, api_id: str) -> None:
    found = methods(apigw, api_id)
    assert found["GET /items/{id}"]["requestParameters"] == {"method.request.path.id": True}
    assert found["GET /items/{id}"]["operationName"] == "getItem"
    assert found["POST /items/{id}"]["requestParameters"] == {
        "method.request.path.id": True,
        "method.request.querystring.dry": False,
    }


def test_gateway_responses_are_reported_and_defaults_fill_the_rest(apigw: Any, api_id: str) -> None:
    four = apigw.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    assert four["defaultResponse"] is False
    assert (
        four["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        == "'http://localhost:8000'"
    )
    listed = {r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert set(listed) == set(apigw_import.GATEWAY_RESPONSE_STATUS)
    assert listed["DEFAULT_5XX"]["defaultResponse"] is False
    assert listed["UNAUTHORIZED"]["defaultResponse"] is True
    assert listed["UNAUTHORIZED"]["statusCode"] == "401"
    assert "statusCode" not in apigw.get_gateway_response(
        restApiId=api_id, responseType="DEFAULT_4XX"
    )


def test_overwrite_replaces_the_definition_and_keeps_ids_of_kept_paths(
    apigw: Any, api_id: str
) -> None:
    before = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    authorizer_id = apigw.get_authorizers(restApiId=api_id)["items"][0]["id"]
    second = doc(origin="https://app.example.com")
    del second["paths"]["/items/{id}"]
    second["paths"]["/items"]["get"]["security"] = [{"cognito": ["openid", "email"]}]
    del second["x-amazon-apigateway-gateway-responses"]["DEFAULT_5XX"]
    second["info"]["title"] = "shop-v2"
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(second))

    after = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert "/items/{id}" not in after
    assert after["/"] == before["/"] and after["/items"] == before["/items"]
    assert apigw.get_rest_api(restApiId=api_id)["name"] == "shop-v2"
    [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["id"] == authorizer_id
    found = methods(apigw, api_id)
    assert found["GET /items"]["authorizationScopes"] == ["openid", "email"]
    assert "GET /items/{id}" not in found
    five = apigw.get_gateway_response(restApiId=api_id, responseType="DEFAULT_5XX")
    assert five["defaultResponse"] is True and not five.get("responseParameters")


def test_overwrite_without_schemes_drops_the_authorizers(apigw: Any, api_id: str) -> None:
    bare = doc()
    del bare["components"]["securitySchemes"]
    del bare["security"]
    for item in bare["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(bare))
    assert apigw.get_authorizers(restApiId=api_id)["items"] == []
    assert {m["authorizationType"] for m in methods(apigw, api_id).values()} == {"NONE"}


def test_merge_replaces_named_methods_and_keeps_the_rest(apigw: Any, api_id: str) -> None:
    part = {
        "openapi": "3.0.1",
        "info": {"title": "ignored in merge", "version": "1"},
        "paths": {
            "/items": {"get": copy.deepcopy(doc()["paths"]["/me"]["get"])},
            "/new": {"put": copy.deepcopy(doc()["paths"]["/me"]["get"])},
        },
    }
    part["paths"]["/items"]["get"]["security"] = []
    part["paths"]["/new"]["put"]["security"] = []
    apigw.put_rest_api(restApiId=api_id, mode="merge", body=body(part))
    found = methods(apigw, api_id)
    assert found["GET /items"]["authorizationType"] == "NONE"
    assert found["PUT /new"]["methodIntegration"]["type"] == "AWS_PROXY"
    assert found["GET /items/{id}"]["authorizationType"] == "COGNITO_USER_POOLS"
    assert len(apigw.get_authorizers(restApiId=api_id)["items"]) == 1
    assert apigw.get_rest_api(restApiId=api_id)["name"] == "shop"
    assert (
        len([r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/items"])
        == 1
    )


def test_a_bad_document_changes_nothing(apigw: Any, api_id: str) -> None:
    before = methods(apigw, api_id)
    broken = doc()
    broken["paths"]["/items"]["get"]["security"] = [{"nobody": []}]
    del broken["paths"]["/me"]
    with pytest.raises(ClientError) as info:
        apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(broken))
    assert info.value.response["Error"]["Code"] == "BadRequestException"
    assert "nobody" in info.value.response["Error"]["Message"]
    assert methods(apigw, api_id) == before


def test_a_failure_while_applying_restores_the_api(apigw: Any, api_id: str) -> None:
    before = methods(apigw, api_id)
    broken = doc()
    broken["paths"]["/me"]["get"]["x-amazon-apigateway-integration"]["uri"] = "not-an-arn"
    with pytest.raises(ClientError):
        apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=body(broken))
    assert methods(apigw, api_id) == before


def test_import_rest_api_applies_the_same_semantics(apigw: Any) -> None:
    api = apigw.import_rest_api(body=body(doc()))
    assert api["name"] == "shop"
    found = methods(apigw, api["id"])
    assert found["GET /items"]["authorizationScopes"] == ["email"]
    assert found["OPTIONS /me"]["methodIntegration"]["type"] == "MOCK"


def test_aws_answer_for_get_resources_has_the_fields_ours_has(apigw: Any, api_id: str) -> None:
    """AWS's documented GetResources answer for an imported method (embed=methods) parses into
    the same fields discovery reads from ours."""
    ours = methods(apigw, api_id)["GET /items"]
    aws = boto3.client("apigateway", region_name=REGION)
    aws_method = {
        "httpMethod": "GET",
        "authorizationType": "COGNITO_USER_POOLS",
        "authorizerId": "abc123",
        "authorizationScopes": ["email"],
        "apiKeyRequired": False,
        "methodResponses": {"200": {"statusCode": "200"}},
        "methodIntegration": {
            "type": "AWS_PROXY",
            "httpMethod": "POST",
            "uri": URI,
            "passthroughBehavior": "WHEN_NO_MATCH",
            "timeoutInMillis": 29000,
            "cacheNamespace": "r1",
            "cacheKeyParameters": [],
        },
    }
    with Stubber(aws) as stub:
        stub.add_response(
            "get_resources",
            {
                "items": [
                    {
                        "id": "r1",
                        "parentId": "r0",
                        "pathPart": "items",
                        "path": "/items",
                        "resourceMethods": {"GET": aws_method},
                    }
                ]
            },
            {"restApiId": api_id, "embed": ["methods"]},
        )
        theirs = aws.get_resources(restApiId=api_id, embed=["methods"])["items"][0]
    read = ("authorizationType", "authorizationScopes", "httpMethod")
    assert {k: theirs["resourceMethods"]["GET"][k] for k in read} == {k: ours[k] for k in read}
    integration_fields = ("type", "httpMethod", "uri", "passthroughBehavior", "timeoutInMillis")
    assert {k: ours["methodIntegration"][k] for k in integration_fields} == {
        k: theirs["resourceMethods"]["GET"]["methodIntegration"][k] for k in integration_fields
    }
    assert isinstance(ours["authorizerId"], str) and ours["authorizerId"]


def test_swagger_2_document_as_chalice_sends_it(apigw: Any) -> None:
    swagger = {
        "swagger": "2.0",
        "info": {"version": "1.0", "title": "chalice-app"},
        "schemes": ["https"],
        "produces": ["application/json"],
        "paths": {
            "/hello": {
                "get": {
                    "consumes": ["application/json"],
                    "produces": ["application/json"],
                    "responses": {
                        "200": {
                            "description": "200 response",
                            "schema": {"$ref": "#/definitions/Empty"},
                        }
                    },
                    "x-amazon-apigateway-integration": {
                        "responses": {"default": {"statusCode": "200"}},
                        "uri": URI,
                        "passthroughBehavior": "when_no_match",
                        "httpMethod": "POST",
                        "contentHandling": "CONVERT_TO_TEXT",
                        "type": "aws_proxy",
                    },
                    "security": [{"pool": ["email"]}],
                }
            }
        },
        "definitions": {"Empty": {"type": "object", "title": "Empty Schema"}},
        "securityDefinitions": {
            "pool": {
                "in": "header",
                "type": "apiKey",
                "name": "Authorization",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": [POOL_ARN],
                },
            }
        },
    }
    api = apigw.import_rest_api(body=body(swagger))  # no info.description, as Chalice sends
    [authorizer] = apigw.get_authorizers(restApiId=api["id"])["items"]
    method = methods(apigw, api["id"])["GET /hello"]
    assert method["authorizationType"] == "COGNITO_USER_POOLS"
    assert method["authorizerId"] == authorizer["id"]
    assert method["authorizationScopes"] == ["email"]
    assert method["methodResponses"]["200"]["responseModels"] == {"application/json": "Empty"}
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=body(swagger))
    assert apigw.get_authorizers(restApiId=api["id"])["items"] == [authorizer]
