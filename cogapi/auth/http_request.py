"""Plain HTTP for the hosted UI, the token endpoint, JWKS and the deployed API (stdlib urllib).

`request()` never follows redirects and never raises on an HTTP status: callers look at the status
themselves (a 302 from `/logout`, a 401 from the API are answers, not failures). Only a transport
failure (refused, timed out, bad URL) becomes a `CogapiError` naming the URL.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cogapi.errors import CogapiError

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> HttpResponse:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return HttpResponse(r.status, r.reason, list(r.headers.items()), r.read())
    except urllib.error.HTTPError as exc:  # 3xx/4xx/5xx: an answer, not a failure
        data = exc.read() if exc.fp is not None else b""
        return HttpResponse(exc.code, str(exc.reason), list(exc.headers.items()), data)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CogapiError(
            f"cannot reach {url} ({reason})",
            hint="check the network, the stack's region and --endpoint-url",
        ) from None


def post_form(
    url: str,
    fields: dict[str, str],
    basic_auth: tuple[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> HttpResponse:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if basic_auth is not None:
        raw = f"{basic_auth[0]}:{basic_auth[1]}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    return request(url, "POST", urlencode(fields).encode(), headers, timeout)
