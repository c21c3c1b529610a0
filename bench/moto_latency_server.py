"""moto's server on a loopback port, with a fixed latency on every call and a per-operation count.

Run by `bench/deploy.py` as a subprocess:

    python bench/moto_latency_server.py --port 0 --latency-ms 50

It prints `READY http://127.0.0.1:PORT` once listening. Every AWS request sleeps `--latency-ms`
before moto handles it (a stand-in for AWS's round trip; the server is threaded, so calls made
concurrently overlap as they would against AWS), then is recorded as `service`, `operation`
(named as in botocore's service model), `mutating` (anything not Get/List/Describe, the rule
`cogapi.aws` counts by) and the HTTP status. A request without a SigV4 signature is no AWS API
call (e.g. cogapi's `GET /_cogapi/info` probe for its local stand-in): it pays the latency like
any round trip to the endpoint but is recorded with service `unsigned` and `mutating` false.
Counting on the server sees every tool alike (cogapi, Chalice, a handler's own calls) and counts
each HTTP request, retries included.

    GET  /_bench/calls   -> {"calls": [{"service", "operation", "mutating", "status", "start", "end"}]}
    POST /_bench/reset   -> forget the calls recorded so far
Neither sleeps nor is recorded. The Swagger 2.0 shim Chalice needs is applied at start, and so
is cogapi local's OpenAPI import (moto alone ignores authorizers, security and gateway responses).

`--quotas` enforces API Gateway's documented control-plane quotas (per account and region) as
429 TooManyRequestsException answers, with token buckets: 10 requests/s across all API Gateway
calls, burst 40; CreateResource 5/s; CreateDeployment 1 per 5 s; CreateRestApi and ImportRestApi
1 per 3 s; PutRestApi 1/s; DeleteRestApi 1 per 30 s; GetResources 5 per 2 s. A refused call is
recorded with status 429 (and paid the latency, as a round trip does).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

READ_PREFIXES = ("Get", "List", "Describe")
UNSIGNED = "unsigned"
BENCH_PREFIX = "/_bench/"
# Signing names of the services the benchmark talks to, as they appear in the credential scope.
SERVICES = ("cognito-idp", "apigateway", "lambda", "iam", "sts")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    mutating: bool
    status: int
    start: float  # time.time() on arrival and when answered, for the timeline in the report
    end: float


class OperationNames:
    """Names a request's operation from botocore's service models.

    JSON services (Cognito) name it in `X-Amz-Target`, query services (IAM, STS) in the `Action`
    form field, and REST services (API Gateway, Lambda) by method and path: each operation's
    `requestUri` template becomes a regex; templates with a required query (`?mode=import`) and
    more literal text are tried first, so ImportRestApi wins over CreateRestApi.
    """

    def __init__(self, services: Iterable[str] = SERVICES) -> None:
        import botocore.session

        session = botocore.session.get_session()
        self._rest: dict[str, list[tuple[int, int, str, re.Pattern[str], dict[str, str], str]]] = {}
        for service in services:
            model = session.get_service_model(service)
            if model.protocol not in ("rest-json", "rest-xml"):
                continue
            routes = []
            for name in model.operation_names:
                http = model.operation_model(name).http
                path, _, query = http["requestUri"].partition("?")
                required = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
                pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", "(.+)", re.escape(path))
                pattern = re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", pattern)
                literal = len(re.sub(r"\{[^}]+\}", "", path))
                routes.append(
                    (
                        len(required),
                        literal,
                        http["method"],
                        re.compile(pattern + "/?"),
                        required,
                        name,
                    )
                )
            routes.sort(key=lambda r: (-r[0], -r[1]))
            self._rest[service] = routes

    def service(self, environ: dict[str, Any]) -> str:
        found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        return found.group(1) if found else UNSIGNED

    def operation(self, service: str, environ: dict[str, Any], body: bytes) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return str(target).rsplit(".", 1)[-1]
        method = environ.get("REQUEST_METHOD", "GET")
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path, _, query_string = str(raw).partition("?")
        query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        if service == UNSIGNED:
            pass
        elif service in self._rest:
            for _, _, verb, pattern, required, name in self._rest[service]:
                if (
                    verb == method
                    and pattern.fullmatch(path)
                    and all(query.get(k) == v for k, v in required.items())
                ):
                    return name
        else:
            form = parse_qs(body.decode("utf-8", "replace")) if body else {}
            action = (form.get("Action") or [query.get("Action", "")])[0]
            if action:
                return str(action)
        return f"{method} {path}"


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; a call takes one or is refused."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = burst, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# API Gateway's control-plane quotas: operation -> (requests per second, burst).
APIGW_ALL = (10.0, 40.0)
APIGW_QUOTAS: dict[str, tuple[float, float]] = {
    "CreateResource": (5.0, 5.0),
    "CreateDeployment": (1 / 5, 1.0),
    "CreateRestApi": (1 / 3, 1.0),
    "ImportRestApi": (1 / 3, 1.0),
    "PutRestApi": (1.0, 1.0),
    "DeleteRestApi": (1 / 30, 1.0),
    "GetResources": (5 / 2, 5.0),
}
SHARED_BUCKET = {"ImportRestApi": "CreateRestApi"}  # one quota for both


class Quotas:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._all = TokenBucket(*APIGW_ALL, clock=clock)
        self._each = {
            op: TokenBucket(*q, clock=clock) for op, q in APIGW_QUOTAS.items()
            if op not in SHARED_BUCKET
        }  # fmt: skip
        self._lock = threading.Lock()

    def allow(self, service: str, operation: str) -> bool:
        if service != "apigateway":
            return True
        with self._lock:
            bucket = self._each.get(SHARED_BUCKET.get(operation, operation))
            if bucket is not None and not bucket.take():
                return False
            return self._all.take()


THROTTLED_BODY = json.dumps({"message": "Too Many Requests"}).encode()


class LatencyCounter:
    """WSGI middleware: sleep, record, hand over to moto."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        latency_s: float,
        names: OperationNames,
        sleep: Callable[[float], None] = time.sleep,
        quotas: Quotas | None = None,
    ) -> None:
        self.app = app
        self.quotas = quotas
        self.latency_s = latency_s
        self.names = names
        self.sleep = sleep
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(BENCH_PREFIX):
            return self._bench(path[len(BENCH_PREFIX) :], environ, start_response)
        body = _read_body(environ)
        service = self.names.service(environ)
        operation = self.names.operation(service, environ, body)
        start = time.time()
        if self.latency_s:
            self.sleep(self.latency_s)
        seen: dict[str, int] = {}
        if self.quotas is not None and not self.quotas.allow(service, operation):
            start_response("429 Too Many Requests", [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "TooManyRequestsException"),
                ("Content-Length", str(len(THROTTLED_BODY))),
            ])  # fmt: skip
            with self._lock:
                self.calls.append(Call(service, operation, False, 429, start, time.time()))
            return [THROTTLED_BODY]

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, *rest)

        # Drain moto's answer here so the status is known when the call is recorded.
        chunks = list(self.app(environ, capture))
        with self._lock:
            mutating = service != UNSIGNED and not operation.startswith(READ_PREFIXES)
            self.calls.append(
                Call(service, operation, mutating, seen.get("status", 0), start, time.time())
            )
        return chunks

    def _bench(
        self, what: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        payload: dict[str, Any]
        if what == "calls" and method == "GET":
            with self._lock:
                payload = {"calls": [asdict(c) for c in self.calls]}
        elif what == "reset" and method == "POST":
            with self._lock:
                self.calls = []
            payload = {"reset": True}
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "unknown bench endpoint"}']
        body = json.dumps(payload).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto still finds it in `wsgi.input`."""
    import io

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def share_pool_signing_key() -> None:
    """Parse moto's one user-pool signing key once, not on every CreateUserPool.

    moto gives every pool the same private key from a file and parses it in the pool's
    constructor (joserfc checks the RSA numbers): about 0.16 s of CPU per CreateUserPool, and,
    since the server is one Python process, a stall of every call in flight beside it. That is
    moto's cost, not AWS's, and it breaks the model this server stands for (a fixed latency per
    call, concurrent calls overlapping); only the tool that creates a pool in its timed run
    (cogapi; Chalice's pool is made beforehand) would pay it. The key is the same either way.
    """
    from joserfc import jwk
    from moto.cognitoidp import models

    parsed: dict[str, Any] = {}
    real_import = jwk.RSAKey.import_key

    class RSAKey:
        @staticmethod
        def import_key(value: Any, *args: Any, **kwargs: Any) -> Any:
            if args or kwargs or not isinstance(value, dict):
                return real_import(value, *args, **kwargs)
            key = json.dumps(value, sort_keys=True)
            if key not in parsed:
                parsed[key] = real_import(value)
            return parsed[key]

    class SharedKeyJwk:  # what moto's models module calls `jwk`: only RSAKey.import_key differs
        def __getattr__(self, name: str) -> Any:
            return RSAKey if name == "RSAKey" else getattr(jwk, name)

    models.jwk = SharedKeyJwk()  # type: ignore[assignment]


def serve(port: int, latency_ms: float, quotas: bool = False) -> None:
    # AWSLambdaBasicExecutionRole must exist for attach_role_policy (aws-notes: moto).
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from cogapi.local.apigw_import import install as honour_openapi

    honour_openapi()  # OpenAPI 3 and Chalice's Swagger 2.0, applied as AWS applies them
    share_pool_signing_key()

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = LatencyCounter(
        DomainDispatcherApplication(create_backend_app), latency_ms / 1000.0, OperationNames(),
        quotas=Quotas() if quotas else None,
    )  # fmt: skip
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="sleep before each AWS call (default 50)"
    )
    parser.add_argument(
        "--quotas", action="store_true", help="refuse calls over API Gateway's quotas with 429"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    serve(args.port, args.latency_ms, args.quotas)


if __name__ == "__main__":
    main()
