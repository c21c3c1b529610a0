"""Worker processes for the runner, and the pool that keeps them warm.

Containment, because a handler may start processes that outlive it:
- each worker runs in its own session and process group;
- its answer comes on a pipe of its own, one line per invocation, read with a deadline, never to
  end of file, so a grandchild that holds the worker's stdout or stderr cannot delay the answer;
  the handler's output goes to a log file, read after the answer;
- the function's timeout (and the gateway's, which the caller passes) is a deadline on that read:
  past it, the worker's whole process group and every descendant found under it are killed;
- before answering, the worker kills whatever the handler left running (see `_bootstrap.py`), so
  nothing a call started runs on after its answer, while the warm worker itself stays;
- an answer above Lambda's 6 MB response limit is an error, never read into memory whole.
The subreaper and the walk of descendants use Linux's prctl and /proc; elsewhere only the
worker's process group is killed, so there a process that calls `setsid` can escape.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # a plain `pip install cogapi` without the `local` extra
    _orjson = None  # type: ignore[assignment]

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
MAX_ANSWER_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response payload limit
LOG_TAIL_BYTES = 256 * 1024  # of one invocation's output, the end is kept


def request_line(request: dict[str, Any]) -> bytes:
    """One request for a worker, as the line it reads. orjson, when it is installed (`cogapi
    local` has it), encodes an API Gateway event about 15 times faster than `json`, a good part
    of the gateway's own time per request; what orjson refuses (an integer beyond 64 bits, a
    lone surrogate, a key that is not a string) is left to `json`. The worker reads either."""
    if _orjson is not None:
        try:
            return _orjson.dumps(request) + b"\n"
        except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
            pass
    return json.dumps(request).encode() + b"\n"


def _answer_of(line: bytes) -> Any:
    """The worker's answer line, read by orjson when it can; `json` reads what orjson refuses
    (NaN and Infinity, which the worker's `json` writes for such floats; integers beyond 64
    bits). None when neither can: not the protocol's answer."""
    if _orjson is not None:
        try:
            return _orjson.loads(line)
        except ValueError:  # orjson.JSONDecodeError is a ValueError
            pass
    try:
        return json.loads(line)
    except ValueError:
        return None


class _TimedOut(Exception):
    pass


@dataclass(frozen=True)
class Reply:
    """What one call to a worker gave: its answer object (None when there is none), the
    handler's output, and how it failed when it did."""

    answer: dict[str, Any] | None
    logs: str
    timed_out: bool = False
    exit_status: int | None = None  # set when the worker died instead of answering


def _descendants(pid: int) -> list[int]:
    """Every process under `pid`, from Linux's /proc (empty elsewhere)."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10000:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    children = [int(p) for p in f.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            todo.extend(children)
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: list[int], seconds: float = 2.0) -> None:
    """SIGKILL is delivered asynchronously: wait until the killed processes have exited."""
    deadline = time.monotonic() + seconds
    for pid in pids:
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.005)


class Worker:
    """One worker process for one function configuration; serves one invocation at a time."""

    def __init__(
        self,
        handler: str,
        code_dir: Path,
        env: Mapping[str, str],
        log_dir: Path,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.max_answer_bytes = max_answer_bytes
        fd, log_path = tempfile.mkstemp(dir=log_dir, prefix=".log-")
        os.close(fd)
        self._log = os.open(log_path, os.O_RDWR | os.O_APPEND)
        self._log_size = 0
        os.unlink(log_path)
        request_r, self._requests = os.pipe()
        self._answers, answer_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-X",
                    "utf8",
                    str(_BOOTSTRAP),
                    str(code_dir),
                    handler,
                    str(request_r),
                    str(answer_w),
                    str(max_answer_bytes),
                ],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                pass_fds=(request_r, answer_w),
                env=dict(env),
                cwd=code_dir,
                start_new_session=True,
            )
        except BaseException:
            for own in (self._log, self._requests, self._answers):
                os.close(own)
            raise
        finally:
            os.close(request_r)
            os.close(answer_w)
        self.alive = True

    def call(self, request: bytes, deadline: float) -> Reply:
        """Send one request and wait for its answer until `deadline` (monotonic). A worker that
        timed out, died or answered garbage is killed; one that answered can be used again."""
        if self._log_size:  # the last call's output was read: start this one's afresh
            os.ftruncate(self._log, 0)
            self._log_size = 0
        try:
            self._write_all(request)
            line = self._read_line(deadline)
        except _TimedOut:
            reply = Reply(None, self._logs(), timed_out=True)
            self.kill()
            return reply
        except OSError:  # the worker is gone (EPIPE)
            line = None
        if line is None:
            try:
                status: int | None = self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                status = None
            reply = Reply(None, self._logs(), exit_status=status)
            self.kill()
            return reply
        answer = _answer_of(line)
        reply = Reply(answer if isinstance(answer, dict) and "ok" in answer else None, self._logs())
        if reply.answer is None:
            self.kill()
        return reply

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._requests, view) :]

    def _read_line(self, deadline: float) -> bytes | None:
        poller = select.poll()
        poller.register(self._answers, select.POLLIN)
        buf = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise _TimedOut
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                return None  # the worker died (or closed its answer pipe)
            buf += chunk
            if buf.endswith(b"\n"):
                return bytes(buf)
            if len(buf) > self.max_answer_bytes + 65536:
                return None  # not the protocol's answer: never read more than the limit

    def _logs(self) -> str:
        try:
            size = self._log_size = os.fstat(self._log).st_size
            if not size:
                return ""
            data = os.pread(self._log, min(size, LOG_TAIL_BYTES), max(0, size - LOG_TAIL_BYTES))
        except OSError:
            return ""
        return data.decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker's process group and every process found under it."""
        if not self.alive:
            return
        self.alive = False
        leftovers = _descendants(self.proc.pid)
        with contextlib.suppress(OSError):  # its session's group: pgid == its pid
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in leftovers:  # those that left the group (setsid) but not the tree
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        _wait_gone(leftovers)
        for own in (self._requests, self._answers, self._log):
            with contextlib.suppress(OSError):
                os.close(own)


class WorkerPool:
    """The warm workers of one function configuration: at most `size`, one call each at a time.

    `acquire` hands out an idle worker (the most recently used, the warmest) or starts one
    while fewer than `size` exist, else waits for one to come back. `release` keeps a worker
    that answered and kills one that did not (it timed out, crashed or answered garbage, and
    `Worker.call` killed it). A retired pool (the function's code or configuration changed)
    kills its idle workers at once and each busy one when it comes back.
    """

    def __init__(self, key: tuple[Any, ...], spawn: Callable[[], Worker], size: int) -> None:
        self.key = key
        self._spawn = spawn
        self.size = size
        self._ready = threading.Condition()
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()
        self._starting = 0
        self.retired = False

    def acquire(self, deadline: float) -> Worker | None:
        """A worker for one call, or None when none came free before `deadline`."""
        with self._ready:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.proc.poll() is None:
                        return worker
                    self._live.discard(worker)  # died while idle (killed from outside)
                    worker.kill()
                if len(self._live) + self._starting < self.size:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._ready.wait(remaining)
        try:
            worker = self._spawn()
        finally:
            with self._ready:
                self._starting -= 1
                self._ready.notify()
        with self._ready:
            self._live.add(worker)
        return worker

    def release(self, worker: Worker) -> None:
        with self._ready:
            if worker.alive and not self.retired:
                self._idle.append(worker)
                self._ready.notify()
                return
            self._live.discard(worker)
            self._ready.notify()
        worker.kill()

    def retire(self, *, busy_too: bool = False) -> None:
        with self._ready:
            self.retired = True
            doomed = list(self._live if busy_too else self._idle)
            self._idle.clear()
            self._live.difference_update(doomed)
            self._ready.notify_all()
        for worker in doomed:
            worker.kill()

    def pids(self) -> list[int]:
        """The live workers' process ids (for tests and diagnostics)."""
        with self._ready:
            return [w.proc.pid for w in self._live]
