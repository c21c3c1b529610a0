"""One `cogapi local` server and one stack (made by `cogapi up`) per test module, and a runner of
the real `cogapi` command as a subprocess with its own token cache per test."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cogapi.local.server import LocalServer
from tests.helpers import (
    Result,
    check_calls_against_policy,
    cogapi_command,
    free_port,
    write_config,
)

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "alice@example.com"
PASSWORD = "Correct-Horse-9"


@dataclass
class AuthStack:
    server: LocalServer
    endpoint: str
    config: Path
    callback: str
    home: Path
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def pool_id(self) -> str:
        return str(self.outputs["user_pool_id"])

    @property
    def client_id(self) -> str:
        return str(self.outputs["app_client_id"])

    def env(self, cache: Path, **extra: str) -> dict[str, str]:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_", "BROWSER"))
        }
        base.update({
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": str(self.home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "none"),
            "XDG_CACHE_HOME": str(cache), "COGAPI_CONFIG": str(self.config),
            "PYTHONPATH": str(ROOT), "DISPLAY": "",
        })  # fmt: skip
        base.update(extra)
        return base

    def command(self, *args: str) -> list[str]:
        return [*cogapi_command(), *args]

    def run(
        self, *args: str, cache: Path, input: str | None = None, timeout: float = 60, **env: str
    ) -> Result:
        # Every AWS call is logged and checked against `cogapi iam-policy` for the command.
        log = cache.parent / f"aws-calls-{secrets.token_hex(4)}.log"
        p = subprocess.run(
            self.command(*args),
            env=self.env(cache, COGAPI_TEST_CALL_LOG=str(log), **env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        check_calls_against_policy(args, log)
        return Result(p.returncode, p.stdout, p.stderr)

    def start(self, *args: str, cache: Path, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env(cache, **env),
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


def make_stack(tmp: Path, **overrides: Any) -> AuthStack:
    server = LocalServer(port=0)
    endpoint = server.start()
    callback = f"http://localhost:{free_port()}/callback"
    name = "auth" + secrets.token_hex(3)
    doc: dict[str, Any] = {
        "name": name, "endpoint_url": endpoint, "tags": {},
        "user_pool": {"name": None},
        "domain": {"prefix": f"{name}-{secrets.token_hex(2)}"},
        "app_client": {"name": None, "callback_urls": [callback],
                       "logout_urls": [callback.replace("/callback", "/signed-out")],
                       "auth_flows": ["refresh_token", "user_srp", "user_password"],
                       "token_validity": {"access": "5m", "id": "5m", "refresh": "60m"}},
        "function": {"name": None, "role_name": None},
        "api": {"name": None, "authorizer": {"name": None},
                "routes": [{"path": "/hello", "method": "GET", "scopes": ["email"]},
                           {"path": "/me", "method": "GET"}]},
    }  # fmt: skip
    for key, value in overrides.items():  # one level deep: keep the generated URLs and names
        doc[key] = {**doc[key], **value} if isinstance(doc.get(key), dict) else value
    config = write_config(tmp / "cogapi.yaml", **doc)
    stack = AuthStack(server, endpoint, config, callback, tmp)
    up = stack.run("up", "--yes", "-o", "json", cache=tmp / "cache", timeout=120)
    assert up.returncode == 0, up.stderr
    stack.outputs = up.json()["outputs"]
    added = stack.run(
        "user", "add", EMAIL, "--password-stdin", cache=tmp / "cache", input=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    return stack


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    stack = make_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stack.server.stop()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def url_file(tmp_path: Path) -> tuple[Path, str]:
    """A `BROWSER` command that only records the URLs cogapi asks it to open."""
    urls = tmp_path / "opened-urls.txt"
    script = tmp_path / "record-browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{urls}"\n')
    script.chmod(0o755)
    return urls, f"{script} %s"


def wait_for_url(
    urls: Path, proc: subprocess.Popen[str] | None = None, count: int = 1, timeout: float = 20
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if urls.exists():
            lines = [x for x in urls.read_text().splitlines() if x]
            if len(lines) >= count:
                return lines[count - 1]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"cogapi exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    raise AssertionError("cogapi never opened a browser")
