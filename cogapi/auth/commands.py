"""What `token`, `call`, `verify` and `user` do, as functions of (options, UI, flags) -> exit status.

`cogapi.cli.auth` parses flags and calls these; the work lives in `sign_in`, `call`, `verify` and
`users`. Results go to stdout (`$(cogapi token)` must get the token and nothing else), notes and
warnings to stderr, `-o json` prints one document.
"""

from __future__ import annotations

import sys
from typing import Any

from cogapi.errors import CogapiError, ExitStatus, UsageError


def read_password(from_stdin: bool, ui: Any, confirm: bool = False) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise UsageError("--password-stdin read an empty password")
        return password
    if not sys.stdin.isatty():
        raise UsageError(
            "no password given and stdin is not a terminal to prompt on",
            hint="pass --password-stdin and pipe the password in",
        )
    import click

    try:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True))
    except click.exceptions.Abort as exc:  # click's answer to Ctrl-C and to Ctrl-D at a prompt
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # "interrupted", exit 130, as anywhere else
        raise UsageError(
            "no password given: the input ended at the prompt (Ctrl-D)",
            hint="type the password and press Enter, or pass --password-stdin",
        ) from None


def run_token(
    opts: Any,
    ui: Any,
    flow: str | None,
    open_browser: bool | None,
    username: str | None,
    password_stdin: bool,
    which: str,
    force: bool,
    logout: bool,
    timeout: float,
    client: str | None = None,
) -> ExitStatus:
    if client is not None or flow == "client_credentials":
        if username or password_stdin or (flow not in (None, "client_credentials")):
            raise UsageError(
                "--client gets a machine client's token (client_credentials); "
                "--flow code/implicit/password and --username are for people"
            )
        if client is None:
            raise UsageError(
                "--flow client_credentials needs --client NAME (one of machine_clients)"
            )
        return run_machine_token(opts, ui, client, which, force, logout)
    from cogapi.auth import hosted_ui
    from cogapi.auth.sign_in import TokenService, check_flow
    from cogapi.stack.context import open_stack

    if username and flow is None:
        flow = "password"
    if flow == "password" and not username and not logout:
        raise UsageError(
            "--flow password needs --username", hint="or use the code flow (the default)"
        )
    if (password_stdin or username) and flow != "password":
        raise UsageError("--username and --password-stdin belong to --flow password")
    ctx = open_stack(opts, ui)
    if flow and not logout:
        check_flow(ctx.cfg, flow)  # before any call, or any prompt
    service = TokenService(ctx, ui, opener=hosted_ui.default_opener)
    browser = hosted_ui.has_desktop() if open_browser is None else open_browser
    if logout:
        out = service.logout(browser)
        if ui.json:
            ui.emit_json(out)
        else:
            ui.info(
                f"Removed the cached tokens ({out['cache_file']})."
                if out["cleared"]
                else "There were no cached tokens."
            )
        return ExitStatus.OK
    tokens = None if force else service.cached(flow)
    if tokens is None:
        chosen = flow or "code"
        password = None
        if chosen == "password":
            service.prepare(chosen)  # the client allows the flow, the stack exists: then ask
            password = read_password(password_stdin, ui)
        tokens = service.sign_in(chosen, browser, timeout, username, password)
    for warning in tokens.warnings:
        ui.warn(warning)
    if ui.json:
        ui.emit_json(tokens.to_json())
        return ExitStatus.OK
    value = tokens.get(which)
    if not value:
        why = {
            "refresh": "the implicit flow gives no refresh token",
            "id": "no ID token was issued (the openid scope was not granted)",
        }.get(which, "")
        raise CogapiError(
            f"there is no {which} token ({why})",
            hint="sign in with the code flow: `cogapi token --force --flow code`",
        )
    ui.result(value)
    return ExitStatus.OK


def run_machine_token(
    opts: Any, ui: Any, client: str, which: str, force: bool, logout: bool
) -> ExitStatus:
    from cogapi.auth.machine import MachineTokens
    from cogapi.stack.context import open_stack

    ctx = open_stack(opts, ui)
    service = MachineTokens(ctx, ui)
    service._machine(client)
    if logout:
        cache = service.cache(client)
        cleared = cache.clear()
        if ui.json:
            ui.emit_json({"cleared": cleared, "cache_file": str(cache.path)})
        else:
            ui.info(
                f"Removed the cached token of {client} ({cache.path})."
                if cleared
                else f"There was no cached token for {client}."
            )
        return ExitStatus.OK
    if which != "access":
        raise UsageError(
            f"there is no {which} token for a machine client: client_credentials gives an "
            "access token only"
        )
    tokens = service.get(client, force)
    if ui.json:
        doc = tokens.to_json()
        doc["client_name"] = client
        ui.emit_json(doc)
    else:
        ui.result(tokens.cached.access_token)
    return ExitStatus.OK


def run_verify(opts: Any, ui: Any) -> ExitStatus:
    from cogapi.auth.verify import verify_stack

    return verify_stack(opts, ui)


def run_user_add(opts: Any, ui: Any, email: str, password_stdin: bool) -> ExitStatus:
    from cogapi.auth.users import Users, check_email
    from cogapi.stack.context import open_stack

    check_email(email)  # everything that can be checked is, before the password is asked
    ctx = open_stack(opts, ui)
    users = Users.for_stack(ctx.aws, ctx.cfg)
    password = read_password(password_stdin, ui, confirm=True)
    row = users.add(email, password)
    if ui.json:
        ui.emit_json(row)
    else:
        ui.info(f"Created user {email} (confirmed, permanent password) in pool {users.pool_id}.")
    return ExitStatus.OK


def run_user_rm(opts: Any, ui: Any, email: str) -> ExitStatus:
    from cogapi.auth.users import Users, check_username
    from cogapi.stack.context import open_stack

    check_username(email)  # an email, or the user name (sub) `user ls` shows
    ctx = open_stack(opts, ui)
    users = Users.for_stack(ctx.aws, ctx.cfg)
    users.remove(email)
    if ui.json:
        ui.emit_json({"deleted": email, "user_pool_id": users.pool_id})
    else:
        ui.info(f"Deleted user {email} from pool {users.pool_id}.")
    return ExitStatus.OK


def run_user_ls(opts: Any, ui: Any) -> ExitStatus:
    from cogapi.auth.users import Users
    from cogapi.stack.context import open_stack

    ctx = open_stack(opts, ui)
    users = Users.for_stack(ctx.aws, ctx.cfg)
    rows = users.list()
    if ui.json:
        ui.emit_json({"user_pool_id": users.pool_id, "users": rows})
        return ExitStatus.OK
    if not rows:
        ui.info(f"No users in pool {users.pool_id}; add one with `cogapi user add EMAIL`.")
        return ExitStatus.OK
    width = max(len("email"), *(len(r["email"] or r["username"]) for r in rows))
    ui.result(f"{'email':{width}}  {'status':22} created")
    for r in rows:
        enabled = "" if r["enabled"] else "  (disabled)"
        ui.result(
            f"{(r['email'] or r['username']):{width}}  {r['status']:22} {r['created']}{enabled}"
        )
    return ExitStatus.OK
