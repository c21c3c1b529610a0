"""The API Gateway stand-in: routing, the Cognito authorizer, proxy events, answers, timeouts."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from local_stack import EMAIL, HANDLERS, REGION, Stack, _function, _route
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cogapi.local.dataplane import (
    WHY_KEY,
    Call,
    _check_body_size,
    _headers,
    find_route,
)
from cogapi.local.tokens import Grant, KeySet, SigningKey, Subject, access_claims, mint
from cogapi.stack import code as lambda_code


def get(stack: Stack, path: str, token: str | None = None, **kw: Any) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = token
    return requests.get(stack.url(path), headers=headers, **kw)


def assert_gateway(
    r: requests.Response, status: int, message: str, error_type: str | None = None
) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"message": message}
    assert r.headers["x-amzn-RequestId"] and r.headers["x-amz-apigw-id"]
    if error_type:
        assert r.headers["x-amzn-ErrorType"] == error_type


def event_of(r: requests.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return json.loads(r.text)["event"]  # type: ignore[no-any-return]


def test_scoped_method_accepts_access_token_with_scope(stack: Stack) -> None:
    r = get(stack, "/hello", stack.tokens()["access_token"])
    assert r.status_code == 200, r.text
    # an access token carries no email: the built-in handler names the caller by `username`
    username = stack.clients["cognito-idp"].admin_get_user(
        UserPoolId=stack.pool_id, Username=EMAIL
    )["Username"]
    assert r.json() == {
        "message": "Hello World",
        "caller": username,
        "path": "/hello",
        "method": "GET",
    }
    assert r.headers["x-amzn-RequestId"] and r.headers["x-amz-apigw-id"]


def test_bearer_prefix_is_accepted(stack: Stack) -> None:
    tokens = stack.tokens()
    assert get(stack, "/hello", "Bearer " + tokens["access_token"]).status_code == 200
    assert get(stack, "/me", "Bearer " + tokens["id_token"]).status_code == 200


def test_scoped_method_refuses_id_token_and_access_token_without_scope(stack: Stack) -> None:
    assert_gateway(
        get(stack, "/hello", stack.tokens()["id_token"]),
        401,
        "Unauthorized",
        "UnauthorizedException",
    )
    no_email = stack.tokens(scopes=("openid",))
    assert_gateway(get(stack, "/hello", no_email["access_token"]), 401, "Unauthorized")


def test_unscoped_method_takes_id_token_not_access_token(stack: Stack) -> None:
    tokens = stack.tokens()
    r = get(stack, "/me", tokens["id_token"])
    assert r.status_code == 200 and r.json()["caller"] == EMAIL
    assert_gateway(
        get(stack, "/me", tokens["access_token"]), 401, "Unauthorized", "UnauthorizedException"
    )


def test_missing_or_garbage_token_is_401(stack: Stack) -> None:
    assert_gateway(get(stack, "/hello"), 401, "Unauthorized", "UnauthorizedException")
    assert_gateway(get(stack, "/hello", "not-a-jwt"), 401, "Unauthorized")
    assert_gateway(get(stack, "/hello", "Bearer "), 401, "Unauthorized")


def test_token_signed_by_another_key_is_401(stack: Stack) -> None:
    good = stack.tokens()["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))
    ours = stack.server.keys.access_key
    impostor = SigningKey(kid=ours.kid, private_key=SigningKey.generate().private_key)
    assert_gateway(get(stack, "/hello", impostor.sign(claims)), 401, "Unauthorized")
    stranger = KeySet().access_key  # a kid this server never published
    assert_gateway(get(stack, "/hello", stranger.sign(claims)), 401, "Unauthorized")


def test_token_from_another_issuer_is_401(stack: Stack) -> None:
    subject = stack.server.state.subject(stack.pool_id, EMAIL)
    assert subject is not None
    tokens = stack.tokens()
    ui = stack.server.hosted_ui
    assert ui is not None
    client = stack.server.state.client(stack.pool_id, stack.client_id)
    assert client is not None
    grant = ui.grant_for(stack.pool_id, client, subject, ("openid", "email"))
    foreign = mint(
        stack.server.keys,
        grant.__class__(
            **{
                **grant.__dict__,
                "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{stack.pool_id}",
            }
        ),
    )
    assert_gateway(get(stack, "/hello", foreign.access_token), 401, "Unauthorized")
    assert get(stack, "/hello", tokens["access_token"]).status_code == 200


def test_expired_token_has_its_own_message(stack: Stack) -> None:
    old = stack.tokens(issued_at=int(time.time()) - 7200)
    for path, token in (("/hello", old["access_token"]), ("/me", old["id_token"])):
        assert_gateway(
            get(stack, path, token), 401, "The incoming token has expired", "UnauthorizedException"
        )


def test_expiry_is_checked_after_the_signature(stack: Stack) -> None:
    old = stack.tokens(issued_at=int(time.time()) - 7200)["access_token"]
    forged = old[:-4] + ("AAAA" if not old.endswith("AAAA") else "BBBB")
    assert_gateway(get(stack, "/hello", forged), 401, "Unauthorized")


def test_unknown_path_method_stage_or_api_is_403(stack: Stack) -> None:
    for r in (
        get(stack, "/nope"),
        get(stack, "/hello/extra"),
        requests.post(stack.url("/hello")),
        requests.get(stack.url("/hello").replace("/dev/", "/prod/")),
        requests.get(stack.url("/hello").replace(stack.api_id, "nope123")),
    ):
        assert_gateway(
            r, 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
        )


def test_open_method_proxy_event_shape(stack: Stack) -> None:
    event = event_of(get(stack, "/open"))
    assert event["resource"] == "/open" and event["path"] == "/open"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["body"] is None
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert "authorizer" not in ctx
    assert ctx["path"] == f"/{stack.stage}/open" and ctx["stage"] == stack.stage
    assert ctx["resourcePath"] == "/open" and ctx["httpMethod"] == "GET"
    assert ctx["apiId"] == stack.api_id and ctx["accountId"] == "123456789012"
    assert ctx["requestId"] and ctx["identity"]["sourceIp"] == "127.0.0.1"


def test_any_method_query_headers_and_body(stack: Stack) -> None:
    r = requests.post(
        stack.url("/open?a=1&a=2&b=x"),
        data='{"k": 1}',
        headers={"X-Thing": "yes", "Content-Type": "application/json"},
    )
    event = event_of(r)
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["headers"]["X-Thing"] == "yes"
    assert event["multiValueHeaders"]["X-Thing"] == ["yes"]
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["domainName"] == urlsplit(stack.endpoint).netloc  # the Host
    assert r.headers["X-Multi"] == "a, b" and r.headers["X-Remaining"] == "true"
    binary = event_of(requests.put(stack.url("/open"), data=b"\xff\x00\xfe"))
    assert binary["isBase64Encoded"] is True and binary["body"] == "/wD+"


def test_authorized_proxy_event_has_string_claims_and_path_parameters(stack: Stack) -> None:
    event = event_of(get(stack, "/items/42", stack.tokens()["id_token"]))
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/42"
    assert event["pathParameters"] == {"id": "42"}
    ctx = event["requestContext"]
    assert ctx["path"] == f"/{stack.stage}/items/42"
    claims = ctx["authorizer"]["claims"]
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["email"] == EMAIL and claims["email_verified"] == "true"
    assert claims["cognito:groups"] == "admins,staff"
    assert claims["token_use"] == "id" and claims["aud"] == stack.client_id
    assert re.fullmatch(r"\d+", claims["auth_time"])
    assert re.fullmatch(
        r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["exp"]
    ), claims["exp"]
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["iat"])


def test_parent_resource_and_greedy_proxy(stack: Stack) -> None:
    assert event_of(get(stack, "/items", stack.tokens()["id_token"]))["resource"] == "/items"
    event = event_of(get(stack, "/files/a/b/c.txt"))
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert_gateway(get(stack, "/files"), 403, "Missing Authentication Token")


def test_non_proxy_integration_renders_cogapis_template(stack: Stack) -> None:
    tokens = stack.tokens()
    r = get(stack, "/legacy", tokens["id_token"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "message": "Hello World",
        "caller": EMAIL,
        "path": "/legacy",
        "method": "GET",
    }


def test_non_proxy_template_sees_claims_as_strings(stack: Stack) -> None:
    state = stack.server.state
    deployed = state.deployed_stage(stack.api_id, stack.stage)
    assert deployed is not None
    # cogapi's template reads `claims['cognito:username']` (VTL's bare form would stop at ':').
    request = Request(EnvironBuilder(path="/legacy", method="GET").get_environ())
    route = find_route(deployed.api, "/legacy", "GET")
    claims = {"sub": "s-1", "email": "e@x", "cognito:username": "u-1", "exp": 1}
    event = Call(request, deployed, route, "/legacy", "rid", claims).template_event(
        route.method.integration
    )  # type: ignore[arg-type]
    assert event == {
        "claims": {"sub": "s-1", "email": "e@x", "username": "", "cognito:username": "u-1"},
        "path": "/legacy",
        "method": "GET",
    }


def test_handler_that_raises_is_502(stack: Stack) -> None:
    assert_gateway(get(stack, "/boom"), 502, "Internal server error")


@pytest.mark.parametrize("kind", ["list", "keys", "status", "body"])
def test_malformed_proxy_answer_is_502(stack: Stack, kind: str) -> None:
    assert_gateway(get(stack, "/garbage", params={"kind": kind}), 502, "Internal server error")


@pytest.mark.parametrize("kind", ["header-newline", "header-name"])
def test_a_header_that_cannot_be_sent_is_502(stack: Stack, kind: str) -> None:
    assert_gateway(get(stack, "/garbage", params={"kind": kind}), 502, "Internal server error")
    assert "header" in _why(stack, stack.api_id, "/garbage", "kind=" + kind)


def test_proxy_answers_carry_their_true_length_and_no_body_where_http_has_none(
    stack: Stack,
) -> None:
    wrong = get(stack, "/garbage", params={"kind": "wrong-length"})
    assert wrong.status_code == 200 and wrong.text == "four"
    assert wrong.headers["Content-Length"] == "4"
    empty = get(stack, "/garbage", params={"kind": "no-content"})
    assert empty.status_code == 204 and empty.content == b""
    assert "Content-Length" not in empty.headers
    unchanged = get(stack, "/garbage", params={"kind": "not-modified"})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == "e1"
    assert "Content-Type" not in unchanged.headers  # an entity header: 304 sends none
    moved = get(stack, "/garbage", params={"kind": "location"}, allow_redirects=False)
    assert moved.status_code == 302 and moved.headers["Location"] == "/caf%C3%A9?q=%C3%BC"
    head = requests.head(stack.url("/open"))
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0  # the length a GET's body would have


def test_numeric_string_status_is_fine(stack: Stack) -> None:
    r = get(stack, "/garbage", params={"kind": "string-status"})
    assert r.status_code == 201 and r.text == "fine"


def test_function_timeout_is_a_lambda_error_502(stack: Stack) -> None:
    started = time.monotonic()
    assert_gateway(get(stack, "/slow"), 502, "Internal server error")
    assert 0.9 < time.monotonic() - started < 2.5


def test_integration_timeout_is_504(stack: Stack) -> None:
    started = time.monotonic()
    assert_gateway(get(stack, "/slow-gateway"), 504, "Endpoint request timed out")
    assert 0.9 < time.monotonic() - started < 2.5


def test_function_without_apigateway_permission_is_500(stack: Stack) -> None:
    assert_gateway(get(stack, "/unpermitted"), 500, "Internal server error")


def test_a_deleted_function_is_500_and_its_successor_is_called(stack: Stack) -> None:
    apigw = stack.clients["apigateway"]
    api = apigw.create_rest_api(name="gone")
    name = f"gone{time.time_ns()}"
    sub = Stack(**{**stack.__dict__, "api_id": api["id"], "functions": {}})
    sub.functions[name] = _function(stack.clients, stack.role_arn, name,
                                    lambda_code.package(None, "app.handler"))  # fmt: skip
    root = next(
        r["id"] for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    _route(sub, root, "fn", "GET", name)
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    assert get(sub, "/fn").status_code == 200
    stack.clients["lambda"].delete_function(FunctionName=name)
    assert_gateway(get(sub, "/fn"), 500, "Internal server error")
    assert "does not exist" in _why(stack, api["id"], "/fn")
    # Made again under the same name, without a permission: still refused, now for that.
    _function(stack.clients, stack.role_arn, name, lambda_code.package(None, "app.handler"))
    assert_gateway(get(sub, "/fn"), 500, "Internal server error")
    assert "Invalid permissions on Lambda function" in _why(stack, api["id"], "/fn")


def test_the_authorizer_reads_the_header_its_identity_source_names(stack: Stack) -> None:
    apigw = stack.clients["apigateway"]
    api = apigw.create_rest_api(name="other-header")
    sub = Stack(**{**stack.__dict__, "api_id": api["id"], "functions": dict(stack.functions)})
    authorizer = apigw.create_authorizer(
        restApiId=api["id"],
        name="cognito",
        type="COGNITO_USER_POOLS",
        providerARNs=[f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{stack.pool_id}"],
        identitySource="method.request.header.X-Id-Token",
    )["id"]
    root = next(
        r["id"] for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    _route(sub, root, "fn", "GET", "echo", auth="COGNITO_USER_POOLS", authorizer_id=authorizer)
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    token = stack.tokens()["id_token"]
    assert get(sub, "/fn", headers={"x-id-token": token}).status_code == 200
    assert_gateway(get(sub, "/fn", token), 401, "Unauthorized")  # in Authorization: not read


def _why(stack: Stack, api_id: str, path: str, query: str = "") -> str:
    """Why the gateway refused a GET (what `cogapi local -v` prints on its request line)."""
    environ = EnvironBuilder(path=path, method="GET", query_string=query).get_environ()
    request = Request(environ)
    stack.server.dataplane.handle(request, api_id, "dev", path)
    return str(request.environ.get(WHY_KEY, ""))


def test_permission_and_stage_changes_reach_the_very_next_request(stack: Stack) -> None:
    """The gateway remembers a route's function and permission between requests: a change
    made in between (no new deployment needed on AWS for these) must still be seen at once."""
    apigw, lam = stack.clients["apigateway"], stack.clients["lambda"]
    api = apigw.create_rest_api(name="changing")
    name = f"changing{time.time_ns()}"
    sub = Stack(**{**stack.__dict__, "api_id": api["id"], "functions": {}})
    sub.functions[name] = _function(stack.clients, stack.role_arn, name,
                                    lambda_code.package(HANDLERS / "echo.py", "echo.handler"))  # fmt: skip
    root = next(
        r["id"] for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    resource = _route(sub, root, "fn", "GET", name)
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    assert event_of(get(sub, "/fn"))["stageVariables"] is None
    lam.remove_permission(FunctionName=name, StatementId=f"apigw-{resource}-GET")
    assert_gateway(get(sub, "/fn"), 500, "Internal server error")
    lam.add_permission(
        FunctionName=name,
        StatementId="again",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api['id']}/*/GET/fn",
    )
    assert get(sub, "/fn").status_code == 200
    apigw.update_stage(
        restApiId=api["id"],
        stageName="dev",
        patchOperations=[{"op": "replace", "path": "/variables/color", "value": "blue"}],
    )
    assert event_of(get(sub, "/fn"))["stageVariables"] == {"color": "blue"}


def test_changes_are_invisible_until_the_next_deployment(stack: Stack) -> None:
    apigw = stack.clients["apigateway"]
    api = apigw.create_rest_api(name="redeploy")
    sub = Stack(**{**stack.__dict__, "api_id": api["id"], "functions": dict(stack.functions)})
    root = next(
        r["id"] for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    _route(sub, root, "first", "GET", "echo")
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    assert get(sub, "/first").status_code == 200
    _route(sub, root, "second", "GET", "echo")
    assert_gateway(get(sub, "/second"), 403, "Missing Authentication Token")
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    assert get(sub, "/second").status_code == 200


def test_handler_gets_function_environment_and_local_endpoint(stack: Stack) -> None:
    code = stack.server.state.function_code(stack.functions["echo"])
    assert code is not None and code.environment == {"GREETING": "hi"}
    runner = stack.server.runner
    assert runner is not None
    env = runner.environment(code, runner.code_dir(code))
    assert env["AWS_ENDPOINT_URL"] == stack.endpoint and env["GREETING"] == "hi"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"


def test_event_headers_are_named_as_werkzeugs_request_headers() -> None:
    """The proxy event reads headers from the environ itself (werkzeug's view was a good part
    of the gateway's cost); the names and values must stay what `request.headers` gives."""
    environ = EnvironBuilder(
        path="/x",
        headers=[("X-Api-Key", "k"), ("x-lower_case", "v"), ("Accept", "a, b")],
        content_type="text/plain",
        data=b"body",
    ).get_environ()
    environ["HTTP_CONTENT_TYPE"] = "ignored, as werkzeug ignores it"
    environ["CONTENT_LENGTH"] = ""  # an empty one is no header
    werkzeugs = list(Request(environ).headers.items())
    for _ in range(2):  # the second time from the names kept by the first
        single, multi = _headers(environ)
        assert multi == {name: [value] for name, value in werkzeugs}
        assert single == dict(werkzeugs)
        assert "Content-Type" in multi and "Content-Length" not in multi


def test_access_claims_have_no_aud() -> None:
    grant = Grant("iss", "cid", Subject("sub", "user", {"email": "e"}), ("openid",), 1)
    assert "aud" not in access_claims(grant, 10)


def test_new_function_is_found_without_restart(stack: Stack) -> None:
    arn = _function(
        stack.clients, stack.role_arn, f"late{time.time_ns()}", lambda_code.package(None, "x")
    )
    assert stack.server.state.function_code(arn) is not None


def test_password_sign_in_tokens_behave_as_on_aws(stack: Stack) -> None:
    # InitiateAuth goes to moto (which checks the password); the stand-in re-signs the tokens,
    # so they verify like hosted-UI tokens but carry only the admin scope, as on AWS.
    from local_stack import PASSWORD

    result = stack.clients["cognito-idp"].initiate_auth(
        ClientId=stack.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]  # fmt: skip
    access = stack.server.keys.decode(result["AccessToken"])
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["iss"].startswith(stack.endpoint)
    assert get(stack, "/me", result["IdToken"]).status_code == 200  # unscoped: the ID token
    assert_gateway(
        get(stack, "/hello", result["AccessToken"]), 401, "Unauthorized"
    )  # no `email` scope
    refreshed = stack.clients["cognito-idp"].initiate_auth(
        ClientId=stack.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]  # fmt: skip
    assert get(stack, "/me", refreshed["IdToken"]).status_code == 200


def test_integration_limit_holds_for_a_longer_function_timeout(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # API Gateway's 29 s cap, made short: the function's own timeout (10 s) is longer
    assert stack.server.dataplane is not None
    monkeypatch.setattr(stack.server.dataplane, "max_integration_seconds", 1.0)
    started = time.monotonic()
    assert_gateway(get(stack, "/slow-long"), 504, "Endpoint request timed out")
    assert 0.9 < time.monotonic() - started < 2.5


def test_request_body_above_10_mb_is_413(stack: Stack) -> None:
    limit = 10 * 1024 * 1024
    r = requests.post(stack.url("/sink"), data=b"x" * limit)
    assert r.status_code == 200, r.text[:200]
    r = requests.post(stack.url("/sink"), data=b"x" * (limit + 1))
    assert_gateway(r, 413, "Request Too Long")

    def chunked() -> Any:  # no Content-Length: cut off at the limit all the same
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    assert_gateway(requests.post(stack.url("/sink"), data=chunked()), 413, "Request Too Long")


def test_a_content_length_of_non_ascii_digits_is_read_as_werkzeug_reads_it() -> None:
    """werkzeug's own request handler (an absolute-form target) passes `Content-Length: \xb2`
    on as "\u00b2", which `str.isdigit` calls a digit and `int` refuses; werkzeug reads it as 0."""
    environ = EnvironBuilder(method="POST", path="/x").get_environ()
    environ["CONTENT_LENGTH"] = "\u00b2"
    request = Request(environ)
    assert request.content_length == 0
    _check_body_size(request)  # no answer of its own: the request goes on, as werkzeug's did


def test_proxy_answer_above_6_mb_is_502(stack: Stack) -> None:
    big = get(stack, "/garbage", params={"kind": "big"})
    assert big.status_code == 200 and len(big.content) == 5 * 1024 * 1024
    assert_gateway(get(stack, "/garbage", params={"kind": "huge"}), 502, "Internal server error")


def test_a_token_seen_before_is_still_checked_for_expiry_and_scopes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = stack.tokens()
    assert get(stack, "/hello", tokens["access_token"]).status_code == 200  # verified once
    assert_gateway(get(stack, "/me", tokens["access_token"]), 401, "Unauthorized")
    authorizer = stack.server.dataplane.authorizer  # type: ignore[union-attr]
    monkeypatch.setattr(authorizer, "clock", lambda: time.time() + 2 * 3600)
    assert_gateway(get(stack, "/hello", tokens["access_token"]), 401,
                   "The incoming token has expired")  # fmt: skip
