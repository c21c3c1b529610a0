"""Exit codes and the errors a person can act on.

Every failure that reaches the user is a `CogapiError`: a one-line message saying what failed and
where, an optional hint saying what to do, and the exit status the CLI returns. The CLI's `main()`
turns these into `error: ...` / `hint: ...` lines on stderr; anything else is a bug and is shown
with a traceback only under `--debug`.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1  # runtime or AWS error
    USAGE = 2  # bad flag, bad config, refused without confirmation
    OUT_OF_SYNC = 3  # `status` found missing, drifted or foreign resources
    INTERRUPTED = 130


class CogapiError(Exception):
    exit_status = ExitStatus.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CogapiError):
    exit_status = ExitStatus.USAGE


class ConfigError(UsageError):
    """One or more problems in the config file, each naming the file and the key path."""

    def __init__(self, path: str, problems: list[tuple[str, str]], hint: str | None = None) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {key}: {what}" if key else f"{path}: {what}" for key, what in problems]
        super().__init__("\n".join(lines), hint)

    @property
    def lines(self) -> list[str]:
        return self.message.split("\n")


class AwsError(CogapiError):
    """An AWS call failed in a way cogapi cannot repair; names the call and the resource."""


class NotFound(CogapiError):
    """The facade's single 'does not exist' answer, whatever the service called it."""


class PlanBlocked(CogapiError):
    """The plan holds a problem that must be fixed before anything may change."""


class Interrupted(CogapiError):
    """Ctrl-C stopped a run part-way; the message says what state it left."""

    exit_status = ExitStatus.INTERRUPTED
