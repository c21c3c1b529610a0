"""A hand-written OpenAPI 3.0 document in the form AWS documents for API Gateway's extensions
(Cognito authorizer under securitySchemes, per-method security with scopes, Lambda proxy and
MOCK integrations, CORS preflight, gateway responses). Tests use it as the engine would."""

from __future__ import annotations

import json
from typing import Any

CORS_ALLOW_HEADERS = "Authorization,Content-Type"


def lambda_uri(region: str, function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def proxy(region: str, function_arn: str) -> dict[str, Any]:
    return {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": lambda_uri(region, function_arn),
        "passthroughBehavior": "when_no_match",
    }


def preflight(origin: str, methods: str) -> dict[str, Any]:
    """The OPTIONS method AWS's console and docs give a resource for CORS."""
    headers = {
        h: {"schema": {"type": "string"}}
        for h in (
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Max-Age",
        )
    }
    return {
        "security": [],
        "responses": {
            "200": {
                "description": "CORS preflight",
                "headers": headers,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "when_no_match",
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {
                        "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
                        "method.response.header.Access-Control-Allow-Methods": f"'{methods}'",
                        "method.response.header.Access-Control-Allow-Headers": f"'{CORS_ALLOW_HEADERS}'",
                        "method.response.header.Access-Control-Max-Age": "'600'",
                    },
                    "responseTemplates": {"application/json": ""},
                }
            },
        },
    }


def cors_gateway_responses(origin: str) -> dict[str, Any]:
    headers = {
        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
        "gatewayresponse.header.Access-Control-Allow-Headers": f"'{CORS_ALLOW_HEADERS}'",
    }
    return {
        kind: {
            "responseParameters": headers,
            "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
        }
        for kind in ("DEFAULT_4XX", "DEFAULT_5XX")
    }


def document(
    *,
    title: str,
    region: str,
    pool_arn: str,
    function_arn: str,
    origin: str = "http://localhost:8000",
) -> dict[str, Any]:
    """GET /items (scope email), GET+POST /items/{id}, GET /me (the document's default security,
    no scopes), ANY /files/{proxy+} (open), each resource with a CORS preflight."""
    fn = proxy(region, function_arn)
    ok = {"200": {"description": "ok"}}
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "security": [{"cognito": []}],
        "paths": {
            "/items": {
                "get": {
                    "security": [{"cognito": ["email"]}],
                    "responses": ok,
                    "x-amazon-apigateway-integration": fn,
                },
                "options": preflight(origin, "GET,OPTIONS"),
            },
            "/items/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": {
                    "operationId": "getItem",
                    "responses": ok,
                    "security": [{"cognito": ["email"]}],
                    "x-amazon-apigateway-integration": fn,
                },
                "post": {
                    "responses": ok,
                    "security": [{"cognito": ["email"]}],
                    "parameters": [{"name": "dry", "in": "query"}],
                    "x-amazon-apigateway-integration": fn,
                },
                "options": preflight(origin, "GET,POST,OPTIONS"),
            },
            "/me": {
                "get": {"responses": ok, "x-amazon-apigateway-integration": fn},
                "options": preflight(origin, "GET,OPTIONS"),
            },
            "/files/{proxy+}": {
                "x-amazon-apigateway-any-method": {
                    "security": [],
                    "responses": ok,
                    "x-amazon-apigateway-integration": fn,
                    "parameters": [{"name": "proxy", "in": "path", "required": True}],
                },
                "options": preflight(origin, "GET,PUT,OPTIONS"),
            },
        },
        "components": {
            "schemas": {"Empty": {"type": "object", "title": "Empty Schema"}},
            "securitySchemes": {
                "cognito": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [pool_arn],
                    },
                },
            },
        },
        "x-amazon-apigateway-gateway-responses": cors_gateway_responses(origin),
    }


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()
