"""The token cache: keyed by pool and client, never a destination for secrets, a dead entry
dropped once, a clear word when the stack is gone, and a private directory or none."""

from __future__ import annotations

import http.server
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cogapi.auth.token_cache import CachedTokens, CacheRefused, TokenCache
from tests.auth.conftest import EMAIL, PASSWORD, AuthStack, make_stack
from tests.auth.flows import browser_code_login, password_token


def cache_file(stack: AuthStack, cache: Path) -> Path:
    return cache / "cogapi" / "tokens" / f"{stack.pool_id}-{stack.client_id}.json"


@pytest.fixture
def trap() -> Iterator[list[str]]:
    """A server that records every request: where a planted cache entry points."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
            self.rfile.read(length)
            self.send_response(400)
            self.end_headers()

        do_GET = do_POST = _record  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen.append(f"http://127.0.0.1:{server.server_address[1]}")
    yield seen
    server.shutdown()


def test_refresh_and_logout_go_to_the_stacks_hosted_ui_never_the_caches(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str], trap: list[str]
) -> None:
    signed = browser_code_login(auth_stack, cache, url_file)
    assert signed.returncode == 0, signed.stderr
    path = cache_file(auth_stack, cache)  # named by the pool and client ids
    doc = json.loads(path.read_text())
    expired = auth_stack.server.issue_tokens(
        auth_stack.pool_id, auth_stack.client_id, EMAIL, ["openid", "email"],
        issued_at=int(time.time()) - 3 * 3600,
    )  # fmt: skip
    doc.update(hosted_ui=trap[0], access_token=expired["access_token"], id_token=None)
    path.write_text(json.dumps(doc))
    secret = {"COGAPI_CLIENT_SECRET": "s3cret"}
    refreshed = auth_stack.run("token", "-o", "json", cache=cache, **secret)
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.json()["source"] == "refresh"
    out = auth_stack.run("token", "--logout", "--no-browser", "-o", "json", cache=cache, **secret)
    assert out.returncode == 0, out.stderr
    assert out.json()["revoked"] is True  # revoked at the stack's own hosted UI
    assert trap[1:] == []  # the planted URL never got the refresh token or the secret


def test_a_dead_entry_is_dropped_and_said_once(auth_stack: AuthStack, cache: Path) -> None:
    assert password_token(auth_stack, cache).returncode == 0
    path = cache_file(auth_stack, cache)
    doc = json.loads(path.read_text())
    head, claims, sig = doc["access_token"].split(".")
    doc["access_token"] = f"{head}.{claims}.{sig[::-1]}"  # no longer verifies
    path.write_text(json.dumps(doc))
    first = auth_stack.run("call", cache=cache)
    assert first.returncode == 1
    assert "The cached token is no longer valid" in first.stderr and "removed it" in first.stderr
    again = auth_stack.run("call", cache=cache)
    assert again.returncode == 1
    assert "no longer valid" not in again.stderr and "no valid token is cached" in again.stderr
    assert not path.exists()


def test_token_on_an_empty_pool_hints_user_add(auth_stack: AuthStack, cache: Path) -> None:
    assert auth_stack.run("user", "rm", EMAIL, cache=cache).returncode == 0
    try:
        failed = password_token(auth_stack, cache)
        assert failed.returncode == 1, failed.stderr
        assert "has no users yet: add one with `cogapi user add EMAIL`" in failed.stderr
    finally:
        added = auth_stack.run(
            "user", "add", EMAIL, "--password-stdin", cache=cache, input=PASSWORD + "\n"
        )
        assert added.returncode == 0, added.stderr


def test_after_down_call_says_the_stack_is_gone(tmp_path: Path) -> None:
    stack = make_stack(tmp_path)
    try:
        cache = tmp_path / "cache"
        assert password_token(stack, cache).returncode == 0
        assert stack.run("down", "--yes", cache=cache).returncode == 0
        for command in (("call",), ("verify",), ("token",)):
            gone = stack.run(*command, cache=cache)
            assert gone.returncode == 1, gone.stderr
            assert "not deployed, or was taken down" in gone.stderr, gone.stderr
            assert "cogapi token` first" not in gone.stderr
            assert "no longer valid" not in gone.stderr
    finally:
        stack.server.stop()


# ---- the directory ---------------------------------------------------------------------------


def test_a_cache_directory_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = TokenCache.for_client("us-east-1_pool", "client")
    cache.store(CachedTokens("us-east-1_pool", "client", "code", "access"))
    owner = cache.path.parent.stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)  # as another user sees this directory
    with pytest.raises(CacheRefused, match="belongs to another user"):
        cache.load()
    with pytest.raises(CacheRefused, match="belongs to another user"):
        cache.store(CachedTokens("us-east-1_pool", "client", "code", "access"))


def test_a_cache_directory_that_cannot_be_made_private_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = TokenCache.for_client("us-east-1_pool", "client")
    cache.path.parent.mkdir(parents=True)
    cache.path.parent.chmod(0o755)

    def refuse(*args: object) -> None:
        raise PermissionError("not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(CacheRefused, match="cannot be made private"):
        cache.store(CachedTokens("us-east-1_pool", "client", "code", "access"))
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o755
    assert list(cache.path.parent.iterdir()) == []  # nothing written there
