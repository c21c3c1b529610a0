"""`LocalServer`: moto's control plane and cogapi's stand-in edge on one loopback port.

One threaded werkzeug server (the one moto's `ThreadedMotoServer` runs) with a dispatcher in
front: paths under `/_cogapi/` go to the stand-in (hosted UI, OAuth, JWKS, API data plane);
everything else goes to moto's own WSGI app untouched. Because every control-plane call passes
through here, the dispatcher notices a successful `CreateDeployment` and snapshots the API then,
so a stage serves what was deployed, not what was changed since (a classic trap, aws-notes).

Functions run with `AWS_ENDPOINT_URL` pointing back at this server and fake credentials, so a
handler's own boto3 calls land in the same moto.
"""

from __future__ import annotations

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
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from cogapi.errors import CogapiError, UsageError
from cogapi.local import urls
from cogapi.local.dataplane import DataPlane
from cogapi.local.edge import HostedUi, IdentityProvider, json_response
from cogapi.local.moto_state import MotoState, load_moto
from cogapi.local.runner import FunctionRunner
from cogapi.local.tokens import KeySet

log = logging.getLogger("cogapi.local")

_DEPLOYMENTS = re.compile(r"/restapis/([^/]+)/deployments/?")
_IDP = re.compile(r"/idp/([^/]+)/(\.well-known/[a-z-]+(?:\.json)?)")
_AUTH = re.compile(r"/auth/([^/]+)/(.+)")
_API = re.compile(r"/api/([^/]+)/([^/]+)(/.*)?")
_SIGN_IN_OPERATIONS = {
    "InitiateAuth",
    "AdminInitiateAuth",
    "RespondToAuthChallenge",
    "AdminRespondToAuthChallenge",
}

StartResponse = Callable[..., Any]


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
    ) -> None:
        if not _is_loopback(host):
            raise UsageError(
                f"cogapi local serves loopback only, not {host}", hint="use 127.0.0.1 (the default)"
            )
        self.host = host
        self.port = port
        self.log_requests = log_requests
        self.clock = clock
        self._moto_app, self._handler_class = load_moto()
        self.state = MotoState()
        self.keys = KeySet()
        self.endpoint = ""
        self.runner: FunctionRunner | None = None
        self.hosted_ui: HostedUi | None = None
        self.idp: IdentityProvider | None = None
        self.dataplane: DataPlane | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def _bind(self) -> str:
        if self._server is not None:
            return self.endpoint
        quiet = not self.log_requests

        class Handler(self._handler_class):  # type: ignore[name-defined]
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                if not quiet:
                    super().log_request(*args, **kwargs)

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
            server = make_server(
                self.host, self.port, self._wsgi, threaded=True, request_handler=Handler
            )
        except (OSError, SystemExit) as exc:  # werkzeug exits on "address in use"
            raise CogapiError(
                f"cannot listen on {self.host}:{self.port} ({exc})",
                hint="stop whatever uses the port, or pick another with --port",
            ) from None
        port = server.server_address[1]
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
        self.dataplane = DataPlane(self.state, self.keys, self.runner, self.endpoint, self.clock)
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
        if self._server is not None:
            self._server.server_close()
            self._server = None
        if self.runner is not None:
            self.runner.close()

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

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == urls.LOCAL_PREFIX or path.startswith(urls.LOCAL_PREFIX + "/"):
            request = Request(environ)
            response = self._local(request, path[len(urls.LOCAL_PREFIX) :])
            return response(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if path == "/moto-api/reset" and method == "POST":
            self.state = self._reset_state()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if method == "POST" and target.rsplit(".", 1)[-1] in _SIGN_IN_OPERATIONS:
            return self._moto_sign_in(environ, start_response)
        deployment = _DEPLOYMENTS.fullmatch(path) if method == "POST" else None
        if deployment is None:
            return self._moto_app(environ, start_response)
        return self._moto_recording(environ, start_response, deployment.group(1))

    def _moto_sign_in(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """`InitiateAuth` & co.: moto checks the password, the stand-in signs the tokens.

        moto signs with its own key and an AWS issuer, which the local API Gateway would refuse;
        re-minting them with the stand-in's keys (scope `aws.cognito.signin.user.admin`, as AWS
        gives API sign-ins) makes password tokens behave locally as they do on AWS. moto's
        refresh token is kept, so a REFRESH_TOKEN_AUTH round trip still works.
        """
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            return lambda data: None

        body = b"".join(self._moto_app(environ, capture))
        if str(seen.get("status", "")).startswith("2"):
            body = self._remint(body)
        headers = [(k, v) for k, v in seen.get("headers", []) if k.lower() != "content-length"]
        start_response(
            seen.get("status", "500 Internal Server Error"),
            [*headers, ("Content-Length", str(len(body)))],
        )
        return [body]

    def _remint(self, body: bytes) -> bytes:
        import jwt

        try:
            doc = json.loads(body)
            result = doc["AuthenticationResult"]
            claims = jwt.decode(result["AccessToken"], options={"verify_signature": False})
            pool_id = str(claims["iss"]).rstrip("/").rsplit("/", 1)[-1]
            assert self.hosted_ui is not None
            who = (pool_id, str(claims["client_id"]), str(claims["username"]))
            # AWS gives API sign-ins an ID token and an access token scoped to the admin scope
            # alone; minting hands out an ID token only with `openid`, so take each from its own.
            access = self.hosted_ui.issue(*who, scopes=("aws.cognito.signin.user.admin",))
            ident = self.hosted_ui.issue(*who, scopes=("openid", "aws.cognito.signin.user.admin"))
        except (ValueError, KeyError, TypeError, LookupError, jwt.PyJWTError):
            return body  # a challenge, or nothing we can map: moto's answer as it is
        result["AccessToken"], result["IdToken"] = access["access_token"], ident["id_token"]
        return json.dumps(doc).encode()

    def _reset_state(self) -> MotoState:
        state = MotoState()
        for part in (self.hosted_ui, self.idp):
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

    def _local(self, request: Request, path: str) -> Response:
        assert self.hosted_ui and self.idp and self.dataplane
        try:
            if path in ("/info", "/info/"):
                return json_response({"cogapi_local": True, "endpoint": self.endpoint})
            if path == "/expired-tokens" and request.method == "POST":
                return self._expired_tokens(request)
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
            log.exception("cogapi local failed on %s %s", request.method, request.path)
            print(
                f"cogapi local: internal error on {request.method} {request.path}", file=sys.stderr
            )
            return json_response({"message": "Internal server error"}, 500)
