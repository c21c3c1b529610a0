"""What the installed `cogapi local` prints while it serves: nothing per request by default, one
line per request under -v, and the functions' own output prefixed by the function's name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from local_stack import REGION, ROLE_POLICY

from cogapi.local import urls
from cogapi.stack import code as lambda_code
from tests.helpers import cogapi_command, free_port

HANDLER = """import sys

def handler(event, context):
    print("hello from the handler")
    print("and from its stderr", file=sys.stderr)
    return {"statusCode": 200, "body": "ok"}
"""


@dataclass
class Served:
    endpoint: str
    stdout: str
    stderr: str
    invoke_url: str


def _wait_up(endpoint: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(urls.info_url(endpoint), timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None and time.monotonic() < deadline, "cogapi local did not start"
            time.sleep(0.1)


def _deploy(endpoint: str, source: Path) -> str:
    """A function that prints, behind an open GET /talk; returns its invoke URL."""
    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )
    lam = session.client("lambda", endpoint_url=endpoint)
    apigw = session.client("apigateway", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName="talker", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]
    package = lambda_code.package(source, "talker.handler")
    fn = lam.create_function(
        FunctionName="talker",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler=package.handler,
        Code={"ZipFile": package.zip_bytes},
    )
    api = apigw.create_rest_api(name="talk")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="talk")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api,
        resourceId=res,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{fn['FunctionArn']}/invocations",
    )
    lam.add_permission(
        FunctionName="talker",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api}/*/*",
    )
    apigw.create_deployment(restApiId=api, stageName="dev")
    return urls.invoke_base(endpoint, api, "dev") + "/talk"


def _start(tmp: Path, *flags: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    env.update({"AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")})  # fmt: skip
    proc = subprocess.Popen(
        [*cogapi_command(), "local", "--port", str(port), *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, endpoint


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    return stdout, stderr


def _call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data, headers or {}), timeout=10
        ) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _serve_quiet(tmp: Path) -> Served:
    """Default flags: deploy a function that prints, call it twice (and a missing path)."""
    proc, endpoint = _start(tmp)
    try:
        _wait_up(endpoint, proc)
        source = tmp / "talker.py"
        source.write_text(HANDLER)
        invoke_url = _deploy(endpoint, source)
        assert [_call(invoke_url) for _ in range(2)] == [200, 200]
        assert _call(invoke_url + "/nope") == 403
        _sign_up(endpoint)
    finally:
        stdout, stderr = _stop(proc)
    return Served(endpoint, stdout, stderr, invoke_url)


def _sign_up(endpoint: str) -> None:
    """A sign-up in a pool that verifies email: Cognito would send a code."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    pool = idp.create_user_pool(PoolName="talk", AutoVerifiedAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="talk")
    idp.sign_up(
        ClientId=client["UserPoolClient"]["ClientId"], Username="ann", Password="Ann-Pass-1234",
        UserAttributes=[{"Name": "email", "Value": "ann@example.com"}])  # fmt: skip


def _serve_verbose(tmp: Path) -> Served:
    """-v: a control-plane call, the info page, a data-plane 403 with a secret in the query."""
    proc, endpoint = _start(tmp, "-v")
    try:
        _wait_up(endpoint, proc)
        target = "AWSCognitoIdentityProviderService.ListUserPools"
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"}  # fmt: skip
        assert _call(endpoint + "/", data=b'{"MaxResults": 5}', headers=headers) == 200
        invoke_url = urls.invoke_base(endpoint, "nope123", "dev") + "/talk"
        assert _call(invoke_url + "?code=secret-code") == 403
    finally:
        stdout, stderr = _stop(proc)
    return Served(endpoint, stdout, stderr, invoke_url)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    with ThreadPoolExecutor(2) as pool:  # both servers start at once
        quiet = pool.submit(_serve_quiet, tmp_path_factory.mktemp("quiet"))
        verbose = pool.submit(_serve_verbose, tmp_path_factory.mktemp("verbose"))
        yield {"quiet": quiet.result(), "verbose": verbose.result()}


def test_quiet_by_default(runs: dict[str, Served]) -> None:
    run = runs["quiet"]
    assert f"export AWS_ENDPOINT_URL={run.endpoint}" in run.stdout
    # nothing per request, nothing from werkzeug: the function's own output and the code only
    others = [
        line for line in run.stderr.splitlines() if not line.startswith(("[talker] ", "[cognito] "))
    ]
    assert others == ["cogapi local stopped."], run.stderr
    assert "/talk" not in run.stderr and "HTTP/1.1" not in run.stderr


def test_handler_output_is_prefixed_by_the_function_name(runs: dict[str, Served]) -> None:
    run = runs["quiet"]
    talk = [line for line in run.stderr.splitlines() if line.startswith("[talker] ")]
    assert talk == ["[talker] hello from the handler", "[talker] and from its stderr"] * 2
    assert "hello from the handler" not in run.stdout


def test_a_code_cognito_would_send_is_shown_without_v(runs: dict[str, Served]) -> None:
    # the terminal is the local mailbox: the sign-up code, once, to the address it went to
    codes = [line for line in runs["quiet"].stderr.splitlines() if line.startswith("[cognito] ")]
    assert len(codes) == 1, codes
    assert re.fullmatch(
        r"\[cognito\] sign-up code for ann@example\.com \(pool us-east-1_\w+\): \d{6}", codes[0]
    ), codes


def test_verbose_shows_one_line_per_request(runs: dict[str, Served]) -> None:
    run = runs["verbose"]
    path = run.invoke_url.removeprefix(run.endpoint)
    lines = run.stderr.splitlines()
    assert lines[-1] == "cogapi local stopped."
    requests_lines = lines[:-1]
    assert all(
        re.fullmatch(r"[A-Z]+ /\S* \d{3} \d+\.\d ms( \(.*\))?", line) for line in requests_lines
    ), lines
    assert "POST / 200 " in "\n".join(requests_lines)  # the control plane
    assert len([line for line in requests_lines if line.startswith("GET /_cogapi/info 200 ")]) >= 1
    missing = [line for line in requests_lines if line.startswith(f"GET {path} ")]
    assert len(missing) == 1 and " 403 " in missing[0], lines
    assert "secret-code" not in run.stderr  # query strings can carry codes and tokens
