"""The loopback server that receives the hosted UI's redirect after sign-in.

Shaped like aws-cli's SSO login (style.md), with cogapi's rules on top:
- binds 127.0.0.1 only, on the fixed port of the registered callback URL (Cognito matches
  `redirect_uri` exactly, so no other port would do); a busy port is a clear error, before any
  browser opens;
- the request handler only reads the callback path's query string (code flow) or, for the
  implicit flow, serves a tiny page whose script posts the `#fragment` (which never reaches a
  server) back to the same path;
- `state` is checked on the answer; a mismatch ends the login with an error;
- only requests addressed to the callback's own loopback host and port are served (403 for any
  other `Host`), so a page whose name rebinds to 127.0.0.1 cannot post a fake answer; a request
  the handler cannot read (a bad `Content-Length`) gets a 4xx, and nothing a client sends prints
  a traceback on the user's terminal;
- every connection has a per-request timeout and `wait()` an overall one; once the answer has
  come (good or bad) the server stops.
Other paths (a browser's `/favicon.ico`) get a 404 and do not count as the answer.
"""

from __future__ import annotations

import errno
import html
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from cogapi.errors import CogapiError

BIND_HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
MAX_BODY = 64 * 1024

RELAY_SCRIPT = """<script>
(function () {
  var fragment = window.location.hash.replace(/^#/, "");
  var note = document.getElementById("note");
  fetch(window.location.pathname, {method: "POST", body: fragment,
        headers: {"Content-Type": "application/x-www-form-urlencoded"}})
    .then(function (r) { return r.text(); })
    .then(function (t) { document.open(); document.write(t); document.close(); })
    .catch(function (e) { note.textContent = "Could not reach cogapi: " + e; });
})();
</script>"""


def _page(title: str, message: str, extra: str = "") -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}</title></head><body style="font-family:sans-serif">'
        f'<h1>{html.escape(title)}</h1><p id="note">{html.escape(message)}</p>{extra}'
        "</body></html>"
    ).encode()


class CallbackError(CogapiError):
    """The sign-in came back wrong (state mismatch, an error from the hosted UI) or not at all."""


def split_redirect_uri(uri: str) -> tuple[int, str]:
    """(port, path) of a loopback callback URL that cogapi can serve; UsageError otherwise."""
    from cogapi.errors import UsageError

    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise UsageError(f"{uri} is not an http://localhost or http://127.0.0.1 callback URL")
    return parts.port or 80, parts.path or "/"


def check_answer(params: dict[str, str], expected_state: str) -> CallbackError | None:
    """Why a callback's parameters (query or fragment) must be refused, or None."""
    state = params.get("state", "")
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        return CallbackError(
            "the callback's state does not match the sign-in cogapi started, so its code or "
            "tokens were refused: the answer came from a stale browser tab or another sign-in, "
            "or was forged (possible CSRF)",
            hint="run `cogapi token` again and finish the sign-in it starts, in the tab it opens",
        )
    if "error" in params:
        detail = params.get("error_description") or ""
        return CallbackError(
            f"the hosted UI answered error={params['error']}" + (f" ({detail})" if detail else ""),
            hint="check the app client's oauth_flows and oauth_scopes in cogapi.yaml, then `cogapi up`",
        )
    return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a broken or hostile request is not worth
        # a word on the user's terminal (the sign-in waits for a good one, or times out).
        return


def allowed_hosts(redirect_uri: str) -> frozenset[str]:
    """The `Host` values a browser sends for the callback URL: its loopback name (either
    spelling cogapi accepts) with its port, as `Host` carries it."""
    port, _ = split_redirect_uri(redirect_uri)
    out = {f"{name}:{port}" for name in LOOPBACK_HOSTS}
    if port == 80:  # the default port is left out of Host
        out |= set(LOOPBACK_HOSTS)
    return frozenset(out)


class CallbackServer:
    """`with CallbackServer(uri, state, "query") as s: params = s.wait(300)`."""

    def __init__(
        self,
        redirect_uri: str,
        expected_state: str,
        mode: Literal["query", "fragment"] = "query",
        request_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redirect_uri = redirect_uri
        self.port, self.path = split_redirect_uri(redirect_uri)
        self.hosts = allowed_hosts(redirect_uri)
        self.expected_state = expected_state
        self.mode = mode
        self.request_timeout = request_timeout
        self.clock = clock
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._answer: dict[str, str] | None = None
        self._failure: CallbackError | None = None
        self._done = threading.Event()
        self._replied = threading.Event()  # the browser got its page: safe to exit

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        handler = self._handler_class()
        try:
            server = _QuietServer((BIND_HOST, self.port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CogapiError(
                    f"port {self.port} on {BIND_HOST} is in use; the callback URL "
                    f"{self.redirect_uri} needs it",
                    hint=f"stop whatever listens there (ss -ltnp 'sport = :{self.port}'), or put "
                    "another http://localhost:PORT/callback first in app_client.callback_urls "
                    "and run `cogapi up`",
                ) from None
            raise CogapiError(
                f"cannot listen on {BIND_HOST}:{self.port} for {self.redirect_uri} ({exc.strerror})",
                hint="use a callback URL with a port above 1024, or --no-browser to paste the URL",
            ) from None
        server.daemon_threads = True
        self._server = server

    def close(self) -> None:
        if self._server is not None:
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CallbackServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- waiting --------------------------------------------------------------------------

    def wait(self, timeout: float) -> dict[str, str]:
        """The callback's parameters (query or fragment), state already checked."""
        assert self._server is not None, "start() first"
        deadline = self.clock() + timeout
        while not self._done.is_set():
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise CallbackError(
                    f"no sign-in came back to {self.redirect_uri} within {timeout:g} s",
                    hint="finish signing in in the browser (or pass --timeout SECONDS); "
                    "on a machine without a browser use --no-browser and paste the URL",
                )
            self._server.timeout = min(remaining, 0.5)
            self._server.handle_request()
        self._replied.wait(5.0)
        self.close()
        if self._failure is not None:
            raise self._failure
        assert self._answer is not None
        return self._answer

    # ---- the answer -----------------------------------------------------------------------

    def _finish(self, params: dict[str, str]) -> tuple[int, bytes]:
        """Record the answer once; return the page for the browser."""
        with self._lock:
            if self._done.is_set():
                return 409, _page("Already answered", "This sign-in has already finished.")
            failure = check_answer(params, self.expected_state)
            if failure is not None:
                self._failure = failure
                self._done.set()
                return 400, _page("Sign-in not completed", failure.message)
            self._answer = params
            self._done.set()
            return 200, _page("Signed in", "You can close this tab and return to the terminal.")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = owner.request_timeout  # per connection: a silent client cannot hang us

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # quiet: stdout/stderr belong to cogapi's UI

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _host_ok(self) -> bool:
                if (self.headers.get("Host") or "").strip().lower() in owner.hosts:
                    return True
                self._send(403, _page("Forbidden", "This server answers only its callback URL."))
                return False

            def _ours(self) -> tuple[bool, dict[str, str]]:
                parts = urlsplit(self.path)
                return parts.path == owner.path, dict(parse_qsl(parts.query))

            def do_GET(self) -> None:  # noqa: N802
                if not self._host_ok():
                    return
                ours, query = self._ours()
                if not ours:
                    self._send(404, _page("Not found", "cogapi waits for the sign-in callback."))
                    return
                if owner.mode == "query" or "error" in query:
                    if not ({"code", "error"} & set(query)) and owner.mode == "query":
                        self._send(400, _page("No code", "This URL carries no sign-in code."))
                        return
                    self._answer_with(*owner._finish(query))
                    return
                self._send(
                    200, _page("Signing in", "Handing the sign-in to cogapi...", RELAY_SCRIPT)
                )

            def do_POST(self) -> None:  # noqa: N802
                if not self._host_ok():
                    return
                ours, _ = self._ours()
                if not ours or owner.mode != "fragment":
                    self._send(404, _page("Not found", "cogapi waits for the sign-in callback."))
                    return
                declared = (self.headers.get("Content-Length") or "0").strip()
                if not declared.isdigit() or not declared.isascii():
                    self.close_connection = True
                    self._send(400, _page("Bad request", "The Content-Length is not a length."))
                    return
                length = int(declared) if len(declared) <= 12 else MAX_BODY + 1
                if length > MAX_BODY:
                    self.close_connection = True
                    self._send(413, _page("Too large", "The callback is too large."))
                    return
                # A body that never comes ends at the per-request timeout (the base class
                # closes the connection quietly).
                fragment = self.rfile.read(length).decode("utf-8", errors="replace")
                self._answer_with(*owner._finish(dict(parse_qsl(fragment))))

            def _answer_with(self, status: int, body: bytes) -> None:
                try:
                    self._send(status, body)
                finally:
                    owner._replied.set()

        return Handler
