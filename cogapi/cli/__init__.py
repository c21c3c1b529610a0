"""The `cogapi` command line: flag parsing only.

`common` holds the options every AWS command shares and `run_command`, which turns `CogapiError`s
into `error:` / `hint:` lines and exit codes (a traceback only under `--debug`); `stack` (up,
status, down, init, schema), `auth` (token, call, verify, user) and `local` (local, demo) declare
the commands, and this module puts them in one group.

Kept light on purpose: `cogapi --help` and shell completion import click and nothing else of
weight (no boto3, pydantic or rich); each command imports its body, from the package below, when
it runs. Imports: every package (it is the top layer).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys

import click

from cogapi import __version__
from cogapi.cli import auth, local, stack
from cogapi.cli.common import CONTEXT


class _InOrder(click.Group):
    """Lists its commands in the order they were added (a workflow), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_InOrder, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="cogapi")
def cli() -> None:
    """Put an API behind Cognito sign-in from one YAML file.

    Exit codes: 0 ok, 1 runtime or AWS error, 2 usage or config error,
    3 status found the stack out of sync, 130 interrupted.
    """


for command in (  # the order `cogapi --help` lists them in
    stack.init, stack.up, stack.status, stack.down, stack.export, stack.iam_policy, stack.schema,
    auth.token, auth.call, auth.verify, auth.user,
    local.local, local.demo,
):  # fmt: skip
    cli.add_command(command)


def main() -> None:
    # Click handles its own usage errors with exit 2, matching ExitStatus.USAGE.
    cli(prog_name="cogapi")


def run() -> None:
    """The installed `cogapi` command: `main`, then a prompt exit.

    Once a command has finished, the interpreter's own teardown (freeing botocore's service
    models, pydantic's schemas and the rest, object by object, and collecting their cycles) took
    about 0.15 s on a 2-core machine: a tenth of a no-op `up`, spent after the last word was
    printed. So the command flushes its output, runs the exit handlers (`atexit`: logging,
    temporary files, anything a library registered) and leaves with `os._exit`. Only the
    console script does this: `main` itself ends as any function does, for callers and tests
    that run it in-process.
    """
    # SIGTERM (a CI job cancelled, `kill`, a supervisor stopping `cogapi local`) ends a command
    # as Ctrl-C does: `up` stops starting changes, `local` and `demo` stop their workers and
    # remove their temporary files, and the exit status is 130. By default it killed the
    # process at once, leaving those files behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"), as the interpreter does it: the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # reader gone, or stream closed
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)


if __name__ == "__main__":
    run()
