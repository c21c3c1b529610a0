"""Flags of `cogapi token`, `call`, `verify` and `user`; the bodies are in `cogapi.auth`.

Each command imports its body when it runs, so `--help` stays free of boto3, pydantic and rich.
"""

from __future__ import annotations

from typing import Any

import click

from cogapi.cli.common import common_options

FLOWS = ("code", "implicit", "password", "client_credentials")


def _a_number(value: float) -> float:
    """FloatRange lets nan through (every comparison with nan is false)."""
    if value != value:
        raise click.BadParameter(f"{value!r} is not a number of seconds")
    return value


@click.command(short_help="Sign in through the hosted UI; print a verified token.")
@click.option(
    "--flow",
    type=click.Choice(FLOWS),
    default=None,
    help="code: hosted UI + PKCE (default); implicit: the tutorial's legacy flow; "
    "password: InitiateAuth for scripts (no OAuth scopes); client_credentials: a machine "
    "client's token (with --client).",
)
@click.option(
    "--client",
    metavar="NAME",
    help="A machine client (machine_clients[].name): get its token with client_credentials; "
    "the secret is read from AWS, or from $COGAPI_CLIENT_SECRET.",
)
@click.option(
    "--open-browser/--no-browser",
    "open_browser",
    default=None,
    help="Open the hosted UI in a browser and catch the callback on localhost "
    "(default on a desktop), or print the URL and read the redirected URL back "
    "(SSH, containers, WSL).",
)
@click.option("--username", metavar="U", help="User for --flow password.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (--flow password)."
)
@click.option(
    "--print",
    "which",
    type=click.Choice(["access", "id", "refresh"]),
    default="access",
    show_default=True,
    help="Which token to print.",
)
@click.option("--force", is_flag=True, help="Sign in again even if a cached token is valid.")
@click.option(
    "--logout", is_flag=True, help="Forget the cached tokens (and sign out of the hosted UI)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    callback=lambda ctx, param, value: _a_number(value),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on a browser sign-in that does not come back.",
)
@common_options
def token(opts: Any, ui: Any, **kwargs: Any) -> int:
    """Print a verified access token for the stack (sign in, or reuse and refresh the cache).

    \b
    curl -H "Authorization: $(cogapi token --print id)" ...
    cogapi token --flow password --username me@example.com --password-stdin < pw.txt
    cogapi token --client reporting
    cogapi token --logout
    """
    from cogapi.auth.commands import run_token

    return run_token(opts, ui, **kwargs)


@click.command(short_help="Call the API with the cached token.")
@click.argument("path", required=False)
@click.option(
    "-X",
    "--request",
    "method",
    metavar="METHOD",
    help="HTTP method (default: the route's, or POST with -d).",
)
@click.option(
    "-d", "--data", metavar="DATA", help="Request body; @FILE reads a file, - reads stdin."
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'K: V'",
    help="Extra header (repeatable).",
)
@click.option("--no-token", is_flag=True, help="Send no token (to see the authorizer refuse).")
@click.option(
    "--token-type",
    type=click.Choice(["access", "id"]),
    default=None,
    help="Token to send (default: access on routes with scopes, id otherwise).",
)
@click.option("-i", "--include", is_flag=True, help="Print the status line and headers too.")
@click.option(
    "--client",
    metavar="NAME",
    help="Call as a machine client (its client_credentials access token).",
)
@common_options
def call(opts: Any, ui: Any, **kwargs: Any) -> int:
    """Call the deployed API (PATH defaults to the first route) with the cached token.

    Exits 0 on a 2xx answer, 1 otherwise; a 401 comes with a hint naming the likely cause.
    """
    from cogapi.auth.call import call_stack

    return call_stack(opts, ui, **kwargs)


@click.command(short_help="The tutorial's checks: 401 without a valid token, 200 with.")
@common_options
def verify(opts: Any, ui: Any) -> int:
    """Run the tutorial's tests against the stack: no, malformed, forged, expired and ID
    tokens are refused, the cached token is let in, the hosted UI and JWKS answer.

    Exit 0 only when every check holds (run `cogapi token` first).
    """
    from cogapi.auth.commands import run_verify

    return run_verify(opts, ui)


@click.group(short_help="Add, remove and list test users.")
def user() -> None:
    """Test users of the stack's pool (admin calls; refuses a pool the stack does not own)."""


@user.command("add")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin instead of a prompt."
)
@common_options
def user_add(opts: Any, ui: Any, email: str, password_stdin: bool) -> int:
    """Create a confirmed user with a permanent password (no email is sent)."""
    from cogapi.auth.commands import run_user_add

    return run_user_add(opts, ui, email, password_stdin)


@user.command("rm")
@click.argument("email")
@common_options
def user_rm(opts: Any, ui: Any, email: str) -> int:
    """Delete a user."""
    from cogapi.auth.commands import run_user_rm

    return run_user_rm(opts, ui, email)


@user.command("ls")
@common_options
def user_ls(opts: Any, ui: Any) -> int:
    """List users with their status."""
    from cogapi.auth.commands import run_user_ls

    return run_user_ls(opts, ui)
