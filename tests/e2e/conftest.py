"""End-to-end fixtures: a moto server on loopback, and the installed `cogapi` run as a subprocess."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import Result, check_calls_against_policy, cogapi_command, free_port


@dataclass
class MotoServer:
    url: str
    proc: subprocess.Popen[bytes]

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def client(self, service: str) -> Any:
        return boto3.Session(region_name="us-east-1").client(
            service,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _serve(command: list[str], url: str, ready_path: str) -> Iterator[MotoServer]:
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}{ready_path}", timeout=1)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"{command[0]} did not start") from None
            time.sleep(0.1)
    yield MotoServer(url, proc)
    proc.terminate()
    proc.wait(10)


# moto's server with cogapi local's OpenAPI import, so PutRestApi is applied as AWS applies it
# (moto alone drops the authorizer, scopes and gateway responses of the document), and its AWS
# managed policies built once (moto rebuilt all 1,582 after every reset: 0.3-1 s a test).
PATCHED_MOTO = (
    "import sys; from cogapi.local import apigw_import, iam_policies; "
    "apigw_import.install(); iam_policies.install(); "
    "from moto.server import main; main(sys.argv[1:])"
)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    port = free_port()
    command = [sys.executable, "-c", PATCHED_MOTO, "-H", "127.0.0.1", "-p", str(port)]
    yield from _serve(command, f"http://127.0.0.1:{port}", "/moto-api/")


@pytest.fixture(scope="session")
def local_server() -> Iterator[MotoServer]:
    """`cogapi local`: moto plus an API Gateway that serves what was deployed, and only that."""
    port = free_port()
    command = [*cogapi_command(), "local", "--port", str(port)]
    yield from _serve(command, f"http://127.0.0.1:{port}", "/_cogapi/info")


def _runner(server: MotoServer, tmp_path: Path) -> Any:
    server.reset()
    runs = itertools.count()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    base_env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": server.url, "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "COGAPI_WORKERS": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    })  # fmt: skip

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        # Every AWS call is logged and checked against `cogapi iam-policy` for the command.
        log = tmp_path / f"aws-calls-{next(runs)}.log"
        p = subprocess.run(
            [*cogapi_command(), *args],
            env={**base_env, "COGAPI_TEST_CALL_LOG": str(log), **(env or {})},
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        check_calls_against_policy(args, log)
        return Result(p.returncode, p.stdout, p.stderr)

    run.env = base_env  # type: ignore[attr-defined]
    return run


@pytest.fixture
def cogapi(moto_server: MotoServer, tmp_path: Path) -> Any:
    """The installed cogapi against a fresh moto server."""
    return _runner(moto_server, tmp_path)


@pytest.fixture
def cogapi_local(local_server: MotoServer, tmp_path: Path) -> Any:
    """The installed cogapi against a fresh `cogapi local`."""
    return _runner(local_server, tmp_path)
