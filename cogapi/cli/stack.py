"""Flags of `cogapi up`, `status`, `down`, `init`, `schema`, `export` and `iam-policy`; the bodies are in
`cogapi.stack.commands`."""

from __future__ import annotations

from typing import Any

import click

from cogapi.cli.common import common_options


@click.command(short_help="Plan, then create or converge the whole stack.")
@click.option("--dry-run", is_flag=True, help="Print the plan; make no changes.")
@click.option(
    "-y", "--yes", is_flag=True, help="Apply without asking (never asked off a terminal)."
)
@common_options
def up(opts: Any, ui: Any, dry_run: bool, yes: bool) -> int:
    """Create or converge the stack, then print the hosted-UI and invoke URLs."""
    from cogapi.stack.commands import run_up

    return run_up(opts, ui, dry_run=dry_run, yes=yes)


@click.command(short_help="What exists, what drifted, what is missing.")
@common_options
def status(opts: Any, ui: Any) -> int:
    """Show each resource as ok, drifted, missing, foreign or skip (exit 3 when out of sync)."""
    from cogapi.stack.commands import run_status

    return run_status(opts, ui)


@click.command(short_help="Delete everything the stack owns (asks first).")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (required off a terminal).")
@click.option(
    "--keep-user-pool",
    is_flag=True,
    help="Keep the user pool, its domain and client (and the users).",
)
@common_options
def down(opts: Any, ui: Any, yes: bool, keep_user_pool: bool) -> int:
    """Delete every resource of the stack; never touches what cogapi did not create."""
    from cogapi.stack.commands import run_down

    return run_down(opts, ui, yes=yes, keep_user_pool=keep_user_pool)


@click.command(short_help="Write a commented cogapi.yaml.")
@click.option(
    "--name",
    default="test",
    show_default=True,
    help="Stack name: the ownership tag, the start of every resource name and of the random "
    "domain prefix.",
)
@common_options
def init(opts: Any, ui: Any, name: str) -> int:
    """Write a commented config (refuses to overwrite an existing file)."""
    from cogapi.config import resolve_path
    from cogapi.stack.commands import run_init

    return run_init(resolve_path(opts.config_path), ui, name=name)


@click.command(short_help="Print the config's JSON Schema.")
@common_options
def schema(opts: Any, ui: Any) -> int:
    """Print the config's JSON Schema (for editor validation of cogapi.yaml)."""
    from cogapi.stack.commands import run_schema

    return run_schema(ui)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cloudformation"]),
    default="cloudformation",
    show_default=True,
    help="Template format.",
)
@click.option("--output-file", metavar="FILE", help="Write the template here (default: stdout).")
@click.option(
    "--import-file",
    metavar="FILE",
    help="Also write, from discovery, the resources an IMPORT change set adopts (and its template).",
)
@common_options
def export(opts: Any, ui: Any, fmt: str, output_file: str | None, import_file: str | None) -> int:
    """Write the stack as a CloudFormation template.

    With --import-file, also the resources-to-import list that adopts the live stack.
    """
    from cogapi.stack.commands import run_export

    return run_export(opts, ui, output_file=output_file, import_file=import_file)


@click.command("iam-policy")
@click.option(
    "--command",
    type=click.Choice(["up", "status", "down", "token", "call", "verify", "user", "all"]),
    default="all",
    show_default=True,
    help="The command to allow (call and verify need what token needs).",
)
@click.option("--account-id", metavar="ID", help="Pin the account in every ARN (default '*').")
@common_options
def iam_policy(opts: Any, ui: Any, command: str, account_id: str | None) -> int:
    """Print the least IAM policy that runs cogapi with this config."""
    from cogapi.stack.commands import run_iam_policy

    return run_iam_policy(opts, ui, command=command, account_id=account_id)
