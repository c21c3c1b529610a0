"""The `cogapi` command line: flag parsing only.

Kept light on purpose: `cogapi --help` and shell completion import click and nothing else of
weight (no boto3, pydantic or rich); each command imports what it needs when it runs.
`main()` turns `CogapiError`s into `error:` / `hint:` lines and exit codes, with a traceback only
under `--debug`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from cogapi import __version__
from cogapi.errors import CogapiError, ExitStatus

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """-c/--profile/--region/--endpoint-url/-o/--debug on every command."""

    @click.option(
        "-c",
        "--config",
        "config_path",
        metavar="PATH",
        help="Config file (default ./cogapi.yaml, or $COGAPI_CONFIG).",
    )
    @click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default $AWS_PROFILE).")
    @click.option("--region", help="Override the config's region.")
    @click.option(
        "--endpoint-url",
        metavar="URL",
        help="AWS endpoint, e.g. http://127.0.0.1:4566 for `cogapi local` (default $AWS_ENDPOINT_URL).",
    )
    @click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: one JSON document on stdout.",
    )
    @click.option("--debug", is_flag=True, help="Show tracebacks.")
    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        from cogapi.commands import Options

        opts = Options(
            **{
                k: kwargs.pop(k)
                for k in ("config_path", "profile", "region", "endpoint_url", "output", "debug")
            }
        )
        return _run(opts, lambda ui: fn(opts, ui, **kwargs))

    return wrapper


def _run(opts: Any, body: Callable[[Any], Any]) -> None:
    from cogapi.ui import UI

    ui = UI(output=opts.output)
    try:
        status = body(ui)
    except CogapiError as exc:
        if opts.debug:
            import traceback

            traceback.print_exc()
        ui.error(exc.message, exc.hint)
        sys.exit(int(exc.exit_status))
    except KeyboardInterrupt:
        ui.error("interrupted")
        sys.exit(int(ExitStatus.INTERRUPTED))
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if opts.debug:
            raise
        ui.error(
            f"unexpected {type(exc).__name__}: {exc}",
            "re-run with --debug for a traceback, and please report it",
        )
        sys.exit(int(ExitStatus.ERROR))
    sys.exit(int(status or 0))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="cogapi")
def cli() -> None:
    """Put an API behind Cognito sign-in from one YAML file.

    \b
    cogapi init        write a commented cogapi.yaml
    cogapi up          plan, then create or converge the whole stack
    cogapi status      what exists, what drifted, what is missing
    cogapi down        delete everything the stack owns (asks first)
    cogapi token       sign in through the hosted UI; print a verified token
    cogapi call        call the API with the cached token
    cogapi verify      the tutorial's checks: 401 without a valid token, 200 with
    cogapi user        add, remove and list test users
    cogapi local       run the stack's AWS services on this machine (no account)
    cogapi demo        the whole tutorial locally: up, sign in, call, down

    Exit codes: 0 ok, 1 runtime or AWS error, 2 usage or config error,
    3 status found the stack out of sync, 130 interrupted.
    """


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the plan; make no changes.")
@click.option(
    "-y", "--yes", is_flag=True, help="Apply without asking (never asked off a terminal)."
)
@common_options
def up(opts: Any, ui: Any, dry_run: bool, yes: bool) -> int:
    """Create or converge the stack, then print the hosted-UI and invoke URLs."""
    from cogapi.commands import run_up

    return run_up(opts, ui, dry_run=dry_run, yes=yes)


@cli.command()
@common_options
def status(opts: Any, ui: Any) -> int:
    """Show each resource as ok, drifted, missing or foreign (exit 3 when not all ok)."""
    from cogapi.commands import run_status

    return run_status(opts, ui)


@cli.command()
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (required off a terminal).")
@click.option(
    "--keep-user-pool",
    is_flag=True,
    help="Keep the user pool, its domain and client (and the users).",
)
@common_options
def down(opts: Any, ui: Any, yes: bool, keep_user_pool: bool) -> int:
    """Delete every resource of the stack; never touches what cogapi did not create."""
    from cogapi.commands import run_down

    return run_down(opts, ui, yes=yes, keep_user_pool=keep_user_pool)


@cli.command()
@click.option(
    "--name", default="test", show_default=True, help="Word the random domain prefix starts with."
)
@common_options
def init(opts: Any, ui: Any, name: str) -> int:
    """Write a commented config (refuses to overwrite an existing file)."""
    from cogapi.commands import run_init
    from cogapi.config import resolve_path

    return run_init(resolve_path(opts.config_path), ui, name=name)


@cli.command()
@common_options
def schema(opts: Any, ui: Any) -> int:
    """Print the config's JSON Schema (for editor validation of cogapi.yaml)."""
    from cogapi.commands import run_schema

    return run_schema(ui)


@cli.command()
@click.option("--port", default=4566, show_default=True, help="Loopback port (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option(
    "-v", "--verbose", is_flag=True, help="One line per request: method, path, status, ms."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def local(port: int, host: str, verbose: bool, debug: bool) -> None:
    """Run AWS's control plane, the Cognito hosted UI and API Gateway on this machine.

    Quiet by default: only the functions' own output is shown, each line prefixed by the
    function's name. Needs the optional extra: pip install 'cogapi[local]'. Runs until Ctrl-C.
    """
    from cogapi.commands import Options, run_local

    _run(Options(debug=debug), lambda ui: run_local(ui, host, port, verbose=verbose))


@cli.command()
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--keep", is_flag=True, help="Leave the stack up at the end (the server stops anyway)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def demo(output: str, keep: bool, debug: bool) -> None:
    """The whole tutorial on this machine: up, sign in, call with and without a token, down."""
    from cogapi.commands import Options
    from cogapi.demo import run_demo

    _run(Options(output=output, debug=debug), lambda ui: run_demo(ui, keep=keep))


from cogapi.cli_auth import register  # noqa: E402  (needs `cli` and `common_options` above)

register(cli)


def main() -> None:
    # Click handles its own usage errors with exit 2, matching ExitStatus.USAGE.
    cli(prog_name="cogapi")


if __name__ == "__main__":
    main()
