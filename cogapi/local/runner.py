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

Containment (see `workers`): each worker is its own session; its answer is read with a
deadline, never to end of file; whatever a handler starts is killed before its call is answered,
and a worker that times out is killed with everything under it.

Failures are values, not exceptions: `Invocation.failure` says which kind (the handler raised, it
ran out of time, or its answer could not be read), because the caller maps each to a different
HTTP answer.
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogapi.local.workers import MAX_ANSWER_BYTES, Reply, Worker, WorkerPool, request_line

_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "HOME")
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
            code.handler,
            code_dir,
            self.environment(code, code_dir),
            self.cache_dir,
            self.max_answer_bytes,
        )

    def invoke(self, code: FunctionCode, event: Any, timeout: float | None = None) -> Invocation:
        """Run `code.handler(event, context)`; `timeout` defaults to the function's own."""
        limit = code.timeout if timeout is None else timeout
        started = time.monotonic()
        deadline = started + limit
        request_id = str(uuid.uuid4())
        request = request_line(
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
