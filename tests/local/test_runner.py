"""The handler runner alone: real worker processes, and what a handler starts from them."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from cogapi.local.runner import FailureKind, FunctionCode, FunctionRunner


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _code(source: str, timeout: float = 3.0, handler: str = "main.handler") -> FunctionCode:
    return FunctionCode(
        name="fn",
        handler=handler,
        zip_bytes=_zip({"main.py": source}),
        timeout=timeout,
        environment={"COLOR": "blue"},
        arn="arn:fn",
    )


@pytest.fixture(scope="module")
def runner() -> FunctionRunner:
    return FunctionRunner(extra_env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})


def test_returns_value_with_env_and_context(runner: FunctionRunner) -> None:
    code = _code(
        "import os\n"
        "def handler(event, context):\n"
        "    print('to the log')\n"
        "    return {'got': event, 'color': os.environ['COLOR'],\n"
        "            'name': context.function_name,\n"
        "            'left': context.get_remaining_time_in_millis() > 0,\n"
        "            'endpoint': os.environ['AWS_ENDPOINT_URL']}\n"
    )
    result = runner.invoke(code, {"a": [1, 2]})
    assert result.ok, result
    assert result.value == {
        "got": {"a": [1, 2]},
        "color": "blue",
        "name": "fn",
        "left": True,
        "endpoint": "http://127.0.0.1:1",
    }
    assert "to the log" in result.logs


def test_server_environment_does_not_leak(
    runner: FunctionRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_OF_THE_SERVER", "x")
    code = _code(
        "import os\ndef handler(e, c):\n    return os.environ.get('SECRET_OF_THE_SERVER')\n"
    )
    assert runner.invoke(code, {}).value is None


def test_raise_is_error(runner: FunctionRunner) -> None:
    result = runner.invoke(_code("def handler(e, c):\n    raise ValueError('nope')\n"), {})
    assert result.failure is FailureKind.ERROR
    assert (result.error_type, result.message) == ("ValueError", "nope")


def test_sys_exit_and_hard_exit_are_errors(runner: FunctionRunner) -> None:
    assert (
        runner.invoke(_code("import sys\ndef handler(e, c):\n    sys.exit(3)\n"), {}).failure
        is FailureKind.ERROR
    )
    crashed = runner.invoke(_code("import os\ndef handler(e, c):\n    os._exit(7)\n"), {})
    assert crashed.failure is FailureKind.ERROR and "7" in crashed.message


def test_missing_module_or_function_is_error(runner: FunctionRunner) -> None:
    code = _code("x = 1\n", handler="other.handler")
    assert runner.invoke(code, {}).error_type == "Runtime.ImportModuleError"
    assert runner.invoke(_code("x = 1\n"), {}).error_type == "Runtime.HandlerNotFound"


def test_unserializable_result_is_bad_output(runner: FunctionRunner) -> None:
    result = runner.invoke(_code("def handler(e, c):\n    return object()\n"), {})
    assert result.failure is FailureKind.BAD_OUTPUT


def test_print_never_corrupts_the_answer(runner: FunctionRunner) -> None:
    code = _code(
        "import sys, os\n"
        "def handler(e, c):\n"
        "    print('{\"ok\": false}')\n"
        "    sys.stdout.write('junk')\n"
        "    os.write(1, b'raw junk')\n"
        "    return 5\n"
    )
    result = runner.invoke(code, {})
    assert result.ok and result.value == 5


def test_timeout_kills_the_process(runner: FunctionRunner) -> None:
    code = _code("import time\ndef handler(e, c):\n    time.sleep(10)\n", timeout=0.5)
    result = runner.invoke(code, {})
    assert result.failure is FailureKind.TIMEOUT
    assert result.message == "Task timed out after 0.50 seconds"
    assert result.duration_ms < 3000


def test_zip_is_extracted_once_per_code(tmp_path: Path) -> None:
    runner = FunctionRunner(cache_dir=tmp_path)
    code = _code("def handler(e, c):\n    return 1\n")
    first = runner.code_dir(code)
    (first / "marker").write_text("kept")
    assert runner.code_dir(code) == first and (first / "marker").exists()
    other = _code("def handler(e, c):\n    return 2\n")
    assert runner.code_dir(other) != first


# --- containment: what a handler starts never outlives or delays its answer ------------------

SPAWN = (
    "import os, subprocess, sys, time\n"
    "def spawn(n, seconds=30):\n"
    "    # children that inherit the handler's stdout and stderr, as a careless handler's do\n"
    "    return [subprocess.Popen(['sleep', str(seconds)]).pid for _ in range(n)]\n"
    "def escape():\n"
    "    # a double-forked daemon in a session of its own, holding stderr\n"
    "    r, w = os.pipe()\n"
    "    if os.fork() == 0:\n"
    "        os.setsid()\n"
    "        if os.fork() == 0:\n"
    "            os.write(w, str(os.getpid()).encode()); os.close(w)\n"
    "            time.sleep(30); os._exit(0)\n"
    "        os._exit(0)\n"
    "    os.close(w)\n"
    "    return int(os.read(r, 20))\n"
)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _pids_file(tmp_path: Path) -> Path:
    return tmp_path / "pids"


def test_answer_is_not_delayed_by_a_child_holding_stderr(runner: FunctionRunner) -> None:
    code = _code(SPAWN + "def handler(e, c):\n    return spawn(1) + [escape()]\n")
    started = time.monotonic()
    result = runner.invoke(code, {})
    assert result.ok, result
    assert time.monotonic() - started < 2  # the children sleep 30 s
    assert not [pid for pid in result.value if _running(pid)]


def test_fifty_background_processes_are_gone_after_the_answer(runner: FunctionRunner) -> None:
    code = _code(SPAWN + "def handler(e, c):\n    return spawn(50) + [escape()]\n")
    result = runner.invoke(code, {})
    assert result.ok and len(result.value) == 51, result
    assert not [pid for pid in result.value if _running(pid)]


def test_timeout_holds_and_kills_children_that_keep_the_output_open(
    runner: FunctionRunner, tmp_path: Path
) -> None:
    code = _code(
        SPAWN + "def handler(e, c):\n"
        "    pids = spawn(3) + [escape()]\n"
        "    open(e['pids'], 'w').write(' '.join(map(str, pids)))\n"
        "    time.sleep(30)\n",
        timeout=1.5,  # time enough to start the worker and the children on a busy machine
    )
    started = time.monotonic()
    result = runner.invoke(code, {"pids": str(_pids_file(tmp_path))})
    assert result.failure is FailureKind.TIMEOUT, result
    assert time.monotonic() - started < 3.5
    pids = [int(p) for p in _pids_file(tmp_path).read_text().split()]
    assert len(pids) == 4 and not [pid for pid in pids if _running(pid)]


def test_answer_above_6_mb_is_an_error(runner: FunctionRunner) -> None:
    code = _code("def handler(e, c):\n    return 'x' * (6 * 1024 * 1024)\n")
    result = runner.invoke(code, {})
    assert result.failure is FailureKind.ERROR
    assert result.error_type == "Function.ResponseSizeTooLarge"
    fine = runner.invoke(_code("def handler(e, c):\n    return 'x' * (5 * 1024 * 1024)\n"), {})
    assert fine.ok and len(fine.value) == 5 * 1024 * 1024


def test_handler_output_is_in_the_logs_not_the_answer(runner: FunctionRunner) -> None:
    code = _code(
        "import subprocess, sys\n"
        "def handler(e, c):\n"
        "    print('out line'); print('err line', file=sys.stderr)\n"
        "    subprocess.run(['echo', 'child line'])\n"
        "    return 1\n"
    )
    result = runner.invoke(code, {})
    assert result.value == 1
    assert result.logs.splitlines() == ["out line", "err line", "child line"]
