"""Clients, call counting, error translation and the test kill hook, shared by every service's
calls (see the package docstring for the quirks each one owns)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.session

from cogapi.errors import AwsError, NotFound, UsageError

READ_PREFIXES = ("Get", "List", "Describe")
NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "NotFoundException",
    "NoSuchEntity",
    "NoSuchEntityException",
    "UserPoolNotFoundException",
}
IAM_PROPAGATION_HINTS = ("cannot be assumed by Lambda", "role defined for the function")
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def make_session(profile: str | None, region: str) -> botocore.session.Session:
    try:
        session = botocore.session.Session(profile=profile)
        session.get_scoped_config()  # an unknown profile or a broken config file fails here
        session.set_config_variable("region", region)
        return session
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(
            f"AWS profile {profile!r} not found", hint="check ~/.aws/config or drop --profile"
        ) from None
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        raise settings_error(exc, profile) from None


CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def check_credential_variables() -> None:
    """A key with a space or a control character in it (a pasted newline) cannot sign: botocore
    sent it anyway, and a newline failed as an 'Invalid header value' after ten retries. Named,
    never quoted: the value is a secret."""
    for name in CREDENTIAL_VARIABLES:
        value = os.environ.get(name) or ""
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise UsageError(
                f"{name} holds a space or a control character (environment)",
                hint="set it to the key alone: a copy and paste may have added a newline or a space",
            )


SETTINGS_HINT = (
    "check the AWS_* environment variables and the profile in ~/.aws/config and "
    "~/.aws/credentials (or the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name)"
)


def settings_error(exc: BaseException, profile: str | None) -> UsageError:
    """The AWS settings themselves are unusable (a config file that does not parse, half a key
    pair, a profile loop, a credential_process that cannot run, an invalid AWS_* value): a
    usage error naming the profile, found before any request is sent."""
    where = f"AWS profile {profile!r}" if profile else "the default AWS profile and environment"
    if isinstance(exc, botocore.exceptions.ConfigParseError):
        path = exc.kwargs.get("path", "?")
        return UsageError(
            f"cannot parse the AWS config file {path} ({where})",
            hint="fix its [sections] and key = value lines, or point AWS_CONFIG_FILE / "
            "AWS_SHARED_CREDENTIALS_FILE at another file",
        )
    if isinstance(exc, OSError):  # only a credential_process is run while settings are read
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        return UsageError(f"cannot run the AWS credential_process: {what} ({where})", SETTINGS_HINT)
    return UsageError(f"the AWS settings cannot be used: {exc} ({where})", SETTINGS_HINT)


def _count_hook(name: str) -> int:
    """A test hook's count (0: off); a value that is not a whole number is a usage error that
    names the variable, not a traceback."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()):  # str.isdigit alone takes '²'
        raise UsageError(f"{name}={raw!r} is not a whole number", hint=f"unset {name}")
    return int(raw)


class AwsCore:
    """Clients, call counting and error translation; the per-service calls build on it."""

    def __init__(
        self,
        session: Any,
        region: str,
        endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str], None] | None = None,
        max_attempts: int = 10,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.sleep = sleep
        self.on_wait = on_wait or (lambda message: None)
        self.calls = 0
        self.mutating_calls = 0
        self.call_log: list[str] = []
        self._lock = threading.Lock()
        self._kill_after = _count_hook("COGAPI_TEST_KILL_AFTER")
        # The test hook's Ctrl-C: SIGINT to this process after that many mutating calls.
        self._interrupt_after = _count_hook("COGAPI_TEST_INTERRUPT_AFTER")
        self._call_log_file = os.environ.get("COGAPI_TEST_CALL_LOG") or None
        self._session = session
        self._max_attempts = max_attempts
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        self._account: str | None = None

    # ---- plumbing -------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The client for `service`, made on first use.

        Made lazily, one at a time (a session is not thread-safe), so discovery's first
        requests go out while the other clients are still being built: building all five up
        front costs over 0.1 s of model loading before any request.
        """
        with self._client_lock:
            client = self._clients.get(service)
            if client is None:
                # Throttling (429) and transient errors: botocore's standard mode retries with
                # backoff. API Gateway gets more attempts (DeleteRestApi is limited to 1 per 30 s
                # per account); the others fewer, so an unreachable endpoint fails in seconds.
                attempts = self._max_attempts if service == "apigateway" else 4
                cfg = botocore.config.Config(
                    region_name=self.region, connect_timeout=10, read_timeout=60,
                    retries={"mode": "standard", "max_attempts": attempts},
                )  # fmt: skip
                check_credential_variables()
                make = getattr(self._session, "create_client", None) or self._session.client
                try:  # credentials are resolved here, before the client's first request
                    client = make(service, config=cfg, endpoint_url=self.endpoint_url)
                except (botocore.exceptions.BotoCoreError, OSError) as exc:
                    profile = getattr(self._session, "profile", None)
                    raise settings_error(
                        exc, profile if isinstance(profile, str) else None
                    ) from None
                client.meta.events.register("before-call", self._count)
                client.meta.events.register("after-call", self._after)
                event = client.meta.service_model.service_id.hyphenize()
                client.meta.events.register_first(f"needs-retry.{event}", self._before_retry)
                client.meta.events.register(f"before-send.{event}", self._announce_retry)
                self._clients[service] = client
            return client

    @property
    def cognito(self) -> Any:
        return self.client("cognito-idp")

    @property
    def apigw(self) -> Any:
        return self.client("apigateway")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls += 1
            self.call_log.append(model.name)
            if not model.name.startswith(READ_PREFIXES):
                self.mutating_calls += 1
            if self._call_log_file:
                self._log_call(model)

    def _log_call(self, model: Any) -> None:
        """Test hook: one line per call (service, operation, HTTP verb, signed), so a test can
        check each against `cogapi iam-policy`."""
        auth = getattr(model, "auth", None) or []
        unsigned = getattr(model, "auth_type", None) == "none" or "smithy.api#noAuth" in auth
        line = "\t".join((
            model.service_model.service_name, model.name, str(model.http.get("method", "")),
            "unsigned" if unsigned else "signed",
        ))  # fmt: skip
        with open(str(self._call_log_file), "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _before_retry(
        self, caught_exception: Any = None, response: Any = None, request_dict: Any = None, **_: Any
    ) -> None:
        """Runs before botocore decides on a retry. A refused connection is not retried: nothing
        listens there (a wrong endpoint, `cogapi local` not started), and botocore's backoff
        would spend half a minute finding that out again. Anything else is noted, so the retry
        (if botocore makes one) can say why."""
        if isinstance(caught_exception, botocore.exceptions.EndpointConnectionError) and (
            _refused(caught_exception) or _unresolvable(caught_exception)
        ):
            raise caught_exception  # also a host name DNS says does not exist (a made-up region)
        # A TLS refusal that the next attempt would meet again (plain HTTP on the port, an
        # untrusted certificate, a CA bundle that is not there) is not retried either.
        if isinstance(caught_exception, botocore.exceptions.SSLError) and _tls_refusal(
            caught_exception
        ):
            raise caught_exception
        if request_dict is not None:
            request_dict.setdefault("context", {})["cogapi_retry_reason"] = _failure(
                caught_exception, response
            )

    def _announce_retry(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        """Each retry says what, where, and attempt n of m, on stderr (through `on_wait`)."""
        context = getattr(request, "context", None) or {}
        retries = context.get("retries") or {}
        attempt = int(retries.get("attempt") or 1)
        if attempt <= 1:
            return
        op = event_name.rsplit(".", 1)[-1] or "the call"  # before-send.<service>.<Operation>
        where = urllib.parse.urlsplit(getattr(request, "url", "") or "").netloc or "AWS"
        reason = context.get("cogapi_retry_reason") or "a transient error"
        self.on_wait(
            f"  retrying {op} at {where} after {reason} "
            f"(attempt {attempt} of {retries.get('max', '?')})"
        )

    def _after(self, model: Any, http_response: Any = None, **_: Any) -> None:
        # A web page, or a JSON service's answer that is not JSON (a web server at the endpoint),
        # parses as an empty result ("no user pool", where the truth is "not AWS") or as an
        # error with no code ("Unknown").
        body = getattr(http_response, "content", None) if http_response is not None else None
        if isinstance(body, bytes) and body.strip():
            start = body.lstrip()[:15].lower()
            json_service = model.service_model.protocol in ("json", "rest-json")
            if start.startswith((b"<!doctype html", b"<html")) or (
                json_service and start[:1] == b"<"
            ):
                raise NotAwsAnswer(f"HTTP {http_response.status_code} and a web page")
            if json_service and start[:1] not in (b"{", b"["):
                raise NotAwsAnswer(f"HTTP {http_response.status_code} and a body that is not JSON")
        if self._interrupt_after and not model.name.startswith(READ_PREFIXES):
            with self._lock:
                self._interrupt_after -= 1
                if self._interrupt_after == 0:
                    os.kill(os.getpid(), signal.SIGINT)
        if self._kill_after and not model.name.startswith(READ_PREFIXES):
            status = getattr(http_response, "status_code", 200)
            with self._lock:
                if status < 300:
                    self._kill_after -= 1
                    if self._kill_after == 0:
                        os.kill(os.getpid(), signal.SIGKILL)

    def _call(self, client: Any, op: str, where: str, **params: Any) -> Any:
        try:
            return getattr(client, op)(**params)
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "")
            message = err.get("Message", "") or str(exc)
            if code in NOT_FOUND_CODES or (
                code == "InvalidParameterException" and "does not exist" in message
            ):
                raise NotFound(f"{where} not found") from None
            if code.isdigit() and message.lstrip().startswith("<"):  # no AWS error: a web page
                raise _not_aws(client, op, where, f"HTTP {code} and a web page") from None
            raise AwsError(f"{op} failed for {where}: {code}: {message}", hint=_hint(code)) from exc
        except botocore.exceptions.NoCredentialsError:
            raise AwsError(
                "no AWS credentials found",
                hint="set AWS_PROFILE or pass --profile, or run `aws configure`; "
                "for the local stand-in any non-empty AWS_ACCESS_KEY_ID works",
            ) from None
        except botocore.exceptions.EndpointConnectionError as exc:
            endpoint = exc.kwargs.get("endpoint_url", "?")
            if _unresolvable(exc):
                raise AwsError(
                    f"cannot reach AWS at {endpoint} ({op}): the host name does not resolve",
                    hint="check --region and --endpoint-url / AWS_ENDPOINT_URL (and the network)",
                ) from None
            raise AwsError(
                f"cannot reach AWS at {endpoint} ({op})",
                hint="check --endpoint-url / AWS_ENDPOINT_URL, or start `cogapi local`",
            ) from None
        except botocore.exceptions.SSLError as exc:
            raise AwsError(f"{op} failed for {where}: {exc}", hint=_tls_refusal(exc)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsError(f"{op} failed for {where}: {exc}") from None
        except (botocore.parsers.ResponseParserError, KeyError, TypeError, ValueError) as exc:
            if not _raised_by_the_parser(exc):
                raise
            raise _not_aws(client, op, where, "an answer botocore cannot parse") from None
        except NotAwsAnswer as exc:
            raise _not_aws(client, op, where, str(exc)) from None

    def _delete(self, client: Any, op: str, where: str, **params: Any) -> None:
        """A delete that is done when the thing is already gone (teardown re-runs are no-ops)."""
        with contextlib.suppress(NotFound):
            self._call(client, op, where, **params)

    def _pages(
        self, client: Any, op: str, where: str, token_key: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a paginated call, fetched as the caller asks for the next (so a caller
        may make other calls between pages); `token_key` names the page token in both the
        request and the answer (`NextToken`, `PaginationToken`, `position`)."""
        token = None
        while True:
            page = self._call(
                client, op, where, **({**params, token_key: token} if token else params)
            )
            yield page
            token = page.get(token_key)
            if not token:
                return

    def _read(self, client: Any, op: str, where: str, **params: Any) -> Any:
        try:
            return self._call(client, op, where, **params)
        except NotFound:
            return None

    def account_id(self) -> str:
        if self._account is None:
            ident = self._call(self.client("sts"), "get_caller_identity", "caller identity")
            self._account = str(ident["Account"])
        return self._account


class NotAwsAnswer(Exception):
    """Raised by the after-call hook when an answer is plainly not AWS's (names what it was)."""


def _raised_by_the_parser(exc: BaseException) -> bool:
    """Whether botocore's response parser raised this: it fails with ResponseParserError, or,
    on well-formed XML of the wrong shape (an HTML page answering 200), with a bare KeyError."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__") == "botocore.parsers"


def _not_aws(client: Any, op: str, where: str, answer: str) -> AwsError:
    """The endpoint answered, but not as AWS does: a web server, a proxy, the wrong port."""
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None) or "the endpoint"
    return AwsError(
        f"{op} failed for {where}: {endpoint} does not answer as AWS does ({answer})",
        hint="check --endpoint-url / AWS_ENDPOINT_URL: it should be AWS or `cogapi local`",
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error botocore wraps (its `error` kwarg) and what caused that, ten deep at most."""
    seen: BaseException | None = exc.kwargs.get("error") if hasattr(exc, "kwargs") else exc
    for _ in range(10):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _tls_refusal(exc: BaseException) -> str | None:
    """What to do about a TLS failure that would fail the same way again, or None (retry it)."""
    for seen in _causes(exc):
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "the endpoint's certificate is not trusted: check the URL, or AWS_CA_BUNDLE"
        if isinstance(seen, ssl.SSLError) and seen.reason == "WRONG_VERSION_NUMBER":
            return "the endpoint speaks plain HTTP there: write http://, not https://"
        if isinstance(seen, FileNotFoundError):
            return "the CA bundle is not there: check AWS_CA_BUNDLE (or ca_bundle in ~/.aws/config)"
    return None


def _unresolvable(exc: BaseException) -> bool:
    """Whether DNS answered that the host does not exist (not "try again": that one is retried)."""
    for seen in _causes(exc):
        if isinstance(seen, socket.gaierror):
            return seen.errno in (
                socket.EAI_NONAME,
                getattr(socket, "EAI_NODATA", socket.EAI_NONAME),
            )
    return False


def _refused(exc: BaseException) -> bool:
    """Whether a connection error was a refused connection (ECONNREFUSED), however wrapped."""
    return any(isinstance(seen, ConnectionRefusedError) for seen in _causes(exc))


def _failure(exc: BaseException | None, response: Any) -> str:
    if exc is not None:
        return type(exc).__name__
    http, parsed = response if isinstance(response, tuple) else (None, {})
    code = ((parsed or {}).get("Error") or {}).get("Code")
    status = getattr(http, "status_code", None)
    return f"{code} (HTTP {status})" if code else f"HTTP {status}"


def _hint(code: str) -> str | None:
    return {
        "AccessDeniedException": "the AWS identity lacks a permission; `cogapi iam-policy` prints the policy cogapi needs",
        "AccessDenied": "the AWS identity lacks a permission; `cogapi iam-policy` prints the policy cogapi needs",
        "UnrecognizedClientException": "the credentials are not valid for this endpoint",
        "InvalidClientTokenId": "the credentials are not valid for this endpoint",
        "ExpiredToken": "refresh your AWS session (aws sso login)",
        "ExpiredTokenException": "refresh your AWS session (aws sso login)",
        "TooManyRequestsException": "API Gateway throttled us even after retries; wait a minute and re-run",
        "LimitExceededException": "an AWS quota was reached; see the Service Quotas console",
    }.get(code)
