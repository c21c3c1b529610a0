"""On a terminal `up` and `down` ask first; a killed `down` finishes on the next run."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import MotoServer
from tests.e2e.test_cli_e2e import NONE_LEFT, count_resources
from tests.helpers import cogapi_command, write_config


def run_on_a_terminal(
    args: list[str], env: dict[str, str], answer: str, prompt: str
) -> tuple[int, str]:
    """Run cogapi with a pseudo-terminal as stdin/stdout/stderr; type `answer` at `prompt`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*cogapi_command(), *args], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    seen, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and prompt.encode() in seen:
                os.write(master, answer.encode() + b"\r")
                answered = True
        elif proc.poll() is not None:
            break
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
