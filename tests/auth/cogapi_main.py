"""`python tests/auth/cogapi_main.py ...`: the installed `cogapi`, with issue 4's commands
registered even before `cli.py` calls `cli_auth.register` itself (a no-op once it does)."""

from __future__ import annotations

from cogapi.cli import cli, main
from cogapi.cli_auth import register

if "token" not in cli.commands:
    register(cli)

if __name__ == "__main__":
    main()
