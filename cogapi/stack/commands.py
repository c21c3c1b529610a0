"""What each command does, as plain functions of (options, UI) returning an exit status.

`cogapi.cli.stack` only parses flags and calls these; `cogapi.cli.common.run_command` turns
`CogapiError`s into messages.
`up --dry-run`, `status` and `up` share one discovery and one plan (`plan_stack`).
"""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path
from typing import Any

from cogapi.errors import ExitStatus, PlanBlocked, UsageError
from cogapi.stack.context import Options, open_stack, plan_stack, stack_ids
from cogapi.ui import UI


def run_up(opts: Options, ui: UI, dry_run: bool, yes: bool) -> ExitStatus:
    from cogapi.stack.executor import Executor, check_environment
    from cogapi.stack.outputs import stack_outputs

    ctx = open_stack(opts, ui)
    desired, observed, plan = plan_stack(ctx)
    check_environment(desired, os.environ)
    ui.plan(plan, f"Plan for stack {ctx.cfg.name!r} in {ctx.cfg.region}:")
    if plan.blocked:
        if ui.json:
            ui.emit_json(
                {
                    "plan": plan.to_json(),
                    "outputs": None,
                    "blocked": [c.reason for c in plan.blocked],
                }
            )
        first = plan.blocked[0]
        raise PlanBlocked(
            f"{first.kind} {first.name}: {first.reason}; nothing was changed", first.hint or None
        )
    ids = stack_ids(observed, ctx.cfg)
    if plan.mutating and not dry_run:
        if ui.interactive and not yes and not ui.confirm("Apply these changes?"):
            ui.info("Nothing changed.")
            return ExitStatus.USAGE
        ui.info(f"Applying {len(plan.mutating)} change(s)...")
        ids = Executor(ctx.aws, desired, observed, on_event=ui.progress).apply(plan)
        ui.info("Done.")
    outputs = stack_outputs(ctx.cfg, ids, ctx.local_endpoint)
    if ui.json:
        ui.emit_json({"plan": plan.to_json(), "outputs": outputs, "dry_run": dry_run})
    else:
        if dry_run and plan.mutating:
            ui.result("Dry run: nothing was changed.")
        ui.outputs(outputs)
    return ExitStatus.OK


STATES = {
    "ok": "ok",
    "create": "missing",
    "update": "drifted",
    "replace": "drifted",
    "delete": "drifted",
}


def status_rows(plan: Any) -> list[dict[str, Any]]:
    rows = []
    for c in plan.changes:
        if c.action == "blocked":
            state = "foreign" if c.foreign else "drifted"
        else:
            state = STATES.get(c.action, c.action)
        drift = [f"{f.field}: {f.old!r} -> {f.new!r}" for f in c.fields]
        if c.action in ("delete", "blocked", "skip") and c.reason:
            drift.append(c.reason)
        rows.append({"kind": c.kind, "name": c.name, "id": c.id, "state": state, "drift": drift})
    return rows


def run_status(opts: Options, ui: UI) -> ExitStatus:
    from cogapi.stack.outputs import stack_outputs

    ctx = open_stack(opts, ui)
    _, observed, plan = plan_stack(ctx)
    rows = status_rows(plan)
    outputs = stack_outputs(ctx.cfg, stack_ids(observed, ctx.cfg), ctx.local_endpoint)
    # A skipped row is something cogapi leaves alone (a client it did not make): not drift.
    in_sync = all(r["state"] in ("ok", "skip") for r in rows)
    if ui.json:
        ui.emit_json({"resources": rows, "outputs": outputs, "in_sync": in_sync})
    else:
        ui.status(rows)
        ui.outputs(outputs)
        bad = sum(1 for r in rows if r["state"] not in ("ok", "skip"))
        ui.info(
            "Stack is in sync."
            if in_sync
            else f"{bad} resource(s) out of sync; `cogapi up` converges them."
        )
    return ExitStatus.OK if in_sync else ExitStatus.OUT_OF_SYNC


def run_down(opts: Options, ui: UI, yes: bool, keep_user_pool: bool) -> ExitStatus:
    from cogapi.stack.discover import discover_stack
    from cogapi.stack.executor import apply_down
    from cogapi.stack.planner import plan_down

    ctx = open_stack(opts, ui)
    observed = discover_stack(ctx.aws, ctx.cfg)
    plan = plan_down(ctx.cfg, observed, keep_user_pool)
    if not ui.json:
        if plan.changes:
            ui.plan(plan, f"Teardown of stack {ctx.cfg.name!r} in {ctx.cfg.region}:")
        else:
            ui.result(
                f"Nothing to delete: stack {ctx.cfg.name!r} has no resources in {ctx.cfg.region}."
            )
    if plan.blocked:
        if ui.json:
            ui.emit_json({"plan": plan.to_json(), "deleted": []})
        first = plan.blocked[0]
        raise PlanBlocked(
            f"{first.kind} {first.name}: {first.reason}; nothing was deleted", first.hint or None
        )
    if plan.mutating and not yes:
        if not ui.interactive:
            raise UsageError(
                "refusing to delete without confirmation; nothing was deleted",
                hint="pass --yes to confirm off a terminal",
            )
        question = f"Delete {len(plan.mutating)} resource(s) of stack {ctx.cfg.name!r}"
        if any(c.kind == "user_pool" and c.action == "delete" for c in plan.changes):
            users = (observed.pool or {}).get("EstimatedNumberOfUsers", 0)
            question += f", including the user pool and its {users} user(s)"
        if not ui.confirm(question + "?"):
            ui.info("Nothing deleted.")
            return ExitStatus.USAGE
    if plan.mutating:
        apply_down(ctx.aws, plan, observed, on_event=ui.progress)
        ui.info("Teardown complete.")
    if ui.json:
        ui.emit_json({"plan": plan.to_json(), "deleted": [c.to_json() for c in plan.mutating]})
    return ExitStatus.OK


def example_config_text() -> str:
    return (Path(__file__).parents[1] / "config" / "example.yaml").read_text(encoding="utf-8")


def random_prefix(name: str) -> str:
    alphabet = string.ascii_lowercase + string.digits
    base = (
        "".join(ch for ch in name.lower() if ch in alphabet or ch == "-").strip("-")[:40]
        or "cogapi"
    )
    for word in ("aws", "amazon", "cognito"):
        base = base.replace(word, "x")
    return f"{base}-{''.join(secrets.choice(alphabet) for _ in range(6))}"


def run_init(path: str, ui: UI, name: str = "test") -> ExitStatus:
    from cogapi.config import parse_config

    target = Path(path)
    if target.exists():
        raise UsageError(
            f"{path} already exists; not overwriting it",
            hint="remove it first, or pass -c OTHER_PATH",
        )
    text = example_config_text()
    prefix = random_prefix(name)
    text = text.replace("prefix: test-api-7f3k", f"prefix: {prefix}", 1)
    parse_config(text, path, target.resolve().parent)  # never write a file we would reject
    target.write_text(text, encoding="utf-8")
    ui.info(f"Wrote {path} (domain prefix {prefix}). Next: cogapi up --dry-run")
    if ui.json:
        ui.emit_json({"path": str(target), "domain_prefix": prefix})
    return ExitStatus.OK


def run_schema(ui: UI) -> ExitStatus:
    from cogapi.config import json_schema

    ui.emit_json(json_schema())
    return ExitStatus.OK
