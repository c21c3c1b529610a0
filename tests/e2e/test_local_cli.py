"""`cogapi local` and `cogapi demo` as the installed command, the way a newcomer runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import cogapi_command, free_port, write_config


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    env.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})  # fmt: skip
    return env


def test_demo_passes_every_step(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if not k.startswith("AWS_")}  # nothing set up
    p = subprocess.run(
        [*cogapi_command(), "demo", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["ok"] is True
    steps = {s["step"]: s for s in doc["steps"]}
    assert steps["call with no token"]["actual"] == "401 Unauthorized"
    assert steps["call with expired token"]["actual"] == "401 The incoming token has expired"
    assert steps["call with real token"]["actual"].startswith("200 Hello World")
    # A machine caller: its client_credentials token passes on its scope's route only.
    assert steps["machine call /reports"]["actual"].startswith("200 Hello World")
    assert steps["machine call /test-API-resource"]["actual"] == "401 Unauthorized"
    assert steps["down"]["ok"] is True
    # down deletes the top-level resources; the rest goes with its parent, and it says so
    created = int(steps["up"]["actual"].split(" created", 1)[0])
    deleted = int(steps["down"]["actual"].split(" deleted", 1)[0])
    assert f"(the other {created - deleted} went with their parent)" in steps["down"]["actual"]


def test_local_serves_the_stack_and_up_prints_local_urls(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path)
    server = subprocess.Popen([*cogapi_command(), "local", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                info = json.loads(
                    urllib.request.urlopen(f"{endpoint}/_cogapi/info", timeout=1).read()
                )
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, (
                    "cogapi local did not start"
                )
                time.sleep(0.2)
        assert info["cogapi_local"] is True
        cfg = write_config(tmp_path / "cogapi.yaml")
        up = subprocess.run([*cogapi_command(), "up", "-c", str(cfg), "--endpoint-url", endpoint, "-o", "json"],
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert up.returncode == 0, up.stderr
        out = json.loads(up.stdout)["outputs"]
        assert out["invoke_url"].startswith(
            f"{endpoint}/_cogapi/api/{out['api_id']}/test/test-API-resource"
        )
        assert out["hosted_ui_url"].startswith(
            f"{endpoint}/_cogapi/auth/test-api-7f3k/login?client_id="
        )
        try:
            urllib.request.urlopen(out["invoke_url"], timeout=10)
            raise AssertionError("an unauthenticated call succeeded")
        except urllib.error.HTTPError as e:
            assert e.code == 401
            assert json.loads(e.read()) == {"message": "Unauthorized"}
        with urllib.request.urlopen(out["hosted_ui_url"], timeout=10) as page:
            assert page.status == 200 and b"<form" in page.read()
        # what moto raises on answers as JSON, its traceback kept out of the terminal
        for action, body, status in [("GetDevice", b'{"DeviceKey": "k", "AccessToken": "t"}', 501),
                                     ("CreateUserPool", b"{}", 400)]:  # fmt: skip
            request = urllib.request.Request(endpoint + "/", data=body, method="POST", headers={
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/"
                                 "cognito-idp/aws4_request, SignedHeaders=host, Signature=0"})  # fmt: skip
            try:
                urllib.request.urlopen(request, timeout=10)
                raise AssertionError(f"{action} succeeded")
            except urllib.error.HTTPError as e:
                assert e.code == status and "__type" in json.loads(e.read())
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=20)
    assert server.returncode == 130
    assert f"export AWS_ENDPOINT_URL={endpoint}" in stdout
    assert "Traceback" not in stderr


@pytest.mark.parametrize("args", [["local", "--port", "0"], ["demo"]])
def test_local_without_the_extra_says_how_to_install(tmp_path: Path, args: list[str]) -> None:
    # `pip install -e .` without `[local]` has neither moto nor werkzeug (moto[server] brings it).
    code = (
        "import sys; sys.modules['moto'] = sys.modules['werkzeug'] = None;"
        f"sys.argv = ['cogapi', *{args!r}]; from cogapi.cli import main; main()"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines() == [
        "error: moto is not installed (the local extra)",
        "hint: pip install -e '.[local]' in the cogapi checkout",
    ]


def test_local_refuses_a_busy_port_and_a_public_address(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = subprocess.run([*cogapi_command(), "local", "--port", str(port)], env=_env(tmp_path),
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode == 1
    assert (
        p.stderr.splitlines()[0]
        == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    public = subprocess.run([*cogapi_command(), "local", "--host", "0.0.0.0"], env=_env(tmp_path),
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert public.returncode == 2
    assert "loopback only" in public.stderr and "Traceback" not in public.stderr
    for bad in ("65536", "-1"):  # was "error: unexpected OverflowError", exit 1
        port_arg = subprocess.run(
            [*cogapi_command(), "local", "--port", bad],
            env=_env(tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
        assert port_arg.returncode == 2, port_arg.stderr
        assert "'--port'" in port_arg.stderr and "0<=x<=65535" in port_arg.stderr
        assert "unexpected" not in port_arg.stderr and "Traceback" not in port_arg.stderr


def test_demo_keep_serves_until_stopped_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if not k.startswith("AWS_")}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)  # where the demo's and the workers' temporary files go
    proc = subprocess.Popen([*cogapi_command(), "demo", "--keep"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("  try "):
                break
        text = "".join(lines)
        assert "until you press Ctrl-C" in text, text
        invoke = next(ln.split()[-1] for ln in lines if ln.strip().startswith("invoke URL"))
        assert "login      demo.user@example.com / " in text
        try:
            urllib.request.urlopen(invoke, timeout=10)
            raise AssertionError("the stack answered without a token")
        except urllib.error.HTTPError as e:
            assert e.code == 401  # the server is still up, and the stack with it
        assert list(scratch.iterdir())  # the demo's files, and the function's extracted code
        # SIGTERM (a supervisor, `kill`) ends it as Ctrl-C does: it killed the process at once
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Demo passed" in out and "Stopped the local stand-in" in err
        assert "Traceback" not in err
        assert list(scratch.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
