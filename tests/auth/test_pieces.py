"""Each auth piece alone: PKCE, the callback server (real loopback requests), the cache file, the
pasted-URL parser, the browser default, route matching and the 401 hints."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import stat
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cogapi.auth.call import find_route, quoted_path, unauthorized_hint
from cogapi.auth.callback_server import CallbackError, CallbackServer
from cogapi.auth.hosted_ui import HostedUiFlow, Pkce, TokenEndpoint, has_desktop, loopback_callback
from cogapi.auth.token_cache import (
    CachedTokens,
    CacheRefused,
    TokenCache,
    cache_file_name,
    cache_root,
)
from cogapi.errors import CogapiError, UsageError
from tests.helpers import free_port


def get(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def in_thread(fn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except Exception as exc:  # handed back to the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    out["thread"] = t
    return out


def test_pkce_is_s256_of_the_verifier() -> None:
    p = Pkce.new()
    assert 43 <= len(p.verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(p.verifier.encode()).digest()).rstrip(b"=")
    assert p.challenge == expected.decode()
    assert Pkce.new().verifier != p.verifier


def test_callback_server_serves_one_answer_with_the_right_state() -> None:
    uri = f"http://localhost:{free_port()}/callback"
    with CallbackServer(uri, "s1") as server:
        waiting = in_thread(lambda: server.wait(10))
        port = server.port
        assert get(f"http://127.0.0.1:{port}/favicon.ico")[0] == 404  # does not count
        status, page = get(f"http://127.0.0.1:{port}/callback?code=abc&state=s1")
        waiting["thread"].join(10)
    assert status == 200 and "Signed in" in page
    assert waiting["value"] == {"code": "abc", "state": "s1"}
    with pytest.raises(urllib.error.URLError):  # stopped after the answer
        urllib.request.urlopen(f"http://127.0.0.1:{port}/callback", timeout=2)


def test_callback_server_binds_loopback_only() -> None:
    uri = f"http://localhost:{free_port()}/callback"
    with CallbackServer(uri, "s") as server:
        assert server._server is not None
        assert server._server.server_address[0] == "127.0.0.1"


def test_callback_server_refuses_the_wrong_state() -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "right") as server:
        waiting = in_thread(lambda: server.wait(10))
        status, _ = get(f"{uri}?code=abc&state=wrong")
        waiting["thread"].join(10)
    assert status == 400
    assert isinstance(waiting["error"], CallbackError)
    message = waiting["error"].message
    assert "state does not match" in message
    assert "stale browser tab" in message and "possible CSRF" in message


def test_callback_server_reports_the_hosted_ui_error() -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "s") as server:
        waiting = in_thread(lambda: server.wait(10))
        get(f"{uri}?error=invalid_scope&state=s")
        waiting["thread"].join(10)
    assert "error=invalid_scope" in waiting["error"].message


def test_callback_server_fragment_mode_relays_by_post() -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "s", "fragment") as server:
        waiting = in_thread(lambda: server.wait(10))
        status, page = get(uri)
        assert status == 200 and "location.hash" in page
        status, page = get(uri, b"access_token=t&state=s")
        waiting["thread"].join(10)
    assert status == 200
    assert waiting["value"] == {"access_token": "t", "state": "s"}


def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, str]:
    """One HTTP/1.1 request written byte for byte (urllib would fix the headers for us)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks).decode("utf-8", errors="replace")
    return int(answer.split(" ", 2)[1]), answer


@pytest.mark.parametrize(
    ("length", "status"),
    [("abc", 400), ("-5", 400), ("1e3", 400), ("12 34", 400), ("99999999999999999999999", 413),
     (str(10**7), 413)],
)  # fmt: skip
def test_callback_relay_refuses_a_bad_content_length_quietly(
    length: str, status: int, capfd: pytest.CaptureFixture[str]
) -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "s", "fragment") as server:
        waiting = in_thread(lambda: server.wait(10))
        host = f"127.0.0.1:{server.port}"
        got, _ = raw_request(
            server.port,
            f"POST /cb HTTP/1.1\nHost: {host}\nContent-Length: {length}\nConnection: close\n",
            b"access_token=t&state=s",
        )
        assert got == status
        # The bad request did not count: the real answer still completes the sign-in.
        assert get(uri, b"access_token=t&state=s")[0] == 200
        waiting["thread"].join(10)
    assert waiting["value"] == {"access_token": "t", "state": "s"}
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ValueError" not in err, err


@pytest.mark.parametrize("mode", ["query", "fragment"])
def test_callback_server_refuses_other_hosts(mode: str) -> None:
    uri = f"http://localhost:{free_port()}/cb"
    with CallbackServer(uri, "s", mode) as server:  # type: ignore[arg-type]
        waiting = in_thread(lambda: server.wait(10))
        port = server.port
        for host in (
            f"evil.example:{port}",
            f"localhost:{port + 1}",
            "localhost",
            "",
            f"127.0.0.2:{port}",
        ):
            header = f"Host: {host}\n" if host else ""
            got, page = raw_request(
                port, f"GET /cb?code=c&state=wrong HTTP/1.1\n{header}Connection: close\n"
            )
            assert got == 403, (host, page)
            got, _ = raw_request(
                port,
                f"POST /cb HTTP/1.1\n{header}Content-Length: 21\nConnection: close\n",
                b"access_token=x&state=wrong",
            )
            assert got == 403, host
        # None of those ended the sign-in (a wrong state would have): the real answer still does.
        good = "/cb?code=c&state=s" if mode == "query" else "/cb"
        body = b"" if mode == "query" else b"access_token=t&state=s"
        method = "GET" if mode == "query" else "POST"
        got, _ = raw_request(
            port,
            f"{method} {good} HTTP/1.1\nHost: localhost:{port}\nContent-Length: {len(body)}\n"
            "Connection: close\n",
            body,
        )
        assert got == 200
        waiting["thread"].join(10)
    assert "error" not in waiting, waiting.get("error")


def test_callback_server_overall_timeout() -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "s") as server, pytest.raises(CallbackError, match="within 0.3 s"):
        server.wait(0.3)


def test_callback_server_silent_client_does_not_block_the_answer() -> None:
    uri = f"http://127.0.0.1:{free_port()}/cb"
    with CallbackServer(uri, "s", request_timeout=1.0) as server:
        waiting = in_thread(lambda: server.wait(10))
        with socket.create_connection(("127.0.0.1", server.port)):  # connects, says nothing
            status, _ = get(f"{uri}?code=c&state=s")
        waiting["thread"].join(10)
    assert status == 200 and waiting["value"]["code"] == "c"


def test_callback_server_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CogapiError, match=f"port {port} on 127.0.0.1 is in use"):
            CallbackServer(f"http://localhost:{port}/callback", "s").start()


def test_only_http_loopback_callbacks_are_served() -> None:
    assert (
        loopback_callback(
            ["https://app.example.com/cb", "http://127.0.0.1:9/cb", "http://localhost:8/cb"]
        )
        == "http://127.0.0.1:9/cb"
    )
    assert loopback_callback(["https://app.example.com/cb", "http://[::1]:8/cb"]) is None
    with pytest.raises(UsageError):
        CallbackServer("https://app.example.com/cb", "s")


def test_token_cache_file_is_private_and_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "cogapi" / "tokens"
    cache = TokenCache.for_stack("demo", "eu-west-1", None)
    assert cache.load() is None
    cache.store(CachedTokens("pool", "client", "code", "access"))
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in cache.path.parent.iterdir()] == [cache.path.name]  # no temp files
    loaded = cache.load()
    assert loaded is not None and loaded.access_token == "access"
    cache.path.write_text("{not json")
    assert cache.load() is None  # a broken cache is empty, not an error
    assert cache.clear() and not cache.clear()


def test_cache_file_names_separate_stacks_regions_and_endpoints() -> None:
    names = {
        cache_file_name("a", "us-east-1", None),
        cache_file_name("a", "eu-west-1", None),
        cache_file_name("b", "us-east-1", None),
        cache_file_name("a", "us-east-1", "http://127.0.0.1:4566"),
    }
    assert len(names) == 4


def test_pasted_url_parsing() -> None:
    flow = HostedUiFlow(
        TokenEndpoint("https://x", "cid"),
        "http://localhost:8765/callback",
        ["openid"],
        "code",
        state="st",
    )
    assert flow.params_from_pasted(" http://localhost:8765/callback?code=c&state=st \n") == {
        "code": "c",
        "state": "st",
    }
    with pytest.raises(UsageError, match="not the redirected URL"):
        flow.params_from_pasted("hello")
    with pytest.raises(UsageError, match="goes to"):
        flow.params_from_pasted("http://localhost:9999/other?code=c&state=st")
    with pytest.raises(CallbackError, match="state"):
        flow.params_from_pasted("http://localhost:8765/callback?code=c&state=nope")
    implicit = HostedUiFlow(
        TokenEndpoint("https://x", "cid"),
        "http://localhost:8765/callback",
        ["openid"],
        "implicit",
        state="st",
    )
    got = implicit.params_from_pasted("http://localhost:8765/callback#access_token=a&state=st")
    assert got["access_token"] == "a"
    assert "code_challenge" not in implicit.authorize_url()
    assert "code_challenge_method=S256" in flow.authorize_url()


def test_browser_default_depends_on_a_desktop() -> None:
    assert has_desktop({"BROWSER": "firefox"}, "linux")
    assert has_desktop({"DISPLAY": ":0"}, "linux")
    assert not has_desktop({}, "linux")
    assert has_desktop({}, "darwin") and not has_desktop({"SSH_CONNECTION": "x"}, "darwin")


def route(path: str, method: str = "GET", scopes: list[str] | None = None) -> Any:
    return SimpleNamespace(path=path, method=method, scopes=scopes or [], authorizer=True)


def test_find_route_prefers_literal_segments() -> None:
    routes = [
        route("/items/{id}"),
        route("/items/new"),
        route("/files/{proxy+}"),
        route("/x", "ANY"),
    ]
    assert find_route(routes, "/items/new", "GET").path == "/items/new"
    assert find_route(routes, "/items/7", "GET").path == "/items/{id}"
    assert find_route(routes, "/files/a/b", "GET").path == "/files/{proxy+}"
    assert find_route(routes, "/x", "DELETE").path == "/x"
    assert find_route(routes, "/items/7", "POST") is None


def test_unauthorized_hints_name_the_cause() -> None:
    import jwt

    def token(**claims: Any) -> str:
        return jwt.encode({"exp": 4_000_000_000, **claims}, "k" * 32, algorithm="HS256")

    scoped, plain = route("/a", scopes=["email"]), route("/b")
    assert "no token" in unauthorized_hint(scoped, None, None, "Unauthorized")
    assert "expired" in unauthorized_hint(
        scoped, "access", token(), "The incoming token has expired"
    )
    assert "ID token was sent" in unauthorized_hint(scoped, "id", token(), "Unauthorized")
    password = token(scope="aws.cognito.signin.user.admin")
    assert "password flow" in unauthorized_hint(scoped, "access", password, "Unauthorized")
    assert "wants an ID token" in unauthorized_hint(plain, "access", token(), "Unauthorized")


@pytest.mark.parametrize(
    "command", ["token", "call", "verify", "user", "user add", "user rm", "user ls"]
)
def test_help_imports_no_boto3_pydantic_or_rich(command: str) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cogapi.cli import cli\n"
        f"try:\n    cli({command.split()!r} + ['--help'], prog_name='cogapi')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('boto3', 'pydantic', 'rich') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert "Usage: cogapi" in p.stdout
    assert "HEAVY []" in p.stderr, p.stderr


def test_call_paths_are_sent_as_a_browser_sends_them() -> None:
    assert quoted_path("/items/my item") == "/items/my%20item"
    assert quoted_path("/items/%20already") == "/items/%20already"  # encoded by the user
    assert quoted_path("/caf\u00e9?q=a b&x=1") == "/caf%C3%A9?q=a%20b&x=1"
    assert quoted_path("/a#b\x01") == "/a%23b%01"
    assert quoted_path("/{proxy}/x:y@z") == "/%7Bproxy%7D/x:y@z"


def test_token_cache_path_taken_by_something_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What stands in the cache's place is refused with its path (before a sign-in that could not
    be kept), a file that is not UTF-8 is an empty cache, and a file opened to others is made
    0600 again; nothing here is a crash or a read that blocks."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = TokenCache.for_stack("demo", "eu-west-1", None)
    cache.store(CachedTokens("pool", "client", "code", "access"))
    cache.path.write_bytes(b"\xff\xfe\x00")
    assert cache.load() is None
    cache.store(CachedTokens("pool", "client", "code", "access"))
    cache.path.chmod(0o644)
    assert cache.load() is not None
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    cache.path.unlink()
    for make in (cache.path.mkdir, lambda: os.mkfifo(cache.path)):
        make()
        for attempt in (cache.load, lambda: cache.store(CachedTokens("p", "c", "code", "a"))):
            with pytest.raises(CacheRefused, match="is not a regular file"):
                attempt()
        with pytest.raises(CacheRefused, match="is not a regular file"):
            cache.clear()
        (cache.path.rmdir if cache.path.is_dir() else cache.path.unlink)()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(
        CacheRefused, match="cannot use the token cache directory .*Not a directory"
    ):
        TokenCache.for_stack("demo", "eu-west-1", None).load()
