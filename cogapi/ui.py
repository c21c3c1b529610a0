"""Everything cogapi prints goes through one `UI` object.

Results go to stdout, progress and errors to stderr (httpie's habit). With `-o json` stdout gets
exactly one JSON document and nothing else. On a terminal plans and status are rich tables; off a
terminal they are plain lines that scripts and CI logs can grep. Error text is printed without
markup so a message holding `[brackets]` prints as written.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

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


def describe_fields(c: Change) -> str:
    return "; ".join(f"{f.field}: {_short(f.old)} -> {_short(f.new)}" for f in c.fields)


class UI:
    def __init__(
        self,
        output: str = "text",
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.output = output
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.interactive = (
            self.stdout.isatty() and sys.stdin.isatty() if interactive is None else interactive
        )
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
        `styled` is coloured with `styles[row]`. rich is imported only here, for a terminal."""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col, overflow="fold")
        for row, style in zip(rows, styles, strict=True):
            table.add_row(
                *(Text(cell, style=style if i == styled else "") for i, cell in enumerate(row))
            )
        Console(file=self.stdout, highlight=False, soft_wrap=True).print(table)

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
        import click

        return click.confirm(question, default=False, err=True)

    # ---- plans, status, outputs ---------------------------------------------------------------

    def plan(self, plan: Plan, title: str) -> None:
        if self.json:
            return
        if self.interactive:
            rows = [
                (c.action, c.kind, c.name, c.id or "", describe_fields(c) or c.reason)
                for c in plan.changes
            ]
            styles = [ACTION_STYLE.get(c.action, "") for c in plan.changes]
            self._table(title, ("action", "kind", "name", "id", "details"), rows, 0, styles)
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
        summary = ", ".join(f"{n} to {a}" for a, n in counts.items() if n) or "no changes"
        print(f"Plan: {summary}.", file=self.stdout, flush=True)
        for c in plan.blocked:
            self.error(f"{c.kind} {c.name}: {c.reason}", c.hint or None)

    def status(self, rows: list[dict[str, Any]]) -> None:
        if self.interactive:
            cells = [
                (r["kind"], r["name"], r["id"] or "", r["state"], "; ".join(r["drift"]))
                for r in rows
            ]
            styles = [STATE_STYLE.get(r["state"], "") for r in rows]
            self._table("Stack status", ("kind", "name", "id", "state", "drift"), cells, 3, styles)
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
