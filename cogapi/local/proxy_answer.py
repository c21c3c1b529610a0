"""An `AWS_PROXY` function's answer: checked as API Gateway checks it, and served as WSGI.

`proxy_response` turns the function's result into a `ProxyAnswer`, or raises GatewayError(502)
when it is malformed (API Gateway's "Malformed Lambda proxy response"): not an object, unknown
keys, a `statusCode` that is not an HTTP status, a body that is not a string (or not base64
when `isBase64Encoded`), headers that are not objects of strings, numbers or booleans, or a
header line that could not be sent (a name that is not a token, a value with CR or LF).

`ProxyAnswer` is the answer as the function gave it (status, headers in order, body), a WSGI
app that sends what werkzeug's `Response` would send for it, without building one: on the data
plane, werkzeug's header bookkeeping was a good part of the gateway's cost per request.
- `Content-Length` is the body's true length, whatever the function said; none for 1xx and 204;
  304 keeps no entity headers (werkzeug's `remove_entity_headers`).
- A body is sent except for HEAD, 1xx, 204 and 304 (its length still announced for HEAD).
- `Location` and `Content-Location` are made URIs (werkzeug's `iri_to_uri`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES, remove_entity_headers
from werkzeug.urls import iri_to_uri

from cogapi.local.gateway_errors import bad_gateway

_PROXY_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_URI_HEADERS = ("location", "content-location")


class ProxyAnswer:
    """See the module docstring. `headers` may be added to until the answer is served."""

    __slots__ = ("status_code", "headers", "body")

    def __init__(self, status_code: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body

    def set_header(self, name: str, value: str) -> None:
        """Replaces any header of that name (as werkzeug's `headers[name] = value` does)."""
        lowered = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lowered]
        self.headers.append((name, value))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        status = self.status_code
        headers = [
            (name, iri_to_uri(value) if name.lower() in _URI_HEADERS else value)
            for name, value in self.headers
        ]
        if status == 304:
            remove_entity_headers(headers)
        elif status >= 200 and status != 204:
            headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN')}", headers)
        if environ.get("REQUEST_METHOD") == "HEAD" or status < 200 or status in (204, 304):
            return []
        return [self.body]


def proxy_response(value: Any) -> ProxyAnswer:
    """The HTTP answer for an `AWS_PROXY` function's result; GatewayError(502) when malformed."""
    if not isinstance(value, dict):
        raise bad_gateway("proxy answer is not an object")
    unknown = set(value) - _PROXY_KEYS
    if unknown:
        raise bad_gateway(f"proxy answer has unknown keys {sorted(unknown)}")
    status = value.get("statusCode")
    if isinstance(status, bool) or not (
        isinstance(status, int) or (isinstance(status, str) and status.isdigit())
    ):
        raise bad_gateway(f"statusCode {status!r} is not a number")
    if not 100 <= int(status) <= 599:
        raise bad_gateway(f"statusCode {status} is not an HTTP status")
    body = value.get("body")
    if body is not None and not isinstance(body, str):
        raise bad_gateway("body is not a string")
    data = (body or "").encode()
    if value.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body or "", validate=True)
        except (binascii.Error, ValueError):
            raise bad_gateway("isBase64Encoded but body is not base64") from None
    single = value.get("headers") or {}
    multi = value.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise bad_gateway("headers are not objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise bad_gateway(f"multiValueHeaders.{name} is not a list")
        headers.extend((_header_name(name), _header_value(item)) for item in values)
    headers.extend(
        (_header_name(name), _header_value(item))
        for name, item in single.items()
        if name not in multi
    )
    has_type = False
    kept = []
    for name, item in headers:
        lowered = name.lower()
        if lowered == "content-length":
            continue  # the body's own length is sent (`ProxyAnswer`)
        has_type = has_type or lowered == "content-type"
        kept.append((name, item))
    if not has_type:
        kept.append(("Content-Type", "application/json"))
    return ProxyAnswer(int(status), kept, data)


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise bad_gateway(f"header name {name!r} is not an HTTP token")
    return name


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        text = str(value)
        if "\n" in text or "\r" in text:
            raise bad_gateway("a header value holds a line break")
        return text
    raise bad_gateway("a header value is not a string")
