"""A reader that stops early (`cogapi status | head -1`) is normal: cogapi exits quietly, with
its own exit code, as `git log | head` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cogapi_command, write_config


def run_into_a_closed_pipe(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run cogapi with stdout on a real pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [*cogapi_command(), *args], stdout=write_end, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    os.close(write_end)
    os.close(read_end)  # every write cogapi makes to stdout now meets a closed pipe
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize(
    ("args", "code"),
    [(("status",), 3), (("up", "--dry-run"), 0)],  # a fresh server: the stack is missing
    ids=["status", "up-dry-run"],
)
def test_a_closed_stdout_exits_quietly_with_the_commands_own_code(
    cogapi: Any, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    returncode, err = run_into_a_closed_pipe(cogapi.env, *args, "-c", cfg)
    assert returncode == code, err
    for noise in ("error:", "BrokenPipe", "Traceback", "Exception ignored"):
        assert noise not in err, err


def test_a_closed_stdout_descriptor_is_not_a_crash() -> None:
    """`cogapi schema >&-`: Python starts with `sys.stdout = None`; the result goes nowhere."""
    proc = subprocess.run(
        [*cogapi_command(), "schema"], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, timeout=60, preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_stdout_that_refuses_the_result_is_an_error_naming_stdout() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*cogapi_command(), "schema"], stdout=full, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "error: cannot write the result: No space left on device (stdout)"
    )
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr


def test_a_closed_stdin_reads_as_empty() -> None:
    """`cogapi user add me@example.com --password-stdin 0<&-` reads an empty password (a usage
    error), not `None.readline()`: the installed command points a closed stdin at /dev/null."""
    code = (
        "import sys, cogapi.cli\n"
        "def main():\n"
        "    sys.exit(7 if sys.stdin.read() == '' else 8)\n"
        "cogapi.cli.main = main\n"
        "cogapi.cli.run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, timeout=60,
        preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
