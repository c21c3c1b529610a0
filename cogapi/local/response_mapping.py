"""How API Gateway shapes the answers it makes itself, for the local data plane.

- Gateway responses: an answer the gateway gives on its own (401, 403, 413, 429, 5XX) takes the
  API's gateway response of its type (UNAUTHORIZED, MISSING_AUTHENTICATION_TOKEN, ...) if the API
  customised it, else the API's DEFAULT_4XX / DEFAULT_5XX, else API Gateway's default
  (`{"message": ...}`, no extra headers). A status set on DEFAULT_4XX/5XX applies to every type of
  its class that does not set its own. A Cognito authorizer's refusals, the expired token
  included, are UNAUTHORIZED (401); EXPIRED_TOKEN (403) is SigV4's.
- MOCK integrations: the request template's `statusCode` selects the integration response (a
  selection pattern matched against it, else the default one), whose `responseParameters` and
  template make the answer. That is how a CORS preflight is answered without any authorizer.
- Parameter mapping (`gatewayresponse.header.X`, `method.response.header.X`): a quoted static
  value, or `method.request.header|querystring|path.<name>`, `stageVariables.<name>`,
  `context.<path>`. Nothing else is added: the stand-in never invents CORS headers nor echoes an
  `Origin` the API's definition does not map.
- Templates render `$context...` references only (not general VTL), `$context.error.message`
  and `$context.error.messageString` (the message as a JSON string) included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from cogapi.local.moto_state import ApiSnapshot, IntegrationResponseSpec, IntegrationSpec

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
# `$context.a.b` or `${context.a.b}` (a brace only in pairs: `{"m":$context.x}` keeps its own)
_CONTEXT_REF = re.compile(
    r"\$!?(?:\{context((?:\.[A-Za-z][A-Za-z0-9_-]*)+)\}|context((?:\.[A-Za-z][A-Za-z0-9_-]*)+))"
)
_BY_ERROR_TYPE = {
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "UnauthorizedException": "UNAUTHORIZED",
    "AccessDeniedException": "ACCESS_DENIED",
}
_BY_STATUS = {
    401: "UNAUTHORIZED",
    403: "ACCESS_DENIED",
    413: "REQUEST_TOO_LARGE",
    429: "THROTTLED",
    504: "INTEGRATION_TIMEOUT",
}


@dataclass(frozen=True)
class MappingSource:
    """What a mapping expression may read."""

    request: Request
    context: Mapping[str, Any]
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)


def response_type_for(status: int, error_type: str | None) -> str | None:
    """The gateway response type of one of the gateway's own answers (None: DEFAULT_4XX/5XX)."""
    return _BY_ERROR_TYPE.get(error_type or "") or _BY_STATUS.get(status)


def mapped_value(expression: str, source: MappingSource) -> str | None:
    """The value of a response parameter's mapping expression; None when it maps nothing."""
    expression = expression.strip()
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    for prefix, values in (
        ("method.request.header.", source.request.headers),
        ("method.request.querystring.", source.request.args),
        ("method.request.path.", source.path_parameters),
        ("stageVariables.", source.stage_variables),
    ):
        if expression.startswith(prefix):
            value = values.get(expression[len(prefix) :])
            return None if value is None else str(value)
    if expression.startswith("context."):
        found: Any = source.context
        for part in expression[len("context.") :].split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        return None if found is None or isinstance(found, Mapping) else str(found)
    return None  # integration.response.* and body mappings: nothing to read locally


def render(template: str, context: Mapping[str, Any]) -> str:
    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in (match.group(1) or match.group(2)).split(".")[1:]:
            value = value.get(part) if isinstance(value, Mapping) else None
        return "" if value is None or isinstance(value, Mapping) else str(value)

    return _CONTEXT_REF.sub(lookup, template)


def _template(templates: tuple[tuple[str, str], ...], request: Request) -> str | None:
    chosen = dict(templates)
    return chosen.get(request.mimetype or "application/json", chosen.get("application/json"))


def _add_headers(
    response: Response, parameters: tuple[tuple[str, str], ...], prefix: str, source: MappingSource
) -> None:
    for name, expression in parameters:
        if name.startswith(prefix):
            value = mapped_value(expression, source)
            if value is not None:
                response.headers[name[len(prefix) :]] = value


def gateway_answer(
    status: int,
    message: str,
    error_type: str | None,
    api: ApiSnapshot | None,
    source: MappingSource,
) -> Response:
    """The gateway's own answer, shaped by the API's gateway responses (see the docstring)."""
    response_type = response_type_for(status, error_type)
    fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    specific = api.gateway_response(response_type) if api and response_type else None
    default = api.gateway_response(fallback) if api else None
    for spec in (specific, default):
        if spec is not None and spec.status_code:
            status = int(spec.status_code)
            break
    chosen = specific or default
    context = {
        **source.context,
        "error": {
            "message": message,
            "messageString": json.dumps(message),
            "responseType": response_type or fallback,
        },
    }
    template = (_template(chosen.templates, source.request) if chosen else None) or DEFAULT_TEMPLATE
    response = Response(render(template, context), status=status, content_type="application/json")
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    if chosen is not None:
        _add_headers(response, chosen.parameters, "gatewayresponse.header.", source)
    return response


def select_response(integration: IntegrationSpec, selector: str) -> IntegrationResponseSpec | None:
    """The integration response whose selection pattern matches `selector`, else the default."""
    for mapping in integration.response_mappings:
        if mapping.selection_pattern and re.fullmatch(mapping.selection_pattern, selector):
            return mapping
    return next((m for m in integration.response_mappings if not m.selection_pattern), None)


def integration_answer(
    mapping: IntegrationResponseSpec, body: str, source: MappingSource
) -> Response:
    """An answer shaped by an integration response: its status, headers and template."""
    template = _template(mapping.templates, source.request)
    if template:
        body = render(template, source.context)
    response = Response(body, status=int(mapping.status_code), content_type="application/json")
    _add_headers(response, mapping.parameters, "method.response.header.", source)
    return response


def mock_answer(integration: IntegrationSpec, source: MappingSource) -> Response | None:
    """A MOCK integration's answer; None when no integration response matches (a 500)."""
    status = "200"
    template = _template(integration.request_templates, source.request)
    if template:
        try:
            rendered = json.loads(render(template, source.context))
        except ValueError:
            rendered = None
        if isinstance(rendered, dict) and "statusCode" in rendered:
            status = str(rendered["statusCode"])
    mapping = select_response(integration, status)
    return None if mapping is None else integration_answer(mapping, "", source)
