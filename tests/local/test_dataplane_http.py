"""The data plane's own HTTP/1.1 handling (`dataplane_http`): keep-alive, pipelining, malformed
requests, bodies it must not leave on the connection, and connections that go quiet."""

from __future__ import annotations

import gc
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from local_stack import Stack

from cogapi.local import dataplane, dataplane_http
from cogapi.local.moto_state import load_moto
from cogapi.local.server import LocalServer


def _address(stack: Stack) -> tuple[str, int]:
    parts = urlsplit(stack.endpoint)
    return parts.hostname or "", parts.port or 0


@pytest.fixture
def conn(stack: Stack) -> Iterator[socket.socket]:
    with socket.create_connection(_address(stack), timeout=5) as sock:
        yield sock


@pytest.fixture(params=["kernel", "python"])
def quick_conn(
    stack: Stack, monkeypatch: Any, request: pytest.FixtureRequest
) -> Iterator[socket.socket]:
    """A connection to a server that waits 0.3 s for a quiet client (set before connecting: the
    wait for the first request line starts as soon as the server accepts), kept by the kernel's
    timeouts (Linux) or, where a socket refuses them, by Python's."""
    monkeypatch.setattr(dataplane_http, "IDLE_SECONDS", 0.3)
    if request.param == "python":
        monkeypatch.setattr(dataplane_http, "_set_kernel_timeouts", lambda *_: False)
    with socket.create_connection(_address(stack), timeout=5) as sock:
        yield sock


def _request(
    stack: Stack,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    host = "{}:{}".format(*_address(stack))
    lines = [f"{method} {path} {version}", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reader:
    """Reads HTTP/1.1 answers (Content-Length framed) off one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"closed before an answer: {self.buf[:200]!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            if not self._fill():
                raise ConnectionError("closed mid-body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(status_line.split()[1]), headers, body

    def closed(self) -> bool:
        """True once the server has closed its side (waits up to the socket's timeout)."""
        try:
            return not self._fill() and not self.buf
        except ConnectionResetError:
            return True


def test_two_requests_on_one_connection(stack: Stack, conn: socket.socket) -> None:
    reader = Reader(conn)
    token = stack.tokens()["id_token"]
    for _ in range(2):
        conn.sendall(
            _request(
                stack, "GET", urlsplit(stack.url("/me")).path, headers={"Authorization": token}
            )
        )
        status, headers, _ = reader.answer()
        assert status == 200 and "connection" not in headers
        assert headers["x-amzn-requestid"]


def test_pipelined_requests_are_answered_in_order(stack: Stack, conn: socket.socket) -> None:
    path = urlsplit(stack.url("/open")).path
    conn.sendall(b"".join(_request(stack, "GET", f"{path}?n={n}") for n in range(3)))
    reader = Reader(conn)
    for n in range(3):
        status, _, body = reader.answer()
        assert status == 200
        assert json.loads(body)["event"]["queryStringParameters"] == {"n": str(n)}


def test_an_unread_body_does_not_become_the_next_request(stack: Stack, conn: socket.socket) -> None:
    open_path = urlsplit(stack.url("/open")).path
    body = b"GET /not-a-request HTTP/1.1\r\n\r\n" * 100  # refused before anyone reads it
    conn.sendall(_request(stack, "POST", urlsplit(stack.url("/nope")).path, body=body))
    conn.sendall(_request(stack, "POST", open_path, body=b'{"k": 1}'))
    reader = Reader(conn)
    assert reader.answer()[0] == 403
    status, _, answer = reader.answer()
    assert status == 200 and json.loads(answer)["event"]["body"] == '{"k": 1}'


def test_other_planes_keep_werkzeugs_handling_on_the_same_connection(
    stack: Stack, conn: socket.socket
) -> None:
    reader = Reader(conn)
    conn.sendall(_request(stack, "GET", urlsplit(stack.url("/open")).path))
    assert reader.answer()[0] == 200
    conn.sendall(_request(stack, "GET", "/_cogapi/info"))
    status, headers, body = reader.answer()
    assert status == 200 and json.loads(body)["cogapi_local"] is True
    assert headers["connection"] == "close" and reader.closed()


def test_a_foreign_host_is_refused_on_a_kept_connection(stack: Stack, conn: socket.socket) -> None:
    reader = Reader(conn)
    path = urlsplit(stack.url("/open")).path
    conn.sendall(_request(stack, "GET", path))
    assert reader.answer()[0] == 200
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: evil.example:80\r\n\r\n".encode())
    status, _, body = reader.answer()
    assert status == 403 and b"answers only requests for" in body


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ("this line has no colon\r\n", 400),
        ("Content-Length: 12x\r\n", 400),
        ("".join(f"X-H{i}: v\r\n" for i in range(101)), 431),
        ("X-Long: " + "a" * 70000 + "\r\n", 431),
    ],
)
def test_malformed_requests_are_refused_and_closed(
    stack: Stack, conn: socket.socket, extra: str, status: int
) -> None:
    path = urlsplit(stack.url("/open")).path
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
    reader = Reader(conn)
    answer = reader.answer()
    assert answer[0] == status and answer[1]["connection"] == "close"
    assert reader.closed()


@pytest.mark.parametrize("client", ["half-closes", "stalls"])
def test_a_huge_content_length_is_413_and_the_connection_closes(
    stack: Stack, quick_conn: socket.socket, client: str
) -> None:
    conn = quick_conn
    path = urlsplit(stack.url("/sink")).path
    conn.sendall(_request(stack, "POST", path, headers={"Content-Length": str(10**12)}))
    conn.sendall(b"x" * 1000)
    if client == "half-closes":
        conn.shutdown(socket.SHUT_WR)  # the client gives up sending
    reader = Reader(conn)
    status, headers, body = reader.answer()
    assert status == 413 and json.loads(body) == {"message": "Request Too Long"}
    assert headers["connection"] == "close" and reader.closed()


@pytest.mark.parametrize("client", ["half-closes", "stalls"])
def test_a_body_short_of_its_content_length_is_not_served(
    stack: Stack, quick_conn: socket.socket, client: str
) -> None:
    """The handler never sees a truncated body: the connection closes unanswered, and the next
    connection is served."""
    conn = quick_conn
    path = urlsplit(stack.url("/open")).path
    conn.sendall(_request(stack, "POST", path, headers={"Content-Length": "100"}) + b"x" * 10)
    if client == "half-closes":
        conn.shutdown(socket.SHUT_WR)
    reader = Reader(conn)
    started = time.monotonic()
    assert reader.closed()  # nothing was answered before the close
    assert time.monotonic() - started < 3
    with socket.create_connection(_address(stack), timeout=5) as again:
        again.sendall(_request(stack, "GET", path))
        assert Reader(again).answer()[0] == 200


def test_a_half_closed_connection_gets_its_answer_then_is_closed(
    stack: Stack, conn: socket.socket
) -> None:
    conn.sendall(_request(stack, "GET", urlsplit(stack.url("/open")).path))
    conn.shutdown(socket.SHUT_WR)
    reader = Reader(conn)
    assert reader.answer()[0] == 200
    assert reader.closed()


@pytest.mark.parametrize(
    ("version", "headers"), [("HTTP/1.0", {}), ("HTTP/1.1", {"Connection": "close"})]
)
def test_http_1_0_and_connection_close_close(
    stack: Stack, conn: socket.socket, version: str, headers: dict[str, str]
) -> None:
    conn.sendall(
        _request(stack, "GET", urlsplit(stack.url("/open")).path, headers=headers, version=version)
    )
    reader = Reader(conn)
    status, answer_headers, _ = reader.answer()
    assert status == 200 and answer_headers["connection"] == "close"
    assert reader.closed()


@pytest.mark.parametrize("partial", [False, True])
def test_a_quiet_connection_is_closed_after_the_idle_time(
    stack: Stack, quick_conn: socket.socket, partial: bool
) -> None:
    conn = quick_conn
    reader = Reader(conn)
    path = urlsplit(stack.url("/open")).path
    conn.sendall(_request(stack, "GET", path))
    assert reader.answer()[0] == 200
    if partial:  # a request that never ends
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0".encode())
    started = time.monotonic()
    assert reader.closed()
    assert time.monotonic() - started < 3


def test_the_control_plane_keeps_no_idle_time(stack: Stack, quick_conn: socket.socket) -> None:
    """werkzeug's requests (the AWS APIs) wait for a slow body as they always did: the data
    plane's idle time is cleared before werkzeug reads one."""
    conn = quick_conn
    body = b'{"MaxResults": 10}'
    head = _request(
        stack,
        "POST",
        "/",
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"
            "cognito-idp/aws4_request, SignedHeaders=host, Signature=x",
            "Content-Length": str(len(body)),
        },
    )
    conn.sendall(head)
    time.sleep(0.8)  # well past the data plane's 0.3 s
    conn.sendall(body)
    status, _, answer = Reader(conn).answer()
    assert status == 200 and "UserPools" in json.loads(answer)


def test_stopping_the_server_ends_its_kept_connections() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    parts = urlsplit(endpoint)
    try:
        sock = socket.create_connection((parts.hostname or "", parts.port or 0), timeout=5)
        host = f"{parts.hostname}:{parts.port}"
        sock.sendall(f"GET /_cogapi/api/nope/dev/x HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        reader = Reader(sock)
        assert reader.answer()[0] == 403  # answered, and the connection is kept
    finally:
        server.stop()
    started = time.monotonic()
    with sock:
        assert reader.closed()
    assert time.monotonic() - started < 2  # not after the idle time


class _FakeServer:
    multithread = True
    multiprocess = False
    server_address = ("127.0.0.1", 4566)
    ssl_context = None
    _server_version = "Werkzeug/test"


def _werkzeug_environ(raw: bytes) -> dict[str, Any]:
    """The environ werkzeug's (and moto's) request handler builds for `raw`."""
    handler_class = load_moto()[1]
    handler = handler_class.__new__(handler_class)
    handler.rfile, handler.wfile = io.BytesIO(raw), io.BytesIO()
    handler.server, handler.client_address = _FakeServer(), ("127.0.0.1", 50000)
    handler.connection = None
    handler.raw_requestline = handler.rfile.readline(65537)
    assert handler.parse_request()
    return dict(handler.make_environ())


def _fast_environ(raw: bytes) -> dict[str, Any]:
    handler = dataplane_http.FastDataPlaneHandler.__new__(dataplane_http.FastDataPlaneHandler)
    handler.rfile = io.BytesIO(raw)
    handler.server, handler.client_address = _FakeServer(), ("127.0.0.1", 50000)
    handler.connection = None  # type: ignore[assignment]
    fast = dataplane_http._FAST_LINE.fullmatch(handler.rfile.readline(65537))
    assert fast is not None
    method, target, version = fast.group(1).decode(), fast.group(2).decode("latin-1"), fast[3]
    return handler._environ(method, target, "HTTP/1." + version.decode(), handler._read_headers())


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /_cogapi/api/a1/dev/items/%7Bid%7D%20x?a=1&a=%20b#frag HTTP/1.1\r\n"
        b"Host: 127.0.0.1:4566\r\nX-Dup: one\r\nx-dup: two\r\nX_Under: dropped\r\n"
        b"x-amz-meta-my_key: kept\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
        b"Authorization:   Bearer tok  \r\n\r\n",
        b"POST /_cogapi/api/a1/dev/caf\xc3\xa9/\xe9?q=\xff HTTP/1.0\r\nHost: localhost:4566\r\n"
        b"X-Folded: first\r\n  second\r\nUser-Agent: t\xe9st\r\n\r\n",
    ],
)
def test_the_environ_is_the_one_werkzeug_builds(raw: bytes) -> None:
    expected, got = _werkzeug_environ(raw), _fast_environ(raw)
    for key in ("wsgi.input", "wsgi.errors", "werkzeug.socket"):
        expected.pop(key), got.pop(key)
    assert got == expected


def test_expect_100_continue_then_the_body(stack: Stack, conn: socket.socket) -> None:
    path = urlsplit(stack.url("/open")).path
    head = _request(stack, "POST", path, headers={"Expect": "100-continue", "Content-Length": "8"})
    conn.sendall(head)
    reader = Reader(conn)
    while b"\r\n\r\n" not in reader.buf:
        assert reader._fill()
    assert reader.buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    reader.buf = reader.buf[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
    conn.sendall(b'{"k": 1}')
    status, _, body = reader.answer()
    assert status == 200 and json.loads(body)["event"]["body"] == '{"k": 1}'


def test_a_head_answer_has_no_body_and_the_connection_goes_on(
    stack: Stack, conn: socket.socket
) -> None:
    path = urlsplit(stack.url("/nope")).path
    conn.sendall(_request(stack, "HEAD", path) + _request(stack, "GET", path))
    reader = Reader(conn)
    while b"\r\n\r\n" not in reader.buf:
        assert reader._fill()
    head, reader.buf = reader.buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 403 ") and b"Content-Length: 42" in head
    status, _, body = reader.answer()  # the GET's answer follows at once: HEAD sent no body
    assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}


def test_answers_go_out_without_nagle_delay(stack: Stack, conn: socket.socket) -> None:
    # A small answer after a small request would wait for the client's delayed ACK (40 ms on
    # Linux) under Nagle's algorithm: the server's end of every connection sets TCP_NODELAY.
    conn.sendall(_request(stack, "GET", urlsplit(stack.url("/open")).path))
    assert Reader(conn).answer()[0] == 200  # kept open: the server's socket is still there
    server = stack.server._server
    ours = [s for s in list(server._open) if s.getpeername() == conn.getsockname()]
    assert len(ours) == 1
    assert ours[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_what_the_app_leaves_of_a_body_is_drained_before_closing(
    stack: Stack, conn: socket.socket, monkeypatch: Any
) -> None:
    # With a 100 kB limit the app reads at most 800 kB of a chunked body. A client that sends
    # it all before reading (as `requests` does) must get to the 413: closing on the megabytes
    # still coming would reset the connection under its send.
    monkeypatch.setattr(dataplane, "MAX_REQUEST_BYTES", 100_000)
    head = _request(stack, "POST", urlsplit(stack.url("/sink")).path,
                    headers={"Transfer-Encoding": "chunked"})  # fmt: skip
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
    conn.sendall(head + chunk * 128 + b"0\r\n\r\n")  # 8 MB
    reader = Reader(conn)
    status, headers, body = reader.answer()
    assert status == 413 and json.loads(body) == {"message": "Request Too Long"}
    assert headers["connection"] == "close" and reader.closed()


@pytest.mark.parametrize("where", ["data plane", "issuer JWKS", "issuer discovery"])
def test_a_request_leaves_no_reference_cycles(stack: Stack, where: str) -> None:
    """Cyclic garbage waits for the collector, whose young collections then stall a request
    (about 0.4 ms here, every ~80 requests): a request must be freed by reference counting."""
    host, port = _address(stack)
    issuer = f"/{stack.pool_id}"  # the moto-style issuer path: `<endpoint>/<pool id>`
    path = {
        "data plane": urlsplit(stack.url("/me")).path,
        "issuer JWKS": f"{issuer}/.well-known/jwks.json",
        "issuer discovery": f"{issuer}/.well-known/openid-configuration",
    }[where]
    token = stack.tokens()["id_token"]

    def environ() -> dict[str, Any]:
        return {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
            "SERVER_NAME": host, "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
            "HTTP_HOST": f"{host}:{port}", "HTTP_AUTHORIZATION": token,
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": 50000,
        }  # fmt: skip

    statuses: list[str] = []
    app = stack.server._app
    b"".join(app(environ(), lambda status, headers, *_: statuses.append(status)))  # warm
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            b"".join(app(environ(), lambda status, headers, *_: statuses.append(status)))
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert statuses and all(s.startswith("200") for s in statuses)
    assert unreachable < 20, unreachable  # one cycle per request would be 20 times a dozen objects
