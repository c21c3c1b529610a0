"""The local test stack: one cogapi-shaped stack built through boto3 against a LocalServer,
and helpers that drive the hosted UI like a browser."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pycognito import Cognito

from cogapi.local import urls
from cogapi.local.server import LocalServer
from cogapi.stack import code as lambda_code
from cogapi.stack.models import NON_PROXY_TEMPLATE

REGION = "us-east-1"
CALLBACK = "http://localhost:8765/callback"
LOGOUT = "http://localhost:8765/"
EMAIL = "alice@example.com"
PASSWORD = "Correct-Horse-9"
HANDLERS = Path(__file__).parent / "handlers"
ROLE_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
    '{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
TEMPLATE = NON_PROXY_TEMPLATE  # the template cogapi puts on non-proxy integrations


@dataclass
class Stack:
    server: LocalServer
    endpoint: str
    clients: dict[str, Any]
    pool_id: str
    pool_arn: str
    domain: str
    client_id: str
    secret_client_id: str
    secret: str
    api_id: str
    stage: str
    role_arn: str
    functions: dict[str, str] = field(default_factory=dict)

    @property
    def hosted_ui(self) -> str:
        return urls.hosted_ui_base(self.endpoint, self.domain)

    def url(self, path: str) -> str:
        return urls.invoke_base(self.endpoint, self.api_id, self.stage) + path

    def tokens(self, scopes: tuple[str, ...] = ("openid", "email"), **kw: Any) -> dict[str, Any]:
        return self.server.issue_tokens(self.pool_id, self.client_id, EMAIL, scopes, **kw)


def _function(
    clients: dict[str, Any],
    role_arn: str,
    name: str,
    package: lambda_code.CodePackage,
    timeout: int = 3,
) -> str:
    fn = clients["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler=package.handler,
        Code={"ZipFile": package.zip_bytes},
        Timeout=timeout,
        Environment={"Variables": {"GREETING": "hi"}},
    )
    return str(fn["FunctionArn"])


def _route(
    stack: Stack,
    parent_id: str,
    path_part: str | None,
    method: str,
    fn: str,
    *,
    auth: str = "NONE",
    authorizer_id: str | None = None,
    scopes: list[str] | None = None,
    proxy: bool = True,
    timeout_ms: int | None = None,
    permit: bool = True,
) -> str:
    apigw = stack.clients["apigateway"]
    res_id = parent_id
    if path_part is not None:
        res_id = apigw.create_resource(
            restApiId=stack.api_id, parentId=parent_id, pathPart=path_part
        )["id"]
    kw: dict[str, Any] = {}
    if authorizer_id:
        kw["authorizerId"] = authorizer_id
    if scopes:
        kw["authorizationScopes"] = scopes
    apigw.put_method(
        restApiId=stack.api_id, resourceId=res_id, httpMethod=method, authorizationType=auth, **kw
    )
    uri = (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{stack.functions[fn]}/invocations"
    )
    ikw: dict[str, Any] = {}
    if timeout_ms:
        ikw["timeoutInMillis"] = timeout_ms
    if not proxy:
        ikw["requestTemplates"] = {"application/json": TEMPLATE}
    apigw.put_integration(
        restApiId=stack.api_id,
        resourceId=res_id,
        httpMethod=method,
        type="AWS_PROXY" if proxy else "AWS",
        integrationHttpMethod="POST",
        uri=uri,
        **ikw,
    )
    if not proxy:
        apigw.put_method_response(
            restApiId=stack.api_id, resourceId=res_id, httpMethod=method, statusCode="200"
        )
        apigw.put_integration_response(
            restApiId=stack.api_id,
            resourceId=res_id,
            httpMethod=method,
            statusCode="200",
            responseTemplates={"application/json": ""},
        )
    if permit:
        stack.clients["lambda"].add_permission(
            FunctionName=fn,
            StatementId=f"apigw-{res_id}-{method}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{stack.api_id}/*/*",
        )
    return str(res_id)


def build_stack(server: LocalServer, endpoint: str) -> Stack:
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=REGION,
    )
    clients = {
        name: session.client(name, endpoint_url=endpoint)  # type: ignore[call-overload]
        for name in ("cognito-idp", "apigateway", "lambda", "iam")
    }
    idp = clients["cognito-idp"]
    pool = idp.create_user_pool(
        PoolName="cogapi-test",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
    )["UserPool"]
    domain = "cogapi-test-" + secrets.token_hex(3)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool["Id"])
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="web",
        GenerateSecret=False,
        AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthScopes=["openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[CALLBACK],
        LogoutURLs=[LOGOUT],
        SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )["UserPoolClient"]
    secret_client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="backend",
        GenerateSecret=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    idp.admin_create_user(
        UserPoolId=pool["Id"],
        Username=EMAIL,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": EMAIL},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    idp.admin_set_user_password(
        UserPoolId=pool["Id"], Username=EMAIL, Password=PASSWORD, Permanent=True
    )
    for group in ("admins", "staff"):
        idp.create_group(UserPoolId=pool["Id"], GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=pool["Id"], Username=EMAIL, GroupName=group)

    role = clients["iam"].create_role(
        RoleName="cogapi-test-fn", AssumeRolePolicyDocument=ROLE_POLICY
    )["Role"]
    api = clients["apigateway"].create_rest_api(name="cogapi-test")
    stack = Stack(
        server,
        endpoint,
        clients,
        pool["Id"],
        pool["Arn"],
        domain,
        client["ClientId"],
        secret_client["ClientId"],
        secret_client["ClientSecret"],
        api["id"],
        "dev",
        role["Arn"],
    )
    fns = stack.functions
    fns["builtin"] = _function(clients, role["Arn"], "builtin", lambda_code.package(None, "x"))
    for name in ("echo", "raises", "garbage"):
        fns[name] = _function(
            clients,
            role["Arn"],
            name,
            lambda_code.package(HANDLERS / f"{name}.py", f"{name}.handler"),
        )
    sleeps = lambda_code.package(HANDLERS / "sleeps.py", "sleeps.handler")
    fns["sleeps"] = _function(clients, role["Arn"], "sleeps", sleeps, timeout=1)
    fns["sleeps-long"] = _function(clients, role["Arn"], "sleeps-long", sleeps, timeout=10)
    fns["unpermitted"] = _function(
        clients, role["Arn"], "unpermitted", lambda_code.package(None, "x")
    )

    apigw = clients["apigateway"]
    authorizer_id = apigw.create_authorizer(
        restApiId=api["id"],
        name="cognito",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool["Arn"]],
        identitySource="method.request.header.Authorization",
    )["id"]
    root = next(
        r["id"] for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    cognito: dict[str, Any] = {"auth": "COGNITO_USER_POOLS", "authorizer_id": authorizer_id}
    _route(stack, root, "hello", "GET", "builtin", scopes=["email"], **cognito)
    _route(stack, root, "me", "GET", "builtin", **cognito)
    _route(stack, root, "legacy", "GET", "builtin", proxy=False, **cognito)
    _route(stack, root, "open", "ANY", "echo")
    items = _route(stack, root, "items", "GET", "echo", **cognito)
    _route(stack, items, "{id}", "GET", "echo", **cognito)
    files = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="files")["id"]
    _route(stack, files, "{proxy+}", "GET", "echo")
    _route(stack, root, "boom", "GET", "raises")
    _route(stack, root, "garbage", "GET", "garbage")
    _route(stack, root, "slow", "GET", "sleeps")
    _route(stack, root, "slow-gateway", "GET", "sleeps-long", timeout_ms=1000)
    _route(stack, root, "slow-long", "GET", "sleeps-long")
    _route(stack, root, "sink", "ANY", "builtin")
    _route(stack, root, "unpermitted", "GET", "unpermitted", permit=False)
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    return stack


@dataclass
class Pkce:
    verifier: str
    challenge: str


def new_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_params(stack: Stack, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": stack.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email",
        "state": "st-123",
    }
    params.update(overrides)
    return params


def login_form(session: requests.Session, stack: Stack, **overrides: str) -> tuple[str, str]:
    """Follows /oauth2/authorize to the login form; returns (form action URL, csrf value)."""
    r = session.get(
        f"{stack.hosted_ui}/oauth2/authorize",
        params=authorize_params(stack, **overrides),
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text
    assert "/login?" in r.headers["Location"]
    form = session.get(r.headers["Location"], allow_redirects=False)
    assert form.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)"', form.text)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert action and csrf
    return action.group(1).replace("&amp;", "&"), csrf.group(1)


def sign_in(
    stack: Stack,
    username: str = EMAIL,
    password: str = PASSWORD,
    session: requests.Session | None = None,
    **overrides: str,
) -> requests.Response:
    """The login form filled in, in `session` (a browser of its own unless given)."""
    session = session or requests.Session()
    action, csrf = login_form(session, stack, **overrides)
    return session.post(
        action,
        data={"_csrf": csrf, "username": username, "password": password},
        allow_redirects=False,
    )


def code_from(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


def aws_error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """A refused call's (error code, message), as the client library raised it."""
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def fits_aws_model(operation: str, answer: dict[str, Any]) -> None:
    """botocore's Stubber refuses a response that does not fit the operation's output shape in
    AWS's service model (cognito-idp): the local answer, handed to it, must pass."""
    client = boto3.client("cognito-idp", region_name=REGION, aws_access_key_id="x",
                          aws_secret_access_key="x")  # fmt: skip
    with Stubber(client) as stub:
        stub.add_response(operation, {k: v for k, v in answer.items() if k != "ResponseMetadata"})


def other_code(code: str) -> str:
    """A six-digit code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


class Clock:
    """A clock a test turns: a `LocalServer`'s, an outbox's or a lockout's `clock`."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


MFA_PASSWORD = "Sturdy-Pass-42"  # the password of every `MfaPool.user`
SMS_CONFIGURATION = {"SnsCallerArn": "arn:aws:iam::123456789012:role/sms", "ExternalId": "cogapi"}


@dataclass
class MfaPool:
    """A pool with MFA settings, a hosted-UI domain and one app client (SRP, password, admin
    password and refresh flows; the code flow on the hosted UI): `mfa_pool` makes one."""

    endpoint: str
    idp: Any
    pool_id: str
    client_id: str
    domain: str

    @property
    def hosted_ui(self) -> str:
        return urls.hosted_ui_base(self.endpoint, self.domain)

    def user(self, phone: str | None = None) -> str:
        """A confirmed user with `MFA_PASSWORD` (and `phone` as its phone_number); its name."""
        name = "m" + secrets.token_hex(4)
        attributes = [{"Name": "phone_number", "Value": phone}] if phone else []
        self.idp.admin_create_user(UserPoolId=self.pool_id, Username=name,
                                   MessageAction="SUPPRESS", UserAttributes=attributes)  # fmt: skip
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=name, Password=MFA_PASSWORD, Permanent=True
        )
        return name

    def cognito(self, username: str) -> Cognito:
        return Cognito(self.pool_id, self.client_id, username=username, boto3_client_kwargs={
            "endpoint_url": self.endpoint, "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing"})  # fmt: skip


def mfa_pool(
    endpoint: str,
    mfa: str,
    *,
    totp: bool = False,
    sms: bool = False,
    client: dict[str, Any] | None = None,
    **pool: Any,
) -> MfaPool:
    """A new pool whose MfaConfiguration is `mfa` (OFF, ON, OPTIONAL), offering TOTP and/or SMS
    MFA (`pool`: CreateUserPool's other settings; `client`: CreateUserPoolClient's)."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    name = f"mfa-{mfa.lower()}-{secrets.token_hex(3)}"
    if sms:
        pool = {"SmsConfiguration": SMS_CONFIGURATION, "MfaConfiguration": mfa, **pool}
    pool_id = idp.create_user_pool(PoolName=name, **pool)["UserPool"]["Id"]
    config: dict[str, Any] = {"SoftwareTokenMfaConfiguration": {"Enabled": totp}}
    if sms:
        config["SmsMfaConfiguration"] = {"SmsAuthenticationMessage": "Code: {####}",
                                         "SmsConfiguration": SMS_CONFIGURATION}  # fmt: skip
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration=mfa, **config)
    idp.create_user_pool_domain(Domain=name, UserPoolId=pool_id)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                           "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"], **(client or {}),
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    return MfaPool(endpoint, idp, pool_id, client_id, name)
