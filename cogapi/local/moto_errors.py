"""AWS-shaped answers where moto would crash: bad request bodies, actions it lacks, its own bugs.

moto raises on much of what a client can send: a Cognito body that is not a JSON object, a
required parameter left out (`KeyError`), a value of the wrong type, an action it never
implemented (`NotImplementedError`). werkzeug then printed the traceback into the terminal that
runs `cogapi local` and answered an HTML 500, which SDKs retry and then report as an unreadable
error. Instead:
- `cognito_body`: a Cognito call's body is checked first, against the operation's input
  shape in botocore's model (what the SDKs validate before sending), and refused as the service
  refuses it: `SerializationException` (400) for a body that is not a JSON object or a value of
  the wrong JSON type, `InvalidParameterException` (400) with AWS's "validation error detected"
  wording for a required parameter left out. Unknown members pass, as AWS ignores them. A
  `SignUp` without a password (left out or blank) counts as one left out: the model lets it go
  for pools with passwordless sign-in, which moto has no notion of, so no local pool has it
  and AWS requires the password there ("You can only create a passwordless user when
  passwordless sign-in is available"). The wording is AWS's from when the model required it.
  A user attribute without its `Value` (left out, or JSON null, which AWS reads as left out)
  is AWS's `InvalidParameterException` "Attribute value for picture must not be null".
- `contained`: any call into moto that still raises gets a JSON error naming the action: 501
  `NotImplemented` for an action moto has not implemented, 400 `UnrecognizedRegion` for a
  request signed for a region moto has no backend for (its `KeyError` names the region; AWS
  has no endpoint there at all), 500 `InternalFailure` otherwise. The
  traceback goes to the server's log (`cogapi local -v`), not to the terminal by default.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

log = logging.getLogger("cogapi.local")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@functools.lru_cache(maxsize=1)
def _cognito_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("cognito-idp")


class Refused(NamedTuple):
    """A Cognito request refused before moto sees it: AWS's error type and message."""

    error_type: str
    message: str


def schema_refusal(missing: list[str]) -> Refused | None:
    """AWS's answer to a sign-up that leaves the required attributes `missing` without a value
    (one line per attribute), or None when none is missing."""
    if not missing:
        return None
    lines = "".join(f"{name}: The attribute is required\n" for name in missing)
    return Refused(
        "InvalidParameterException", "Attributes did not conform to the schema: " + lines
    )


def cognito_body(operation: str, raw: bytes) -> dict[str, Any] | Refused:
    """The body of Cognito `operation` as a JSON object, or why it is refused before it reaches
    moto (see the module docstring). An operation outside botocore's model is only parsed:
    moto answers it itself."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return Refused("SerializationException", "the request body is not valid JSON")
    if not isinstance(body, dict):
        return Refused("SerializationException", "the request body is not a JSON object")
    model = _cognito_model()
    if operation not in model.operation_names:
        return body
    attributes = body.get("UserAttributes")
    if operation in _ATTRIBUTE_LISTS and isinstance(attributes, list):
        for attribute in attributes:
            name = attribute.get("Name") if isinstance(attribute, dict) else None
            if isinstance(name, str) and attribute.get("Value") is None:
                return Refused(
                    "InvalidParameterException", f"Attribute value for {name} must not be null"
                )
    from botocore.validate import ParamValidator

    shape = model.operation_model(operation).input_shape
    if shape is None:
        return body
    report = ParamValidator().validate(body, shape)
    errors = list(getattr(report, "_errors", ()))
    missing = [
        _camel(f"{path}.{details['required_name']}".lstrip("."))
        for kind, path, details in errors
        if kind == "missing required field"
    ]
    missing += [
        _camel(name)
        for name in _REQUIRED_LOCALLY.get(operation, ())
        if body.get(name) in (None, "")
    ]
    if missing:
        count = len(missing)
        noun = "error" if count == 1 else "errors"
        parts = "; ".join(
            f"Value null at '{name}' failed to satisfy constraint: Member must not be null"
            for name in missing
        )
        return Refused("InvalidParameterException", f"{count} validation {noun} detected: {parts}")
    wrong = [path.lstrip(".") for kind, path, _ in errors if kind == "invalid type"]
    if wrong:
        return Refused("SerializationException", f"a value of the wrong type at {', '.join(wrong)}")
    return body


# Operations whose `UserAttributes` AWS refuses with a member left without its `Value`: the model
# leaves it optional, moto reads it unchecked (KeyError), and Amplify drops an undefined one.
_ATTRIBUTE_LISTS = frozenset(
    ("UpdateUserAttributes", "AdminUpdateUserAttributes", "SignUp", "AdminCreateUser")
)

# Members botocore's model leaves optional only for what no local pool can have (see above).
_REQUIRED_LOCALLY = {"SignUp": ("Password",)}


def _camel(path: str) -> str:
    """AWS's validation messages name members in lower camel case: `PoolName` is 'poolName'."""
    return ".".join(part[:1].lower() + part[1:] for part in path.split("."))


def json_error(
    start_response: StartResponse, status: str, error_type: str, message: str
) -> list[bytes]:
    data = json.dumps({"__type": error_type, "message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(data))),
            ("x-amzn-ErrorType", f"{error_type}:"),
        ],
    )
    return [data]


def contained(app: WsgiApp) -> WsgiApp:
    """`app` (moto's), answering a JSON error instead of raising (see the module docstring)."""

    def call(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started: list[bool] = []

        def start(*args: Any) -> Any:
            started.append(True)
            return start_response(*args)

        try:
            result = app(environ, start)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            if started:  # moto had begun its answer: nothing sane can follow
                raise
            action = _action(environ)
            if isinstance(exc, NotImplementedError):
                return json_error(
                    start_response,
                    "501 Not Implemented",
                    "NotImplemented",
                    f"cogapi local does not emulate {action}: moto has not implemented it",
                )
            region = _signed_region(environ)
            if isinstance(exc, KeyError) and region and exc.args == (region,):
                return json_error(  # 400, not 500: a retry would meet the same unknown region
                    start_response,
                    "400 Bad Request",
                    "UnrecognizedRegion",
                    f"cogapi local has no region {region!r} ({action}): it is not an AWS region, "
                    "or one this moto does not know",
                )
            log.info("moto failed on %s", action, exc_info=True)
            return json_error(
                start_response,
                "500 Internal Server Error",
                "InternalFailure",
                f"cogapi local: moto failed on {action} ({type(exc).__name__}: {exc}); a "
                "required parameter may be missing or have the wrong type",
            )

    return call


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")


def _signed_region(environ: dict[str, Any]) -> str | None:
    """The region a SigV4 request was signed for (moto keys its backends by it)."""
    match = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else None


def _action(environ: dict[str, Any]) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    return f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"
