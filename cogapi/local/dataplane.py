"""API Gateway (REST) for the local stand-in: routing, Cognito authorizer, Lambda integrations.

Serves `/_cogapi/api/{api_id}/{stage}/{path}` from the stage's deployment (see `moto_state` on
snapshots), answering as aws-notes describes ("What AWS's edge looks like from outside"):
- Routing: literal parts beat `{param}` beats `{proxy+}`; `ANY` matches every method; an unknown
  stage, path or method is 403 "Missing Authentication Token".
- `COGNITO_USER_POOLS`: checked by `authorizer` (token, issuer, expiry, then scopes).
- Lambda: the function's resource policy must let API Gateway call it (else 500, as AWS does).
  `AWS_PROXY` gets the REST v1.0 event and its answer is validated (502 if malformed). `AWS`
  renders the request template with the `vtl` subset (`$context`, `$input`, `#set`, `#if`).
- Timeouts: the integration timeout (`timeoutInMillis`, 29 s at most) is 504 "Endpoint request
  timed out"; the function's own shorter timeout is a Lambda error, hence 502, as on AWS.
- Sizes: a request body above 10 MB is 413 "Request Too Long" (API Gateway's payload limit); an
  answer above Lambda's 6 MB response limit is a Lambda error, hence 502.
- MOCK integrations (a CORS preflight), integration-response headers, and the gateway responses
  on every answer the gateway makes itself (`gateway_errors`): see `response_mapping`.
- CORS: the gateway adds no CORS header of its own, only what the API defines (its MOCK
  integrations and gateway responses); what a handler answers is passed through.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from cogapi.local import moto_state, vtl
from cogapi.local.authorizer import CognitoAuthorizer
from cogapi.local.gateway_errors import (
    GatewayError,
    bad_gateway,
    internal,
    missing_token,
    too_long,
)
from cogapi.local.moto_state import (
    ApiSnapshot,
    DeployedStage,
    IntegrationSpec,
    MethodSpec,
    MotoState,
    ResourceSpec,
)
from cogapi.local.proxy_answer import ProxyAnswer, proxy_response
from cogapi.local.response_mapping import (
    MappingSource,
    gateway_answer,
    integration_answer,
    mock_answer,
    scope,
)
from cogapi.local.runner import FailureKind, FunctionCode, FunctionRunner, Invocation
from cogapi.local.tokens import KeySet

MAX_INTEGRATION_SECONDS = 29.0
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota
WHY_KEY = "cogapi.why"  # WSGI environ key: why the gateway refused a request, for the log line
_FUNCTION_ARN = re.compile(r"functions/(arn:[^/]+)/invocations")


# --- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    resource: ResourceSpec
    method: MethodSpec
    path_parameters: dict[str, str]


def _match(template: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(rank, params) if `template` matches; a lower rank is more specific."""
    parts = [p for p in template.split("/") if p]
    params: dict[str, str] = {}
    rank: list[int] = []
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if i != len(parts) - 1 or i >= len(segments):
                return None
            params[part[1:-2]] = "/".join(segments[i:])
            return (*rank, 2), params
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[i]
            rank.append(1)
        elif part == segments[i]:
            rank.append(0)
        else:
            return None
    return (tuple(rank), params) if len(parts) == len(segments) else None


def find_route(api: ApiSnapshot, path: str, http_method: str) -> Route:
    segments = [s for s in path.split("/") if s]
    best: tuple[tuple[int, ...], ResourceSpec, dict[str, str]] | None = None
    for resource in api.resources:
        matched = _match(resource.path, segments)
        if matched is not None and (best is None or matched[0] < best[0]):
            best = (matched[0], resource, matched[1])
    if best is None:
        raise missing_token()
    _, resource, params = best
    methods = {m.http_method: m for m in resource.methods}
    method = methods.get(http_method.upper()) or methods.get("ANY")
    if method is None:
        raise missing_token()
    return Route(resource, method, params)


# --- events and answers ------------------------------------------------------------------------


_HEADER_NAMES: dict[str, str] = {}  # environ key -> header name ("" for other keys)


def _header_name(key: str) -> str:
    """The header name werkzeug's `request.headers` gives an environ key, "" when the key is
    not a header."""
    name = _HEADER_NAMES.get(key)
    if name is None:
        if key[:5] == "HTTP_" and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            name = key[5:].replace("_", "-").title()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").title()
        else:
            name = ""
        if len(_HEADER_NAMES) < 4096:  # the names a client sends are few; junk is not kept
            _HEADER_NAMES[key] = name
    return name


def _headers(environ: dict[str, Any]) -> tuple[dict[str, str] | None, dict[str, list[str]]]:
    """The request's headers as werkzeug's `request.headers` names them, read straight from the
    environ (werkzeug's header view costs several times more per request)."""
    multi: dict[str, list[str]] = {}
    names = _HEADER_NAMES
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
        if name and (value or key[:5] == "HTTP_"):  # werkzeug skips an empty CONTENT_*
            multi.setdefault(name, []).append(value)
    if not multi:
        return None, multi
    return {k: v[-1] for k, v in multi.items()}, multi


def _has_body(environ: dict[str, Any]) -> bool:
    return "wsgi.input_terminated" in environ or environ.get("CONTENT_LENGTH", "") not in ("", "0")


def _body(request: Request) -> tuple[str | None, bool]:
    if not _has_body(request.environ):
        return None, False
    raw = request.get_data()
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), True


@dataclass(frozen=True)
class Call:
    """One request as the gateway sees it after routing."""

    request: Request
    deployed: DeployedStage
    route: Route
    path: str  # without the stage
    request_id: str
    claims: dict[str, str] | None  # as the integration sees them (`claim_strings`)

    def context(self) -> dict[str, Any]:
        api = self.deployed.api
        environ = self.request.environ
        now = time.time()
        ctx: dict[str, Any] = {
            "resourceId": self.route.resource.resource_id,
            "resourcePath": self.route.resource.path,
            "httpMethod": self.request.method,
            "extendedRequestId": self.request_id[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{self.deployed.stage}{self.path}",
            "accountId": api.account_id,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": self.deployed.stage,
            "domainPrefix": api.api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": self.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": environ.get("REMOTE_ADDR"),
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": environ.get("HTTP_USER_AGENT") or None,
                "user": None,
            },
            "domainName": self.request.host,
            "deploymentId": api.deployment_id,
            "apiId": api.api_id,
        }
        if self.claims is not None:
            ctx["authorizer"] = {"claims": dict(self.claims)}
        return ctx

    def proxy_event(self) -> dict[str, Any]:
        headers, multi_headers = _headers(self.request.environ)
        query: dict[str, str] | None = None
        multi_query: dict[str, list[str]] | None = None
        if self.request.environ.get("QUERY_STRING"):
            args = self.request.args
            query = {k: args.getlist(k)[-1] for k in args} or None
            multi_query = {k: args.getlist(k) for k in args} or None
        body, is_b64 = _body(self.request)
        variables = dict(self.deployed.variables)
        return {
            "resource": self.route.resource.path,
            "path": self.path,
            "httpMethod": self.request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": self.route.path_parameters or None,
            "stageVariables": variables or None,
            "requestContext": self.context(),
            "body": body,
            "isBase64Encoded": is_b64,
        }

    def mapping_source(self) -> MappingSource:
        return MappingSource(
            self.request, self.context(), self.route.path_parameters, dict(self.deployed.variables)
        )

    def template_event(self, integration: IntegrationSpec) -> Any:
        templates = dict(integration.request_templates)
        content_type = self.request.mimetype or "application/json"
        template = templates.get(content_type, templates.get("application/json"))
        body = self.request.get_data(as_text=True)
        if template is None:  # passthrough
            try:
                return json.loads(body) if body else {}
            except ValueError:
                raise internal("passthrough body is not JSON") from None
        source = self.mapping_source()
        rendered = vtl.render(template, scope(source, source.context, body))
        try:
            return json.loads(rendered)
        except ValueError:
            raise internal(f"request template did not render to JSON: {rendered[:200]}") from None


# --- the data plane ----------------------------------------------------------------------------


class _Target:
    """What `DataPlane._target` found for a request line in one state generation; `code` is
    the function once it has been found to exist and to let API Gateway call it."""

    __slots__ = ("generation", "deployed", "route", "code")

    def __init__(self, generation: int, deployed: DeployedStage, route: Route) -> None:
        self.generation = generation
        self.deployed = deployed
        self.route = route
        self.code: FunctionCode | None = None


class DataPlane:
    REMEMBERED_TARGETS = 1024  # request lines whose route is kept; all dropped past that

    def __init__(
        self,
        state: MotoState,
        keys: KeySet,
        runner: FunctionRunner,
        endpoint: str,
        clock: Callable[[], float] = time.time,
        max_integration_seconds: float = MAX_INTEGRATION_SECONDS,
        handler_output: Callable[[str, list[str]], None] | None = None,
    ) -> None:
        self.state = state
        self.runner = runner
        self.max_integration_seconds = max_integration_seconds
        self.handler_output = handler_output or _discard
        self.authorizer = CognitoAuthorizer(state, keys, endpoint, clock)
        self._targets: dict[tuple[str, str, str, str], _Target] = {}

    def handle(
        self, request: Request, api_id: str, stage: str, path: str
    ) -> Response | ProxyAnswer:
        request_id = str(uuid.uuid4())
        request.max_content_length = MAX_REQUEST_BYTES  # a chunked body is cut off there too
        try:
            _check_body_size(request)
            try:
                response = self._handle(request, api_id, stage, "/" + path.strip("/"), request_id)
            except RequestEntityTooLarge:
                raise too_long("body above 10 MB") from None
        except GatewayError as exc:
            if exc.why:  # the server's request line (`-v`) says why the gateway refused
                request.environ[WHY_KEY] = exc.why
            response = self._gateway_answer(exc, request, api_id, stage, path, request_id)
        apigw_id = secrets.token_urlsafe(12)[:15] + "="
        if isinstance(response, ProxyAnswer):
            response.set_header("x-amzn-RequestId", request_id)
            response.set_header("x-amz-apigw-id", apigw_id)
        else:
            response.headers["x-amzn-RequestId"] = request_id
            response.headers["x-amz-apigw-id"] = apigw_id
        return response

    def _handle(
        self, request: Request, api_id: str, stage: str, path: str, request_id: str
    ) -> Response | ProxyAnswer:
        target = self._target(api_id, stage, path, request.method)
        deployed, route = target.deployed, target.route
        method = route.method
        claims = None
        if method.authorization_type == "COGNITO_USER_POOLS":
            claims = self.authorizer.authorize(request, deployed.api, method)[1]
        elif method.authorization_type != "NONE":
            raise internal(f"authorizationType {method.authorization_type} is not emulated")
        call = Call(request, deployed, route, path, request_id, claims)
        integration = method.integration
        if integration is None:
            raise internal("no integration defined for method")
        if integration.type == "MOCK":
            answer = mock_answer(integration, call.mapping_source())
            if answer is None:
                raise internal("no integration response matches the MOCK's statusCode")
            return answer
        if integration.type not in ("AWS_PROXY", "AWS"):
            raise internal(f"integration type {integration.type} is not emulated")
        match = _FUNCTION_ARN.search(integration.uri)
        if match is None:
            raise internal(f"integration URI is not a Lambda function: {integration.uri}")
        code = target.code
        if code is None:
            code = target.code = self._permitted_code(call, match.group(1))
        if integration.type == "AWS" and not integration.responses:
            raise internal("no integration response (AWS integrations need one)")
        event = (
            call.proxy_event()
            if integration.type == "AWS_PROXY"
            else call.template_event(integration)
        )
        gateway_limit = min(
            self.max_integration_seconds, (integration.timeout_ms or 29000) / 1000.0
        )
        result = self.runner.invoke(code, event, timeout=min(code.timeout, gateway_limit))
        self._log_invocation(code.name, result)
        if result.failure is FailureKind.TIMEOUT and gateway_limit <= code.timeout:
            raise GatewayError(504, "Endpoint request timed out", None, result.message)
        if not result.ok:
            raise bad_gateway(f"{result.error_type}: {result.message}")
        if integration.type == "AWS_PROXY":
            return proxy_response(result.value)
        default = next((m for m in integration.response_mappings if not m.selection_pattern), None)
        if default is not None:
            return integration_answer(default, json.dumps(result.value), call.mapping_source())
        status = next((s for s, pattern in integration.responses if not pattern), "200")
        return Response(
            json.dumps(result.value), status=int(status), content_type="application/json"
        )

    def _target(self, api_id: str, stage: str, path: str, http_method: str) -> _Target:
        """The deployment and route of a request line, found once per state generation: they
        (and the function and its permission, `_Target.code`) change only when moto's backends
        do (`moto_state.generation`). Refusals are not remembered."""
        key = (api_id, stage, path, http_method)
        generation = moto_state.generation()
        known = self._targets.get(key)
        if known is not None and known.generation == generation:
            return known
        deployed = self.state.deployed_stage(api_id, stage)
        if deployed is None:
            raise missing_token()
        target = _Target(generation, deployed, find_route(deployed.api, path, http_method))
        if len(self._targets) >= self.REMEMBERED_TARGETS:  # e.g. one per id under /items/{id}
            self._targets.clear()
        self._targets[key] = target
        return target

    def _gateway_answer(
        self,
        exc: GatewayError,
        request: Request,
        api_id: str,
        stage: str,
        path: str,
        request_id: str,
    ) -> Response:
        """The answer shaped by the deployed API's gateway responses (`response_mapping`)."""
        deployed = self.state.deployed_stage(api_id, stage)
        context = {
            "requestId": request_id,
            "stage": stage,
            "apiId": api_id,
            "httpMethod": request.method,
            "path": f"/{stage}{'/' + path.strip('/')}",
            "domainName": request.host,
        }
        variables = dict(deployed.variables) if deployed else {}
        source = MappingSource(request, context, {}, variables)
        return gateway_answer(
            exc.status, exc.message, exc.error_type, deployed.api if deployed else None, source
        )

    def _permitted_code(self, call: Call, function_arn: str) -> FunctionCode:
        """The function's code if it exists and its resource policy lets API Gateway call it
        for this request (500 otherwise, as AWS answers)."""
        api = call.deployed.api
        prefix = (
            f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{call.deployed.stage}/"
        )
        candidates = list(
            dict.fromkeys(  # the likeliest first: `any` stops at the first match
                f"{prefix}{m}{p}"
                for m in (call.request.method, call.route.method.http_method)
                for p in (call.route.resource.path, call.path)
            )
        )
        code, permitted = self.state.gateway_target(
            function_arn, "apigateway.amazonaws.com", candidates
        )
        if code is None:
            raise internal(f"function {function_arn} does not exist")
        if not permitted:
            raise internal(
                "Invalid permissions on Lambda function (add_permission for "
                f"apigateway.amazonaws.com, SourceArn like {min(candidates)})"
            )
        return code

    def _log_invocation(self, name: str, result: Invocation) -> None:
        """The function's output, as its CloudWatch log would have it, then how it failed."""
        lines = result.logs.splitlines()
        if not result.ok:
            lines.append(f"{result.error_type}: {result.message}".lstrip(": "))
        if lines:
            self.handler_output(name, lines)


def _discard(name: str, lines: list[str]) -> None:
    pass


def _check_body_size(request: Request) -> None:
    """413 for a body above the limit, with or without Content-Length. The refused body is read
    and dropped (up to a bound), so the client sees the answer and not a reset connection."""
    environ = request.environ
    length = environ.get("CONTENT_LENGTH", "")
    if "wsgi.input_terminated" not in environ and (
        not length or (length.isascii() and length.isdigit() and int(length) <= MAX_REQUEST_BYTES)
    ):
        return  # the common case, told without werkzeug's header parsing
    raw = environ.get("wsgi.input")
    if request.content_length is not None:
        if request.content_length <= MAX_REQUEST_BYTES:
            return
        left = min(request.content_length, 8 * MAX_REQUEST_BYTES)
    elif "wsgi.input_terminated" in request.environ and raw is not None:
        data = request.get_data()  # kept for the event; the stream stops at the limit
        if len(data) < MAX_REQUEST_BYTES or not raw.read(1):
            return
        left = 8 * MAX_REQUEST_BYTES
    else:
        return
    while raw is not None and left > 0:
        chunk = raw.read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
    raise too_long("body above 10 MB")
