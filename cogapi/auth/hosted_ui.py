"""Signing in through the Cognito hosted UI: authorize URL, PKCE, state, token endpoint, logout.

`HostedUiFlow` is one sign-in: it makes a fresh `state` and PKCE pair (S256, the only method
Cognito takes), builds the `/oauth2/authorize` URL and turns the callback's parameters into tokens
(the code flow redeems the code at `/oauth2/token` with the verifier; the implicit flow's tokens
are in the fragment already). `TokenEndpoint` talks to `/oauth2/token` and `/oauth2/revoke`; a
client with a secret authenticates with HTTP Basic (aws-notes: App client and OAuth).

The browser is passed in (`Opener`), as aws-cli does: the caller prints the URL first, then asks
the opener, so a missing or broken browser never hides the URL. `default_opener` is Python's
`webbrowser`, which honours `$BROWSER`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cogapi.auth import http_request
from cogapi.auth.callback_server import LOOPBACK_HOSTS, CallbackError, check_answer
from cogapi.errors import CogapiError, UsageError

Opener = Callable[[str], bool]
RESPONSE_TYPES = {"code": "code", "implicit": "token"}


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)[:96]  # 43..128 characters (RFC 7636)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def default_opener(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url, new=1)
    except webbrowser.Error:
        return False


def has_desktop(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether opening a browser is likely to work here (the `--open-browser` default)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("BROWSER"):
        return True
    if platform == "darwin" or platform.startswith("win"):
        return not env.get("SSH_CONNECTION")
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def loopback_callback(callback_urls: list[str]) -> str | None:
    """The first callback URL cogapi can serve itself (http on localhost or 127.0.0.1)."""
    for url in callback_urls:
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
            return url
    return None


@dataclass(frozen=True)
class TokenEndpoint:
    hosted_ui: str  # e.g. https://<prefix>.auth.<region>.amazoncognito.com
    client_id: str
    client_secret: str | None = None

    def _post(self, path: str, fields: dict[str, str]) -> http_request.HttpResponse:
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        if auth is None:
            fields = {**fields, "client_id": self.client_id}
        return http_request.post_form(f"{self.hosted_ui}{path}", fields, basic_auth=auth)

    def _tokens(self, r: http_request.HttpResponse, what: str) -> dict[str, Any]:
        body = r.json()
        if r.ok and isinstance(body, dict) and body.get("access_token"):
            return body
        error = body.get("error") if isinstance(body, dict) else None
        hints = {
            "invalid_grant": "the code or refresh token is used, expired or not this client's; "
            "sign in again with `cogapi token --force`",
            "invalid_client": "the client id is wrong, or the client has a secret: "
            "set COGAPI_CLIENT_SECRET",
            "unauthorized_client": "the app client does not allow this flow; check "
            "app_client.oauth_flows and run `cogapi up`",
        }
        raise CogapiError(
            f"the token endpoint refused the {what}: HTTP {r.status} {error or r.text[:200]}",
            hint=hints.get(str(error)),
        )

    def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        r = self._post("/oauth2/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        })  # fmt: skip
        return self._tokens(r, "authorization code")

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        r = self._post(
            "/oauth2/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        return self._tokens(r, "refresh token")

    def revoke(self, refresh_token: str) -> bool:
        return self._post("/oauth2/revoke", {"token": refresh_token}).ok


@dataclass
class HostedUiFlow:
    """One browser sign-in (`flow` is "code" or "implicit")."""

    endpoint: TokenEndpoint
    redirect_uri: str
    scopes: list[str]
    flow: str = "code"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    pkce: Pkce = field(default_factory=Pkce.new)

    def authorize_url(self) -> str:
        params = {
            "response_type": RESPONSE_TYPES[self.flow],
            "client_id": self.endpoint.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": self.state,
        }
        if self.flow == "code":
            params.update({"code_challenge": self.pkce.challenge, "code_challenge_method": "S256"})
        return f"{self.endpoint.hosted_ui}/oauth2/authorize?{urlencode(params)}"

    @property
    def callback_mode(self) -> str:
        return "query" if self.flow == "code" else "fragment"

    def params_from_pasted(self, pasted: str) -> dict[str, str]:
        """The callback parameters from the URL the browser was redirected to."""
        text = pasted.strip()
        parts = urlsplit(text)
        if not parts.scheme or not (parts.query or parts.fragment):
            raise UsageError(
                "that is not the redirected URL (it should start with "
                f"{self.redirect_uri} and carry {'?code=' if self.flow == 'code' else '#access_token='})",
                hint="copy the whole address from the browser's address bar after signing in",
            )
        base = text.split("?", 1)[0].split("#", 1)[0]
        if base != self.redirect_uri:
            raise UsageError(
                f"the pasted URL goes to {base}, not to {self.redirect_uri}",
                hint="paste the address of the page the sign-in ended on",
            )
        query = dict(parse_qsl(parts.query))
        fragment = dict(parse_qsl(parts.fragment))
        params = query if "error" in query or self.flow == "code" else fragment
        failure = check_answer(params, self.state)
        if failure is not None:
            raise failure
        return params

    def tokens(self, params: dict[str, str]) -> dict[str, Any]:
        """Tokens (the token endpoint's shape) from checked callback parameters."""
        if self.flow == "code":
            code = params.get("code")
            if not code:
                raise CallbackError("the callback carries no code")
            return self.endpoint.exchange_code(code, self.redirect_uri, self.pkce.verifier)
        if not params.get("access_token"):
            raise CallbackError(
                "the callback carries no access_token",
                hint="is the implicit flow allowed in app_client.oauth_flows?",
            )
        out: dict[str, Any] = {k: params[k] for k in ("access_token", "id_token") if params.get(k)}
        out["expires_in"] = int(params.get("expires_in") or 0)
        return out


def logout_url(hosted_ui: str, client_id: str, logout_uri: str) -> str:
    return f"{hosted_ui}/logout?{urlencode({'client_id': client_id, 'logout_uri': logout_uri})}"
