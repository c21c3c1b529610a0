"""Which requests `cogapi local` answers at all: the defence against web pages on this machine.

While the server runs, any page open in the developer's browser can send it requests. Without
these checks such a page could use moto's permissive CORS to read client secrets, deploy a
function with its own code and run it (the runner executes it as the user). So, before moto or
the stand-in sees a request:
- `Host` must name the loopback address and the port the server listens on (`127.0.0.1:P`,
  `localhost:P`, `[::1]:P`). A DNS-rebinding page reaches 127.0.0.1 under its own host name, so
  this is what stops it: the browser still sends that name as `Host`.
- The control plane (everything moto answers) grants no CORS at all: moto's
  `Access-Control-*` answers are stripped, a preflight is refused, and a request whose `Origin`
  is not a loopback origin is refused. Browsers send `Origin` on every cross-origin request and
  on same-origin POSTs, so a page elsewhere cannot even fire a "simple" request at it.
- The one exception is the part of Cognito's API that AWS serves to browsers: the user-pool
  calls a browser app makes without AWS credentials (`USER_POOL_CALLS`: sign-in, sign-up,
  recovery, and the calls that take the user's own access token), as amazon-cognito-identity-js
  and Amplify send them from a page's origin. For a loopback origin their preflight is granted
  and their answers carry `Access-Control-Allow-Origin`, as AWS's do (AWS grants every origin;
  here other origins stay refused). Because a preflight cannot name the call, a request with an
  `Origin` for any other `X-Amz-Target` is refused: a page still cannot reach the rest.
- The edge and the data plane get the `Host` check only: the hosted UI's forms carry their own
  CSRF token, and the data plane's CORS is whatever the API defines (the gateway adds none).
Refusals are 403 with a short JSON body, like the rest of the stand-in's own errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
COGNITO_TARGET = "AWSCognitoIdentityProviderService."
# Cognito user-pool operations that need no AWS credentials ("unauthenticated" and "token
# authorized" in AWS's list of user pool API operations by authorization model).
USER_POOL_CALLS = frozenset({
    "AssociateSoftwareToken", "ChangePassword", "CompleteWebAuthnRegistration", "ConfirmDevice",
    "ConfirmForgotPassword", "ConfirmSignUp", "DeleteUser", "DeleteUserAttributes",
    "DeleteWebAuthnCredential", "ForgetDevice", "ForgotPassword", "GetDevice",
    "GetTokensFromRefreshToken", "GetUser", "GetUserAttributeVerificationCode",
    "GetUserAuthFactors", "GlobalSignOut", "InitiateAuth", "ListDevices",
    "ListWebAuthnCredentials", "ResendConfirmationCode", "RespondToAuthChallenge", "RevokeToken",
    "SetUserMFAPreference", "SetUserSettings", "SignUp", "StartWebAuthnRegistration",
    "UpdateAuthEventFeedback", "UpdateDeviceStatus", "UpdateUserAttributes",
    "VerifySoftwareToken", "VerifyUserAttribute",
})  # fmt: skip
# What those libraries send; an SDK signing with AWS credentials adds authorization, x-amz-date.
_USER_POOL_HEADERS = frozenset({
    "content-type", "x-amz-target", "x-amz-user-agent", "cache-control",
    "amz-sdk-invocation-id", "amz-sdk-request",
})  # fmt: skip
# AWS's JSON APIs expose these to pages: Amplify reads the error type from the header.
_EXPOSED = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"

StartResponse = Callable[..., Any]


def allowed_hosts(port: int) -> frozenset[str]:
    """The `Host` values the server answers when it listens on `port` (HTTP's default port 80
    may be left out of `Host`)."""
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:
        names.update(LOOPBACK_NAMES)
    return frozenset(names)


def host_allowed(host: str | None, port: int) -> bool:
    return host is not None and host.strip().lower() in allowed_hosts(port)


def is_loopback_origin(origin: str) -> bool:
    """`http(s)://127.0.0.1[:port]`, `localhost` or `[::1]`; `null` and everything else is not."""
    try:
        parts = urlsplit(origin.strip())
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
        return False
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


def refusal(
    environ: dict[str, Any], start_response: StartResponse, message: str
) -> Iterable[bytes]:
    """403 with `{"message": ...}`; the request body is never read."""
    body = json.dumps({"message": message}).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def is_user_pool_call(environ: dict[str, Any]) -> bool:
    """A POST of one of `USER_POOL_CALLS`, the Cognito calls AWS serves to web pages."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and target.startswith(COGNITO_TARGET)
        and target[len(COGNITO_TARGET) :] in USER_POOL_CALLS
    )


def user_pool_preflight(environ: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The headers that grant a loopback page's preflight for a Cognito user-pool call (a POST
    to `/` with only the headers the browser libraries send), or None: not such a preflight."""
    origin = environ.get("HTTP_ORIGIN")
    if (
        environ.get("REQUEST_METHOD") != "OPTIONS"
        or environ.get("PATH_INFO", "") != "/"
        or origin is None
        or not is_loopback_origin(origin)
        or environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD") != "POST"
    ):
        return None
    asked = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
    names = {h.strip().lower() for h in asked.split(",") if h.strip()}
    if "x-amz-target" not in names or not names <= _USER_POOL_HEADERS:
        return None
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", "POST"),
        ("Access-Control-Allow-Headers", ", ".join(sorted(names))),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]


def with_user_pool_cors(start_response: StartResponse, origin: str) -> StartResponse:
    """A start_response that lets the page at `origin` read the answer (moto's own CORS headers
    are dropped first, by `without_cors`)."""

    def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        kept = [(k, v) for k, v in headers if k.lower() != "vary"]  # moto's says Origin too
        cors = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", _EXPOSED),
            ("Vary", "Origin"),
        ]
        return start_response(status, [*kept, *cors], *rest)

    return start


def control_plane_refusal(environ: dict[str, Any]) -> str | None:
    """Why a request for moto's control plane is refused, or None to let it through."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not is_loopback_origin(origin):
        return "cogapi local: cross-origin requests to the AWS control plane are refused"
    if origin is not None and "HTTP_X_AMZ_TARGET" in environ and not is_user_pool_call(environ):
        return "cogapi local: web pages may call only Cognito's user-pool sign-in and user APIs"
    if environ.get("REQUEST_METHOD") == "OPTIONS" and (
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ or origin is not None
    ):
        return "cogapi local: the AWS control plane grants no CORS"
    return None


def without_cors(start_response: StartResponse) -> StartResponse:
    """A start_response that drops every `Access-Control-*` header moto adds."""

    def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        return start_response(status, kept, *rest)

    return start
