"""API Gateway (REST): the API, its definition as one OpenAPI document (PutRestApi), what
discovery reads back (resources with their methods, authorizers, the stage), deployments and
stages.
"""

from __future__ import annotations

from typing import Any

from cogapi.aws.core import AwsCore


class ApiGatewayCalls(AwsCore):
    # ---- API Gateway (REST) ----------------------------------------------------------------

    def find_rest_apis(self, name: str) -> list[dict[str, Any]]:
        pages = self._pages(self.apigw, "get_rest_apis", "REST APIs", "position", limit=500)
        return [a for page in pages for a in page.get("items", []) if a.get("name") == name]

    def create_rest_api(
        self, name: str, endpoint_type: str, tags: dict[str, str], description: str
    ) -> dict[str, Any]:
        r = self._call(
            self.apigw, "create_rest_api", f"REST API {name}",
            name=name, description=description, tags=tags,
            endpointConfiguration={"types": [endpoint_type]},
        )  # fmt: skip
        return dict(r)

    def update_endpoint_type(self, api_id: str, old: str, new: str) -> None:
        self._call(
            self.apigw, "update_rest_api", f"REST API {api_id}", restApiId=api_id,
            patchOperations=[{"op": "replace", "path": f"/endpointConfiguration/types/{old}", "value": new}],
        )  # fmt: skip

    def put_rest_api(self, api_id: str, body: str) -> None:
        """Replace the API's whole definition (resources, methods, authorizers, gateway
        responses) with an OpenAPI document: one call whatever the number of routes. Invisible
        until a deployment."""
        self._call(
            self.apigw, "put_rest_api", f"REST API {api_id}", restApiId=api_id,
            mode="overwrite", body=body.encode(),
        )  # fmt: skip

    def delete_rest_api(self, api_id: str) -> None:
        self._delete(self.apigw, "delete_rest_api", f"REST API {api_id}", restApiId=api_id)

    def get_resources(self, api_id: str) -> list[dict[str, Any]]:
        pages = self._pages(
            self.apigw, "get_resources", f"resources of REST API {api_id}", "position",
            restApiId=api_id, limit=500, embed=["methods"],
        )  # fmt: skip
        return [r for page in pages for r in page.get("items", [])]

    def get_method(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any] | None:
        r = self._read(
            self.apigw, "get_method", f"method {http_method} of resource {resource_id}",
            restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
        )  # fmt: skip
        return None if r is None else {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def get_authorizers(self, api_id: str) -> list[dict[str, Any]]:
        r = self._call(
            self.apigw,
            "get_authorizers",
            f"authorizers of REST API {api_id}",
            restApiId=api_id,
            limit=500,
        )
        return list(r.get("items", []))

    def delete_authorizer(self, api_id: str, authorizer_id: str) -> None:
        self._delete(
            self.apigw,
            "delete_authorizer",
            f"authorizer {authorizer_id}",
            restApiId=api_id,
            authorizerId=authorizer_id,
        )

    def get_stage(self, api_id: str, stage: str) -> dict[str, Any] | None:
        r = self._read(self.apigw, "get_stage", f"stage {stage}", restApiId=api_id, stageName=stage)
        return None if r is None else {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def get_deployment(self, api_id: str, deployment_id: str) -> dict[str, Any] | None:
        r = self._read(
            self.apigw,
            "get_deployment",
            f"deployment {deployment_id}",
            restApiId=api_id,
            deploymentId=deployment_id,
        )
        return None if r is None else dict(r)

    def create_deployment(self, api_id: str, description: str) -> str:
        r = self._call(
            self.apigw,
            "create_deployment",
            f"deployment of REST API {api_id}",
            restApiId=api_id,
            description=description,
        )
        return str(r["id"])

    def create_stage(
        self, api_id: str, stage: str, deployment_id: str, description: str, tags: dict[str, str]
    ) -> None:
        self._call(
            self.apigw, "create_stage", f"stage {stage}", restApiId=api_id, stageName=stage,
            deploymentId=deployment_id, description=description, tags=tags,
        )  # fmt: skip

    def point_stage(self, api_id: str, stage: str, deployment_id: str, description: str) -> None:
        # One call moves the deployment and its fingerprint together, so they never disagree.
        self._call(
            self.apigw, "update_stage", f"stage {stage}", restApiId=api_id, stageName=stage,
            patchOperations=[
                {"op": "replace", "path": "/deploymentId", "value": deployment_id},
                {"op": "replace", "path": "/description", "value": description},
            ],
        )  # fmt: skip

    def tag_stage(self, api_id: str, stage: str, tags: dict[str, str]) -> None:
        arn = f"arn:aws:apigateway:{self.region}::/restapis/{api_id}/stages/{stage}"
        self._call(self.apigw, "tag_resource", f"stage {stage}", resourceArn=arn, tags=tags)
