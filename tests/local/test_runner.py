"""The handler runner alone: real worker processes, and what a handler starts from them."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cogapi.local.runner import FailureKind, FunctionCode, FunctionRunner
from tests.helpers import python_function


def _code(source: str, timeout: float = 3.0, handler: str = "main.handler") -> FunctionCode:
    return python_function(source, timeout=timeout, handler=handler, environment={"COLOR": "blue"})


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


def test_every_event_reaches_the_handler_as_sent(runner: FunctionRunner) -> None:
    """The request line to a worker is orjson's when it can, `json`'s when orjson refuses the
    event (an integer beyond 64 bits, a lone surrogate, a key that is not a string): the
    handler gets the same event either way, newlines and non-ASCII text included."""
    code = _code("def handler(event, context):\n    return {'got': repr(event)}\n")
    events: list[Any] = [
        {"text": "line\nnext\u2028ünï\U0001f600", "n": -(2**63), "f": 1.5, "none": None},
        {"big": 2**70},  # orjson: "Integer exceeds 64-bit range"
        {"odd": "\ud800"},  # orjson: "str is not valid UTF-8: surrogates not allowed"
        {1: "int key"},  # orjson: "Dict key must be str"; json makes it "1"
    ]
    for event in events:
        result = runner.invoke(code, event)
        assert result.ok, result
        expected = {"1": "int key"} if 1 in event else event
        assert result.value == {"got": repr(expected)}


def test_every_answer_comes_back_as_the_handler_gave_it(runner: FunctionRunner) -> None:
    """The answer line is read by orjson when it can, by `json` when orjson refuses it: NaN and
    infinities (which the worker's `json` writes) and integers beyond 64 bits come back too."""
    code = _code(
        "def handler(event, context):\n"
        "    return {'text': 'line\\nnext \\u00fc', 'big': 2**70, 'inf': float('inf'),\n"
        "            'nan': float('nan'), 'n': [1, 2.5, None, True]}\n"
    )
    result = runner.invoke(code, {})
    assert result.ok, result
    value = result.value
    assert math.isnan(value.pop("nan"))
    assert value == {"text": "line\nnext \u00fc", "big": 2**70, "inf": float("inf"),
                     "n": [1, 2.5, None, True]}  # fmt: skip


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


# --- warm workers ------------------------------------------------------------------------------

COUNTER = (
    "import os, time\n"
    "CALLS = 0\n"
    "IMPORTED = time.time()\n"
    "def handler(e, c):\n"
    "    global CALLS\n"
    "    CALLS += 1\n"
    "    time.sleep(e.get('sleep', 0))\n"
    "    return {'calls': CALLS, 'pid': os.getpid(), 'color': os.environ.get('COLOR'),\n"
    "            'version': VERSION, 'request': c.aws_request_id}\n"
    "other = handler\n"
)


def _counter(version: int = 1, **kw: Any) -> FunctionCode:
    code = _code(COUNTER + f"VERSION = {version}\n")
    return FunctionCode(**{**code.__dict__, "name": "counter", "arn": "arn:counter", **kw})


@pytest.fixture
def warm() -> Iterator[FunctionRunner]:
    runner = FunctionRunner()
    yield runner
    runner.close()


def _value(runner: FunctionRunner, code: FunctionCode, event: Any = None) -> Any:
    result = runner.invoke(code, event or {})
    assert result.ok, result
    return result.value


def test_module_is_imported_once_across_calls(warm: FunctionRunner) -> None:
    code = _counter()
    values = [_value(warm, code) for _ in range(3)]
    assert [v["calls"] for v in values] == [1, 2, 3]
    assert len({v["pid"] for v in values}) == 1
    assert len({v["request"] for v in values}) == 3  # each call has its own request id


def test_code_change_starts_a_worker_with_the_new_code(warm: FunctionRunner) -> None:
    first = _value(warm, _counter(1))
    second = _value(warm, _counter(2))
    assert (first["version"], second["version"]) == (1, 2)
    assert second["calls"] == 1 and second["pid"] != first["pid"]
    assert not _running(first["pid"])  # the old worker is gone, not idle


@pytest.mark.parametrize(
    "change",
    [
        {"environment": {"COLOR": "red"}},
        {"timeout": 4.0},
        {"memory_size": 256},
        {"handler": "main.other"},
    ],  # fmt: skip
)
def test_configuration_change_starts_a_new_worker(
    warm: FunctionRunner, change: dict[str, Any]
) -> None:
    code = _counter()
    before = _value(warm, code)
    after = _value(warm, FunctionCode(**{**code.__dict__, **change}))
    assert after["pid"] != before["pid"] and after["calls"] == 1
    if "environment" in change:
        assert (before["color"], after["color"]) == ("blue", "red")


def test_crash_or_timeout_recycles_the_worker(warm: FunctionRunner) -> None:
    code = _code(
        "import os, time\n"
        "def handler(e, c):\n"
        "    if e.get('crash'): os._exit(3)\n"
        "    time.sleep(e.get('sleep', 0))\n"
        "    return os.getpid()\n",
        timeout=1.0,
    )
    pid = _value(warm, code)
    crashed = warm.invoke(code, {"crash": True})
    assert crashed.failure is FailureKind.ERROR and "3" in crashed.message
    again = _value(warm, code)
    assert again != pid and not _running(pid)
    timed_out = warm.invoke(code, {"sleep": 10})
    assert timed_out.failure is FailureKind.TIMEOUT
    assert not _running(again)
    assert _value(warm, code) not in (pid, again)


def test_overlapping_calls_get_their_own_workers(warm: FunctionRunner) -> None:
    code = _counter()
    _value(warm, code)  # one warm worker
    with ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        values = list(pool.map(lambda _: _value(warm, code, {"sleep": 0.5}), range(4)))
        elapsed = time.monotonic() - started
    assert len({v["pid"] for v in values}) == 4
    assert elapsed < 1.5  # in parallel, not one after the other (4 x 0.5 s)
    assert len(warm.pool(code).pids()) == 4


def test_calls_beyond_the_pool_size_wait_for_a_worker(tmp_path: Path) -> None:
    runner = FunctionRunner(cache_dir=tmp_path, workers_per_function=2)
    try:
        code = _counter()
        with ThreadPoolExecutor(3) as pool:
            values = list(pool.map(lambda _: _value(runner, code, {"sleep": 0.3}), range(3)))
        assert len({v["pid"] for v in values}) == 2
        assert sorted(v["calls"] for v in values) == [1, 1, 2]
    finally:
        runner.close()


def test_close_kills_every_worker(tmp_path: Path) -> None:
    runner = FunctionRunner(cache_dir=tmp_path)
    pid = _value(runner, _counter())["pid"]
    runner.close()
    assert not _running(pid)


def test_a_worker_killed_while_idle_is_replaced(warm: FunctionRunner) -> None:
    code = _counter()
    pid = _value(warm, code)["pid"]
    os.kill(pid, signal.SIGKILL)
    while _running(pid):
        time.sleep(0.01)
    again = _value(warm, code)
    assert again["pid"] != pid and again["calls"] == 1
