"""Flags of `cogapi up`, `status`, `down`, `init` and `schema`; the bodies are in `cogapi.stack.commands`."""

from __future__ import annotations

from typing import Any

import click

from cogapi.cli.common import common_options


@click.command(short_help="Plan, then create or converge the stack.")
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
    """Show each resource as ok, drifted, missing or foreign (exit 3 when not all ok)."""
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
