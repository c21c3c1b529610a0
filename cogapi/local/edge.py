"""Cognito's edge for a user pool domain: the hosted UI, the OAuth 2.0 endpoints, JWKS, discovery.

Behaviour follows aws-notes ("What AWS's edge looks like from outside"):
- `/oauth2/authorize` checks the client, the exact redirect URI (a mismatch never redirects to it:
  `/error?error=redirect_mismatch`), the flow, the scopes and PKCE (S256 only), then 302s to
  `/login` with the same query and an `XSRF-TOKEN` cookie that the form must post back as `_csrf`.
- `/oauth2/token` redeems a single-use, 5-minute code (PKCE-checked) or a refresh token (no new
  refresh token), with HTTP Basic for a client with a secret; errors are 400 `{"error": ...}`.
- `/oauth2/userInfo` wants an access token with `openid`; errors only in `WWW-Authenticate`. It
  answers what the token's client may read, within the token's scopes (`userinfo_attributes`).
- A sign-in through the hosted UI (the login form, or a sign-up's code) starts a session: a
  `cognito` cookie, good for `SESSION_SECONDS` (AWS's hosted UI session lasts an hour). While it
  lasts, `/oauth2/authorize` for any client of the pool answers at once, as on AWS, keeping the
  first sign-in's `auth_time`. `prompt=login` shows the form anyway; `prompt=none` without a
  session redirects `error=login_required` (and `none` with another value `invalid_request`);
  `select_account` and `consent` change nothing for the pool's own users. `/logout` ends it.
- After the password (or a sign-up's code), a user with an authenticator gets `/mfa`'s code page,
  and where the pool requires MFA a user without one sets it up there first (`software_tokens`);
  the session starts once the code was right.
- `/signup` in a pool that verifies email addresses makes an unconfirmed user, "sends" a code
  (into the outbox: `codes`) and 302s to `/confirm`, whose form takes that code (or sends a new
  one); a right code confirms the user, verifies the address and continues the sign-in, as the
  hosted UI does on AWS, in the browser that signed up (a cookie ties the two); elsewhere the
  user is confirmed and sent to the login form. In a pool that verifies nothing the user is
  confirmed at once.
Codes and refresh tokens (`grants`) live in memory: they die with the server, as the keys do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from cogapi.local import codes, lockout, mfa, pages, urls
from cogapi.local.grants import TokenIssuer
from cogapi.local.moto_errors import Refused, schema_refusal
from cogapi.local.moto_state import (
    INCORRECT,
    ClientView,
    MotoState,
    PoolView,
    SignInError,
    UnknownUser,
)
from cogapi.local.software_tokens import CHALLENGE_MISMATCH, VERIFY_MISMATCH, SoftwareTokens
from cogapi.local.tokens import Grant, InvalidToken, KeySet, Subject, is_expired

CODE_SECONDS = 300
XSRF_COOKIE = "XSRF-TOKEN"
SIGNUP_COOKIE = "cogapi-signup"  # ties /confirm's sign-in to the browser that signed up
SIGNUP_SECONDS = 24 * 3600  # as long as the sign-up code lives
SESSION_COOKIE = "cognito"  # the hosted UI's session, as AWS names its cookie
SESSION_SECONDS = 3600  # AWS: a hosted UI session lasts one hour
MFA_SECONDS = 180  # the code page after the password, as long as an API sign-in's session
_EXPIRED = "Your session has expired. Please try again."
_FLOW = {"code": "code", "token": "implicit"}


# What userInfo answers for each scope besides `openid` (AWS's userInfo endpoint documentation);
# `profile` also gives the custom attributes.
_PROFILE = frozenset(("name", "family_name", "given_name", "middle_name", "nickname",
                      "preferred_username", "profile", "picture", "website", "gender",
                      "birthdate", "zoneinfo", "locale", "updated_at"))  # fmt: skip
_SCOPE_ATTRIBUTES = {
    "email": frozenset(("email", "email_verified")),
    "phone": frozenset(("phone_number", "phone_number_verified")),
}


def userinfo_attributes(scopes: list[str], readable: dict[str, str]) -> dict[str, str]:
    """Of the attributes a client may read, those userInfo answers for an access token with
    `scopes`: all of them for `openid` alone; else `sub` and what `profile`, `email` and
    `phone` each name (`aws.cognito.signin.user.admin` and resource server scopes change
    nothing)."""
    asked = [s for s in scopes if s == "profile" or s in _SCOPE_ATTRIBUTES]
    if not asked:
        return dict(readable)
    named = frozenset().union(*(_SCOPE_ATTRIBUTES.get(s, frozenset()) for s in asked))

    def wanted(name: str) -> bool:
        if name == "sub" or name in named:
            return True
        return "profile" in asked and (name in _PROFILE or name.startswith("custom:"))

    return {name: value for name, value in readable.items() if wanted(name)}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _redirect(location: str, status: int = 302) -> Response:
    return Response("", status=status, headers={"Location": location})


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _to_callback(redirect_uri: str, state: str | None, params: dict[str, str]) -> Response:
    """The redirect to a client's callback with `params`, and the request's `state` if any."""
    if state is not None:
        params = {**params, "state": state}
    return _redirect(_with_query(redirect_uri, params))


def _cookie_path(base: str) -> str:
    """The path of a domain's hosted UI (`base`): its cookies are scoped to it."""
    return "/" + base.split("://", 1)[-1].partition("/")[2]


def _masked(email: str) -> str:
    """The address as the hosted UI shows where a code went: `b***@e***`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***" if domain else ""


@dataclass(frozen=True)
class AuthRequest:
    """A validated `/oauth2/authorize` query (also carried through `/login` and `/signup`)."""

    client: ClientView
    redirect_uri: str
    response_type: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    nonce: str | None = None


@dataclass(frozen=True)
class _Session:
    """A browser's sign-in at one pool's hosted UI (`SESSION_COOKIE`)."""

    pool_id: str
    username: str
    auth_time: int
    expires: float


@dataclass(frozen=True)
class _MfaStep:
    """A password accepted on the login form, waiting for the authenticator's code (and, with
    `secret`, for the setup of that authenticator), or with `texted_to` for a code texted there
    (the number masked, as the page shows it)."""

    pool_id: str
    username: str
    secret: str | None
    expires: float
    texted_to: str | None = None


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    grant: Grant
    expires: float


class HostedUi(TokenIssuer):
    """One per server; serves every domain moto knows (`handle(request, domain, action)`), and
    issues tokens as `TokenIssuer`."""

    def __init__(
        self, state: MotoState, keys: KeySet, endpoint: str, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(state, keys, endpoint, clock)
        self._codes: dict[str, _Code] = {}
        self.outbox: codes.Outbox | None = None  # where sign-up codes go; the server sets it
        self._signups: dict[str, tuple[str, str, float]] = {}  # ticket -> pool, user, expiry
        self._sessions: dict[str, _Session] = {}  # SESSION_COOKIE's value -> the sign-in
        self.software_tokens = SoftwareTokens(clock)  # TOTP secrets, for the API and this UI
        self.lockouts = lockout.Lockouts(clock)  # failed sign-ins, for the API and this UI
        self._mfa_steps: dict[str, _MfaStep] = {}  # the code page's ticket -> its sign-in

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, domain: str, action: str) -> Response:
        pool = self.state.pool_for_domain(domain)
        if pool is None:
            return json_response({"error": "unknown domain"}, 404)
        base = urls.hosted_ui_base(self.endpoint, domain)
        method = request.method
        if action == "oauth2/authorize" and method == "GET":
            return self.authorize(request, pool, base)
        if action == "login" and method in ("GET", "POST"):
            return self.login(request, pool, base)
        if action == "signup" and method in ("GET", "POST"):
            return self.signup(request, pool, base)
        if action == "confirm" and method in ("GET", "POST"):
            return self.confirm(request, pool, base)
        if action == "mfa" and method == "POST":
            return self.mfa(request, pool, base)
        if action == "oauth2/token" and method == "POST":
            return self.token(request, pool)
        if action == "oauth2/userInfo" and method in ("GET", "POST"):
            return self.userinfo(request, pool)
        if action == "oauth2/revoke" and method == "POST":
            return self.revoke(request, pool)
        if action == "logout" and method == "GET":
            return self.logout(request, pool, base)
        if action == "error" and method == "GET":
            return Response(
                pages.error_page(
                    request.args.get("error", "error"), request.args.get("error_description", "")
                ),
                status=400,
                content_type="text/html; charset=utf-8",
            )
        return json_response({"error": "not found"}, 404)

    # --- authorize / login / signup ------------------------------------------------------------

    def _check(self, request: Request, pool: PoolView, base: str) -> AuthRequest | Response:
        args = request.args
        client_id = args.get("client_id", "")
        client = self.state.client(pool.pool_id, client_id) if client_id else None
        if client is None:
            return _redirect(
                f"{base}/error?"
                + urlencode(
                    {"error": "invalid_request", "error_description": "client_id is not valid"}
                )
            )
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in client.callback_urls:  # exact match, trailing slash included
            return _redirect(
                f"{base}/error?" + urlencode({"error": "redirect_mismatch", "client_id": client_id})
            )
        state = args.get("state")

        def fail(error: str) -> Response:
            return _to_callback(redirect_uri, state, {"error": error})

        response_type = args.get("response_type", "")
        if response_type not in _FLOW:
            return fail("invalid_request")
        if not client.hosted_ui_enabled or _FLOW[response_type] not in client.oauth_flows:
            return fail("unauthorized_client")
        requested = tuple(args.get("scope", "").split())
        scopes = requested or client.oauth_scopes
        if not scopes or any(s not in client.oauth_scopes for s in scopes):
            return fail("invalid_scope")
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method")
        if (method is not None and method != "S256") or (challenge and method is None):
            return fail("invalid_request")
        return AuthRequest(
            client, redirect_uri, response_type, scopes, state, challenge or None, args.get("nonce")
        )

    def authorize(self, request: Request, pool: PoolView, base: str) -> Response:
        checked = self._check(request, pool, base)
        if isinstance(checked, Response):
            return checked
        prompt = request.args.get("prompt", "").split()
        if "none" in prompt and len(prompt) > 1:  # OIDC Core 3.1.2.1: none stands alone
            return _to_callback(checked.redirect_uri, checked.state, {"error": "invalid_request"})
        if "login" not in prompt:
            session = self._session(request, pool)
            if session is not None:
                subject = self.state.subject(pool.pool_id, session.username)
                if subject is not None:  # still there and enabled
                    return self._signed_in(pool, base, checked, subject, session=session)
            if "none" in prompt:
                return _to_callback(
                    checked.redirect_uri, checked.state, {"error": "login_required"}
                )
        response = _redirect(f"{base}/login?{request.query_string.decode()}")
        self._set_xsrf(response, base)
        return response

    def _session(self, request: Request, pool: PoolView) -> _Session | None:
        """The browser's live session at this pool, if it sent one."""
        with self._lock:
            session = self._sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if session is None or session.pool_id != pool.pool_id or session.expires <= self.clock():
            return None
        return session

    @staticmethod
    def _set_xsrf(response: Response, base: str) -> str:
        token = str(uuid.uuid4())
        response.set_cookie(
            XSRF_COOKIE, token, path=_cookie_path(base), httponly=True, samesite="Lax"
        )
        return token

    def _form_response(self, html: str, base: str, status: int = 200) -> Response:
        """A form page with a fresh XSRF cookie; the hidden `_csrf` field gets the same value."""
        response = Response("", status=status, content_type="text/html; charset=utf-8")
        token = self._set_xsrf(response, base)
        response.set_data(html.replace("__CSRF__", token))
        return response

    def _csrf_ok(self, request: Request) -> bool:
        cookie = request.cookies.get(XSRF_COOKIE, "")
        return bool(cookie) and secrets.compare_digest(cookie, request.form.get("_csrf", ""))

    def _login_form(
        self,
        request: Request,
        pool: PoolView,
        base: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        query = request.query_string.decode()
        signup = f"{base}/signup?{query}" if pool.allow_self_signup else None
        html = pages.login_page(
            f"{base}/login?{query}", "__CSRF__", error, signup, request.form.get("username", "")
        )
        return self._form_response(html, base, status)

    def login(self, request: Request, pool: PoolView, base: str) -> Response:
        checked = self._check(request, pool, base)
        if isinstance(checked, Response):
            return checked
        if request.method == "GET":
            return self._login_form(request, pool, base)
        if not self._csrf_ok(request):
            return self._login_form(request, pool, base, _EXPIRED, status=400)
        given = request.form.get("username", "")
        record = self.state.user_record(pool.pool_id, given) if given else None
        if record is not None and self.lockouts.locked(pool.pool_id, record.username):
            return self._login_form(request, pool, base, lockout.EXCEEDED[1])
        try:
            subject = self.state.authenticate(pool.pool_id, given, request.form.get("password", ""))
        except UnknownUser as exc:  # LEGACY clients tell; ENABLED ones answer as a bad password
            message = (
                str(exc) if checked.client.prevent_user_existence_errors else "User does not exist."
            )
            return self._login_form(request, pool, base, message)
        except SignInError as exc:
            if record is not None and str(exc) == INCORRECT:
                self.lockouts.failed(pool.pool_id, record.username)
            return self._login_form(request, pool, base, str(exc))
        return self._after_password(request, pool, base, checked, subject)

    def signup(self, request: Request, pool: PoolView, base: str) -> Response:
        """Create a user from the form (the email address and the pool's other required
        attributes, as AWS's form asks for them). Where the pool verifies email addresses, the
        user is unconfirmed until the code "sent" to the address comes back (`confirm`);
        elsewhere it is confirmed at once and the sign-in continues."""
        if not pool.allow_self_signup:
            return Response(
                pages.error_page("SignUp is not permitted for this user pool"),
                status=400,
                content_type="text/html; charset=utf-8",
            )
        checked = self._check(request, pool, base)
        if isinstance(checked, Response):
            return checked
        email_is_username = "email" in pool.username_attributes
        query = request.query_string.decode()
        asked = tuple(a for a in pool.required_attributes if a != "email")

        def form(error: str | None = None, status: int = 200) -> Response:
            html = pages.signup_page(
                f"{base}/signup?{query}",
                "__CSRF__",
                email_is_username,
                error,
                f"{base}/login?{query}",
                asked,
            )
            return self._form_response(html, base, status)

        if request.method == "GET":
            return form()
        if not self._csrf_ok(request):
            return form(_EXPIRED, status=400)
        email = request.form.get("email", "")
        username = email if email_is_username else request.form.get("username", "")
        verify = "email" in pool.auto_verified_attributes and self.outbox is not None
        attributes = {"email": email, **{a: request.form.get(a, "").strip() for a in asked}}
        refused = schema_refusal(pool.missing_required(username, attributes))
        if refused is not None:  # a form posted without the browser's own checks
            return form(refused.message, status=400)
        try:
            subject = self.state.sign_up(
                pool.pool_id,
                checked.client.client_id,
                username,
                request.form.get("password", ""),
                attributes,
                confirmed=not verify,
            )
        except SignInError as exc:
            return form(str(exc))
        if not verify:
            return self._after_password(request, pool, base, checked, subject)
        assert self.outbox is not None
        self.outbox.send(pool.pool_id, subject.username, codes.SIGN_UP, "email", email)
        carried = [(k, v) for k, v in request.args.items(multi=True) if k != "username"]
        response = _redirect(
            f"{base}/confirm?" + urlencode([*carried, ("username", subject.username)])
        )  # one user name: the new user's, whatever the sign-in's query carried
        # The browser that signed up (it gave the password) is the one the code signs in.
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            self._signups = {k: v for k, v in self._signups.items() if v[2] > now}
            self._signups[ticket] = (pool.pool_id, subject.username, now + SIGNUP_SECONDS)
        response.set_cookie(
            SIGNUP_COOKIE, ticket, path=_cookie_path(base), httponly=True, samesite="Lax"
        )
        return response

    def confirm(self, request: Request, pool: PoolView, base: str) -> Response:
        """The sign-up's code: a form for it, a new one on request, and on the right code the
        user confirmed, the address verified and the sign-in continued."""
        checked = self._check(request, pool, base)
        if isinstance(checked, Response):
            return checked
        username = request.args.get("username", "")
        user = self.state.user_record(pool.pool_id, username)
        subject = self.state.subject(pool.pool_id, username) if user else None
        query = request.query_string.decode()

        def form(error: str | None = None, notice: str | None = None) -> Response:
            email = subject.attributes.get("email", "") if subject else ""
            html = pages.confirm_page(
                f"{base}/confirm?{query}", "__CSRF__", _masked(email), error, notice
            )
            return self._form_response(html, base, 400 if error else 200)

        if user is None or subject is None or self.outbox is None:
            if checked.client.prevent_user_existence_errors and self.outbox is not None:
                # as ConfirmSignUp answers then: nothing tells an unknown user from a known one
                if request.method == "GET":
                    return form()
                if request.form.get("resend"):
                    return form(notice="A new code was sent.")
                return form(codes.MISMATCH[1])
            return form("Username/client id combination not found.")
        if user.status != "UNCONFIRMED":
            return form(f"User cannot be confirmed. Current status is {user.status}")
        if request.method == "GET":
            return form()
        if not self._csrf_ok(request):
            return form(_EXPIRED)
        email = subject.attributes.get("email", "")
        if request.form.get("resend"):
            self.outbox.send(pool.pool_id, user.username, codes.SIGN_UP, "email", email)
            return form(notice="A new code was sent.")
        accepted = self.outbox.check(
            pool.pool_id, user.username, codes.SIGN_UP, request.form.get("code", "").strip()
        )
        if isinstance(accepted, Refused):
            return form(accepted.message)
        confirmed = self.state.confirm_user(pool.pool_id, user.username, accepted.attribute)
        if confirmed is None:
            return form("Username/client id combination not found.")
        with self._lock:
            ticket = self._signups.pop(request.cookies.get(SIGNUP_COOKIE, ""), None)
        if (
            ticket is None
            or ticket[:2] != (pool.pool_id, user.username)
            or ticket[2] < self.clock()
        ):
            # confirmed, but not by the browser that signed up: it signs in with the password
            carried = [(k, v) for k, v in request.args.items(multi=True) if k != "username"]
            return _redirect(f"{base}/login?" + urlencode(carried))
        return self._after_password(request, pool, base, checked, confirmed)

    # --- multi-factor authentication (TOTP: `software_tokens`; SMS: `mfa`, the outbox) ---------

    def _after_password(
        self, request: Request, pool: PoolView, base: str, req: AuthRequest, subject: Subject
    ) -> Response:
        """The sign-in, once the password (or a sign-up's code) was right: at once, or after
        the second factor's code where the user has one (their authenticator's, or one texted
        to them: into the outbox), or an authenticator's setup where the pool requires MFA and
        the user has none (`MotoState.mfa_step`)."""
        step = self.state.mfa_step(pool.pool_id, subject.username)
        if step is None:
            return self._signed_in(pool, base, req, subject)
        secret = texted_to = None
        if step == "setup":
            secret = self.software_tokens.associate(pool.pool_id, subject.username)
        elif step == "sms":
            phone = subject.attributes.get("phone_number", "")
            if self.outbox is None or not phone:
                return self._signed_in(pool, base, req, subject)
            self.outbox.send(pool.pool_id, subject.username, codes.SIGN_IN, "phone_number", phone)
            texted_to = mfa.masked(phone)
        ticket = secrets.token_urlsafe(24)
        now = self.clock()
        waiting = _MfaStep(pool.pool_id, subject.username, secret, now + MFA_SECONDS, texted_to)
        with self._lock:
            self._mfa_steps = {k: v for k, v in self._mfa_steps.items() if v.expires > now}
            self._mfa_steps[ticket] = waiting
        return self._mfa_form(request, base, ticket, waiting)

    def take_texted_code(self, pool_id: str, username: str, code: str) -> Refused | None:
        """An SMS MFA code checked against the one texted (the outbox's), for the API's SMS_MFA
        challenge and the code page alike: None when right (it is used up, and the phone number
        verified, as Cognito's first SMS MFA does), else the outbox's refusal (`codes.EXPIRED`,
        or a mismatch, which counts towards the lockout)."""
        checked = self.outbox.check(pool_id, username, codes.SIGN_IN, code) if self.outbox else None
        if checked == codes.EXPIRED:
            return codes.EXPIRED
        if not isinstance(checked, codes.Message):
            self.lockouts.failed(pool_id, username)
            return codes.MISMATCH
        self.state.set_user_attributes(pool_id, username, {"phone_number_verified": "true"})
        return None

    def _mfa_form(
        self, request: Request, base: str, ticket: str, step: _MfaStep, error: str | None = None
    ) -> Response:
        query = request.query_string.decode()
        html = pages.mfa_page(
            f"{base}/mfa?{query}", "__CSRF__", ticket, step.secret, error, step.texted_to
        )
        return self._form_response(html, base, 400 if error else 200)

    def mfa(self, request: Request, pool: PoolView, base: str) -> Response:
        """The code page's post: the second factor's code for the sign-in its ticket holds."""
        checked = self._check(request, pool, base)
        if isinstance(checked, Response):
            return checked
        ticket = request.form.get("mfa_ticket", "")
        with self._lock:
            step = self._mfa_steps.get(ticket)
        if step is None or step.pool_id != pool.pool_id or step.expires <= self.clock():
            return self._login_form(request, pool, base, _EXPIRED, status=400)
        if not self._csrf_ok(request):
            return self._mfa_form(request, base, ticket, step, _EXPIRED)
        if self.lockouts.locked(step.pool_id, step.username):
            return self._mfa_form(request, base, ticket, step, lockout.EXCEEDED[1])
        code = request.form.get("totp", "")
        tokens = self.software_tokens
        if step.texted_to is not None:
            refused = self.take_texted_code(step.pool_id, step.username, code)
            if refused == codes.EXPIRED:
                return self._login_form(request, pool, base, _EXPIRED, status=400)
            if refused is not None:
                return self._mfa_form(request, base, ticket, step, mfa.CODE_MISMATCH[1])
        elif step.secret is not None:
            if not tokens.pending_matches(step.pool_id, step.username, code):
                return self._mfa_form(request, base, ticket, step, VERIFY_MISMATCH[1])
            tokens.confirm(step.pool_id, step.username)
            self.state.enable_software_token(step.pool_id, step.username)
        elif not tokens.sign_in_matches(step.pool_id, step.username, code):
            self.lockouts.failed(step.pool_id, step.username)
            return self._mfa_form(request, base, ticket, step, CHALLENGE_MISMATCH[1])
        with self._lock:
            self._mfa_steps.pop(ticket, None)
        subject = self.state.subject(step.pool_id, step.username)
        if subject is None:  # disabled or deleted meanwhile
            return self._login_form(request, pool, base, _EXPIRED, status=400)
        return self._signed_in(pool, base, checked, subject)

    def _signed_in(
        self,
        pool: PoolView,
        base: str,
        req: AuthRequest,
        subject: Subject,
        session: _Session | None = None,
    ) -> Response:
        """The redirect that ends a sign-in. Without `session` the user has just signed in here,
        and the browser gets a new one; with it, the sign-in is that session's (its auth_time)."""
        grant = self.grant_for(
            pool.pool_id,
            req.client,
            subject,
            req.scopes,
            auth_time=None if session is None else session.auth_time,
            nonce=req.nonce,
        )
        response = self._grant_redirect(pool, req, grant)
        if session is None:  # a completed sign-in
            self.lockouts.succeeded(pool.pool_id, subject.username)
            ticket = secrets.token_urlsafe(32)
            now = self.clock()
            with self._lock:
                self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
                self._sessions[ticket] = _Session(
                    pool.pool_id, subject.username, grant.auth_time, now + SESSION_SECONDS
                )
            response.set_cookie(
                SESSION_COOKIE,
                ticket,
                max_age=SESSION_SECONDS,
                path=_cookie_path(base),
                httponly=True,
                samesite="Lax",
            )
        return response

    def _grant_redirect(self, pool: PoolView, req: AuthRequest, grant: Grant) -> Response:
        if req.response_type == "code":
            code = str(uuid.uuid4())
            with self._lock:
                self._codes[code] = _Code(
                    req.client.client_id,
                    req.redirect_uri,
                    req.code_challenge,
                    grant,
                    self.clock() + CODE_SECONDS,
                )
            return _to_callback(req.redirect_uri, req.state, {"code": code})
        tokens = self.mint(pool.pool_id, grant)
        fragment: dict[str, str] = {"access_token": tokens.access_token}
        if tokens.id_token:
            fragment["id_token"] = tokens.id_token
        fragment.update({"token_type": "Bearer", "expires_in": str(tokens.expires_in)})
        if req.state is not None:
            fragment["state"] = req.state
        return _redirect(f"{req.redirect_uri}#{urlencode(fragment)}")

    # --- token / userInfo / revoke / logout ----------------------------------------------------

    def _client_auth(self, request: Request, pool: PoolView) -> ClientView | None:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username or "", auth.password
        client = self.state.client(pool.pool_id, client_id) if client_id else None
        if client is None:
            return None
        if client.secret is not None and not secrets.compare_digest(client.secret, secret or ""):
            return None
        return client

    def token(self, request: Request, pool: PoolView) -> Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}

        def error(code: str) -> Response:
            return json_response({"error": code}, 400, headers)

        if request.mimetype != "application/x-www-form-urlencoded":
            return error("invalid_request")
        if request.form.get("grant_type") == "client_credentials":  # services: its own rules
            from cogapi.local.machine_clients import ClientCredentials

            machine = ClientCredentials(self.state, self.keys, self.endpoint, self.clock)
            return machine.token(request, pool)
        client = self._client_auth(request, pool)
        if client is None:
            return error("invalid_client")
        grant_type = request.form.get("grant_type", "")
        if not grant_type:
            return error("invalid_request")
        if grant_type == "authorization_code":
            if "code" not in client.oauth_flows:
                return error("unauthorized_client")
            code_value = request.form.get("code", "")
            if not code_value:
                return error("invalid_request")
            with self._lock:  # single use: gone on the first attempt, right or wrong
                code = self._codes.pop(code_value, None)
            if (
                code is None
                or code.expires < self.clock()
                or code.client_id != client.client_id
                or code.redirect_uri != request.form.get("redirect_uri", "")
            ):
                return error("invalid_grant")
            if code.code_challenge is not None:
                verifier = request.form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if not verifier or not secrets.compare_digest(expected, code.code_challenge):
                    return error("invalid_grant")
            tokens = self.mint(pool.pool_id, code.grant)
            refresh = self.new_refresh_token(code.grant, client)
            return json_response(self._token_body(tokens, refresh), 200, headers)
        if grant_type == "refresh_token":
            value = request.form.get("refresh_token", "")
            if not value:
                return error("invalid_request")
            refreshed = self.refreshed_grant(value, client)
            if refreshed is None:
                return error("invalid_grant")
            grant, api_session = refreshed
            tokens = self.mint(client.pool_id, grant, id_token=True if api_session else None)
            return json_response(self._token_body(tokens, None), 200, headers)
        return error("unsupported_grant_type")

    def userinfo(self, request: Request, pool: PoolView) -> Response:
        def fail(status: int, error: str, description: str) -> Response:
            return Response(
                "",
                status=status,
                headers={
                    "WWW-Authenticate": f'Bearer error="{error}", error_description="{description}"'
                },
            )

        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            return fail(400, "invalid_request", "Bearer token is missing")
        try:
            claims = self.keys.decode(header[7:].strip())
        except InvalidToken:
            return fail(401, "invalid_token", "Invalid access token")
        if claims.get("token_use") != "access" or claims.get("iss") != urls.issuer(
            self.endpoint, pool.pool_id
        ):
            return fail(401, "invalid_token", "Invalid access token")
        if is_expired(claims, self.clock()):
            return fail(401, "invalid_token", "Access token is expired")
        if "openid" not in str(claims.get("scope", "")).split():
            return fail(401, "invalid_token", "Access token does not contain openid scope")
        subject = self.state.subject(pool.pool_id, str(claims.get("username", "")))
        if subject is None:
            return fail(401, "invalid_token", "User does not exist")
        client = self.state.client(pool.pool_id, str(claims.get("client_id", "")))
        readable = client.readable(subject.attributes) if client else dict(subject.attributes)
        body = userinfo_attributes(str(claims.get("scope", "")).split(), readable)
        body["username"] = subject.username
        return json_response(body)

    def revoke(self, request: Request, pool: PoolView) -> Response:
        client = self._client_auth(request, pool)
        if client is None:
            return json_response({"error": "invalid_client"}, 400)
        value = request.form.get("token", "")
        if not value:
            return json_response({"error": "invalid_request"}, 400)
        origin = self.revoke_refresh_token(value, client.client_id)
        if origin is not None:  # and the access tokens of that sign-in, as RevokeToken does
            self.state.drop_tokens_of(pool.pool_id, origin)
        return Response("", status=200)

    def logout(self, request: Request, pool: PoolView, base: str) -> Response:
        client_id = request.args.get("client_id", "")
        client = self.state.client(pool.pool_id, client_id) if client_id else None
        if client is None:
            return _redirect(
                f"{base}/error?"
                + urlencode(
                    {"error": "invalid_request", "error_description": "client_id is not valid"}
                )
            )
        logout_uri = request.args.get("logout_uri")
        if logout_uri is not None:
            if logout_uri not in client.logout_urls:
                return _redirect(
                    f"{base}/error?"
                    + urlencode(
                        {
                            "error": "invalid_request",
                            "error_description": "logout_uri is not a registered sign-out URL",
                        }
                    )
                )
            response = _redirect(logout_uri)
        else:  # "sign out, then sign in again" form: redirect_uri + response_type
            checked = self._check(request, pool, base)
            if isinstance(checked, Response):
                return checked
            response = _redirect(f"{base}/login?{request.query_string.decode()}")
        with self._lock:  # the session ends here, as AWS's /logout ends it
            self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response.delete_cookie(SESSION_COOKIE, path=_cookie_path(base))
        response.delete_cookie(XSRF_COOKIE, path=_cookie_path(base))
        return response


class IdentityProvider:
    """`{issuer}/.well-known/jwks.json` and `openid-configuration` for every pool moto knows."""

    def __init__(self, state: MotoState, keys: KeySet, endpoint: str) -> None:
        self.state = state
        self.keys = keys
        self.endpoint = endpoint

    def handle(self, request: Request, pool_id: str, document: str) -> Response:
        if request.method != "GET" or self.state.pool(pool_id) is None:
            return json_response({"message": "User pool does not exist."}, 404)
        if document == ".well-known/jwks.json":
            return json_response(self.keys.jwks())
        if document == ".well-known/openid-configuration":
            return json_response(self.discovery(pool_id))
        return json_response({"message": "not found"}, 404)

    def discovery(self, pool_id: str) -> dict[str, Any]:
        iss = urls.issuer(self.endpoint, pool_id)
        doc: dict[str, Any] = {
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": iss,
            "jwks_uri": f"{iss}/.well-known/jwks.json",
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
        domain = self.state.domain_for_pool(pool_id)
        if domain is not None:
            base = urls.hosted_ui_base(self.endpoint, domain)
            doc.update(
                {
                    "authorization_endpoint": f"{base}/oauth2/authorize",
                    "end_session_endpoint": f"{base}/logout",
                    "revocation_endpoint": f"{base}/oauth2/revoke",
                    "token_endpoint": f"{base}/oauth2/token",
                    "userinfo_endpoint": f"{base}/oauth2/userInfo",
                }
            )
        return dict(sorted(doc.items()))
