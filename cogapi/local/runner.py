"""Runs a Lambda handler from its deployment zip in a separate Python process.

moto stores function code but runs it only through Docker; this runs it with the current
interpreter (`sys.executable`) instead, one process per invocation so that a crash, a hang or a
`sys.exit` in user code never touches the server. The zip is extracted once per code hash into a
cache directory. The child gets a Lambda-like environment (the function's variables, `AWS_REGION`,
`LAMBDA_TASK_ROOT`, `_HANDLER`, ...) and not the server's, plus whatever `extra_env` the caller
adds (the local server points boto3 at itself). Protocol: JSON on stdin and stdout (`_bootstrap.py`).

Failures are values, not exceptions: `Invocation.failure` says which kind (the handler raised, it
ran out of time, or its answer could not be read), because the caller maps each to a different
HTTP answer.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import os
import shutil
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
    def __init__(self, cache_dir: Path | None = None,
                 extra_env: Mapping[str, str] | None = None) -> None:
        self._own_cache = cache_dir is None
        self.cache_dir = Path(tempfile.mkdtemp(prefix="cogapi-local-")) if cache_dir is None \
            else cache_dir
        self.extra_env = dict(extra_env or {})
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
        env.update({
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
        })
        env.update(self.extra_env)
        env.update({k: str(v) for k, v in code.environment.items()})
        return env

    def invoke(self, code: FunctionCode, event: Any, timeout: float | None = None) -> Invocation:
        """Run `code.handler(event, context)`; `timeout` defaults to the function's own."""
        limit = code.timeout if timeout is None else timeout
        code_dir = self.code_dir(code)
        request_id = str(uuid.uuid4())
        request = json.dumps({
            "code_dir": str(code_dir),
            "handler": code.handler,
            "event": event,
            "timeout": limit,
            "context": {"function_name": code.name, "function_arn": code.arn,
                        "memory_size": code.memory_size, "request_id": request_id},
        })
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-X", "utf8", str(_BOOTSTRAP)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.environment(code, code_dir), cwd=code_dir,
        )
        try:
            out, err = proc.communicate(request.encode(), timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            return Invocation(
                failure=FailureKind.TIMEOUT, error_type="Sandbox.Timedout",
                message=f"Task timed out after {limit:.2f} seconds",
                logs=err.decode(errors="replace"), duration_ms=_ms_since(started))
        logs = err.decode(errors="replace")
        duration = _ms_since(started)
        try:
            answer = json.loads(out)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "ok" not in answer:
            if proc.returncode != 0 or not out:
                return Invocation(failure=FailureKind.ERROR, error_type="Runtime.ExitError",
                                  message=f"process exited with status {proc.returncode}",
                                  logs=logs, duration_ms=duration)
            return Invocation(failure=FailureKind.BAD_OUTPUT, message="unreadable answer",
                              logs=logs, duration_ms=duration)
        if not answer["ok"]:
            kind = FailureKind.BAD_OUTPUT if answer.get("errorType") == "Runtime.MarshalError" \
                else FailureKind.ERROR
            return Invocation(failure=kind, error_type=str(answer.get("errorType", "")),
                              message=str(answer.get("errorMessage", "")), logs=logs,
                              duration_ms=duration)
        return Invocation(value=answer.get("result"), logs=logs, duration_ms=duration)

    def close(self) -> None:
        if self._own_cache:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000

