"""Runs a Lambda handler from its deployment zip in a worker process of its own.

moto stores function code but runs it only through Docker; this runs it with the current
interpreter (`sys.executable`) instead, in a worker process (`_bootstrap.py`), so that a crash, a
hang or a `sys.exit` in user code never touches the server. The zip is extracted once per code
hash into a cache directory. The worker gets a Lambda-like environment (the function's variables,
`AWS_REGION`, `LAMBDA_TASK_ROOT`, `_HANDLER`, ...) and not the server's, plus whatever `extra_env`
the caller adds (the local server points boto3 at itself).

Containment, because a handler may start processes that outlive it:
- each worker runs in its own session and process group;
- its answer comes on a pipe of its own, one line per invocation, read with a deadline, never to
  end of file, so a grandchild that holds the worker's stdout or stderr cannot delay the answer;
  the handler's output goes to a log file, read after the answer;
- the function's timeout (and the gateway's, which the caller passes) is a deadline on that read:
  past it, the worker's whole process group and every descendant found under it are killed;
- before answering, the worker kills whatever the handler left running (see `_bootstrap.py`);
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "HOME")
MAX_ANSWER_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response payload limit
LOG_TAIL_BYTES = 256 * 1024  # of one invocation's output, the end is kept


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
        os.ftruncate(self._log, 0)
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
            size = os.fstat(self._log).st_size
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


class FunctionRunner:
    def __init__(
        self, cache_dir: Path | None = None, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self._own_cache = cache_dir is None
        self.cache_dir = (
            Path(tempfile.mkdtemp(prefix="cogapi-local-")) if cache_dir is None else cache_dir
        )
        self.extra_env = dict(extra_env or {})
        self.max_answer_bytes = MAX_ANSWER_BYTES
        self._lock = threading.Lock()

    def code_dir(self, code: FunctionCode) -> Path:
        """The extracted zip, extracted at most once per code hash."""
        target = self.cache_dir / code.code_key
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
        try:
            worker = self._spawn(code)
        except OSError as exc:
            return Invocation(
                failure=FailureKind.ERROR,
                error_type="Runtime.StartError",
                message=f"cannot start the function's process: {exc}",
            )
        try:
            reply = worker.call(request, deadline)
        finally:
            worker.kill()
        return _invocation(reply, limit, _ms_since(started))

    def close(self) -> None:
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
