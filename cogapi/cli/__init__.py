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
import sys

import click

from cogapi import __version__
from cogapi.cli import auth, local, stack
from cogapi.cli.common import CONTEXT, CogapiContext


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


def _use_our_context(command: click.Command) -> None:
    command.context_class = CogapiContext
    for sub in getattr(command, "commands", {}).values():
        _use_our_context(sub)


_use_our_context(cli)


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
    _fill_closed_std_streams()
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
        # reader gone, stream closed, or a device that refuses the rest (a full disk: said already)
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)


def _fill_closed_std_streams() -> None:
    """Point a standard stream the caller closed (`cogapi status >&-`, `0<&-`) at /dev/null.

    Python leaves `sys.stdin`/`sys.stdout`/`sys.stderr` as None when its descriptor was closed,
    and every read or write would fail on None; worse, the next file or socket opened would get
    that descriptor and take the output meant for the stream. A closed stdin then reads as
    empty, and results written to a closed stdout go nowhere, as to a reader that left early.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
            stream = open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            setattr(sys, name, stream)


if __name__ == "__main__":
    run()
