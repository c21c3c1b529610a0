"""The smallest patch that lets moto 5.2.5 take the Swagger 2.0 document Chalice deploys.

Chalice builds its REST API from one Swagger 2.0 document: `ImportRestApi` on the first deploy,
`PutRestApi(mode=overwrite)` on every redeploy. moto 5.2.5 gets in the way three times:
1. `put_rest_api` (which `import_rest_api` calls) rejects any document with a `swagger` key
   (`InvalidOpenApiDocVersionException`), although AWS takes Swagger 2.0 as well as OpenAPI 3.
2. `import_rest_api` reads `info.description`, which Chalice never sends (KeyError, HTTP 500).
3. It ignores `securityDefinitions` / `security`, so the API would have no Cognito authorizer
   and its method would be open; AWS creates both inside the same call.
The patch relabels the document for the version check, defaults the description, and after
moto's own import creates (or refreshes, on overwrite) each `x-amazon-apigateway-authorizer`
and sets `authorizationType`/`authorizerId`/`authorizationScopes` on the methods that name
it. It adds no HTTP round trip, so the call counts stay what AWS would see.
Applied only inside the benchmark's moto server process; nothing else imports it.
"""

from __future__ import annotations

import copy
from typing import Any

_AUTH_TYPES = {"cognito_user_pools": "COGNITO_USER_POOLS", "token": "TOKEN", "request": "REQUEST"}


def apply() -> None:
    from moto.apigateway.models import APIGatewayBackend

    original_put = APIGatewayBackend.put_rest_api
    original_import = APIGatewayBackend.import_rest_api

    def put_rest_api(
        self: Any,
        function_id: str,
        api_doc: dict[str, Any],
        fail_on_warnings: bool,
        mode: str = "merge",
    ) -> Any:
        if "swagger" not in api_doc:
            return original_put(self, function_id, api_doc, fail_on_warnings, mode)
        relabelled = {k: v for k, v in api_doc.items() if k != "swagger"}
        relabelled["openapi"] = "3.0.1"  # only the version check reads this key
        api = original_put(self, function_id, relabelled, fail_on_warnings, mode)
        _apply_security(self, function_id, api, api_doc)
        return api

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        doc = copy.deepcopy(api_doc)
        doc.setdefault("info", {}).setdefault("description", "")
        return original_import(self, doc, fail_on_warnings)

    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]
    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]


def _apply_security(backend: Any, api_id: str, api: Any, doc: dict[str, Any]) -> None:
    by_name = {a.name: a for a in api.authorizers.values()}
    ids: dict[str, str] = {}
    for name, definition in (doc.get("securityDefinitions") or {}).items():
        spec = definition.get("x-amazon-apigateway-authorizer")
        if not spec:
            continue  # e.g. Chalice's api_key definition
        authorizer_type = _AUTH_TYPES.get(str(spec.get("type", "")).lower(), "TOKEN")
        identity_source = (
            spec.get("identitySource")
            or f"method.request.header.{definition.get('name', 'Authorization')}"
        )
        existing = by_name.get(name)
        if existing is not None:  # overwrite mode: keep the id, refresh the definition
            existing.provider_arns = spec.get("providerARNs")
            existing.identity_source = identity_source
            ids[name] = existing.id
            continue
        created = backend.create_authorizer(
            api_id, name, authorizer_type,
            provider_arns=spec.get("providerARNs"),
            authorizer_uri=spec.get("authorizerUri"),
            identity_source=identity_source,
            authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds", 300),
        )  # fmt: skip
        ids[name] = created.id
    for path, methods in (doc.get("paths") or {}).items():
        resource = api.get_resource_for_path(path)
        for verb, method_doc in methods.items():
            for requirement in method_doc.get("security") or []:
                for name, scopes in requirement.items():
                    if name not in ids:
                        continue
                    method = resource.resource_methods[verb.upper()]
                    method.authorization_type = _AUTH_TYPES.get(
                        str(
                            doc["securityDefinitions"][name].get("x-amazon-apigateway-authtype", "")
                        ).lower(),
                        "CUSTOM",
                    )
                    method.authorizer_id = ids[name]
                    method.authorization_scopes = scopes or None
