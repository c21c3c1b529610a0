"""On a terminal `up` and `down` ask first; a killed `down` finishes on the next run."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import MotoServer
from tests.e2e.test_cli_e2e import NONE_LEFT, count_resources
from tests.helpers import cogapi_command, write_config


def _pump(
    master: int, seconds: float, react: Callable[[bytes], None], exited: Callable[[], bool]
) -> tuple[bytes, bool]:
    """Read the terminal's output until it closes, or until `exited()` while it is quiet, and
    let `react` see all of it after each read. Returns (what was seen, whether time ran out)."""
    seen, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                return seen, False
            if not chunk:
                return seen, False
            seen += chunk
        elif exited():
            return seen, False
        react(seen)
    return seen, True


def run_on_a_terminal(
    args: list[str], env: dict[str, str], answer: str, prompt: str
) -> tuple[int, str]:
    """Run cogapi with a pseudo-terminal as stdin/stdout/stderr; type `answer` at `prompt`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*cogapi_command(), *args], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    answered = False

    def react(seen: bytes) -> None:
        nonlocal answered
        if not answered and prompt.encode() in seen:
            os.write(master, answer.encode() + b"\r")
            answered = True

    seen, _ = _pump(master, 120, react, lambda: proc.poll() is not None)
    code = proc.wait(30)
    os.close(master)
    return code, seen.decode(errors="replace")


def _env(cogapi: Any) -> dict[str, str]:
    return dict(cogapi.env)


def test_up_and_down_ask_on_a_terminal(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    env = _env(cogapi)
    code, screen = run_on_a_terminal(["up", "-c", cfg], env, "n", "Apply these changes?")
    assert code == 2, screen
    assert "┏" in screen and "action" in screen  # a table on a terminal
    assert count_resources(moto_server)["pools"] == 0

    code, screen = run_on_a_terminal(["up", "-c", cfg], env, "y", "Apply these changes?")
    assert code == 0, screen
    assert count_resources(moto_server)["pools"] == 1

    code, screen = run_on_a_terminal(["down", "-c", cfg], env, "n", "Delete 6 resource(s)")
    assert code == 2, screen
    assert "including the user pool and its 0 user(s)?" in screen
    assert count_resources(moto_server)["pools"] == 1

    code, screen = run_on_a_terminal(["down", "-c", cfg], env, "y", "Delete 6 resource(s)")
    assert code == 0, screen
    assert count_resources(moto_server) == NONE_LEFT


def test_down_killed_after_every_mutating_call_finishes_on_the_next_run(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    k = 1
    while True:
        moto_server.reset()
        assert cogapi("up", "-c", cfg).returncode == 0
        killed = cogapi("down", "-c", cfg, "--yes", env={"COGAPI_TEST_KILL_AFTER": str(k)})
        if killed.returncode == 0:
            break
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        again = cogapi("down", "-c", cfg, "--yes")
        assert again.returncode == 0, f"down after a kill at call {k}: {again.stderr}"
        assert count_resources(moto_server) == NONE_LEFT, k
        k += 1
    assert k > 4  # domain, pool, API, function, role policy, role: each was a kill point


def run_with_stdin_on_a_terminal(
    args: list[str], env: dict[str, str], answer: str, prompt: str, stderr_too: bool
) -> tuple[int, str, str]:
    """stdin (and stderr, unless `stderr_too`) on a pseudo-terminal, stdout into a pipe, as in
    `cogapi up -o json | jq`; with `stderr_too`, stderr joins stdout (`cogapi down 2>&1 | tail`).
    Types `answer` at `prompt`, wherever it shows; returns (code, terminal text, piped text)."""
    master, slave = pty.openpty()
    out_r, out_w = os.pipe()
    proc = subprocess.Popen(
        [*cogapi_command(), *args], stdin=slave, stdout=out_w,
        stderr=out_w if stderr_too else slave, env=env,
    )  # fmt: skip
    os.close(slave)
    os.close(out_w)
    seen = {master: b"", out_r: b""}
    open_fds, answered, deadline = [master, out_r], False, time.monotonic() + 120
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(open_fds, [], [], 0.2)
        for fd in ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                open_fds.remove(fd)
                continue
            seen[fd] += chunk
        if not answered and any(prompt.encode() in text for text in seen.values()):
            os.write(master, answer.encode() + b"\r")
            answered = True
        if not ready and proc.poll() is not None:
            break
    code = proc.wait(30)
    os.close(master)
    os.close(out_r)
    return code, seen[master].decode(errors="replace"), seen[out_r].decode(errors="replace")


def test_asking_depends_on_stdin_not_stdout(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    env = _env(cogapi)
    # `cogapi up -o json | jq` at a terminal: asks on the terminal; stdout stays one JSON document.
    args = ["up", "-c", cfg, "-o", "json"]
    code, screen, piped = run_with_stdin_on_a_terminal(
        args, env, "n", "Apply these changes?", False
    )
    assert code == 2, screen
    assert "Apply these changes?" in screen and piped == ""
    assert count_resources(moto_server)["pools"] == 0
    code, screen, piped = run_with_stdin_on_a_terminal(
        args, env, "y", "Apply these changes?", False
    )
    assert code == 0, screen
    assert json.loads(piped)["outputs"]["user_pool_id"]
    assert count_resources(moto_server)["pools"] == 1

    # `cogapi down 2>&1 | tail` at a terminal: asks (the question goes down the pipe with stderr).
    code, _, piped = run_with_stdin_on_a_terminal(
        ["down", "-c", cfg], env, "n", "Delete 6 resource(s)", True
    )
    assert code == 2, piped
    assert "Nothing deleted." in piped and "refusing" not in piped
    code, _, piped = run_with_stdin_on_a_terminal(
        ["down", "-c", cfg], env, "y", "Delete 6 resource(s)", True
    )
    assert code == 0, piped
    assert count_resources(moto_server) == NONE_LEFT


def at_the_password_prompt(args: list[str], env: dict[str, str], then: str) -> tuple[int, str]:
    """Run cogapi on a pseudo-terminal that is its controlling terminal (the password prompt
    reads /dev/tty) and, at `Password:`, press Ctrl-D (`then="eof"`) or send SIGINT."""
    pid, master = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.execve(cogapi_command()[0], [*cogapi_command(), *args], env)
    done = False

    def react(seen: bytes) -> None:
        nonlocal done
        if not done and b"Password:" in seen:
            time.sleep(0.2)  # let the prompt turn echo off and wait for input
            if then == "eof":
                os.write(master, b"\x04")
            else:
                os.kill(pid, signal.SIGINT)
            done = True

    seen, timed_out = _pump(master, 60, react, lambda: False)  # read until the terminal closes
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_ctrl_d_or_ctrl_c_at_the_password_prompt(cogapi: Any, tmp_path: Path) -> None:
    """click answers both with `Abort`, which was an 'unexpected Abort' (exit 1)."""
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    assert cogapi("up", "-c", cfg).returncode == 0
    env = _env(cogapi)
    code, screen = at_the_password_prompt(["user", "add", "a@example.com", "-c", cfg], env, "eof")
    assert code == 2, screen
    assert "error: no password given: the input ended at the prompt (Ctrl-D)" in screen
    code, screen = at_the_password_prompt(["user", "add", "a@example.com", "-c", cfg], env, "int")
    assert code == 130, screen
    assert screen.rstrip().endswith("error: interrupted")
    assert "unexpected" not in screen and "Traceback" not in screen
