"""Runs a Lambda handler from its deployment zip on warm worker processes.

moto stores function code but runs it only through Docker; this runs it with the current
interpreter (`sys.executable`) instead, in worker processes (`_bootstrap.py`), so that a crash, a
hang or a `sys.exit` in user code never touches the server. The zip is extracted once per code
hash into a cache directory. A worker gets a Lambda-like environment (the function's variables,
`AWS_REGION`, `LAMBDA_TASK_ROOT`, `_HANDLER`, ...) and not the server's, plus whatever `extra_env`
the caller adds (the local server points boto3 at itself).

Warm, like Lambda's execution environments: a worker imports the handler's module once and
serves call after call, so module-level state (clients, caches, counters) persists between calls.
Each function has a pool of at most `WORKERS_PER_FUNCTION` workers; overlapping calls start
another, calls beyond that wait for one. A change of the function's code, handler, environment,
timeout or memory retires the pool (its workers are killed, busy ones when they answer) and the
next call starts a new one. A worker that timed out, crashed or answered garbage is killed and
replaced on the next call. Each call keeps its own timeout and request id.

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

Failures are values, not exceptions: `Invocation.failure` says which kind (the handler raised, it
ran out of time, or its answer could not be read), because the caller maps each to a different
HTTP answer.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "HOME")
MAX_ANSWER_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response payload limit
LOG_TAIL_BYTES = 256 * 1024  # of one invocation's output, the end is kept
WORKERS_PER_FUNCTION = 4  # warm workers per function: calls beyond that many wait


@dataclass(frozen=True)
class FunctionCode:
    """What the runner needs to know about a function (read from moto by `moto_state`)."""

    name: str
    handler: str
    zip_bytes: bytes
    timeout: float = 3.0
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    arn: str = ""

    @property
    def code_key(self) -> str:
        return hashlib.sha256(self.zip_bytes).hexdigest()[:32]


class FailureKind(enum.Enum):
    ERROR = "error"  # the handler raised, could not be imported, or its process died
    TIMEOUT = "timeout"  # still running when the time limit passed; the process was killed
    BAD_OUTPUT = "bad_output"  # finished, but its answer is not JSON


@dataclass(frozen=True)
class Invocation:
    value: Any = None
    failure: FailureKind | None = None
    error_type: str = ""
    message: str = ""
    logs: str = ""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


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
        code: FunctionCode,
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
                    code.handler,
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
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
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


class FunctionRunner:
    """Runs functions on warm workers: one pool per function, replaced when its code or
    configuration changes (as Lambda starts new execution environments after an update)."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        workers_per_function: int = WORKERS_PER_FUNCTION,
    ) -> None:
        self._own_cache = cache_dir is None
        self.cache_dir = (
            Path(tempfile.mkdtemp(prefix="cogapi-local-")) if cache_dir is None else cache_dir
        )
        self.extra_env = dict(extra_env or {})
        self.max_answer_bytes = MAX_ANSWER_BYTES
        self.workers_per_function = workers_per_function
        self._lock = threading.Lock()
        self._pools: dict[str, WorkerPool] = {}
        self._code_keys: dict[int, tuple[bytes, str]] = {}

    def code_key(self, code: FunctionCode) -> str:
        """`code.code_key`, hashed once per zip object (moto hands out the same bytes object
        until the code changes), so a warm call does not hash the zip again."""
        with self._lock:
            known = self._code_keys.get(id(code.zip_bytes))
            if known is not None and known[0] is code.zip_bytes:
                return known[1]
        key = code.code_key
        with self._lock:
            if len(self._code_keys) > 256:
                self._code_keys.clear()
            self._code_keys[id(code.zip_bytes)] = (code.zip_bytes, key)
        return key

    def pool(self, code: FunctionCode) -> WorkerPool:
        """The function's pool; a new one (and the old one retired) when anything that shapes
        the execution environment changed: code, handler, environment, timeout, memory."""
        key = (
            self.code_key(code),
            code.handler,
            code.timeout,
            code.memory_size,
            code.region,
            code.name,
            tuple(sorted((k, str(v)) for k, v in code.environment.items())),
        )
        identity = code.arn or code.name
        with self._lock:
            old = self._pools.get(identity)
            if old is not None and old.key == key:
                return old
            pool = WorkerPool(key, lambda: self._spawn(code), self.workers_per_function)
            self._pools[identity] = pool
        if old is not None:
            old.retire()
        return pool

    def code_dir(self, code: FunctionCode) -> Path:
        """The extracted zip, extracted at most once per code hash."""
        target = self.cache_dir / self.code_key(code)
        with self._lock:
            if not target.is_dir():
                staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix=".extract-"))
                with zipfile.ZipFile(io.BytesIO(code.zip_bytes)) as zf:
                    zf.extractall(staging)  # extractall drops ".." and absolute parts
                staging.rename(target)
        return target

    def environment(self, code: FunctionCode, code_dir: Path) -> dict[str, str]:
        env = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
        env.update(
            {
                "AWS_REGION": code.region,
                "AWS_DEFAULT_REGION": code.region,
                "AWS_LAMBDA_FUNCTION_NAME": code.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(code.memory_size),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "_HANDLER": code.handler,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        env.update({k: str(v) for k, v in code.environment.items()})
        return env

    def _spawn(self, code: FunctionCode) -> Worker:
        code_dir = self.code_dir(code)
        return Worker(
            code, code_dir, self.environment(code, code_dir), self.cache_dir, self.max_answer_bytes
        )

    def invoke(self, code: FunctionCode, event: Any, timeout: float | None = None) -> Invocation:
        """Run `code.handler(event, context)`; `timeout` defaults to the function's own."""
        limit = code.timeout if timeout is None else timeout
        started = time.monotonic()
        deadline = started + limit
        request_id = str(uuid.uuid4())
        request = (
            json.dumps(
                {
                    "event": event,
                    "timeout": limit,
                    "context": {
                        "function_name": code.name,
                        "function_arn": code.arn,
                        "memory_size": code.memory_size,
                        "request_id": request_id,
                    },
                }
            ).encode()
            + b"\n"
        )
        pool = self.pool(code)
        try:
            worker = pool.acquire(deadline)
        except OSError as exc:
            return Invocation(
                failure=FailureKind.ERROR,
                error_type="Runtime.StartError",
                message=f"cannot start the function's process: {exc}",
            )
        if worker is None:  # every worker stayed busy until the deadline
            return _invocation(Reply(None, "", timed_out=True), limit, _ms_since(started))
        try:
            reply = worker.call(request, deadline)
        finally:
            pool.release(worker)
        return _invocation(reply, limit, _ms_since(started))

    def close(self) -> None:
        """Kill every worker (busy ones too) and drop the extracted code."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire(busy_too=True)
        if self._own_cache:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def _invocation(reply: Reply, limit: float, duration: float) -> Invocation:
    logs, answer = reply.logs, reply.answer
    if reply.timed_out:
        return Invocation(
            failure=FailureKind.TIMEOUT,
            error_type="Sandbox.Timedout",
            message=f"Task timed out after {limit:.2f} seconds",
            logs=logs,
            duration_ms=duration,
        )
    if answer is None:
        if reply.exit_status is not None:
            return Invocation(
                failure=FailureKind.ERROR,
                error_type="Runtime.ExitError",
                message=f"process exited with status {reply.exit_status}",
                logs=logs,
                duration_ms=duration,
            )
        return Invocation(
            failure=FailureKind.BAD_OUTPUT,
            message="unreadable answer",
            logs=logs,
            duration_ms=duration,
        )
    if not answer["ok"]:
        kind = (
            FailureKind.BAD_OUTPUT
            if answer.get("errorType") == "Runtime.MarshalError"
            else FailureKind.ERROR
        )
        return Invocation(
            failure=kind,
            error_type=str(answer.get("errorType", "")),
            message=str(answer.get("errorMessage", "")),
            logs=logs,
            duration_ms=duration,
        )
    return Invocation(value=answer.get("result"), logs=logs, duration_ms=duration)


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
