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
- An integration response needs a method response of its status code, and every
  `method.response.header.X` it maps must be declared there (AWS refuses the import otherwise:
  the trap of a CORS header mapped but not declared).
- `x-amazon-apigateway-integration`: types and `passthroughBehavior` upper-case, MOCK without
  `uri` or `httpMethod`, `timeoutInMillis` 29000 unless given, `responses` (selection pattern ->
  `statusCode`, `responseParameters`, `responseTemplates`; `default` has no pattern).
- `parameters` (path item and operation) become `requestParameters`
  (`method.request.path|querystring|header.<name>`: required); `responses` become method
  responses with their headers (`method.response.header.<h>`) and `$ref` models.
- `x-amazon-apigateway-binary-media-types`, `-policy`, `-api-key-source` and
  `-minimum-compression-size` set the API's attributes of those names.
- `x-amazon-apigateway-gateway-responses` become gateway responses. GetGatewayResponse(s) report
  API Gateway's default for every type the API has not customised (`defaultResponse: true`).
- overwrite: the API takes the document's `info.title` (and description); paths the document
  keeps keep their resource ids (the root always does), other resources go; authorizers and
  gateway responses are replaced (an authorizer keeps its id when its name stays). merge: the
  document's methods replace the same methods, everything else stays.
The whole document is checked before anything changes (`api_document.read_document`, pure), and
a failure while applying restores the API as it was (AWS applies a document atomically).
"""

from __future__ import annotations

import copy
from typing import Any

from cogapi.local.api_document import (
    DEFAULT_TEMPLATE,
    GATEWAY_RESPONSE_STATUS,
    ApiDocument,
    DocumentError,
    MethodDoc,
    read_document,
)

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
    for attribute, value in doc.api_settings.items():
        setattr(api, attribute, value)
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


_RESTORED = (
    "name",
    "description",
    "resources",
    "authorizers",
    "gateway_responses",
    "default",
    "binaryMediaTypes",
    "policy",
    "api_key_source",
    "minimum_compression_size",
)


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
        raise exceptions.BadRequestException(f"Errors found during import:\n\t{exc}") from None
    saved = copy.deepcopy({a: getattr(api, a) for a in _RESTORED})
    try:
        apply_document(self, api, doc, overwrite=mode == "overwrite")
    except BaseException:
        for attribute, value in saved.items():
            setattr(api, attribute, value)
        raise
    return api


def _import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
    from moto.apigateway import exceptions

    info = api_doc.get("info") if isinstance(api_doc, dict) else None
    if not isinstance(info, dict) or not info.get("title"):
        raise exceptions.BadRequestException("Errors found during import: info.title is required")
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
