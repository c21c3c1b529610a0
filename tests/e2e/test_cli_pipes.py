"""A reader that stops early (`cogapi status | head -1`) is normal: cogapi exits quietly, with
its own exit code, as `git log | head` does."""

from __future__ import annotations

import os
import subprocess
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
