"""`cogapi demo`: the tutorial, end to end, on this machine, with no AWS account.

Starts the local stand-in in-process on a free loopback port, runs the real engine (`up`) with the
example config, creates a demo user, signs in through the local hosted UI over HTTP exactly as a
browser would (authorize -> login form with its XSRF cookie -> redirect with `code` + `state` ->
code exchange with the PKCE verifier), then calls the API the four ways the tutorial checks by
hand (no token, forged token, expired token, real token), then calls as a machine: a
client_credentials token for a machine client is let in on the route of its custom scope and
refused on the person's route, and tears everything down.
Every step is a `Step` with the expected and actual answer; the exit status is 0 only when all
hold.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from cogapi.errors import CogapiError, ExitStatus
from cogapi.ui import UI

DEMO_EMAIL = "demo.user@example.com"
CALLBACK = "http://localhost:8765/callback"
MACHINE = "demo-reports"
MACHINE_ROUTE = "/reports"
# Added to the example config: a resource server, a machine client and the route of its scope.
MACHINE_CONFIG: dict[str, Any] = {
    "resource_servers": [{"identifier": "reports", "name": "Reports API", "scopes": [
        {"name": "read", "description": "Read reports"}]}],
    "machine_clients": [{"name": MACHINE, "scopes": ["reports/read"]}],
}  # fmt: skip


def demo_config_text(example: str, prefix: str, endpoint: str) -> str:
    """The example config on a fresh prefix and the local endpoint, plus a machine caller."""
    import yaml

    doc = yaml.safe_load(example)
    doc["domain"]["prefix"] = prefix
    doc["endpoint_url"] = endpoint
    doc.update(MACHINE_CONFIG)
    doc["api"]["routes"].append(
        {"path": MACHINE_ROUTE, "method": "GET", "scopes": ["reports/read"]}
    )
    return str(yaml.safe_dump(doc, sort_keys=False))


def machine_token(token_endpoint: str, client_id: str, secret: str) -> dict[str, Any]:
    """client_credentials with HTTP Basic, as a service would ask for its token."""
    from cogapi.auth import http_request

    r = http_request.post_form(
        token_endpoint, {"grant_type": "client_credentials"}, basic_auth=(client_id, secret)
    )
    body = r.json()
    if not r.ok or not isinstance(body, dict) or "access_token" not in body:
        raise CogapiError(f"/oauth2/token answered {r.status} {r.text[:80]} to client_credentials")
    return body


@dataclass
class Step:
    name: str
    expected: str
    actual: str = ""
    ok: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "expected": self.expected, "actual": self.actual, "ok": self.ok}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # we read each Location ourselves, as the test section of the tutorial does


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""


class HttpBrowser:
    """Just enough of a browser: a cookie jar, no automatic redirects."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(
        self, url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, dict(r.headers.items()), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read().decode()


def sign_in_with_form(
    hosted_ui: str, client_id: str, username: str, password: str, scopes: list[str]
) -> dict[str, Any]:
    """Code + PKCE through the hosted UI's real login form; returns the token endpoint's answer.

    The same `HostedUiFlow` as `cogapi token` (state, PKCE, code exchange); only the browser is
    played by `HttpBrowser` here.
    """
    from cogapi.auth.hosted_ui import HostedUiFlow, TokenEndpoint

    flow = HostedUiFlow(TokenEndpoint(hosted_ui, client_id), CALLBACK, scopes)
    browser = HttpBrowser()
    status, headers, _ = browser.request(flow.authorize_url())
    if status != 302:
        raise CogapiError(f"/oauth2/authorize answered {status}, expected a redirect to /login")
    login = urllib.parse.urljoin(hosted_ui + "/", headers["Location"])
    status, _, html = browser.request(login)
    form = _HiddenInputs()
    form.feed(html)
    if status != 200 or "_csrf" not in form.fields:
        raise CogapiError(f"the login page answered {status} without a sign-in form")
    action = urllib.parse.urljoin(login, form.action or login)
    status, headers, _ = browser.request(
        action, {**form.fields, "username": username, "password": password}
    )
    location = headers.get("Location", "")
    if status != 302 or not location.startswith(CALLBACK):
        raise CogapiError(
            f"signing in answered {status} (Location {location or 'none'}), expected a redirect to {CALLBACK}"
        )
    return flow.tokens(flow.params_from_pasted(location))  # checks `state`, redeems the code


def forge(token: str) -> str:
    """The same header and claims with a signature that does not match them."""
    head, claims, sig = token.split(".")
    flipped = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    return f"{head}.{claims}.{flipped}"


def call(url: str, token: str | None) -> tuple[int, str]:
    from cogapi.auth import http_request

    r = http_request.request(url, headers={"Authorization": token} if token else {})
    return r.status, r.text


def run_demo(ui: UI, keep: bool = False) -> ExitStatus:
    from cogapi.config import parse_config
    from cogapi.local.moto_state import require_local_extra

    require_local_extra()
    from cogapi.local.server import LocalServer
    from cogapi.stack.context import Options, open_stack, plan_stack
    from cogapi.stack.executor import Executor, apply_down
    from cogapi.stack.outputs import stack_outputs
    from cogapi.stack.planner import plan_down

    steps: list[Step] = []

    def step(name: str, expected: str, actual: str, ok: bool) -> None:
        steps.append(Step(name, expected, actual, ok))
        ui.info(f"  [{'ok' if ok else 'FAIL'}] {name}: {actual}")

    # The stand-in accepts any credentials; set fake ones so a machine without AWS set up works
    # and a real profile in the environment can never be used by mistake.
    os.environ.update({"AWS_ACCESS_KEY_ID": "cogapi-demo", "AWS_SECRET_ACCESS_KEY": "cogapi-demo"})
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(var, None)
    with LocalServer(port=0) as server, tempfile.TemporaryDirectory(prefix="cogapi-demo-") as tmp:
        endpoint = server.endpoint
        ui.info(f"Local stand-in running at {endpoint}")
        from cogapi.stack.commands import example_config_text, random_prefix

        text = demo_config_text(example_config_text(), random_prefix("demo"), endpoint)
        cfg_path = Path(tmp) / "cogapi.yaml"
        cfg_path.write_text(text)
        parse_config(text, str(cfg_path))
        opts = Options(config_path=str(cfg_path))
        ctx = open_stack(opts, ui)
        desired, observed, plan = plan_stack(ctx)
        ui.info(f"1. cogapi up: {len(plan.mutating)} change(s)")
        ids = Executor(ctx.aws, desired, observed).apply(plan)
        outputs = stack_outputs(ctx.cfg, ids, ctx.local_endpoint)
        step(
            "up",
            "every resource created",
            f"{len(plan.mutating)} created; invoke URL {outputs['invoke_url']}",
            bool(outputs["invoke_url"]),
        )
        password: str | None = None
        try:
            password = "Demo-" + secrets.token_urlsafe(9) + "9a!"
            ctx.aws.create_confirmed_user(
                ids["pool_id"],
                DEMO_EMAIL,
                password,
                {"email": DEMO_EMAIL, "email_verified": "true"},
            )
            step("demo user", "a confirmed user", DEMO_EMAIL, True)
            hosted = outputs["hosted_ui_url"].split("/login?", 1)[0]
            ui.info(
                "2. sign in through the hosted UI (authorize -> login form -> code + PKCE exchange)"
            )
            tokens = sign_in_with_form(
                hosted,
                ids["client_id"],
                DEMO_EMAIL,
                password,
                list(ctx.cfg.app_client.oauth_scopes),
            )
            got = sorted(k for k in ("access_token", "id_token", "refresh_token") if k in tokens)
            step("sign in", "access, ID and refresh tokens", ", ".join(got), len(got) == 3)
            url = outputs["invoke_url"]
            ui.info(f"3. call {url}")
            access = tokens["access_token"]
            expired = server.issue_tokens(
                ids["pool_id"], ids["client_id"], DEMO_EMAIL, ctx.cfg.app_client.oauth_scopes,
                issued_at=int(time.time()) - 3 * 3600,
            )["access_token"]  # fmt: skip
            checks = [
                ("no token", None, 401, "Unauthorized"),
                ("forged token", forge(access), 401, "Unauthorized"),
                ("expired token", expired, 401, "The incoming token has expired"),
                ("real token", access, 200, "Hello World"),
            ]
            for name, token, want_status, want_text in checks:
                status, body = call(url, token)
                message = _message(body)
                step(f"call with {name}", f"{want_status} {want_text}", f"{status} {message}",
                     status == want_status and want_text in message)  # fmt: skip
            base = url.rsplit("/", 1)[0]
            ui.info(f"4. call as a machine: client_credentials for {MACHINE}")
            client_id = outputs["machine_clients"][MACHINE]
            secret = ctx.aws.client_secret(ids["pool_id"], client_id) or ""
            issued = machine_token(outputs["token_endpoint"], client_id, secret)
            claims = _claims(issued["access_token"])
            step("machine token", "an access token only, scope reports/read, no user",
                 f"{', '.join(sorted(issued))}; scope {claims.get('scope')}",
                 sorted(issued) == ["access_token", "expires_in", "token_type"]
                 and claims.get("scope") == "reports/read" and "username" not in claims)  # fmt: skip
            for path, want_status, want_text in (
                (MACHINE_ROUTE, 200, "Hello World"),
                (url[len(base) :], 401, "Unauthorized"),
            ):
                status, answer = call(base + path, issued["access_token"])
                message = _message(answer)
                step(f"machine call {path}", f"{want_status} {want_text}", f"{status} {message}",
                     status == want_status and want_text in message)  # fmt: skip
        finally:
            if not keep:
                ui.info("5. cogapi down")
                from cogapi.stack.discover import discover_stack

                observed = discover_stack(ctx.aws, ctx.cfg)
                down = plan_down(ctx.cfg, observed)
                apply_down(ctx.aws, down, observed)
                left = plan_down(ctx.cfg, discover_stack(ctx.aws, ctx.cfg)).mutating
                # `down` deletes the top-level resources; what lives inside them (the API's
                # resources, methods and stage, the client, the permission) goes with its parent.
                within = len(plan.mutating) - len(down.mutating)
                step(
                    "down",
                    "nothing left",
                    f"{len(down.mutating)} deleted"
                    + (f" (the other {within} went with their parent)" if within > 0 else "")
                    + f", {len(left)} left",
                    not left,
                )
        ok = all(s.ok for s in steps)
        report(ui, steps, ok)
        if keep:
            keep_serving(ui, endpoint, outputs, password, cfg_path)
    return ExitStatus.OK if ok else ExitStatus.ERROR


def report(ui: UI, steps: list[Step], ok: bool) -> None:
    if ui.json:
        ui.emit_json({"ok": ok, "steps": [s.to_json() for s in steps]})
        return
    width = max(len(s.name) for s in steps)
    for s in steps:
        ui.result(
            f"{'PASS' if s.ok else 'FAIL'}  {s.name:{width}}  expected {s.expected}; got {s.actual}"
        )
    ui.result(
        "Demo passed: the API answers only with a valid token carrying the route's scope."
        if ok
        else "Demo FAILED."
    )


def keep_serving(
    ui: UI, endpoint: str, outputs: dict[str, Any], password: str | None, cfg_path: Path
) -> None:
    """`demo --keep`: the stack stays up on a server that keeps running until Ctrl-C.

    A Ctrl-C from the moment the first line is shown is the stop it announces, so the lines are
    written inside the `try`: one pressed (or a SIGINT sent) while the last line is still being
    written, as soon as it can be read, ends the demo cleanly too."""
    try:
        ui.info("")
        ui.info(f"The stack stays up on {endpoint} until you press Ctrl-C:")
        ui.info(f"  hosted UI  {outputs.get('hosted_ui_url')}")
        ui.info(f"  invoke URL {outputs.get('invoke_url')}")
        if password:
            ui.info(f"  login      {DEMO_EMAIL} / {password}")
        ui.info(
            f"  try        AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
            f"cogapi status -c {cfg_path}"
        )
        threading.Event().wait()
    except KeyboardInterrupt:
        ui.info("Stopped the local stand-in; the demo stack is gone with it.")


def _claims(token: str) -> dict[str, Any]:
    from cogapi.auth.jwt_verify import unverified_claims

    return unverified_claims(token)


def _message(body: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:80]
    return str(doc.get("message", doc)) if isinstance(doc, dict) else str(doc)[:80]
