"""The installed command's exit (`cogapi.cli.run`): the command's own status, every line of
output, exit handlers run; then `os._exit`, skipping only the interpreter's teardown."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

import cogapi.cli
from tests.helpers import cogapi_command


class Exited(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []

    def fake_exit(status: int) -> None:
        raise Exited(status)

    monkeypatch.setattr(cogapi.cli.os, "_exit", fake_exit)
    monkeypatch.setattr(cogapi.cli.atexit, "_run_exitfuncs", lambda: ran.append("atexit"))
    return ran


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(None, 0), (SystemExit(None), 0), (SystemExit(0), 0), (SystemExit(3), 3),
     (SystemExit(130), 130), (SystemExit("refused"), 1)],
    ids=["return", "exit-none", "exit-0", "exit-3", "exit-130", "exit-message"],
)  # fmt: skip
def test_run_exits_with_the_commands_status_after_the_exit_handlers(
    monkeypatch: pytest.MonkeyPatch,
    exits: list[str],
    capsys: pytest.CaptureFixture[str],
    outcome: BaseException | None,
    status: int,
) -> None:
    def main() -> None:
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(cogapi.cli, "main", main)
    with pytest.raises(Exited) as info:
        cogapi.cli.run()
    assert info.value.status == status
    assert exits == ["atexit"]
    if status == 1:
        assert capsys.readouterr().err == "refused\n"  # as the interpreter prints it


def test_run_lets_a_bug_propagate(monkeypatch: pytest.MonkeyPatch, exits: list[str]) -> None:
    def main() -> None:
        raise RuntimeError("a bug")  # run_command turns errors into exits; anything else is ours

    monkeypatch.setattr(cogapi.cli, "main", main)
    with pytest.raises(RuntimeError):
        cogapi.cli.run()
    assert exits == []


def test_the_real_exit_keeps_buffered_output_and_runs_atexit(tmp_path: Any) -> None:
    marker = tmp_path / "atexit-ran"
    code = (
        "import atexit, sys, cogapi.cli\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "def main():\n"
        "    sys.stdout.write('x' * 100000)\n"  # more than a pipe buffer
        "    sys.stdout.write('tail')\n"  # a short write that stays in the buffer, unflushed
        "    sys.exit(3)\n"
        "cogapi.cli.main = main\n"
        "cogapi.cli.run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered stdout
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 3
    assert proc.stdout == "x" * 100000 + "tail"
    assert marker.exists()


@pytest.mark.parametrize(
    ("module", "signame"),
    [("click", "SIGINT"), ("cogapi.cli.stack", "SIGINT"), ("cogapi.cli.stack", "SIGTERM")],
)
def test_ctrl_c_while_the_command_line_is_still_importing_exits_130_quietly(
    tmp_path: Any, module: str, signame: str
) -> None:
    """SIGINT arrives while the installed `cogapi` imports click or its own commands: one line,
    exit 130, no KeyboardInterrupt traceback (nor click's `Aborted!` with exit 1). SIGTERM is
    taken as Ctrl-C (it killed the process at once)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            sys.meta_path.remove(self)\n"
        f"            os.kill(os.getpid(), signal.{signame})\n"
        "        return None\n"
        "sys.meta_path.insert(0, CtrlC())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [*cogapi_command(), "schema"], capture_output=True, text=True, timeout=60, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "error: interrupted\n"
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "extra"], "Error: cogapi status does not take the argument(s) extra"),
        (["call", "/x", "y", "z"], "Error: cogapi call does not take the argument(s) y z"),
        (["user", "ls", "me"], "Error: cogapi user ls does not take the argument(s) me"),
    ],
)
def test_an_extra_argument_is_named_without_the_word_unexpected(
    args: list[str], message: str
) -> None:
    """click's own wording is "Got unexpected extra argument (x)"; cogapi never says that."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cogapi.cli.cli, args, prog_name="cogapi")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == message
    assert "unexpected" not in result.stderr.lower()
