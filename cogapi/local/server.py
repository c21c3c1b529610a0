"""`LocalServer`: moto's control plane and cogapi's stand-in edge on one loopback port.

One threaded werkzeug server (the one moto's `ThreadedMotoServer` runs, its threads accepting
the connections they serve: `accepting`) with a dispatcher in front: paths under `/_cogapi/` go
to the stand-in (hosted UI, OAuth, JWKS, API data plane); everything else goes to moto's own
WSGI app, which answers a JSON error where it would raise (`moto_errors`). Because every
control-plane call passes through here, the dispatcher notices a successful `CreateDeployment`
and snapshots the API then, so a stage serves what was deployed, not what was changed since (a
classic trap, aws-notes).
Data-plane requests skip werkzeug's HTTP parsing and writing (`dataplane_http`: keep-alive, one
send per answer); the WSGI app below sees the same environ either way.

Before either sees a request, `guard` refuses what a web page on this machine could send: a
`Host` other than the loopback address and port it listens on (DNS rebinding), and on the control
plane any CORS (moto would grant every origin) or a non-loopback `Origin`.

Functions run with `AWS_ENDPOINT_URL` pointing back at this server and fake credentials, so a
handler's own boto3 calls land in the same moto.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TextIO

from werkzeug.wrappers import Request, Response

from cogapi.errors import CogapiError, UsageError
from cogapi.local import guard, moto_state, urls
from cogapi.local.accepting import AcceptingThreadsServer
from cogapi.local.codes import Message, Outbox
from cogapi.local.cognito_api import TARGET_PREFIX, CognitoApi
from cogapi.local.dataplane import MAX_INTEGRATION_SECONDS, WHY_KEY, DataPlane
from cogapi.local.dataplane_http import FastDataPlaneHandler
from cogapi.local.edge import HostedUi, IdentityProvider, json_response
from cogapi.local.moto_errors import contained
from cogapi.local.moto_state import MotoState, load_moto
from cogapi.local.proxy_answer import ProxyAnswer
from cogapi.local.runner import FunctionRunner
from cogapi.local.tokens import KeySet

log = logging.getLogger("cogapi.local")

_DEPLOYMENTS = re.compile(r"/restapis/([^/]+)/deployments/?")
_IDP = re.compile(r"/idp/([^/]+)/(\.well-known/[a-z-]+(?:\.json)?)")
_ISSUER = re.compile(r"/([\w-]+_[0-9A-Za-z]+)/(\.well-known/(?:jwks\.json|openid-configuration))")
_AUTH = re.compile(r"/auth/([^/]+)/(.+)")
_API = re.compile(r"/api/([^/]+)/([^/]+)(/.*)?")
_DATA_PLANE = urls.LOCAL_PREFIX + "/api/"

StartResponse = Callable[..., Any]


def _settle_heap() -> None:
    """Move what moto holds out of the garbage collector's sight, after a control-plane call.

    moto's state is large (IAM alone loads about 200,000 objects of AWS managed policies) and
    lives as long as the server; a full collection walks all of it, stalling whichever request
    triggers it for a good part of a second. Young garbage is collected first, then everything
    alive is frozen (`gc.freeze`): later collections see only what was made since. Control-plane
    calls are few next to data-plane calls, so this costs little.
    """
    gc.collect(1)
    gc.freeze()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalServer:
    """Start with `start()` (returns the base URL) or use as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        *,
        log_requests: bool = False,
        clock: Callable[[], float] = time.time,
        max_integration_seconds: float = MAX_INTEGRATION_SECONDS,
        log_stream: TextIO | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise UsageError(f"port {port} is not a TCP port (0 to 65535; 0 picks a free one)")
        if not _is_loopback(host):
            raise UsageError(
                f"cogapi local serves loopback only, not {host!r}",
                hint="use 127.0.0.1 (the default)",
            )
        self.host = host
        self.port = port
        self.log_requests = log_requests
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        self.clock = clock
        self.max_integration_seconds = max_integration_seconds
        moto_app, self._handler_class = load_moto()
        self._moto_app = contained(moto_app)  # JSON errors, not tracebacks, where moto raises
        self.state = MotoState()
        self.keys = KeySet()
        self.endpoint = ""
        self.runner: FunctionRunner | None = None
        self.hosted_ui: HostedUi | None = None
        self.idp: IdentityProvider | None = None
        self.cognito_api: CognitoApi | None = None
        self.outbox: Outbox | None = None
        self.dataplane: DataPlane | None = None
        self._server: AcceptingThreadsServer | None = None
        self._listening_port = port
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def _bind(self) -> str:
        if self._server is not None:
            return self.endpoint

        class Handler(FastDataPlaneHandler, self._handler_class):  # type: ignore[name-defined]
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # the server writes its own request line (`_logged`), under -v only

        if self.port:  # a busy port: say so plainly (werkzeug would print its own advice first)
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            with socket.socket(family) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((self.host, self.port))
                except OSError as exc:
                    raise CogapiError(
                        f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                        hint="stop whatever uses the port, or pick another with --port",
                    ) from None
        try:
            server = AcceptingThreadsServer(self.host, self.port, self._app, Handler)
        except (OSError, SystemExit) as exc:  # werkzeug exits on "address in use"
            raise CogapiError(
                f"cannot listen on {self.host}:{self.port} ({exc})",
                hint="stop whatever uses the port, or pick another with --port",
            ) from None
        port = server.server_address[1]
        self._listening_port = port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.endpoint = f"http://{host}:{port}"
        self.runner = FunctionRunner(
            extra_env={
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
            }
        )
        self.hosted_ui = HostedUi(self.state, self.keys, self.endpoint, self.clock)
        self.idp = IdentityProvider(self.state, self.keys, self.endpoint)
        self.outbox = Outbox(self._code_sent, self.clock)
        self.hosted_ui.outbox = self.outbox
        self.cognito_api = CognitoApi(
            self.state,
            self.hosted_ui,
            self.keys,
            self.endpoint,
            self._moto_app,
            self.clock,
            outbox=self.outbox,
        )
        self.dataplane = DataPlane(
            self.state,
            self.keys,
            self.runner,
            self.endpoint,
            self.clock,
            max_integration_seconds=self.max_integration_seconds,
            handler_output=self._handler_output,
        )
        self._server = server
        return self.endpoint

    def start(self) -> str:
        """Serve in a background thread; returns the base URL, e.g. `http://127.0.0.1:4566`."""
        endpoint = self._bind()
        if self._thread is None:
            assert self._server is not None
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="cogapi-local", daemon=True
            )
            self._thread.start()
        return endpoint

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the foreground `cogapi local`)."""
        self._bind()
        assert self._server is not None
        try:
            self._server.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._close()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.server_close()
        if self.runner is not None:
            self.runner.close()
        if server is not None:
            # Once the workers are gone no thread can be held in a handler; a second is
            # plenty for the rest to return from the connections server_close() ended.
            server.join_threads(timeout=1.0)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- helpers for callers -------------------------------------------------------------------

    def issue_tokens(
        self,
        pool_id: str,
        client_id: str,
        username: str,
        scopes: Iterable[str] | None = None,
        issued_at: int | None = None,
    ) -> dict[str, Any]:
        """Tokens for a user as `/oauth2/token` would answer, skipping the browser; `issued_at`
        in the past gives expired tokens."""
        if self.hosted_ui is None:
            raise CogapiError("the local server is not started")
        return self.hosted_ui.issue(
            pool_id, client_id, username, None if scopes is None else tuple(scopes), issued_at
        )

    # --- output --------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        stream = self._log_stream or sys.stderr
        with self._log_lock:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):  # a closed terminal must not fail a request
                pass

    def _handler_output(self, function_name: str, lines: list[str]) -> None:
        """A function's own output (stdout and stderr), one line each, prefixed by its name,
        as `sam local` shows it. Shown with or without -v: it is the user's own output."""
        self._write("".join(f"[{function_name}] {line}\n" for line in lines))

    def _code_sent(self, message: Message) -> None:
        """A code Cognito would have sent by email or SMS: the terminal is the local mailbox
        (shown with or without -v), as `/_cogapi/outbox` is for scripts."""
        self._write(message.line() + "\n")

    def _logged(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Under -v: one line per request, `METHOD PATH STATUS MS`, and why the gateway refused
        when it did. The query string is left out: it can carry codes and tokens."""
        started = time.perf_counter()
        seen: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen.append(status.split(" ", 1)[0])
            return start_response(status, headers, *rest)

        try:
            return self._wsgi(environ, start)
        finally:
            ms = (time.perf_counter() - started) * 1000
            why = environ.get(WHY_KEY)
            line = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')} "
            line += f"{seen[-1] if seen else '-'} {ms:.1f} ms" + (f" ({why})" if why else "")
            self._write(line + "\n")

    def _expired_tokens(self, request: Request) -> Response:
        """Tokens that expired long ago (longer than the longest validity, a day), never a
        refresh token: what `verify` needs to see the authorizer refuse an expired token."""
        doc = request.get_json(silent=True)
        if not isinstance(doc, dict):
            return json_response({"message": "expected a JSON object"}, 400)
        try:
            body = self.issue_tokens(
                str(doc.get("pool_id")), str(doc.get("client_id")), str(doc.get("username")),
                issued_at=int(time.time()) - 2 * 86400,
            )  # fmt: skip
        except LookupError as exc:
            return json_response({"message": str(exc)}, 404)
        return json_response({k: body[k] for k in ("access_token", "id_token") if k in body})

    # --- WSGI ----------------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.log_requests:
            return self._logged(environ, start_response)
        return self._wsgi(environ, start_response)

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not guard.host_allowed(environ.get("HTTP_HOST"), self._listening_port):
            p = self._listening_port
            return guard.refusal(
                environ,
                start_response,
                f"cogapi local answers only requests for 127.0.0.1:{p}, localhost:{p} or [::1]:{p}",
            )
        path = environ.get("PATH_INFO", "")
        if path.startswith(_DATA_PLANE):  # changes nothing in moto's backends
            request = Request(environ, populate_request=False)  # no cycle: freed at once
            return self._local(request, path[len(urls.LOCAL_PREFIX) :])(environ, start_response)
        # Anything else may change the backends: what the data plane remembered of them is
        # dropped when the request starts, and again once it has changed them (`moto_state`).
        moto_state.mark_changed()
        try:
            return self._state_changing(environ, start_response, path)
        finally:
            moto_state.mark_changed()

    def _state_changing(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        if path == urls.LOCAL_PREFIX or path.startswith(urls.LOCAL_PREFIX + "/"):
            request = Request(environ, populate_request=False)
            response = self._local(request, path[len(urls.LOCAL_PREFIX) :])
            return response(environ, start_response)
        issuer = _ISSUER.fullmatch(path)
        if issuer is not None and self.idp is not None:  # urls.issuer: ours, not moto's
            response = self.idp.handle(
                Request(environ, populate_request=False), issuer.group(1), issuer.group(2)
            )
            return response(environ, start_response)
        preflight = guard.user_pool_preflight(environ)
        if preflight is not None:  # a browser app's Cognito sign-in, as AWS grants it
            start_response("200 OK", preflight)
            return [b""]
        refused = guard.control_plane_refusal(environ)
        if refused is not None:
            return guard.refusal(environ, start_response, refused)
        start = guard.without_cors(start_response)
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and guard.is_user_pool_call(environ):
            start = guard.without_cors(guard.with_user_pool_cors(start_response, origin))
        try:
            return self._control_plane(environ, start)
        finally:
            _settle_heap()

    def _control_plane(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path == "/moto-api/reset" and method == "POST":
            self.state = self._reset_state()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if method == "POST" and target.startswith(TARGET_PREFIX) and self.cognito_api:
            return self.cognito_api(environ, start_response)  # sign-in and user APIs, as AWS
        deployment = _DEPLOYMENTS.fullmatch(path) if method == "POST" else None
        if deployment is None:
            return self._moto_app(environ, start_response)
        return self._moto_recording(environ, start_response, deployment.group(1))

    def _reset_state(self) -> MotoState:
        state = MotoState()
        for part in (self.hosted_ui, self.idp, self.cognito_api):
            if part is not None:
                part.state = state
        if self.dataplane is not None:
            self.dataplane.state = state
            self.dataplane.authorizer.state = state
        return state

    def _moto_recording(
        self, environ: dict[str, Any], start_response: StartResponse, api_id: str
    ) -> Iterable[bytes]:
        seen: dict[str, str] = {}

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"] = status
            return start_response(status, headers, *rest)

        body = b"".join(self._moto_app(environ, capture))
        if seen.get("status", "").startswith("2"):
            try:
                deployment_id = json.loads(body)["id"]
                self.state.record_deployment(api_id, deployment_id)
            except (ValueError, KeyError, TypeError):
                log.warning("could not read the deployment id of %s", api_id)
        return [body]

    def _local(self, request: Request, path: str) -> Response | ProxyAnswer:
        assert self.hosted_ui and self.idp and self.dataplane and self.outbox
        try:
            if path in ("/info", "/info/"):
                return json_response({"cogapi_local": True, "endpoint": self.endpoint})
            if path == "/expired-tokens" and request.method == "POST":
                return self._expired_tokens(request)
            if path == "/outbox" and request.method == "GET":
                pool_id = request.args.get("pool_id")
                return json_response({"messages": self.outbox.messages(pool_id)})
            api = _API.fullmatch(path)
            if api is not None:
                return self.dataplane.handle(
                    request, api.group(1), api.group(2), api.group(3) or "/"
                )
            auth = _AUTH.fullmatch(path)
            if auth is not None:
                return self.hosted_ui.handle(request, auth.group(1), auth.group(2))
            idp = _IDP.fullmatch(path)
            if idp is not None:
                return self.idp.handle(request, idp.group(1), idp.group(2))
            return json_response({"message": "not found"}, 404)
        except Exception:
            log.debug("cogapi local failed on %s %s", request.method, request.path, exc_info=True)
            print(
                f"cogapi local: internal error on {request.method} {request.path}", file=sys.stderr
            )
            return json_response({"message": "Internal server error"}, 500)
