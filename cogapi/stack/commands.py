"""What each command does, as plain functions of (options, UI) returning an exit status.

`cogapi.cli.stack` only parses flags and calls these; `cogapi.cli.common.run_command` turns
`CogapiError`s into messages.
`up --dry-run`, `status` and `up` share one discovery and one plan (`plan_stack`).
"""

from __future__ import annotations

import os
import re
import secrets
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogapi.errors import ExitStatus, PlanBlocked, UsageError
from cogapi.stack.context import Options, open_stack, plan_stack, stack_ids
from cogapi.ui import UI, describe_field

if TYPE_CHECKING:
    from cogapi.stack.planner import Plan


def blocked_error(plan: Plan, outcome: str) -> PlanBlocked:
    """The one error a blocked plan stops with: its first blocked row (each is in the plan
    printed above, with its reason), how many more there are, and that nothing changed."""
    first, more = plan.blocked[0], len(plan.blocked) - 1
    also = f" (and {more} more blocked change(s), listed in the plan)" if more else ""
    return PlanBlocked(
        f"{first.kind} {first.name}: {first.reason}{also}; {outcome}", first.hint or None
    )


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
        raise blocked_error(plan, "nothing was changed")
    ids = stack_ids(observed, ctx.cfg)
    if plan.mutating and not dry_run:
        if ui.interactive and not yes and not ui.confirm("Apply these changes?"):
            ui.info("Nothing changed.")
            return ExitStatus.USAGE
        ui.info(f"Applying {len(plan.mutating)} change(s)...")
        ids = Executor(ctx.aws, desired, observed, on_event=ui.progress, notify=ui.info).apply(plan)
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
        drift = [describe_field(c.kind, f) for f in c.fields]
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
    from cogapi.stack.adoption import refuse_adopted
    from cogapi.stack.discover import discover_stack
    from cogapi.stack.executor import apply_down
    from cogapi.stack.planner import plan_down

    ctx = open_stack(opts, ui)
    observed = discover_stack(ctx.aws, ctx.cfg)
    plan = refuse_adopted(plan_down(ctx.cfg, observed, keep_user_pool), observed)
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
        raise blocked_error(plan, "nothing was deleted")
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
        apply_down(ctx.aws, plan, observed, on_event=ui.progress, notify=ui.info)
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


STACK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# The example's resource names are the AWS tutorial's (test-userPool, test-API, ...). `init`
# comments them out, so every name derives from the stack name: two projects initialised with
# different names never manage the same resources.
_NAMED_KEY = re.compile(
    r"^(?P<indent>  )(?P<key>name|role_name): (?P<value>\S+)(?P<pad> *)(?P<rest>#.*)?$"
)


def _set_value(line: str, key: str, value: str) -> str:
    """`key: old    # comment` -> `key: value  # comment`, the comment kept in its column."""
    head, sep, comment = line.partition("#")
    indent = head[: len(head) - len(head.lstrip())]
    field = f"{indent}{key}: {value}"
    if not sep:
        return field
    return f"{field.ljust(len(head) - 1)} #{comment}"


def init_config_text(name: str, prefix: str) -> str:
    """The example config for stack `name`: its name, a fresh domain prefix, derived resource
    names (the tutorial's kept as comments), every comment still aligned."""
    lines = example_config_text().split("\n")
    out = []
    for line in lines:
        if line.startswith("name: "):
            line = _set_value(line, "name", name)
        elif line.lstrip().startswith("prefix: test-api-7f3k"):
            line = _set_value(line, "prefix", prefix)
        elif m := _NAMED_KEY.match(line):
            column = len(line) - len(m["rest"] or "")
            field = f"{m['indent']}# {m['key']}: {m['value']}"
            comment = (m["rest"] or "").removeprefix("#").strip()
            line = f"{field.ljust(column - 1)} # the AWS tutorial's name; {comment}".rstrip("; ")
        elif line.lstrip().startswith("authorizer: {name: "):
            tutorial = line.split("{name: ", 1)[1].split(",", 1)[0]
            indent = line[: len(line) - len(line.lstrip())]
            out.append(
                f'{indent}# authorizer name: default "<name>-authorizer"; '
                f"the AWS tutorial's: {tutorial}"
            )
            line = line.replace(f"{{name: {tutorial}, ", "{", 1)
        out.append(line)
    return "\n".join(out)


def run_init(path: str, ui: UI, name: str = "test") -> ExitStatus:
    from cogapi.config import parse_config

    target = Path(path)
    if not STACK_NAME_RE.match(name):
        raise UsageError(
            f"--name: {name!r} is not a valid stack name",
            hint="letters, digits, - and _, starting with a letter or digit; at most 40 characters",
        )
    if target.exists():
        raise UsageError(
            f"{path} already exists; not overwriting it",
            hint="remove it first, or pass -c OTHER_PATH",
        )
    prefix = random_prefix(name)
    text = init_config_text(name, prefix)
    parse_config(text, path, target.resolve().parent)  # never write a file we would reject
    try:  # "x": made here or not at all, never through a link or over a file made meanwhile
        with target.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(
            f"{path} already exists; not overwriting it",
            hint="remove it first, or pass -c OTHER_PATH",
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    ui.info(f"Wrote {path} (domain prefix {prefix}). Next: cogapi up --dry-run")
    if ui.json:
        ui.emit_json({"path": str(target), "domain_prefix": prefix})
    return ExitStatus.OK


def run_schema(ui: UI) -> ExitStatus:
    from cogapi.config import json_schema

    ui.emit_json(json_schema())
    return ExitStatus.OK


def _yaml(doc: Any) -> str:
    """A template as YAML, multi-line strings (the inline handler) as literal blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return str(yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=100, allow_unicode=True))


def _write(path: Path, text: str | bytes) -> None:
    try:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def import_template_path(import_file: Path) -> Path:
    """Where the IMPORT change set's template goes: beside the import file."""
    return import_file.with_name(import_file.stem + ".template.yaml")


def run_export(
    opts: Options, ui: UI, output_file: str | None, import_file: str | None
) -> ExitStatus:
    import json

    from cogapi.stack.code import package
    from cogapi.stack.export import (
        cloudformation_template,
        code_file_name,
        desired_for_export,
        import_resources,
        import_template,
        is_builtin,
        not_imported,
    )

    # What each file is for is checked before anything is written or read from AWS.
    for flag, value in (("--output-file", output_file), ("--import-file", import_file)):
        if value == "":
            raise UsageError(f"{flag}: the path is empty", hint=f"name a file, or drop {flag}")
    if output_file and import_file:
        for path in (Path(import_file), import_template_path(Path(import_file))):
            if path.resolve() == Path(output_file).resolve():
                raise UsageError(
                    f"--output-file {output_file} and --import-file {import_file} would both "
                    f"write {path}",
                    hint="give them different names",
                )
    ctx = open_stack(opts, ui)
    cfg = ctx.cfg
    code = package(Path(cfg.function.source) if cfg.function.source else None, cfg.function.handler)
    desired = desired_for_export(cfg, code)
    template = cloudformation_template(desired)
    files: dict[str, str] = {}
    out_dir = Path(output_file).parent if output_file else Path.cwd()
    if not is_builtin(desired):
        zip_path = out_dir / code_file_name(desired)
        _write(zip_path, code.zip_bytes)
        files["code"] = str(zip_path)
        ui.info(f"Wrote the function's code to {zip_path}: upload it to S3 (see README).")
    to_import: list[dict[str, Any]] = []
    if import_file:
        from cogapi.stack.discover import discover_stack

        observed = discover_stack(ctx.aws, cfg)  # read-only
        to_import = import_resources(template, observed)
        target = Path(import_file)
        _write(target, json.dumps(to_import, indent=2) + "\n")
        tpl_path = import_template_path(target)
        _write(tpl_path, _yaml(import_template(template, to_import)))
        files["import_file"], files["import_template"] = str(target), str(tpl_path)
        ui.info(f"Wrote {len(to_import)} resource(s) to import to {target}, "
                f"and the IMPORT change set's template to {tpl_path}.")  # fmt: skip
        found = {r["LogicalResourceId"] for r in to_import}
        missing = [lid for lid in template["Resources"] if lid not in found]
        for lid, why in not_imported(template).items():
            ui.warn(f"{lid} is not imported: {why}")
        for lid in missing:
            if lid not in not_imported(template):
                ui.warn(f"{lid} was not found in AWS: the first stack update creates it")
    text = _yaml(template)
    if output_file:
        _write(Path(output_file), text)
        files["template"] = output_file
        ui.info(f"Wrote the CloudFormation template to {output_file}.")
    if ui.json:
        doc: dict[str, Any] = {"files": files, "resources_to_import": to_import}
        if not output_file:
            doc["template"] = template
        ui.emit_json(doc)
    elif not output_file:
        ui.result(text.rstrip("\n"))
    return ExitStatus.OK


def run_iam_policy(opts: Options, ui: UI, command: str, account_id: str | None) -> ExitStatus:
    import json

    from cogapi.config import load_config, region_problem, resolve_path
    from cogapi.stack.iam_policy import iam_policy

    cfg = load_config(resolve_path(opts.config_path))
    if opts.region is not None:
        problem = region_problem(opts.region)
        if problem:
            raise UsageError(f"--region: {problem}")
        cfg = cfg.model_copy(update={"region": opts.region})
    if account_id is not None and not (len(account_id) == 12 and account_id.isdigit()):
        raise UsageError(f"--account-id: {account_id!r} is not a 12-digit AWS account id")
    if account_id is None:
        ui.info("The account is '*' in every ARN: pass --account-id to pin it.")
    policy = iam_policy(cfg, command, account_id or "*")
    if ui.json:
        ui.emit_json(policy)
    else:
        ui.result(json.dumps(policy, indent=2))
    return ExitStatus.OK
