"""Everything cogapi prints goes through one `UI` object.

Results go to stdout, progress and errors to stderr (httpie's habit). With `-o json` stdout gets
exactly one JSON document and nothing else. On a terminal plans and status are rich tables; off a
terminal they are plain lines that scripts and CI logs can grep. Error text is printed without
markup so a message holding `[brackets]` prints as written.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

from cogapi.errors import CogapiError

if TYPE_CHECKING:  # types only: the UI sits below the engine and imports none of it
    from cogapi.stack.planner import Change, Plan

VERBS = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting"}
ACTION_STYLE = {
    "create": "green", "update": "yellow", "replace": "magenta", "delete": "red",
    "ok": "dim", "skip": "dim", "blocked": "bold red",
}  # fmt: skip
STATE_STYLE = {
    "ok": "green", "drifted": "yellow", "missing": "red", "foreign": "bold red", "skip": "dim",
}  # fmt: skip


def _short(v: Any, limit: int = 60) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


# ---- plan details in the config's words ------------------------------------------------------
# The planner compares normalised settings, some in AWS's terms (minutes, ALLOW_*_AUTH, ACTIVE);
# a person reads them as the config spells them: `token_validity.access: 1h -> 2h`. Keys are
# relative to the resource's section of the config (the row names the resource).

_AUTH_FLOWS = {
    "ALLOW_REFRESH_TOKEN_AUTH": "refresh_token", "ALLOW_USER_SRP_AUTH": "user_srp",
    "ALLOW_USER_PASSWORD_AUTH": "user_password", "ALLOW_CUSTOM_AUTH": "custom",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH": "admin_user_password",
}  # fmt: skip
_PASSWORD = {
    "MinimumLength": "min_length", "RequireUppercase": "require_uppercase",
    "RequireLowercase": "require_lowercase", "RequireNumbers": "require_numbers",
    "RequireSymbols": "require_symbols",
    "TemporaryPasswordValidityDays": "temporary_password_validity_days",
}  # fmt: skip


def _duration(minutes: Any) -> Any:
    if not isinstance(minutes, int) or minutes <= 0:
        return minutes
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _email(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if v.get("EmailSendingAccount") != "DEVELOPER":
        return {"sender": "cognito"}
    out = {"sender": "ses", "source_arn": v.get("SourceArn")}
    if v.get("From"):
        out["from_address"] = v["From"]
    if v.get("ReplyToEmailAddress"):
        out["reply_to"] = v["ReplyToEmailAddress"]
    return out


_TERMS: dict[tuple[str, str], tuple[str, Any]] = {
    ("app_client", "access_token_minutes"): ("token_validity.access", _duration),
    ("app_client", "id_token_minutes"): ("token_validity.id", _duration),
    ("app_client", "refresh_token_minutes"): ("token_validity.refresh", _duration),
    ("app_client", "auth_flows"): (
        "auth_flows",
        lambda v: [_AUTH_FLOWS.get(x, x) for x in v] if isinstance(v, list) else v,
    ),
    ("user_pool", "password_policy"): (
        "password_policy",
        lambda v: {_PASSWORD.get(k, k): x for k, x in v.items()} if isinstance(v, dict) else v,
    ),
    ("user_pool", "deletion_protection"): (
        "deletion_protection",
        lambda v: v == "ACTIVE" if v in ("ACTIVE", "INACTIVE") else v,
    ),
    ("user_pool", "mfa"): (
        "mfa",
        lambda v: {"OFF": "off", "OPTIONAL": "optional", "ON": "required"}.get(v, v),
    ),
    ("user_pool", "email"): ("email", _email),
    ("lambda_function", "role_arn"): (
        "role_name",
        lambda v: v.rsplit("/", 1)[-1] if isinstance(v, str) else v,
    ),
}


def _config_value(v: Any) -> str:
    """A value as YAML's flow style writes it: [a, b], {k: v}, true, null."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_config_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_config_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def describe_field(kind: str, f: Any) -> str:
    """One changed field in the config's words: `token_validity.access: 1h -> 2h`."""
    if kind == "lambda_function" and f.field == "code_sha256":
        return "source: the code changed"
    if kind == "user_pool" and f.field.startswith("custom_attributes."):
        return f"custom_attributes: {f.field.split('.', 1)[1]} added"
    label, convert = _TERMS.get((kind, f.field), (f.field, None))
    old, new = (f.old, f.new) if convert is None else (convert(f.old), convert(f.new))
    if (kind, f.field) not in _TERMS and kind not in (
        "user_pool",
        "app_client",
        "lambda_function",
        "iam_role",
    ):
        return f"{f.field}: {_short(f.old)} -> {_short(f.new)}"  # API fields: as the planner says
    return f"{label}: {_short(_config_value(old))} -> {_short(_config_value(new))}"


def _name_and_id(name: str, resource_id: str | None) -> str:
    """A table cell: the name, and under it the id, whole (an ARN as its resource part,
    `function:fn`: the outputs list ARNs in full). One token per line, so none is cut."""
    if not resource_id:
        return name
    if resource_id.startswith("arn:"):
        parts = resource_id.split(":", 5)
        resource_id = parts[5] if len(parts) == 6 else resource_id
    return name if resource_id == name else f"{name}\n{resource_id}"


def describe_fields(c: Change) -> str:
    return "; ".join(describe_field(c.kind, f) for f in c.fields)


class _ClosedPipeSafe:
    """stdout that a closed pipe (`cogapi status | head -1`) silences instead of crashing.

    A reader that stops early is normal for a CLI (`git log | head`): the first write that meets
    a closed pipe points the stream at /dev/null, and the command goes on to its own exit code.
    Any other failed write (`cogapi schema > /dev/full`: no space left) loses the result, so it
    is an error naming stdout; the stream is silenced first, so the exit flush cannot fail again.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.closed_pipe = False

    def _silence(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError):
            # The interpreter flushes the stream again at exit: point its descriptor at
            # /dev/null so that flush has somewhere to go.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if self.closed_pipe:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)
        except OSError as exc:
            self._failed(exc)

    def flush(self) -> None:
        if self.closed_pipe:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> NoReturn:
        self._silence()
        raise CogapiError(
            f"cannot write the result: {exc.strerror or exc} (stdout)",
            hint="write it where there is room, or to a file that can be written",
        ) from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


class UI:
    """`interactive`: whether to ask before changing anything, which depends on stdin being a
    terminal (as Terraform), whatever stdout is: `cogapi up -o json | jq` still asks, on stderr.
    `tables`: whether plans and status are rich tables, which depends on stdout."""

    def __init__(
        self,
        output: str = "text",
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        interactive: bool | None = None,
        stdin: IO[str] | None = None,
    ) -> None:
        self.output = output
        self._out = _ClosedPipeSafe(stdout or sys.stdout)
        self.stdout: IO[str] = self._out  # type: ignore[assignment]
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self.interactive = _isatty(self.stdin) if interactive is None else interactive
        self.tables = _isatty(self.stdout) if interactive is None else interactive
        self._lock = threading.Lock()

    def _table(
        self,
        title: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[str, ...]],
        styled: int,
        styles: Sequence[str],
    ) -> None:
        """A rich table; cells are plain text (a `[name]` in AWS data is not markup), and column
        `styled` is coloured with `styles[row]`. rich is imported only here, for a terminal.

        Sized for an 80-column terminal: a column empty in every row is left out, ARNs show
        their resource part (the outputs below list them whole), and names and ids stay on one
        line when they can, so only the free-text last column wraps."""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        keep = [i for i in range(len(columns)) if i == styled or any(r[i] for r in rows)]
        console = Console(file=self.stdout, highlight=False, soft_wrap=True)
        cells = [[r[i] for i in keep] for r in rows]
        names = [columns[i] for i in keep]
        widths = [
            max([len(n), *(len(line) for c in cells for line in c[j].split("\n"))])
            for j, n in enumerate(names)
        ]
        free = names[-1] in ("details", "drift")
        fixed = widths[:-1] if free else widths
        one_line = sum(fixed) + 3 * len(names) + 1 + (12 if free else 0) <= console.width
        table = Table(title=title, title_justify="left")
        for j, col in enumerate(names):
            last = free and j == len(names) - 1
            table.add_column(col, overflow="fold", no_wrap=one_line and not last)
        for row, style in zip(cells, styles, strict=True):
            table.add_row(
                *(
                    Text(cell, style=style if keep[j] == styled else "")
                    for j, cell in enumerate(row)
                )
            )
        console.print(table)

    def silence_stdout(self) -> None:
        """The reader of stdout has gone: write nothing more there."""
        self._out._silence()

    @property
    def json(self) -> bool:
        return self.output == "json"

    # ---- plain messages -----------------------------------------------------------------------

    def info(self, message: str) -> None:
        """Progress and notes: stderr, never part of the result."""
        with self._lock:
            print(message, file=self.stderr, flush=True)

    def result(self, message: str) -> None:
        if not self.json:
            print(message, file=self.stdout, flush=True)

    def error(self, message: str, hint: str | None = None) -> None:
        for line in message.split("\n"):
            print(f"error: {line}", file=self.stderr, flush=True)
        if hint:
            print(f"hint: {hint}", file=self.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stderr, flush=True)

    def emit_json(self, doc: Any) -> None:
        print(json.dumps(doc, indent=2, sort_keys=False, default=str), file=self.stdout, flush=True)

    def confirm(self, question: str) -> bool:
        """Ask on stderr, read the answer from stdin; stdout stays the result's alone (`input()`
        would write its prompt there). End of input is a no."""
        with self._lock:
            print(f"{question} [y/N]: ", end="", file=self.stderr, flush=True)
        answer = self.stdin.readline()
        if not answer.endswith("\n"):
            print("", file=self.stderr, flush=True)
        return answer.strip().lower() in ("y", "yes")

    # ---- plans, status, outputs ---------------------------------------------------------------

    def plan(self, plan: Plan, title: str) -> None:
        if self.json:
            return
        if self.tables:
            rows = [
                (
                    c.action,
                    c.kind,
                    _name_and_id(c.name, c.id),
                    "\n".join(describe_field(c.kind, f) for f in c.fields) or c.reason,
                )
                for c in plan.changes
            ]
            styles = [ACTION_STYLE.get(c.action, "") for c in plan.changes]
            name = "name / id" if any(c.id for c in plan.changes) else "name"
            self._table(title, ("action", "kind", name, "details"), rows, 0, styles)
        else:
            print(title, file=self.stdout)
            for c in plan.changes:
                details = describe_fields(c) or c.reason
                line = f"  {c.action:8} {c.kind:18} {c.name}"
                if c.id:
                    line += f" ({c.id})"
                if details:
                    line += f"  {details}"
                print(line, file=self.stdout)
        counts = {
            a: sum(1 for c in plan.changes if c.action == a)
            for a in ("create", "update", "replace", "delete")
        }
        parts = [f"{n} to {a}" for a, n in counts.items() if n]
        if plan.blocked:  # the command then stops with an error naming the first (`blocked_error`)
            parts.append(f"{len(plan.blocked)} blocked")
        summary = ", ".join(parts) or "no changes"
        print(f"Plan: {summary}.", file=self.stdout, flush=True)

    def status(self, rows: list[dict[str, Any]]) -> None:
        if self.tables:
            cells = [
                (r["kind"], _name_and_id(r["name"], r["id"]), r["state"], "\n".join(r["drift"]))
                for r in rows
            ]
            styles = [STATE_STYLE.get(r["state"], "") for r in rows]
            name = "name / id" if any(r["id"] for r in rows) else "name"
            self._table("Stack status", ("kind", name, "state", "drift"), cells, 2, styles)
            return
        for r in rows:
            line = f"{r['state']:8} {r['kind']:18} {r['name']}"
            if r["id"]:
                line += f" ({r['id']})"
            if r["drift"]:
                line += "  " + "; ".join(r["drift"])
            print(line, file=self.stdout)

    def outputs(self, outputs: dict[str, Any]) -> None:
        print("", file=self.stdout)
        width = max(len(k) for k in outputs)
        for k, v in outputs.items():
            if isinstance(v, dict):  # e.g. machine_clients: name -> client id
                v = ", ".join(f"{name}={value}" for name, value in v.items()) or None
            print(f"{k:{width}}  {v if v is not None else '-'}", file=self.stdout)
        self.stdout.flush()

    def progress(self, change: Change, state: str, detail: str) -> None:
        verb = VERBS.get(change.action, change.action)
        if state == "start":
            self.info(f"  {verb} {change.kind} {change.name} ...")
        elif state == "done":
            self.info(f"  {verb} {change.kind} {change.name}: done")
        elif state == "failed":
            self.info(f"  {verb} {change.kind} {change.name}: FAILED")
