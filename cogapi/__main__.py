"""The installed `cogapi` command and `python -m cogapi`: `cogapi.cli.run`, with Ctrl-C at
start-up ending it as Ctrl-C ends it later on.

Python turns SIGINT into KeyboardInterrupt from its first moment, but the commands catch it only
once their body runs (`cli.common.run_command`). Pressed while the command line is still
importing click and its commands (about 0.1 s), it was a KeyboardInterrupt traceback, or click's
`Aborted!` with exit 1. So until the body starts, SIGINT says `error: interrupted` and exits 130
at once: nothing has been done yet, so there is nothing to finish or undo. Imports nothing but
the standard library before the handler is in place.
"""

from __future__ import annotations

import os
import signal
from typing import Any


def interrupted_while_starting(signum: int, frame: Any) -> None:
    os.write(2, b"error: interrupted\n")
    os._exit(130)


interrupted_while_starting.until_the_command_runs = True  # type: ignore[attr-defined]


def run() -> None:
    # SIGTERM (a CI job cancelled, `kill`, a supervisor stopping `cogapi local`) is taken as
    # Ctrl-C, here and once the body runs (`run_command`): `up` stops starting changes, `local`
    # and `demo` stop their workers and remove their temporary files, and the exit status is
    # 130. By default it killed the process at once, leaving those files behind.
    signal.signal(signal.SIGINT, interrupted_while_starting)
    signal.signal(signal.SIGTERM, interrupted_while_starting)
    from cogapi.cli import run as run_cli

    run_cli()


if __name__ == "__main__":
    run()
