"""`PutRestApi` / `ImportRestApi` with an OpenAPI 3.0 document, applied to moto as AWS applies it.

moto 5.2.5 reads only paths, methods, method responses and `x-amazon-apigateway-integration`: it
drops `securitySchemes`, `security`, request parameters and gateway responses, fails (HTTP 500) on
a MOCK integration, keeps integration types as written (`aws_proxy`) and recreates every resource
in overwrite mode (aws-notes: "Building the API from one OpenAPI document"). `install()` replaces
the backend's `put_rest_api` with this module's, which follows AWS's documented import semantics
(for OpenAPI 3.0 and, as AWS also takes it, Swagger 2.0: `securityDefinitions`, `produces`):

- `components.securitySchemes.<name>` with `x-amazon-apigateway-authorizer` becomes the authorizer
  `<name>` (`cognito_user_pools` -> COGNITO_USER_POOLS, `token`/`request` -> TOKEN/REQUEST); its
  `identitySource` defaults to `method.request.header.<the scheme's name field>`, its result TTL
  to 300 s. `x-amazon-apigateway-authtype: awsSigv4` means AWS_IAM; a plain `apiKey` scheme named
  `x-api-key` means `apiKeyRequired`.
- A method's `security` (else the document's top-level `security`; `[]` or `[{}]` means none)
  sets `authorizationType`, `authorizerId` and `authorizationScopes` (the listed scopes, if any).
  A scheme the document does not define is a BadRequestException, and nothing changes.
- `x-amazon-apigateway-integration`: types and `passthroughBehavior` upper-case, MOCK without
  `uri` or `httpMethod`, `timeoutInMillis` 29000 unless given, `responses` (selection pattern ->
  `statusCode`, `responseParameters`, `responseTemplates`; `default` has no pattern).
- `parameters` (path item and operation) become `requestParameters`
  (`method.request.path|querystring|header.<name>`: required); `responses` become method
  responses with their headers (`method.response.header.<h>`) and `$ref` models.
- `x-amazon-apigateway-gateway-responses` become gateway responses. GetGatewayResponse(s) report
  API Gateway's default for every type the API has not customised (`defaultResponse: true`).
- overwrite: the API takes the document's `info.title` (and description); paths the document
  keeps keep their resource ids (the root always does), other resources go; authorizers and
  gateway responses are replaced (an authorizer keeps its id when its name stays). merge: the
  document's methods replace the same methods, everything else stays.
The whole document is checked before anything changes, and a failure while applying restores the
API as it was (AWS applies a document atomically).
"""

from __future__ import annotations

import copy
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


# --- the document, read (pure) -----------------------------------------------------------------


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


# --- applying it to moto's models --------------------------------------------------------------


def _ancestry(path: str) -> list[str]:
    """'/a/b' -> ['/a', '/a/b'] (the root excluded)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _apply_authorizers(backend: Any, api: Any, doc: ApiDocument, overwrite: bool) -> dict[str, str]:
    from moto.apigateway.utils import ApigwAuthorizerIdentifier

    by_name = {a.name: a for a in api.authorizers.values()}
    if overwrite:
        api.authorizers = {}
    for spec in doc.authorizers:
        existing = by_name.get(spec.name)
        authorizer_id = (
            existing.id
            if existing is not None
            else ApigwAuthorizerIdentifier(
                backend.account_id, backend.region_name, spec.name
            ).generate()
        )
        api.authorizers.pop(authorizer_id, None)
        api.create_authorizer(
            authorizer_id,
            spec.name,
            spec.type,
            provider_arns=spec.provider_arns,
            auth_type=spec.auth_type,
            authorizer_uri=spec.uri,
            authorizer_credentials=spec.credentials,
            identity_source=spec.identity_source,
            identiy_validation_expression=None,
            authorizer_result_ttl=spec.ttl,
        )
        api.authorizers[authorizer_id].identity_validation_expression = spec.validation_expression
    return {a.name: a.id for a in api.authorizers.values()}


def _apply_resources(backend: Any, api: Any, doc: ApiDocument, overwrite: bool) -> dict[str, Any]:
    by_path = {r.get_path(): r for r in api.resources.values()}
    root = by_path["/"]
    wanted = {"/"} | {p for path in doc.paths for p in _ancestry(path)}
    if overwrite:
        api.resources = {rid: r for rid, r in api.resources.items() if r.get_path() in wanted}
        for resource in api.resources.values():
            resource.resource_methods = {}
        by_path = {p: r for p, r in by_path.items() if p in wanted}
    for path in sorted(wanted, key=lambda p: (p.count("/"), p)):
        if path not in by_path:
            parent = by_path[path.rsplit("/", 1)[0] or "/"]
            by_path[path] = backend.create_resource(api.id, parent.id, path.rsplit("/", 1)[1])
    api.default = root
    return by_path


def _apply_method(
    backend: Any, api: Any, resource: Any, spec: MethodDoc, authorizer_ids: dict[str, str]
) -> None:
    authorizer_id = None
    if spec.authorizer is not None:
        authorizer_id = authorizer_ids[spec.authorizer]
    resource.resource_methods.pop(spec.http_method, None)  # merge: the document's method wins
    backend.put_method(
        api.id,
        resource.id,
        spec.http_method,
        spec.authorization_type,
        api_key_required=spec.api_key_required,
        request_parameters=spec.request_parameters,
        operation_name=spec.operation_name,
        authorizer_id=authorizer_id,
        authorization_scopes=spec.scopes,
    )
    for response in spec.responses:
        backend.put_method_response(
            api.id,
            resource.id,
            spec.http_method,
            response.status_code,
            response_models=response.models,
            response_parameters=response.parameters,
        )
    integ = spec.integration
    if integ is None:
        return
    arguments = {k: v for k, v in integ.arguments.items() if v is not None}
    backend.put_integration(
        api.id,
        resource.id,
        spec.http_method,
        integration_type=integ.type,
        uri=integ.uri,
        integration_method=integ.http_method,
        **arguments,
    )
    for mapping in integ.responses:
        backend.put_integration_response(
            api.id,
            resource.id,
            spec.http_method,
            mapping.status_code,
            mapping.selection_pattern or "",
            mapping.templates or {},
            mapping.parameters or {},
            mapping.content_handling,
        )


def apply_document(backend: Any, api: Any, doc: ApiDocument, overwrite: bool) -> None:
    if overwrite:
        if doc.title:
            api.name = doc.title
        if doc.description is not None:
            api.description = doc.description
        api.gateway_responses = {}
    authorizer_ids = _apply_authorizers(backend, api, doc, overwrite)
    resources = _apply_resources(backend, api, doc, overwrite)
    for path, methods in doc.paths.items():
        for method in methods:
            _apply_method(backend, api, resources[path], method, authorizer_ids)
    for response in doc.gateway_responses:
        api.put_gateway_response(
            response.type,
            status_code=response.status_code,
            response_parameters=response.parameters,
            response_templates=response.templates,
        )


# --- the patch ---------------------------------------------------------------------------------


def _put_rest_api(
    self: Any,
    function_id: str,
    api_doc: dict[str, Any],
    fail_on_warnings: bool,
    mode: str = "merge",
) -> Any:
    from moto.apigateway import exceptions, models

    if mode not in ("merge", "overwrite"):
        raise exceptions.InvalidOpenApiModeException()
    if str(api_doc.get("swagger", "2.0")) != "2.0" or not str(
        api_doc.get("openapi", "3")
    ).startswith("3"):
        raise exceptions.InvalidOpenApiDocVersionException()
    if fail_on_warnings:
        try:
            models.validate(api_doc)
        except models.OpenAPIValidationError as exc:
            raise exceptions.InvalidOpenAPIDocumentException(exc) from None
    api = self.get_rest_api(function_id)
    try:
        doc = read_document(api_doc)
    except DocumentError as exc:
        raise exceptions.BadRequestException(f"Invalid OpenAPI document: {exc}") from None
    saved = copy.deepcopy(
        (
            api.name,
            api.description,
            api.resources,
            api.authorizers,
            api.gateway_responses,
            api.default,
        )
    )
    try:
        apply_document(self, api, doc, overwrite=mode == "overwrite")
    except BaseException:
        (
            api.name,
            api.description,
            api.resources,
            api.authorizers,
            api.gateway_responses,
            api.default,
        ) = saved
        raise
    return api


def _import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
    from moto.apigateway import exceptions

    info = api_doc.get("info") if isinstance(api_doc, dict) else None
    if not isinstance(info, dict) or not info.get("title"):
        raise exceptions.BadRequestException("Invalid OpenAPI document: info.title is required")
    api = self.create_rest_api(name=info["title"], description=info.get("description", ""))
    try:
        self.put_rest_api(api.id, api_doc, fail_on_warnings=fail_on_warnings, mode="overwrite")
    except BaseException:
        self.apis.pop(api.id, None)
        raise
    return api


def _default_gateway_response(response_type: str) -> Any:
    from moto.apigateway.models import GatewayResponse

    response = GatewayResponse(
        response_type,
        GATEWAY_RESPONSE_STATUS[response_type],  # type: ignore[arg-type]
        {},
        {"application/json": DEFAULT_TEMPLATE},
    )
    response.default_response = True
    return response


def _get_gateway_response(self: Any, response_type: str) -> Any:
    from moto.apigateway.exceptions import GatewayResponseNotFound

    if response_type in self.gateway_responses:
        return self.gateway_responses[response_type]
    if response_type in GATEWAY_RESPONSE_STATUS:
        return _default_gateway_response(response_type)
    raise GatewayResponseNotFound()


def _get_gateway_responses(self: Any) -> list[Any]:
    return [
        self.gateway_responses.get(t) or _default_gateway_response(t)
        for t in GATEWAY_RESPONSE_STATUS
    ]


def install() -> None:
    """Patch moto's API Gateway backend (idempotent; affects this whole process)."""
    from moto.apigateway import models

    backend = models.APIGatewayBackend
    if getattr(backend, "_cogapi_openapi", False):
        return
    backend.put_rest_api = _put_rest_api  # type: ignore[method-assign]
    backend.import_rest_api = _import_rest_api  # type: ignore[method-assign]
    models.RestAPI.get_gateway_response = _get_gateway_response  # type: ignore[method-assign]
    models.RestAPI.get_gateway_responses = _get_gateway_responses  # type: ignore[method-assign]
    backend._cogapi_openapi = True  # type: ignore[attr-defined]
