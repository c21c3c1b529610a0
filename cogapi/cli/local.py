"""Flags of `cogapi local` and `cogapi demo`; the bodies are in `cogapi.local.foreground` and
`cogapi.demo`."""

from __future__ import annotations

import click

from cogapi.cli.common import run_command


@click.command(short_help="Run the stack's AWS services on this machine (no account).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4566,
    show_default=True,
    help="Loopback port (0 picks a free one).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option(
    "-v", "--verbose", is_flag=True, help="One line per request: method, path, status, ms."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def local(port: int, host: str, verbose: bool, debug: bool) -> None:
    """Run AWS's control plane, the Cognito hosted UI and API Gateway on this machine.

    Quiet by default: only the functions' own output is shown, each line prefixed by the
    function's name. Needs the local extra: pip install -e '.[local]'. Runs until Ctrl-C.
    """
    from cogapi.local.foreground import run_local
    from cogapi.stack.context import Options

    run_command(Options(debug=debug), lambda ui: run_local(ui, host, port, verbose=verbose))


@click.command(short_help="The whole tutorial locally: up, sign in, call, down.")
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the stack up and the server running until Ctrl-C; prints the URLs and the login.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def demo(output: str, keep: bool, debug: bool) -> None:
    """The whole tutorial on this machine: up, sign in, call with and without a token, down."""
    from cogapi.demo import run_demo
    from cogapi.stack.context import Options

    run_command(Options(output=output, debug=debug), lambda ui: run_demo(ui, keep=keep))
