"""How much the local API Gateway stand-in adds on top of running the handler.

Measures, each for a bounded time on loopback only:
  1. an authorized call through the data plane (token check + routing + proxy event + handler),
  2. the same route without an authorizer,
  3. the bare handler through the same runner (no HTTP, no gateway).
Prints requests/s and p50/p99 latency. Run: .venv/bin/python bench/local_dataplane.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import boto3
import requests

from cogapi.local import urls
from cogapi.local.server import LocalServer
from cogapi.stack import code as lambda_code

REGION = "us-east-1"
ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
               '{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


def setup(server: LocalServer) -> tuple[str, str, str, str]:
    """A pool, client, user, function and an API with /secure (Cognito) and /open; returns
    (secure url, open url, id token, function arn)."""
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name=REGION)
    idp = s.client("cognito-idp", endpoint_url=server.endpoint)
    apigw = s.client("apigateway", endpoint_url=server.endpoint)
    lam = s.client("lambda", endpoint_url=server.endpoint)
    iam = s.client("iam", endpoint_url=server.endpoint)
    pool = idp.create_user_pool(PoolName="bench", UsernameAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="bench", AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"], AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=["http://localhost:8765/callback"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username="b@example.com",
                          MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "b@example.com"}])
    idp.admin_set_user_password(UserPoolId=pool["Id"], Username="b@example.com",
                                Password="Bench-Pass-1", Permanent=True)
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]
    pkg = lambda_code.package(None, "app.handler")
    fn = lam.create_function(FunctionName="bench", Runtime="python3.12", Role=role["Arn"],
                             Handler=pkg.handler, Code={"ZipFile": pkg.zip_bytes})
    api = apigw.create_rest_api(name="bench")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    auth = apigw.create_authorizer(restApiId=api, name="c", type="COGNITO_USER_POOLS",
                                   providerARNs=[pool["Arn"]],
                                   identitySource="method.request.header.Authorization")["id"]
    uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
           f"{fn['FunctionArn']}/invocations")
    for part, kw in (("secure", {"authorizationType": "COGNITO_USER_POOLS",
                                 "authorizerId": auth}),
                     ("open", {"authorizationType": "NONE"})):
        res = apigw.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
        apigw.put_method(restApiId=api, resourceId=res, httpMethod="GET", **kw)
        apigw.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
    lam.add_permission(FunctionName="bench", StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api}/*/*")
    apigw.create_deployment(restApiId=api, stageName="dev")
    tokens = server.issue_tokens(pool["Id"], client["ClientId"], "b@example.com")
    base = urls.invoke_base(server.endpoint, api, "dev")
    return f"{base}/secure", f"{base}/open", tokens["id_token"], fn["FunctionArn"]


def measure(call: Callable[[], None], seconds: float) -> tuple[int, float, float, float]:
    call()  # warm up (zip extraction, connection)
    samples: list[float] = []
    end = time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < end:
        t = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t) * 1000)
    elapsed = time.monotonic() - started
    q = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return len(samples), len(samples) / elapsed, q[49], q[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    with LocalServer(port=0) as server:
        secure, open_url, id_token, fn_arn = setup(server)
        http = requests.Session()

        def gateway_authorized() -> None:
            r = http.get(secure, headers={"Authorization": id_token})
            assert r.status_code == 200, r.text

        def gateway_open() -> None:
            assert http.get(open_url).status_code == 200

        code = server.state.function_code(fn_arn)
        runner = server.runner
        assert code is not None and runner is not None
        event = {"httpMethod": "GET", "path": "/open", "requestContext": {}}

        def bare_runner() -> None:
            assert runner.invoke(code, event).ok

        rows = [("gateway + authorizer + handler", gateway_authorized),
                ("gateway (open method) + handler", gateway_open),
                ("handler only (same runner)", bare_runner)]
        print(f"{'measurement':34} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for name, call in rows:
            n, rps, p50, p99 = measure(call, args.seconds)
            print(f"{name:34} {n:6d} {rps:8.1f} {p50:8.2f} {p99:8.2f}")


if __name__ == "__main__":
    main()
