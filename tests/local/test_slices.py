"""Short scheduler slices (`cogapi.local.slices`): asked for by the server's threads and by
every function worker, never imposed on a thread that did not ask."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from cogapi.local import slices, urls
from cogapi.local.runner import FunctionRunner
from cogapi.local.server import LocalServer
from tests.helpers import python_function

_SLICE = re.compile(r"^se\.slice\s*:\s*(\d+)", re.MULTILINE)


def _slice(task: str = "thread-self") -> int:
    """The scheduler slice (ns) of a task: 'thread-self', or 'PID' or 'PID/task/TID'."""
    match = _SLICE.search(Path(f"/proc/{task}/sched").read_text())
    assert match, f"/proc/{task}/sched has no se.slice"
    return int(match.group(1))


def _kernel() -> tuple[int, ...]:
    match = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return tuple(int(part) for part in match.groups()) if match else (0,)


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _kernel() < (6, 12),
    reason="needs Linux 6.12 or later (EEVDF's custom slices, shown in /proc/*/sched)",
)


def _in_a_new_thread(work: Callable[[], Any]) -> Any:
    """What `work` returns, run in a thread of its own (so the test's thread is left as it is)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(10)
    return result[0]


def test_a_thread_that_asks_gets_the_shortest_slice_and_keeps_its_niceness() -> None:
    default = _slice()

    def ask() -> tuple[bool, int, int, int]:
        os.setpriority(os.PRIO_PROCESS, 0, 5)  # this thread's niceness (Linux)
        asked = slices.ask_for_short_slices()
        return asked, _slice(), os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)

    asked, granted, nice, policy = _in_a_new_thread(ask)
    assert asked
    assert granted == slices.SLICE_NS == 100_000 < default
    assert nice == 5
    assert policy == os.SCHED_OTHER
    assert _slice() == default  # the asking thread's alone


def test_a_thread_under_another_policy_or_machine_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = _slice()

    def batch() -> tuple[bool, int, int]:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        return slices.ask_for_short_slices(), _slice(), os.sched_getscheduler(0)

    assert _in_a_new_thread(batch) == (False, default, os.SCHED_BATCH)

    monkeypatch.setattr(slices.os, "uname", lambda: os.uname_result(("", "", "", "", "riscv64")))
    assert _in_a_new_thread(lambda: (slices.ask_for_short_slices(), _slice())) == (False, default)


def test_the_servers_threads_ask_and_the_thread_that_started_it_does_not() -> None:
    default = _slice()
    server = LocalServer(port=0)
    endpoint = server.start()
    port = endpoint.rsplit(":", 1)[1]
    try:
        assert requests.get(urls.info_url(endpoint), timeout=5).status_code == 200
        served = [t for t in threading.enumerate() if t.name == f"cogapi-local:{port}"]
        assert served
        for thread in served:
            assert _slice(f"{os.getpid()}/task/{thread.native_id}") == slices.SLICE_NS
        assert _slice() == default
    finally:
        server.stop()


def test_every_worker_asks_even_when_started_from_a_thread_that_did_not(tmp_path: Path) -> None:
    code = python_function(
        "import re\n"
        "def handler(event, context):\n"
        "    text = open('/proc/self/sched').read()\n"
        "    return int(re.search(r'^se\\.slice\\s*:\\s*(\\d+)', text, re.M).group(1))\n",
        timeout=10.0,
    )
    runner = FunctionRunner(cache_dir=tmp_path)
    try:
        result = runner.invoke(code, {})
        assert result.ok, result
        assert result.value == slices.SLICE_NS != _slice()
    finally:
        runner.close()
