"""The OpenAPI document: its shape pinned against API Gateway's documented extensions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cogapi.config import Config, parse_config
from cogapi.stack.code import package
from cogapi.stack.models import NON_PROXY_TEMPLATE, DesiredStack, desired_stack
from cogapi.stack.openapi import (
    ANY_METHOD,
    api_document,
    document_json,
    fingerprint,
    origin_echo_template,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cogapi" / "config" / "example.yaml"
ACCOUNT = "123456789012"
POOL_ARN = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_abc"
FN_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:test-API-function"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN_ARN}/invocations"
CORS = {"allow_origins": ["https://app.example.com"], "max_age_s": 300}


def config(**api: Any) -> Config:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["api"] = {**raw["api"], **api}
    return parse_config(yaml.safe_dump(raw), "cogapi.yaml", ROOT)


def desired(**api: Any) -> DesiredStack:
    cfg = config(**api)
    return desired_stack(cfg, ACCOUNT, package(None, cfg.function.handler))


def doc(**api: Any) -> dict[str, Any]:
    return api_document(desired(**api), POOL_ARN)


def test_the_example_stack_is_one_proxy_route_behind_the_cognito_authorizer() -> None:
    assert doc() == {
        "openapi": "3.0.1",
        "info": {
            "title": "test-API",
            "description": "Managed by cogapi (stack test)",
            "version": "1.0",
        },
        "paths": {
            "/test-API-resource": {
                "get": {
                    "security": [{"test-Authorizer": ["email"]}],
                    "responses": {"default": {"description": "the function's answer"}},
                    "x-amazon-apigateway-integration": {
                        "type": "aws_proxy",
                        "httpMethod": "POST",
                        "uri": URI,
                        "passthroughBehavior": "when_no_match",
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {
                "test-Authorizer": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [POOL_ARN],
                        "identitySource": "method.request.header.Authorization",
                        "authorizerResultTtlInSeconds": 300,
                    },
                }
            }
        },
    }


def test_token_header_and_ttl_come_from_the_authorizer_config() -> None:
    scheme = doc(authorizer={"name": "a", "token_source": "X-Token", "result_ttl_s": 60})[
        "components"
    ]["securitySchemes"]["a"]
    assert scheme["name"] == "X-Token"
    assert scheme["x-amazon-apigateway-authorizer"]["identitySource"] == (
        "method.request.header.X-Token"
    )
    assert scheme["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"] == 60


ROUTES = [
    {"path": "/items", "method": "GET", "scopes": ["email", "openid"]},
    {"path": "/items", "method": "POST", "scopes": []},
    {"path": "/items/{id}", "method": "ANY", "scopes": ["email"]},
    {"path": "/files/{proxy+}", "method": "GET", "authorizer": False},
    {"path": "/legacy", "method": "PUT", "integration": "lambda"},
]


def test_methods_paths_parameters_scopes_and_integrations() -> None:
    d = doc(routes=ROUTES)
    paths = d["paths"]
    assert list(paths) == ["/files/{proxy+}", "/items", "/items/{id}", "/legacy"]
    assert sorted(paths["/items"]) == ["get", "post"]
    assert paths["/items"]["get"]["security"] == [{"test-Authorizer": ["email", "openid"]}]
    # No scopes: the authorizer still runs (an ID token is expected), with an empty scope list.
    assert paths["/items"]["post"]["security"] == [{"test-Authorizer": []}]
    assert list(paths["/items/{id}"]) == [ANY_METHOD]
    assert paths["/items/{id}"][ANY_METHOD]["parameters"] == [
        {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
    ]
    files = paths["/files/{proxy+}"]["get"]
    assert "security" not in files  # an open route: authorizationType NONE
    assert files["parameters"][0]["name"] == "proxy"
    assert "parameters" not in paths["/items"]["get"]
    legacy = paths["/legacy"]["put"]
    assert legacy["x-amazon-apigateway-integration"] == {
        "type": "aws",
        "httpMethod": "POST",
        "uri": URI,
        "passthroughBehavior": "when_no_templates",
        "requestTemplates": {"application/json": NON_PROXY_TEMPLATE},
        "responses": {"default": {"statusCode": "200"}},
    }
    assert legacy["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Empty"
    }
    assert d["components"]["schemas"] == {"Empty": {"type": "object", "title": "Empty Schema"}}
    for path in paths.values():  # every integration calls the one function with POST
        for op in path.values():
            assert op["x-amazon-apigateway-integration"]["httpMethod"] == "POST"
    assert "x-amazon-apigateway-gateway-responses" not in d  # CORS is off
    assert all("options" not in p for p in paths.values())


def test_cors_adds_a_mock_preflight_per_path_without_the_authorizer() -> None:
    d = doc(routes=ROUTES, cors=CORS)
    for path, ops in d["paths"].items():
        pre = ops["options"]
        assert "security" not in pre, path
        integ = pre["x-amazon-apigateway-integration"]
        assert integ["type"] == "mock"
        assert integ["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
        assert "uri" not in integ and "httpMethod" not in integ
    items = d["paths"]["/items"]["options"]
    assert items["x-amazon-apigateway-integration"]["responses"] == {
        "default": {
            "statusCode": "200",
            "responseParameters": {
                "method.response.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS,POST'",
                "method.response.header.Access-Control-Allow-Headers": (
                    "'Authorization,Content-Type'"
                ),
                "method.response.header.Access-Control-Max-Age": "'300'",
            },
        }
    }
    # The method response declares every header the integration response sets.
    assert sorted(items["responses"]["200"]["headers"]) == [
        "Access-Control-Allow-Headers", "Access-Control-Allow-Methods",
        "Access-Control-Allow-Origin", "Access-Control-Max-Age",
    ]  # fmt: skip
    any_methods = d["paths"]["/items/{id}"]["options"]["x-amazon-apigateway-integration"]
    allowed = any_methods["responses"]["default"]["responseParameters"][
        "method.response.header.Access-Control-Allow-Methods"
    ]
    assert allowed == "'DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT'"
    # Non-proxy answers get the origin from the gateway (the function cannot set headers).
    legacy = d["paths"]["/legacy"]["put"]
    assert legacy["x-amazon-apigateway-integration"]["responses"]["default"][
        "responseParameters"
    ] == {"method.response.header.Access-Control-Allow-Origin": "'https://app.example.com'"}
    assert "Access-Control-Allow-Origin" in legacy["responses"]["200"]["headers"]


def test_cors_gateway_responses_let_a_browser_read_401_and_5xx() -> None:
    cors = {**CORS, "allow_credentials": True}
    responses = doc(cors=cors)["x-amazon-apigateway-gateway-responses"]
    assert sorted(responses) == ["DEFAULT_4XX", "DEFAULT_5XX"]
    for r in responses.values():
        assert r == {
            "responseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "gatewayresponse.header.Access-Control-Allow-Headers": (
                    "'Authorization,Content-Type'"
                ),
                "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
            },
            "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
        }


def test_listed_methods_and_star_origin() -> None:
    d = doc(cors={"allow_origins": ["*"], "allow_methods": ["get", "POST"]})
    params = d["paths"]["/test-API-resource"]["options"]["x-amazon-apigateway-integration"][
        "responses"
    ]["default"]["responseParameters"]
    assert params["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert params["method.response.header.Access-Control-Allow-Methods"] == "'GET,OPTIONS,POST'"
    assert "method.response.header.Access-Control-Allow-Credentials" not in params


def test_several_origins_the_preflight_echoes_a_listed_one_the_gateway_says_the_first() -> None:
    origins = ["https://app.example.com", "http://localhost:3000"]
    d = doc(cors={"allow_origins": origins})
    response = d["paths"]["/test-API-resource"]["options"]["x-amazon-apigateway-integration"][
        "responses"
    ]["default"]
    assert response["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == (
        "'https://app.example.com'"
    )
    assert response["responseTemplates"] == {"application/json": origin_echo_template(origins)}
    template = origin_echo_template(origins)
    assert '#set($allowed = ["https://app.example.com", "http://localhost:3000"])' in template
    assert "$context.responseOverride.header.Access-Control-Allow-Origin = $origin" in template
    gw = d["x-amazon-apigateway-gateway-responses"]["DEFAULT_4XX"]["responseParameters"]
    assert gw["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"


def test_document_is_deterministic_and_its_hash_follows_every_change() -> None:
    a, b = desired(routes=ROUTES, cors=CORS), desired(routes=list(reversed(ROUTES)), cors=CORS)
    text = document_json(api_document(a, POOL_ARN))
    assert text == document_json(api_document(a, POOL_ARN))
    assert text == document_json(api_document(b, POOL_ARN))  # route order does not matter
    assert json.loads(text) == api_document(a, POOL_ARN)
    assert list(json.loads(text)) == sorted(json.loads(text))  # keys sorted
    base = fingerprint(a, POOL_ARN)
    assert base == fingerprint(b, POOL_ARN)
    assert fingerprint(a, POOL_ARN.replace("abc", "new")) != base
    assert fingerprint(desired(routes=ROUTES), POOL_ARN) != base
    edited = [{**ROUTES[0], "scopes": ["email"]}, *ROUTES[1:]]
    assert fingerprint(desired(routes=edited, cors=CORS), POOL_ARN) != base


def test_document_is_valid_openapi_3() -> None:
    from openapi_spec_validator import validate

    # A greedy `{proxy+}` is API Gateway's own convention (its exports name the parameter
    # `proxy`), which strict OpenAPI cannot resolve: every other route is checked.
    routes = [r for r in ROUTES if "+" not in r["path"]]
    cors = {**CORS, "allow_origins": ["https://a.example", "https://b.example"]}
    validate(doc(routes=routes, cors=cors))  # type: ignore[arg-type]


def test_builtin_handler_echoes_an_allowed_origin_only() -> None:
    from cogapi.stack.builtin_handler import app

    env = {"COGAPI_CORS_ALLOW_ORIGINS": "https://a.example,http://localhost:3000",
           "COGAPI_CORS_ALLOW_CREDENTIALS": "true"}  # fmt: skip
    assert app.cors_headers({"origin": "http://localhost:3000"}, env) == {
        "Access-Control-Allow-Origin": "http://localhost:3000",
        "Vary": "Origin",
        "Access-Control-Allow-Credentials": "true",
    }
    assert app.cors_headers({"Origin": "https://evil.example"}, env) == {"Vary": "Origin"}
    assert app.cors_headers({"Origin": "https://a.example"}, {}) == {}  # CORS off
    star = {"COGAPI_CORS_ALLOW_ORIGINS": "*", "COGAPI_CORS_ALLOW_CREDENTIALS": "false"}
    assert app.cors_headers({}, star) == {"Access-Control-Allow-Origin": "*"}


def test_the_function_learns_the_allowed_origins() -> None:
    env = desired(cors={"allow_origins": ["https://a.example", "https://b.example"]})
    assert env.function.settings["environment"] == {
        "COGAPI_CORS_ALLOW_ORIGINS": "https://a.example,https://b.example",
        "COGAPI_CORS_ALLOW_CREDENTIALS": "false",
    }
    assert desired().function.settings["environment"] == {}
