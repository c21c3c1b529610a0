"""An OpenAPI 3.0 (or Swagger 2.0) document read as API Gateway reads it, before anything is
applied: pure, and checked whole (`read_document` raises `DocumentError` naming what it refuses).
What each part becomes, and how `apigw_import` applies the result to moto, is in `apigw_import`'s
docstring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH")
ANY_METHOD = "x-amazon-apigateway-any-method"
DEFAULT_TTL_SECONDS = 300
DEFAULT_TIMEOUT_MS = 29000
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
# Gateway response types and their default status (None: DEFAULT_4XX/5XX carry none of their own).
GATEWAY_RESPONSE_STATUS: dict[str, str | None] = {
    "ACCESS_DENIED": "403",
    "API_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500",
    "BAD_REQUEST_PARAMETERS": "400",
    "BAD_REQUEST_BODY": "400",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
    "EXPIRED_TOKEN": "403",
    "INTEGRATION_FAILURE": "504",
    "INTEGRATION_TIMEOUT": "504",
    "INVALID_API_KEY": "403",
    "INVALID_SIGNATURE": "403",
    "MISSING_AUTHENTICATION_TOKEN": "403",
    "QUOTA_EXCEEDED": "429",
    "REQUEST_TOO_LARGE": "413",
    "RESOURCE_NOT_FOUND": "404",
    "THROTTLED": "429",
    "UNAUTHORIZED": "401",
    "UNSUPPORTED_MEDIA_TYPE": "415",
    "WAF_FILTERED": "403",
}
_PARAMETER_SOURCES = {"path": "path", "query": "querystring", "header": "header"}


class DocumentError(Exception):
    """The document cannot be applied (raised as moto's BadRequestException)."""


@dataclass(frozen=True)
class AuthorizerDoc:
    name: str
    type: str  # COGNITO_USER_POOLS, TOKEN, REQUEST
    auth_type: str | None
    provider_arns: list[str] | None
    identity_source: str | None
    ttl: int
    uri: str | None
    credentials: str | None
    validation_expression: str | None


@dataclass(frozen=True)
class SchemeDoc:
    """What naming a security scheme in `security` does to a method."""

    authorization_type: str | None  # None: the scheme only asks for an API key
    authorizer: str | None = None
    api_key: bool = False


@dataclass(frozen=True)
class IntegrationResponseDoc:
    status_code: str
    selection_pattern: str | None
    parameters: dict[str, str] | None
    templates: dict[str, str] | None
    content_handling: str | None


@dataclass(frozen=True)
class IntegrationDoc:
    type: str
    uri: str | None
    http_method: str | None
    arguments: dict[str, Any]
    responses: list[IntegrationResponseDoc]


@dataclass(frozen=True)
class MethodResponseDoc:
    status_code: str
    parameters: dict[str, bool] | None
    models: dict[str, str] | None


@dataclass(frozen=True)
class MethodDoc:
    http_method: str
    authorization_type: str
    authorizer: str | None  # an authorizer's name
    scopes: list[str] | None
    api_key_required: bool
    request_parameters: dict[str, bool] | None
    operation_name: str | None
    responses: list[MethodResponseDoc]
    integration: IntegrationDoc | None


@dataclass(frozen=True)
class GatewayResponseDoc:
    type: str
    status_code: str | None
    parameters: dict[str, str] | None
    templates: dict[str, str] | None


@dataclass
class ApiDocument:
    title: str | None
    description: str | None
    authorizers: list[AuthorizerDoc] = field(default_factory=list)
    paths: dict[str, list[MethodDoc]] = field(default_factory=dict)
    gateway_responses: list[GatewayResponseDoc] = field(default_factory=list)
    api_settings: dict[str, Any] = field(default_factory=dict)  # RestAPI attribute -> value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError(f"{where} is not an object")
    return value


def _strings(value: Any, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    return {str(k): "" if v is None else str(v) for k, v in _mapping(value, where).items()}


def _read_schemes(doc: dict[str, Any]) -> tuple[list[AuthorizerDoc], dict[str, SchemeDoc]]:
    components = _mapping(doc.get("components"), "components")
    schemes = {
        **_mapping(doc.get("securityDefinitions"), "securityDefinitions"),  # Swagger 2.0
        **_mapping(components.get("securitySchemes"), "components.securitySchemes"),
    }
    authorizers: list[AuthorizerDoc] = []
    effects: dict[str, SchemeDoc] = {}
    for name, raw in schemes.items():
        scheme = _mapping(raw, f"securitySchemes.{name}")
        auth_type = scheme.get("x-amazon-apigateway-authtype")
        spec = scheme.get("x-amazon-apigateway-authorizer")
        if spec is not None:
            spec = _mapping(spec, f"securitySchemes.{name}.x-amazon-apigateway-authorizer")
            kind = str(spec.get("type", "")).upper()
            if kind not in ("COGNITO_USER_POOLS", "TOKEN", "REQUEST"):
                raise DocumentError(f"securitySchemes.{name}: authorizer type {kind!r}")
            arns = spec.get("providerARNs")
            if kind == "COGNITO_USER_POOLS" and not arns:
                raise DocumentError(f"securitySchemes.{name}: providerARNs is required")
            source = spec.get("identitySource")
            if source is None and kind != "REQUEST" and scheme.get("in", "header") == "header":
                source = f"method.request.header.{scheme.get('name', 'Authorization')}"
            ttl = spec.get("authorizerResultTtlInSeconds", DEFAULT_TTL_SECONDS)
            authorizers.append(
                AuthorizerDoc(
                    name=name,
                    type=kind,
                    auth_type=str(auth_type) if auth_type else None,
                    provider_arns=[str(a) for a in arns] if arns else None,
                    identity_source=source,
                    ttl=int(ttl),
                    uri=spec.get("authorizerUri"),
                    credentials=spec.get("authorizerCredentials"),
                    validation_expression=spec.get("identityValidationExpression"),
                )
            )
            method_type = "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else "CUSTOM"
            effects[name] = SchemeDoc(method_type, authorizer=name)
        elif str(auth_type or "").lower() == "awssigv4":
            effects[name] = SchemeDoc("AWS_IAM")
        elif scheme.get("type") == "apiKey" and str(scheme.get("name", "")).lower() == "x-api-key":
            effects[name] = SchemeDoc(None, api_key=True)
        else:
            effects[name] = SchemeDoc(None)  # AWS ignores a scheme it cannot map (a warning)
    return authorizers, effects


def _read_security(
    requirements: Any, effects: dict[str, SchemeDoc], where: str
) -> tuple[str, str | None, list[str] | None, bool]:
    if not requirements:
        return "NONE", None, None, False
    if not isinstance(requirements, list) or not isinstance(requirements[0], dict):
        raise DocumentError(f"{where}.security is not a list of objects")
    auth, authorizer, scopes, api_key = "NONE", None, None, False
    for name, listed in requirements[0].items():  # alternatives after the first are not used
        effect = effects.get(name)
        if effect is None:
            raise DocumentError(f"{where}: security scheme {name!r} is not defined")
        api_key = api_key or effect.api_key
        if effect.authorization_type is not None:
            auth, authorizer = effect.authorization_type, effect.authorizer
            scopes = [str(s) for s in listed] if listed else None
    return auth, authorizer, scopes, api_key


def _read_parameters(*lists: Any) -> dict[str, bool] | None:
    out: dict[str, bool] = {}
    for params in lists:
        for param in params or ():
            if not isinstance(param, dict) or param.get("in") not in _PARAMETER_SOURCES:
                continue  # `cookie` and `$ref` parameters are not mapped by API Gateway
            required = bool(param.get("required", param["in"] == "path"))
            out[f"method.request.{_PARAMETER_SOURCES[param['in']]}.{param['name']}"] = required
    return out or None


def _read_responses(responses: Any, where: str, produces: list[str]) -> list[MethodResponseDoc]:
    out = []
    for code, raw in _mapping(responses, f"{where}.responses").items():
        if not str(code).isdigit():
            continue  # `default` has no status code to become
        response = _mapping(raw, f"{where}.responses.{code}")
        headers = _mapping(response.get("headers"), f"{where}.responses.{code}.headers")
        models = {}
        for media, content in _mapping(response.get("content"), f"{where}.content").items():
            ref = (_mapping(content, f"{where}.content").get("schema") or {}).get("$ref")
            if isinstance(ref, str):
                models[str(media)] = ref.rsplit("/", 1)[-1]
        ref = (response.get("schema") or {}).get("$ref")  # Swagger 2.0: one schema, `produces`
        if isinstance(ref, str):
            models.update({media: ref.rsplit("/", 1)[-1] for media in produces})
        out.append(
            MethodResponseDoc(
                str(code),
                {
                    f"method.response.header.{h}": bool(_mapping(v, h).get("required", False))
                    for h, v in headers.items()
                }
                or None,
                models or None,
            )
        )
    return out


def _read_integration(raw: Any, where: str) -> IntegrationDoc:
    spec = _mapping(raw, f"{where}.x-amazon-apigateway-integration")
    kind = str(spec.get("type", "")).upper()
    if kind not in ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"):
        raise DocumentError(f"{where}: integration type {spec.get('type')!r}")
    uri, http_method = spec.get("uri"), spec.get("httpMethod")
    if kind != "MOCK" and (not uri or not http_method):
        raise DocumentError(f"{where}: a {kind} integration needs uri and httpMethod")
    passthrough = spec.get("passthroughBehavior")
    arguments = {
        "credentials": spec.get("credentials"),
        "request_templates": _strings(spec.get("requestTemplates"), f"{where}.requestTemplates"),
        "passthrough_behavior": str(passthrough).upper() if passthrough else "WHEN_NO_MATCH",
        "tls_config": spec.get("tlsConfig"),
        "cache_namespace": spec.get("cacheNamespace"),
        "timeout_in_millis": int(spec.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)),
        "request_parameters": _strings(spec.get("requestParameters"), f"{where}.requestParameters"),
        "content_handling": spec.get("contentHandling"),
        "connection_type": spec.get("connectionType"),
    }
    responses = []
    for pattern, raw_response in _mapping(spec.get("responses"), f"{where}.responses").items():
        response = _mapping(raw_response, f"{where}.responses.{pattern}")
        if "statusCode" not in response:
            raise DocumentError(f"{where}.responses.{pattern}: statusCode is required")
        responses.append(
            IntegrationResponseDoc(
                status_code=str(response["statusCode"]),
                selection_pattern=None if pattern == "default" else str(pattern),
                parameters=_strings(
                    response.get("responseParameters"), f"{where}.responseParameters"
                ),
                templates=_strings(response.get("responseTemplates"), f"{where}.responseTemplates"),
                content_handling=response.get("contentHandling"),
            )
        )
    return IntegrationDoc(
        kind, uri, str(http_method).upper() if http_method else None, arguments, responses
    )


def _check_integration_responses(path: str, method: MethodDoc) -> None:
    """AWS refuses an integration response without a method response of its status, and a
    `method.response.header.X` mapping the method response does not declare."""
    declared = {r.status_code: set(r.parameters or ()) for r in method.responses}
    for mapping in method.integration.responses if method.integration else ():
        where = f"Unable to put integration response on '{method.http_method}' for resource at path '{path}'"
        if mapping.status_code not in declared:
            raise DocumentError(f"{where}: Invalid Response status code specified")
        for name in mapping.parameters or {}:
            if name.startswith("method.response.") and name not in declared[mapping.status_code]:
                raise DocumentError(
                    f"{where}: Invalid mapping expression specified: Validation Result: "
                    f"warnings : [], errors : [Invalid mapping expression specified: {name}]"
                )


def _read_api_settings(doc: dict[str, Any]) -> dict[str, Any]:
    """The API-level extensions, as the RestApi attributes they set."""
    out: dict[str, Any] = {}
    media = doc.get("x-amazon-apigateway-binary-media-types")
    if media is not None:
        if not isinstance(media, list):
            raise DocumentError("x-amazon-apigateway-binary-media-types is not a list")
        out["binaryMediaTypes"] = [str(m) for m in media]
    policy = doc.get("x-amazon-apigateway-policy")
    if policy is not None:
        out["policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    source = doc.get("x-amazon-apigateway-api-key-source")
    if source is not None:
        if str(source).upper() not in ("HEADER", "AUTHORIZER"):
            raise DocumentError(f"x-amazon-apigateway-api-key-source {source!r}")
        out["api_key_source"] = str(source).upper()
    size = doc.get("x-amazon-apigateway-minimum-compression-size")
    if size is not None:
        out["minimum_compression_size"] = int(size)
    return out


def read_document(doc: dict[str, Any]) -> ApiDocument:
    """The document as API Gateway reads it; DocumentError if it cannot be applied."""
    if not isinstance(doc, dict) or not (
        str(doc.get("openapi", "")).startswith("3") or str(doc.get("swagger")) == "2.0"
    ):
        raise DocumentError("neither OpenAPI 3 nor Swagger 2.0")
    info = _mapping(doc.get("info"), "info")
    authorizers, effects = _read_schemes(doc)
    top_security = doc.get("security")
    out = ApiDocument(
        title=info.get("title"), description=info.get("description"), authorizers=authorizers
    )
    out.api_settings = _read_api_settings(doc)
    for path, raw_item in _mapping(doc.get("paths"), "paths").items():
        if not path.startswith("/"):
            raise DocumentError(f"path {path!r} does not start with /")
        item = _mapping(raw_item, f"paths.{path}")
        methods = []
        for key, raw_op in item.items():
            http_method = "ANY" if key == ANY_METHOD else key.upper()
            if http_method not in (*METHODS, "ANY"):
                continue  # parameters, summary, servers, ...
            where = f"paths.{path}.{key}"
            op = _mapping(raw_op, where)
            auth, authorizer, scopes, api_key = _read_security(
                op.get("security", top_security), effects, where
            )
            integration = op.get("x-amazon-apigateway-integration")
            methods.append(
                MethodDoc(
                    http_method=http_method,
                    authorization_type=auth,
                    authorizer=authorizer,
                    scopes=scopes,
                    api_key_required=api_key,
                    request_parameters=_read_parameters(
                        item.get("parameters"), op.get("parameters")
                    ),
                    operation_name=op.get("operationId"),
                    responses=_read_responses(
                        op.get("responses"),
                        where,
                        op.get("produces") or doc.get("produces") or ["application/json"],
                    ),
                    integration=None
                    if integration is None
                    else _read_integration(integration, where),
                )
            )
        for method in methods:
            _check_integration_responses(path, method)
        out.paths["/" + path.strip("/")] = methods
    gateway = _mapping(doc.get("x-amazon-apigateway-gateway-responses"), "gateway responses")
    for kind, raw in gateway.items():
        if kind not in GATEWAY_RESPONSE_STATUS:
            raise DocumentError(f"gateway response type {kind!r} is not one of API Gateway's")
        response = _mapping(raw, f"x-amazon-apigateway-gateway-responses.{kind}")
        status = response.get("statusCode")
        out.gateway_responses.append(
            GatewayResponseDoc(
                kind,
                None if status is None else str(status),
                _strings(response.get("responseParameters"), f"{kind}.responseParameters"),
                _strings(response.get("responseTemplates"), f"{kind}.responseTemplates"),
            )
        )
    return out
