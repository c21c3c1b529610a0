"""The REST API as one OpenAPI 3.0 document with API Gateway's extensions.

`api_document(desired, pool_arn)` is a pure function of the desired stack: the same stack gives
the same document (`document_json` sorts keys), so its hash is the stage's fingerprint and a later
CloudFormation export can embed it as is. `PutRestApi(mode=overwrite)` applies it in one call,
whatever the number of routes (the approach Chalice takes), and one deployment publishes it.

What it holds, in AWS's documented semantics:
- `paths`: one operation per route; `ANY` is `x-amazon-apigateway-any-method`; path parameters
  (`{id}`, greedy `{proxy+}` named `proxy`) are declared on each operation (a path-level
  `parameters` key would read as a method to some importers).
- `x-amazon-apigateway-integration`: `aws_proxy` (Lambda proxy) or `aws` (non-proxy, with the
  fixed request template and a 200 response), both `httpMethod: POST` to the function's URI.
- `components.securitySchemes.<authorizer>`: the Cognito authorizer (`apiKey` in the token
  header, `x-amazon-apigateway-authtype: cognito_user_pools`); each protected operation says
  `security: [{<authorizer>: [scopes]}]`, and the scopes become its `authorizationScopes`.
- With `api.cors`: an `OPTIONS` operation per path with routes (MOCK integration, no security, so
  a preflight never meets the authorizer) and `x-amazon-apigateway-gateway-responses` DEFAULT_4XX
  and DEFAULT_5XX carrying the CORS headers, so a browser can read a 401. A gateway response has
  one static header value: with several origins it carries the first; the preflight echoes the
  request's Origin when it is listed (a mapping template overriding the header).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from cogapi.config.model import Cors
from cogapi.stack.models import DesiredStack, RouteSpec

OPENAPI_VERSION = "3.0.1"
MOCK_REQUEST = '{"statusCode": 200}'
ANY_METHOD = "x-amazon-apigateway-any-method"
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
ERROR_TEMPLATE = '{"message":$context.error.messageString}'
EMPTY_SCHEMA = {"type": "object", "title": "Empty Schema"}
_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")


def operation_key(method: str) -> str:
    return ANY_METHOD if method == "ANY" else method.lower()


def path_parameters(path: str) -> list[str]:
    return _PARAM.findall(path)


def allow_origin_value(cors: Cors) -> str:
    """The one static Access-Control-Allow-Origin: `*`, or the first listed origin."""
    return cors.allow_origins[0]


def allow_methods_value(cors: Cors, route_methods: list[str]) -> str:
    if cors.allow_methods == "auto":
        methods = set(route_methods) | {"OPTIONS"}
        if "ANY" in methods:
            methods = set(ALL_METHODS)
    else:
        methods = set(cors.allow_methods) | {"OPTIONS"}
    return ",".join(sorted(methods))


def cors_headers(cors: Cors, methods: str | None) -> dict[str, str]:
    """The CORS response headers (header name -> value) of a preflight or a gateway response."""
    out = {
        "Access-Control-Allow-Origin": allow_origin_value(cors),
        "Access-Control-Allow-Headers": ",".join(cors.allow_headers),
    }
    if methods is not None:
        out["Access-Control-Allow-Methods"] = methods
        out["Access-Control-Max-Age"] = str(cors.max_age_s)
    if cors.allow_credentials:
        out["Access-Control-Allow-Credentials"] = "true"
    return out


def origin_echo_template(origins: list[str]) -> str:
    """A MOCK integration response template answering with the request's Origin when listed.

    `$context.responseOverride.header` replaces the static header value set by
    responseParameters; an unlisted origin keeps the first one, which the browser then refuses.
    """
    listed = json.dumps(origins)
    return (
        f"#set($allowed = {listed})\n"
        "#set($origin = $input.params().header.get('Origin'))\n"
        "#if($allowed.contains($origin))"
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#end\n"
    )


def _quoted(value: str) -> str:
    # Static values in responseParameters are single-quoted literals.
    return "'" + value.replace("'", "") + "'"


def _parameters(path: str) -> dict[str, Any]:
    params = path_parameters(path)
    if not params:
        return {}
    return {
        "parameters": [
            {"in": "path", "name": p, "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    }


def _route_operation(d: DesiredStack, r: RouteSpec) -> dict[str, Any]:
    s = r.settings
    op = _parameters(r.path)
    if s["authorization"] == "COGNITO_USER_POOLS":
        op["security"] = [{d.authorizer_settings["name"]: list(s["scopes"])}]
    integration: dict[str, Any] = {"httpMethod": "POST", "uri": s["uri"]}
    if s["integration"] == "AWS_PROXY":
        integration.update(type="aws_proxy", passthroughBehavior="when_no_match")
        op["responses"] = {"default": {"description": "the function's answer"}}
    else:
        cors = d.cfg.api.cors
        response: dict[str, Any] = {"statusCode": "200"}
        method_response: dict[str, Any] = {
            "description": "200 response",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}},
        }
        if cors is not None:
            # The function cannot set headers through a non-proxy integration: the gateway does.
            headers = {"Access-Control-Allow-Origin": allow_origin_value(cors)}
            if cors.allow_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
            response["responseParameters"] = {
                f"method.response.header.{k}": _quoted(v) for k, v in headers.items()
            }
            method_response["headers"] = {k: {"schema": {"type": "string"}} for k in headers}
        integration.update(
            type="aws",
            passthroughBehavior="when_no_templates",
            requestTemplates={"application/json": s["template"]},
            responses={"default": response},
        )
        op["responses"] = {"200": method_response}
    op["x-amazon-apigateway-integration"] = integration
    return op


def _preflight_operation(cors: Cors, path: str, route_methods: list[str]) -> dict[str, Any]:
    headers = cors_headers(cors, allow_methods_value(cors, route_methods))
    response: dict[str, Any] = {
        "statusCode": "200",
        "responseParameters": {
            f"method.response.header.{k}": _quoted(v) for k, v in headers.items()
        },
    }
    if len(cors.allow_origins) > 1:
        response["responseTemplates"] = {
            "application/json": origin_echo_template(list(cors.allow_origins))
        }
    return {
        **_parameters(path),
        "responses": {
            "200": {
                "description": "CORS preflight",
                "headers": {k: {"schema": {"type": "string"}} for k in headers},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "passthroughBehavior": "when_no_match",
            "requestTemplates": {"application/json": MOCK_REQUEST},
            "responses": {"default": response},
        },
    }


def gateway_responses(cors: Cors) -> dict[str, Any]:
    headers = {
        f"gatewayresponse.header.{k}": _quoted(v) for k, v in cors_headers(cors, None).items()
    }
    return {
        kind: {
            "responseParameters": dict(headers),
            "responseTemplates": {"application/json": ERROR_TEMPLATE},
        }
        for kind in ("DEFAULT_4XX", "DEFAULT_5XX")
    }


def security_scheme(d: DesiredStack, pool_arn: str) -> dict[str, Any]:
    a = d.authorizer_settings
    return {
        "type": "apiKey",
        "name": d.cfg.api.authorizer.token_source,
        "in": "header",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {
            "type": "cognito_user_pools",
            "providerARNs": [pool_arn],
            "identitySource": a["identitySource"],
            "authorizerResultTtlInSeconds": a["authorizerResultTtlInSeconds"],
        },
    }


def api_document(d: DesiredStack, pool_arn: str) -> dict[str, Any]:
    """The whole REST API (routes, authorizer, CORS) as one OpenAPI 3.0 document."""
    cors = d.cfg.api.cors
    paths: dict[str, dict[str, Any]] = {}
    for r in d.routes:
        paths.setdefault(r.path, {})[operation_key(r.method)] = _route_operation(d, r)
    if cors is not None:
        for path in list(paths):
            methods = [r.method for r in d.routes if r.path == path]
            paths[path]["options"] = _preflight_operation(cors, path, methods)
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": d.api_name,
            "description": f"Managed by cogapi (stack {d.cfg.name})",
            "version": "1.0",
        },
        "paths": {p: paths[p] for p in sorted(paths)},
        "components": {
            "securitySchemes": {d.authorizer_settings["name"]: security_scheme(d, pool_arn)},
        },
    }
    if any(r.settings["integration"] == "AWS" for r in d.routes):
        doc["components"]["schemas"] = {"Empty": EMPTY_SCHEMA}
    if cors is not None:
        doc["x-amazon-apigateway-gateway-responses"] = gateway_responses(cors)
    return doc


def document_json(doc: dict[str, Any]) -> str:
    """The document as PutRestApi's body: compact, keys sorted, so equal stacks give equal bytes."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def fingerprint(d: DesiredStack, pool_arn: str) -> str:
    """Identity of what the stage should serve: the hash of the document.

    Recorded in each deployment's description (and the stage's); a stage whose fingerprint
    differs (a crash between PutRestApi and its deployment, a config edit) is redeployed.
    """
    return hashlib.sha256(document_json(api_document(d, pool_arn)).encode()).hexdigest()[:16]
