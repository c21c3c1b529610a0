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


def control_plane_refusal(environ: dict[str, Any]) -> str | None:
    """Why a request for moto's control plane is refused, or None to let it through."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not is_loopback_origin(origin):
        return "cogapi local: cross-origin requests to the AWS control plane are refused"
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
