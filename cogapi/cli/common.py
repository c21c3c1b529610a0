"""What every command shares: the common AWS options, and `run_command`, which turns errors into
`error:` / `hint:` lines and exit codes (a traceback only under `--debug`).

Imports click and `cogapi.errors` only: `cogapi --help` and shell completion stay free of boto3,
pydantic and rich. Each command imports its body when it runs.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from click import formatting

from cogapi.errors import CogapiError, ExitStatus

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_EXTRA_ARGUMENTS = re.compile(r"^Got unexpected extra arguments? \((.*)\)$", re.DOTALL)


class CogapiContext(click.Context):
    """click's context, with its one usage error that breaks the product's wording: its extra
    argument error reads "Got unexpected extra argument (x)"; ours names the command instead."""

    def fail(self, message: str) -> NoReturn:
        extra = _EXTRA_ARGUMENTS.match(message)
        if extra:
            message = f"{self.command_path} does not take the argument(s) {extra.group(1)}"
        raise click.UsageError(message, self)

    def make_formatter(self) -> click.HelpFormatter:
        """click's formatter at the width click would choose, found without `shutil`: click
        imports it for `get_terminal_size` alone, and shutil imports bz2 and lzma, about 3 ms
        of every `cogapi --help` here (a twentieth of it). A width set by the caller (click's
        test runner, `terminal_width`) is left to click."""
        if self.terminal_width is not None or formatting.FORCED_WIDTH is not None:
            return super().make_formatter()
        width = max(min(terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


def terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`, as shutil finds it: $COLUMNS when it is a positive
    number, else the width of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


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
        from cogapi.stack.context import Options

        opts = Options(
            **{
                k: kwargs.pop(k)
                for k in ("config_path", "profile", "region", "endpoint_url", "output", "debug")
            }
        )
        return run_command(opts, lambda ui: fn(opts, ui, **kwargs))

    return wrapper


def run_command(opts: Any, body: Callable[[Any], Any]) -> None:
    from cogapi.ui import UI

    # From here on Ctrl-C is a KeyboardInterrupt the body may handle (`up` lets the running
    # changes finish); before, the installed command's start-up handler exits 130 at once.
    if getattr(signal.getsignal(signal.SIGINT), "until_the_command_runs", False):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C (`__main__`)
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
    except BrokenPipeError:
        # Only stdout can raise this here (the UI silences it; this catches what bypasses it):
        # a reader that stopped early, as with `git log | head`. Quiet, not a bug.
        ui.silence_stdout()
        sys.exit(int(ExitStatus.ERROR))
    except Exception as exc:  # a bug: say so plainly, traceback only with --debug
        if opts.debug:
            raise
        ui.error(
            f"unexpected {type(exc).__name__}: {exc}",
            "re-run with --debug for a traceback, and please report it",
        )
        sys.exit(int(ExitStatus.ERROR))
    sys.exit(int(status or 0))
