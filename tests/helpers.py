"""Test helpers: config files, an in-process CLI runner that records every AWS call, a Python
function for `cogapi local`'s runner."""

from __future__ import annotations

import copy
import io
import json
import shutil
import socket
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.client
import yaml
from click.testing import CliRunner

from cogapi.cli import cli

if TYPE_CHECKING:
    from cogapi.local.runner import FunctionCode

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = yaml.safe_load((ROOT / "cogapi" / "config" / "example.yaml").read_text())
READ_PREFIXES = ("Get", "List", "Describe")


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def write_config(path: Path, **overrides: Any) -> Path:
    doc = merge(EXAMPLE, overrides)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    calls: list[str] = field(default_factory=list)

    @property
    def mutating(self) -> list[str]:
        return [c for c in self.calls if not c.startswith(READ_PREFIXES)]

    def json(self) -> Any:
        return json.loads(self.stdout)


@contextmanager
def record_calls() -> Iterator[list[str]]:
    """Spy on every botocore API call made in this process (names only; behaviour unchanged)."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.append(operation_name)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = spy  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def run_cli(*args: str, input: str | None = None) -> Run:
    runner = CliRunner()
    with record_calls() as calls:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, calls)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cogapi_command() -> list[str]:
    """The installed console script, next to the running interpreter (the venv's)."""
    exe = Path(sys.executable).parent / "cogapi"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("cogapi")
    assert found, "the cogapi command is not installed: pip install -e '.[test]'"
    return [found]


@dataclass
class Result:
    """What a `cogapi` subprocess did."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


# Which policy (`cogapi iam-policy --command ...`) covers a command's AWS calls.
POLICY_OF = {
    "up": "up", "status": "status", "down": "down", "token": "token", "call": "token",
    "verify": "token", "user": "user", "export": "status", "demo": "all",
}  # fmt: skip


def command_of(args: tuple[str, ...] | list[str]) -> str | None:
    return next((a for a in args if not a.startswith("-") and a in POLICY_OF), None)


def calls_outside_policy(args: tuple[str, ...] | list[str], log: Path) -> list[str]:
    """The IAM actions the logged calls of `cogapi <args>` needed that its policy lacks."""
    from cogapi.stack.iam_policy import command_actions, iam_action, needs_no_permission

    command = command_of(args)
    if command is None or not log.exists():
        return []
    allowed = command_actions(POLICY_OF[command])
    missing = set()
    for line in log.read_text().splitlines():
        service, operation, verb, signed = line.split("\t")
        if needs_no_permission(service, operation, signed == "signed"):
            continue
        action = iam_action(service, operation, verb)
        if action not in allowed:
            missing.add(f"{action} ({operation})")
    return sorted(missing)


def check_calls_against_policy(args: tuple[str, ...] | list[str], log: Path) -> None:
    """Fail when `cogapi <args>` made an AWS call its `cogapi iam-policy` would not allow."""
    missing = calls_outside_policy(args, log)
    command = command_of(args)
    assert not missing, (
        f"`cogapi {' '.join(args)}` called {', '.join(missing)}, which `cogapi iam-policy "
        f"--command {POLICY_OF.get(command or '', '?')}` does not allow: add them to "
        "cogapi/stack/iam_policy.py COMMAND_ACTIONS"
    )
    log.unlink(missing_ok=True)


@contextmanager
def answering_server(
    answer: Callable[[str], tuple[int, str, bytes]],
) -> Iterator[str]:
    """A loopback HTTP server answering every POST with `answer(path)`: (status, content type,
    body); yields its base URL. For endpoints that answer as AWS would not, or not at once."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, content_type, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def python_function(
    source: str,
    *,
    timeout: float = 3.0,
    handler: str = "main.handler",
    environment: dict[str, str] | None = None,
) -> FunctionCode:
    """A function whose zip holds `source` as main.py, for `FunctionRunner.invoke`."""
    from cogapi.local.runner import FunctionCode

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("main.py", source)
    return FunctionCode(
        name="fn",
        handler=handler,
        zip_bytes=buf.getvalue(),
        timeout=timeout,
        environment=environment or {},
        arn="arn:fn",
    )
