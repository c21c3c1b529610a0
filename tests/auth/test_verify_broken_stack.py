"""`cogapi verify` fails, naming the check, when the deployed stack is broken on purpose: the
scoped route loses its authorizer out of band (deployed, so the stage really serves it open)."""

from __future__ import annotations

from pathlib import Path

import boto3

from tests.auth.conftest import AuthStack
from tests.auth.flows import browser_code_login


def remove_authorizer(stack: AuthStack, path: str) -> None:
    apigw = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("apigateway", endpoint_url=stack.endpoint)
    api_id = stack.outputs["api_id"]
    res = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == path)
    integration = apigw.get_integration(restApiId=api_id, resourceId=res["id"], httpMethod="GET")
    # moto has no update_method: replace the method (aws-notes: moto quirks)
    apigw.delete_method(restApiId=api_id, resourceId=res["id"], httpMethod="GET")
    apigw.put_method(
        restApiId=api_id, resourceId=res["id"], httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=res["id"],
        httpMethod="GET",
        type=integration["type"],
        integrationHttpMethod="POST",
        uri=integration["uri"],
    )
    deployment = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.update_stage(
        restApiId=api_id,
        stageName=stack.outputs["stage"],
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment}],
    )


def test_verify_names_the_failing_check(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    login = browser_code_login(auth_stack, cache, url_file)
    assert login.returncode == 0, login.stderr
    assert auth_stack.run("verify", cache=cache).returncode == 0

    remove_authorizer(auth_stack, "/hello")
    result = auth_stack.run("verify", cache=cache)
    assert result.returncode == 1
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any(
        "no token -> 401" in line and "GET /hello" in line and "got 200" in line for line in fails
    ), result.stdout
    assert "no token -> 401 (GET /hello)" in result.stderr
    doc = auth_stack.run("verify", "-o", "json", cache=cache).json()
    assert doc["ok"] is False
