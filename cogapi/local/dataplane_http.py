"""The data plane's own HTTP/1.1 handling: keep-alive and one write per answer.

werkzeug's request handler (which moto's control plane keeps using) closes every connection,
parses headers with the `email` package, and writes an answer in several sends; on the data
plane that was most of the server's cost per request. `FastDataPlaneHandler` is a mixin for the
server's request handler: a request line for `/_cogapi/api/...` (origin form, HTTP/1.0 or 1.1)
is served here; any other request line goes to werkzeug's handling exactly as before, also on a
connection that served data-plane requests first. The WSGI app is the same either way (the Host
guard, routing, `-v` lines), and the environ holds what werkzeug's (and moto's) would.

HTTP on this path:
- Keep-alive for HTTP/1.1 unless the client asks `Connection: close`; HTTP/1.0 closes. A
  connection idle (or a request stalled) for `IDLE_SECONDS` is closed, so a client that goes
  quiet never holds a thread for good. Pipelined requests are answered in order.
- A body with a Content-Length up to the data plane's 10 MB limit is read before the app runs;
  a larger one, or a chunked one, is left to the app (which answers 413 above the limit) and the
  connection is then drained briefly and closed, as werkzeug does.
- Malformed requests (a header line without a name, too many or too long header lines, a
  non-numeric Content-Length) get 400 or 431 and the connection is closed.
- The answer (status line, `Server`, `Date`, the app's headers, Content-Length, body) goes out
  in one send, with TCP_NODELAY set on every connection.
- On Linux the idle time is the kernel's (SO_RCVTIMEO and SO_SNDTIMEO on a blocking socket),
  not Python's socket timeout, which polls before every receive and send and switches the socket
  in and out of blocking mode. Each of those calls lets go of the GIL, and a client that opens a
  connection per request has the thread ending its last connection running beside the one
  serving its next: every such call is a handoff between the two (on a new connection's path
  this took the server's futex calls from about 14 to 9 per request under strace, and its p99
  down by 0.3 to 0.8 ms in four runs interleaved with the code before). A read the kernel's
  timeout cut short returns what it has, so a line without its newline, or a body shorter than
  its Content-Length, means the client stalled or went away: the connection is closed
  unanswered, as it was on Python's timeout.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import re
import selectors
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import DechunkedInput

from cogapi.local import urls
from cogapi.local.dataplane import MAX_REQUEST_BYTES

IDLE_SECONDS = 15.0  # a keep-alive connection waits this long for its next request
MAX_LINE = 65536  # as http.server: longer request or header lines are refused
MAX_HEADERS = 100
_PRESERVED_NAMES_KEY = "moto.preserved_header_names"  # moto.core.request's environ key

# Origin-form request lines for the data plane; everything else is werkzeug's to parse.
_FAST_LINE = re.compile(
    rb"([A-Z]{1,20}) (" + re.escape(urls.LOCAL_PREFIX.encode()) + rb"/api/[!-~\x80-\xff]*)"
    rb" HTTP/1\.([01])\r?\n"
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NO_BODY_STATUS = frozenset({204, 304})


class _UnreadBody(io.RawIOBase):
    """What is left on the connection, for a body the app reads itself (one above the size
    limit): a client that stalls past `IDLE_SECONDS` or goes away ends the body, so the app
    answers it as it answers a short one, instead of failing on the socket's timeout."""

    def __init__(self, rfile: Any) -> None:
        self._rfile = rfile

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._rfile.read1(len(buffer))
        except OSError:  # TimeoutError included
            return 0
        buffer[: len(data)] = data
        return len(data)


class _Stalled(Exception):
    """The client stopped sending mid-request (it closed, or the idle time passed)."""


class _BadRequest(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _wsgi_encoding_dance(value: str) -> str:
    """What werkzeug does to PATH_INFO and QUERY_STRING (PEP 3333's latin-1 strings)."""
    return value.encode().decode("latin1")


def _cut_short(line: bytes) -> bool:
    """A line `readline(MAX_LINE + 1)` returned without its newline, and not for its length:
    the client closed, stalled past the idle time, or left mid-line."""
    return len(line) <= MAX_LINE and not line.endswith(b"\n")


def _set_kernel_timeouts(connection: socket.socket, seconds: float) -> bool:
    """SO_RCVTIMEO and SO_SNDTIMEO of `seconds` (0: none) on a blocking `connection`; False
    where the socket refuses them (the caller then keeps Python's timeout)."""
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    except OSError:
        return False
    if connection.gettimeout() is not None:
        connection.settimeout(None)  # blocking: the kernel's timeouts apply
    return True


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


class FastDataPlaneHandler:
    """Mixin for a werkzeug `WSGIRequestHandler` subclass (see the module docstring)."""

    # supplied by the werkzeug handler this is mixed into
    connection: socket.socket
    rfile: Any
    wfile: Any
    server: Any
    client_address: Any
    close_connection: bool
    raw_requestline: bytes
    protocol_version: str
    version_string: Callable[[], str]

    _kernel_timeouts = False  # the idle time is SO_RCVTIMEO/SO_SNDTIMEO (module docstring)

    def setup(self) -> None:
        super().setup()  # type: ignore[misc]
        with contextlib.suppress(OSError):  # not a TCP socket
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sys.platform == "linux":
            self._kernel_timeouts = _set_kernel_timeouts(self.connection, IDLE_SECONDS)

    def handle_one_request(self) -> None:
        try:
            if not self._kernel_timeouts:
                self.connection.settimeout(IDLE_SECONDS)
            line = self.rfile.readline(MAX_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if _cut_short(line):  # b"" included: the client closed before a request
            self.close_connection = True
            return
        fast = _FAST_LINE.fullmatch(line)
        if fast is None:  # werkzeug's handling, as before: no idle time
            if self._kernel_timeouts:
                self._kernel_timeouts = not _set_kernel_timeouts(self.connection, 0)
            self.connection.settimeout(None)
            self._werkzeug_request(line)
            return
        try:
            self._serve(fast)
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    def _werkzeug_request(self, line: bytes) -> None:
        """`BaseHTTPRequestHandler.handle_one_request` after it has read `line`."""
        self.raw_requestline = line
        if len(line) > MAX_LINE:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)  # type: ignore[attr-defined]
            return
        try:
            if not self.parse_request():  # type: ignore[attr-defined]
                return
            name = "do_" + self.command
            if not hasattr(self, name):
                self.send_error(501, f"Unsupported method ({self.command!r})")  # type: ignore[attr-defined]
                return
            getattr(self, name)()
            self.wfile.flush()
        except TimeoutError as exc:
            self.log_error("Request timed out: %r", exc)  # type: ignore[attr-defined]
            self.close_connection = True

    # --- the fast path -------------------------------------------------------------------------

    def _read_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                raise _BadRequest("431 Request Header Fields Too Large", "Line too long")
            if raw in (b"\r\n", b"\n"):
                return headers
            if _cut_short(raw):
                raise _Stalled
            if len(headers) >= MAX_HEADERS:
                raise _BadRequest("431 Request Header Fields Too Large", "Too many headers")
            text = raw.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t"):  # obsolete line folding: part of the previous value
                if not headers:
                    raise _BadRequest("400 Bad Request", "Bad header continuation")
                name, value = headers[-1]
                headers[-1] = (name, value + text)
                continue
            name, colon, value = text.partition(":")
            if not colon or not _TOKEN.fullmatch(name):
                raise _BadRequest("400 Bad Request", "Bad header line")
            headers.append((name, value.lstrip(" \t")))

    def _environ(
        self, method: str, target: str, version: str, headers: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """The environ werkzeug's `make_environ` (and moto's) would build for this request."""
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        query = query.partition("#")[0]
        address = self.client_address
        if not address:
            address = ("<local>", 0)
        elif isinstance(address, str):
            address = (address, 0)
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": self.rfile,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": self.server.multithread,
            "wsgi.multiprocess": self.server.multiprocess,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,
            "SERVER_SOFTWARE": self.server._server_version,
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_encoding_dance(unquote(path)),
            "QUERY_STRING": _wsgi_encoding_dance(query),
            "REQUEST_URI": _wsgi_encoding_dance(target),
            "RAW_URI": _wsgi_encoding_dance(target),
            "REMOTE_ADDR": address[0],
            "REMOTE_PORT": address[1],
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": version,
        }
        underscored: list[tuple[str, str]] = []
        for name, value in headers:
            if "_" in name:
                underscored.append((name, value))
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        if not underscored:
            environ[_PRESERVED_NAMES_KEY] = {}
            return environ
        # moto keeps S3 metadata headers whose names have underscores, unless a dashed one
        # already stands for the same key
        dashed = {k for k in environ if k.startswith("HTTP_") or k.startswith("CONTENT_")}
        names: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in underscored:
            if not name.lower().startswith("x-amz-meta-"):
                continue
            key = name.upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
            if key in dashed:
                continue
            names.setdefault(key, name)
            values.setdefault(key, []).append(value)
        for key, key_values in values.items():
            environ[key] = ",".join(key_values)
        environ[_PRESERVED_NAMES_KEY] = names
        return environ

    def _serve(self, fast: re.Match[bytes]) -> None:
        method = fast.group(1).decode()
        target = fast.group(2).decode("iso-8859-1")
        version = "HTTP/1." + fast.group(3).decode()
        close = version == "HTTP/1.0"
        try:
            headers = self._read_headers()
        except _BadRequest as exc:
            self._write_error(exc.status, str(exc))
            return
        except _Stalled:
            self.close_connection = True
            return
        environ = self._environ(method, target, version, headers)
        connection = environ.get("HTTP_CONNECTION", "").lower()
        if "close" in connection:
            close = True
        if version == "HTTP/1.1" and environ.get("HTTP_EXPECT", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        length_text = environ.get("CONTENT_LENGTH")
        drain = False
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            environ["wsgi.input_terminated"] = True
            environ["wsgi.input"] = DechunkedInput(self.rfile)
            drain = True
        elif length_text is not None:
            text = length_text.strip()
            if not (text.isascii() and text.isdigit()):
                self._write_error("400 Bad Request", "Bad Content-Length")
                return
            length = int(text)
            if length > MAX_REQUEST_BYTES:
                environ["wsgi.input"] = _UnreadBody(self.rfile)
                drain = True  # the app answers 413 and reads (some of) it
            else:
                body = self.rfile.read(length) if length else b""
                if body is None or len(body) < length:  # the client went away or stalled
                    self.close_connection = True
                    return
                environ["wsgi.input"] = io.BytesIO(body)
        else:
            environ["wsgi.input"] = io.BytesIO(b"")
        self._run_app(environ, close=close or drain)
        if drain:
            self._drain()

    def _run_app(self, environ: dict[str, Any], *, close: bool) -> None:
        seen: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if exc_info and seen.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            seen["status"], seen["headers"] = status, headers
            return lambda data: seen.setdefault("written", []).append(data)

        try:
            iterable = self.server.app(environ, start_response)
            try:
                chunks = [*seen.pop("written", []), *iterable]
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
            status, headers = seen["status"], seen["headers"]
            answer, close = self._answer(environ, status, headers, b"".join(chunks), close)
        except (ConnectionError, TimeoutError):
            raise
        except Exception:
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            fallback = InternalServerError()
            body = fallback.get_body(environ).encode()
            answer, close = self._answer(
                environ, "500 INTERNAL SERVER ERROR", fallback.get_headers(environ), body, True
            )
        self.close_connection = close
        self.wfile.write(answer)

    def _answer(
        self,
        environ: dict[str, Any],
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
        close: bool,
    ) -> tuple[bytes, bool]:
        """The whole answer as bytes, and whether the connection closes after it."""
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        lines = [
            f"{self.protocol_version} {code} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {_http_date()}",
        ]
        has_length = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                has_length = True
            elif lowered == "connection":
                if "close" in value.lower():
                    close = True
                continue  # hop-by-hop: the server says itself whether it closes
            lines.append(f"{name}: {value}")
        head_or_empty = environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY_STATUS
        if not has_length and not head_or_empty:
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        if head_or_empty:  # what werkzeug's Response sends for these too: no body
            body = b""
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body, close

    def _write_error(self, status: str, message: str) -> None:
        body = f'{{"message": "{message}"}}'.encode()
        head = (
            f"{self.protocol_version} {status}\r\nServer: {self.version_string()}\r\n"
            f"Date: {_http_date()}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.close_connection = True
        self.wfile.write(head.encode() + body)

    def _drain(self) -> None:
        """What is left of a body the app did not read, read briefly and dropped (as werkzeug
        does), so the client sees the answer and not a reset connection."""
        self.close_connection = True
        selector = selectors.DefaultSelector()
        try:
            selector.register(self.connection, selectors.EVENT_READ)
            total = reads = 0
            while selector.select(timeout=0.01):
                data = self.rfile.read1(10_000_000)
                total += len(data)
                reads += 1
                if not data or total >= 10_000_000_000 or reads > 1000:
                    break
        finally:
            selector.close()
