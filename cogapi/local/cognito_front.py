"""What the two halves of the Cognito API front share (`cognito_signin`, `cognito_user_calls`):
the `Answer` a handler returns, AWS's error shape, and the base class with the server's state and
the way to hand a call to moto and read its answer. The design is in `cognito_api`'s docstring.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cogapi.local.edge import HostedUi
from cogapi.local.moto_state import ClientView, MotoState
from cogapi.local.tokens import KeySet

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
NOT_FOUND = "Username/client id combination not found."

StartResponse = Callable[..., Any]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]

    @property
    def error(self) -> str | None:
        kind = self.body.get("__type") if self.status >= 400 else None
        return str(kind).rsplit("#", 1)[-1] if kind else None

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.body.get("Message") or "")


def ok(body: dict[str, Any], status: int = 200) -> Answer:
    return Answer(status, body, [("x-amzn-RequestId", str(uuid.uuid4()))])


def fail(kind: str, message: str) -> Answer:
    answer = ok({"__type": kind, "message": message}, 400)
    answer.headers.append(("x-amzn-ErrorType", f"{kind}:"))
    return answer


def client_not_found(body: dict[str, Any]) -> Answer:
    return fail(
        "ResourceNotFoundException", f"User pool client {body.get('ClientId')} does not exist."
    )


def with_body(environ: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """`environ` with `raw` as its body (moto reads the body from the stream)."""
    return {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}


class CognitoFront:
    """The state both halves use (set by `CognitoApi.__init__`) and their way to moto."""

    state: MotoState
    hosted_ui: HostedUi
    keys: KeySet
    endpoint: str
    moto_app: Callable[..., Iterable[bytes]]
    clock: Callable[[], float]
    _lock: threading.Lock

    def _moto(self, environ: dict[str, Any], body: dict[str, Any]) -> Answer:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            return lambda data: None

        result = self.moto_app(with_body(environ, json.dumps(body).encode()), capture)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        try:
            parsed = json.loads(data or b"{}")
        except ValueError:
            parsed = {"__type": "InternalErrorException", "message": data.decode(errors="replace")}
        status = int(str(seen.get("status", "500")).split(" ", 1)[0])
        return Answer(status, parsed if isinstance(parsed, dict) else {}, seen.get("headers", []))

    def _client_for(self, body: dict[str, Any]) -> ClientView | None:
        client_id = str(body.get("ClientId") or "")
        pool_id = body.get("UserPoolId") or self.state.pool_of_client(client_id)
        return self.state.client(str(pool_id), client_id) if pool_id and client_id else None
