"""LocalServer's own contract: URLs, loopback only, a clear error on a busy port."""

from __future__ import annotations

import http.client
import socket
import sys
import threading
import time
from typing import Any

import pytest
import requests
from local_stack import Stack

from cogapi.errors import CogapiError, UsageError
from cogapi.local import urls
from cogapi.local.accepting import AcceptingThreadsServer
from cogapi.local.server import LocalServer


def test_urls_contract() -> None:
    e = "http://127.0.0.1:4566"
    assert urls.LOCAL_PREFIX == "/_cogapi"
    assert urls.hosted_ui_base(e, "dom") == f"{e}/_cogapi/auth/dom"
    assert urls.invoke_base(e, "abc", "dev") == f"{e}/_cogapi/api/abc/dev"
    assert urls.issuer(e, "us-east-1_X") == f"{e}/us-east-1_X"  # where moto and pycognito look
    assert urls.info_url(e) == f"{e}/_cogapi/info"


@pytest.mark.parametrize("host", ["0.0.0.0", "", " 127.0.0.1"])
def test_refuses_a_non_loopback_host(host: str) -> None:
    with pytest.raises(CogapiError) as exc:
        LocalServer(host=host, port=0)
    # the host is quoted: an empty one read "serves loopback only, not " and nothing
    assert exc.value.message == f"cogapi local serves loopback only, not {host!r}"


@pytest.mark.parametrize("port", [-1, 65536])
def test_a_port_out_of_range_is_a_usage_error(port: int) -> None:
    with pytest.raises(UsageError, match=f"port {port} is not a TCP port"):
        LocalServer(port=port)


def test_busy_port_is_a_cogapi_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(CogapiError, match=f"127.0.0.1:{port}"):
            LocalServer(port=port).start()


def test_start_stop_and_unknown_local_path() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    try:
        assert endpoint.startswith("http://127.0.0.1:") and not endpoint.endswith(":0")
        assert requests.get(urls.info_url(endpoint)).json()["cogapi_local"] is True
        assert requests.get(f"{endpoint}/_cogapi/nothing").status_code == 404
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(urls.info_url(endpoint), timeout=2)


def test_aws_managed_policies_are_loaded(stack: Stack) -> None:
    iam = stack.clients["iam"]
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.attach_role_policy(RoleName="cogapi-test-fn", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="cogapi-test-fn")["AttachedPolicies"]
    assert arn in [p["PolicyArn"] for p in attached]


def test_connection_threads_are_reused_without_limiting_concurrency() -> None:
    seen: list[threading.Thread] = []
    server = LocalServer(port=0)
    app = server._app

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(threading.current_thread())
        return app(environ, start_response)

    server._app = recording  # type: ignore[method-assign]
    endpoint = server.start()
    host, port = endpoint.removeprefix("http://").split(":")
    try:
        for _ in range(20):  # one connection per request, one after the other
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", urls.info_url(endpoint).removeprefix(endpoint))
            assert conn.getresponse().status == 200
            conn.close()
        # a thread per connection would make 20; one that is still closing its last connection
        # when the next arrives is not waiting for it, so a few may be started
        assert len(set(seen)) < 10
        stalled = [socket.create_connection((host, int(port)), timeout=5) for _ in range(8)]
        for sock in stalled:  # more than the spare threads: each holds one while it waits
            sock.sendall(b"GET /_cogapi/info HTTP/1.1\r\n")
        assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
        for sock in stalled:
            sock.close()
    finally:
        server.stop()
    for thread in set(seen):
        thread.join(timeout=5)
        assert not thread.is_alive()  # stopping the server releases the idle threads


def _connection_threads(port: int | str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"cogapi-local:{port}"]


def test_a_burst_of_connections_leaves_only_the_spare_threads() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    host, port = endpoint.removeprefix("http://").split(":")
    try:
        burst = [socket.create_connection((host, int(port)), timeout=5) for _ in range(12)]
        for sock in burst:
            sock.sendall(b"GET /_cogapi/info HTTP/1.1\r\n")  # each holds a thread
        assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
        assert len(_connection_threads(port)) > AcceptingThreadsServer.SPARE + 8
        for sock in burst:
            sock.close()
        deadline = time.monotonic() + 5
        while len(_connection_threads(port)) > AcceptingThreadsServer.SPARE:
            assert time.monotonic() < deadline, len(_connection_threads(port))
            time.sleep(0.02)
        assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
    finally:
        server.stop()


def test_stopping_frees_the_port_at_once() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    port = int(endpoint.rsplit(":", 1)[1])
    assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    assert not _connection_threads(port)  # none is left waiting in accept()
    with socket.socket() as again:  # nothing listens there any more
        again.bind(("127.0.0.1", port))
        again.listen()
    restarted = LocalServer(port=port)
    restarted.start()
    try:
        assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
    finally:
        restarted.stop()


def test_stopping_ends_the_threads_of_the_connections_still_open() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    port = int(endpoint.rsplit(":", 1)[1])
    kept = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
    for connection in kept:  # each holds a thread, reading the rest of its request
        connection.sendall(b"GET /_cogapi/info HTTP/1.1\r\n")
    with requests.Session() as session:  # and one served to the end just before
        assert session.get(urls.info_url(endpoint), timeout=5).status_code == 200
    listening = server._server
    assert listening is not None
    close_request = listening.close_request

    def slow_to_finish(request: socket.socket) -> None:  # as a thread is, on a busy machine
        time.sleep(0.3)
        close_request(request)

    listening.close_request = slow_to_finish  # type: ignore[method-assign]
    server.stop()
    assert not _connection_threads(port)  # none is still finishing its connection
    for connection in kept:
        connection.close()


class _NoShutdown:
    """A listening socket whose shutdown(2) wakes nobody, as on systems other than Linux."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def shutdown(self, how: int) -> None:
        raise OSError("not on this system")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_stopping_wakes_the_waiting_threads_where_shutdown_does_not() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    port = int(endpoint.rsplit(":", 1)[1])
    listening = server._server
    assert listening is not None
    listening.socket = _NoShutdown(listening.socket)  # type: ignore[assignment]
    assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    assert not _connection_threads(port)  # each was woken by a connection of the server's own


def test_connections_are_accepted_with_their_request_and_late_senders_still_answered() -> None:
    server = LocalServer(port=0)
    endpoint = server.start()
    port = int(endpoint.rsplit(":", 1)[1])
    try:
        listening = server._server
        assert listening is not None
        if sys.platform == "linux":
            assert listening.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT) > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5) as late:
            time.sleep(1.2)  # past the deferral: accepted without data, then read as usual
            late.sendall(
                f"GET /_cogapi/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := late.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        server.stop()
