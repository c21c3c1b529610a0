"""The only module that reads moto's in-process backends: the stand-in's view of the control plane.

The edge and data plane need state moto never serves back over HTTP (function code bytes, user
passwords, deployment snapshots), so they read the backends of the moto app running in the same
process. Everything here returns plain frozen values, so the rest of `cogapi.local` never touches a
moto object. moto quirks handled here (moto 5.2.5):
- A `Deployment` is only an id: moto keeps no snapshot of the API. `MotoState.record_deployment`
  takes one when the server sees `CreateDeployment` succeed; a deployment made any other way
  (in-process `mock_aws`, before this server started) falls back to the live API.
- `describe_user_pool` forgets `UsernameAttributes` after any pool update, so sign-in by email
  would stop working: a user is found by username, then by `email` (documented approximation).
- moto accepts any `TokenValidityUnits`; units default as AWS documents (hours, hours, days).
- moto's user APIs (`GetUser`, `ChangePassword`, ...) find the caller by the exact access-token
  string in the pool's `access_tokens`: the stand-in registers the tokens it mints there
  (`register_access_token`), so moto serves them as AWS would.

The state generation (`generation`, `mark_changed`): the backends change only while the server
serves a request other than a data-plane one (the control plane, Cognito's APIs, the hosted UI;
a handler's own AWS calls come back over HTTP too). The server marks the state changed before
and after each such request, so the data plane can keep what it looked up for a request line
(its deployment, route, function and permission) for as long as the generation stands, instead
of walking moto's backends on every request. The generation is one per process, as moto's
backends are.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cogapi.errors import CogapiError
from cogapi.local import mfa
from cogapi.local.runner import FunctionCode
from cogapi.local.tokens import Subject

INSTALL_HINT = "pip install -e '.[local]' in the cogapi checkout"
INCORRECT = "Incorrect username or password."  # AWS's answer to a wrong password


def require_local_extra() -> None:
    """Say how to install the `local` extra, before anything imports moto or werkzeug (which
    moto[server] brings): without the extra, neither is installed."""
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in ("moto", "werkzeug")):
        raise CogapiError("moto is not installed (the local extra)", hint=INSTALL_HINT)


def load_moto() -> Any:
    """moto's WSGI app (the one `ThreadedMotoServer` runs) and its request handler class."""
    # AWSLambdaBasicExecutionRole must exist for attach_role_policy (aws-notes: moto).
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
    except ImportError:
        raise CogapiError("moto is not installed (the local extra)", hint=INSTALL_HINT) from None
    from cogapi.local import apigw_import, iam_policies

    iam_policies.install()  # AWS managed policies built once, not once per account or reset
    apigw_import.install()  # PutRestApi with an OpenAPI document, applied as AWS does
    from cogapi.local import resource_servers

    resource_servers.install()  # UpdateResourceServer, DeleteResourceServer, scope checks
    return DomainDispatcherApplication(create_backend_app), MotoRequestHandler


class SignInError(Exception):
    """A sign-in or sign-up the hosted UI refuses; the message is shown on the form."""


class UnknownUser(SignInError):
    """No such user: shown as a wrong password unless the client leaks existence (LEGACY)."""


_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _validity(config: dict[str, Any], key: str, default_unit: str, default: int) -> int:
    value = config.get(key)
    if not value:
        return default * _UNIT_SECONDS[default_unit]
    unit_key = key.replace("Validity", "")  # AccessTokenValidity -> AccessToken
    unit = (config.get("TokenValidityUnits") or {}).get(unit_key) or default_unit
    return int(value) * _UNIT_SECONDS.get(unit, _UNIT_SECONDS[default_unit])


@dataclass(frozen=True)
class PoolView:
    pool_id: str
    arn: str
    account_id: str
    region: str
    allow_self_signup: bool
    username_attributes: tuple[str, ...]
    client_ids: frozenset[str]
    auto_verified_attributes: tuple[str, ...] = ()
    # UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate
    verify_before_update: tuple[str, ...] = ()
    required_attributes: tuple[str, ...] = ()  # the schema's Required ones, `sub` aside

    def missing_required(self, username: str, attributes: Mapping[str, str]) -> list[str]:
        """The required attributes a sign-up with `attributes` leaves without a value, in the
        schema's order. Where email or phone number is the user name, the user name gives it
        (moto and AWS both copy it in)."""
        given = {k for k, v in attributes.items() if v}
        for name in self.username_attributes:
            if (name == "email" and "@" in username) or (
                name == "phone_number" and username.startswith("+")
            ):
                given.add(name)
        return [a for a in self.required_attributes if a not in given]


@dataclass(frozen=True)
class ClientView:
    client_id: str
    pool_id: str
    secret: str | None
    callback_urls: tuple[str, ...]
    logout_urls: tuple[str, ...]
    oauth_flows: tuple[str, ...]  # "code", "implicit", "client_credentials"
    oauth_scopes: tuple[str, ...]
    hosted_ui_enabled: bool  # AllowedOAuthFlowsUserPoolClient
    access_seconds: int
    id_seconds: int
    refresh_seconds: int
    explicit_auth_flows: tuple[str, ...] = ()
    prevent_user_existence_errors: bool = False  # PreventUserExistenceErrors=ENABLED
    write_attributes: tuple[str, ...] = ()  # empty: the client's default, the standard ones
    read_attributes: tuple[str, ...] = ()  # empty: the client's default (see `readable`)

    def readable(self, attributes: Mapping[str, str]) -> dict[str, str]:
        """Of a user's attributes, those this client may read: what GetUser with its access
        token answers, and what its ID tokens and userInfo carry (AWS: "Your user's ID token
        from an app only contains claims that correspond to the readable attributes").
        A client that sets ReadAttributes reads those, and `sub`, which every token names. One
        that sets none reads them all here: AWS's API reference says such a client reads the
        standard attributes and the verification flags, CDK's documentation that it reads
        every standard and custom attribute, and an app that reads a custom attribute on AWS
        must not lose it here on one source's word."""
        if not self.read_attributes:
            return dict(attributes)
        allowed = set(self.read_attributes)
        return {name: v for name, v in attributes.items() if name == "sub" or name in allowed}


@dataclass(frozen=True)
class UserRecord:
    """What SRP needs of a user: moto's key, its SRP id, the password to derive a verifier."""

    username: str
    user_id: str
    password: str | None
    enabled: bool
    status: str


@dataclass(frozen=True)
class IntegrationResponseSpec:
    status_code: str
    selection_pattern: str | None
    parameters: tuple[tuple[str, str], ...]  # ("method.response.header.X", "'value'")
    templates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class IntegrationSpec:
    type: str
    uri: str
    request_templates: tuple[tuple[str, str], ...]
    timeout_ms: int | None
    responses: tuple[tuple[str, str | None], ...]  # (statusCode, selectionPattern)
    response_mappings: tuple[IntegrationResponseSpec, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    http_method: str
    authorization_type: str
    authorizer_id: str | None
    scopes: tuple[str, ...]
    integration: IntegrationSpec | None


@dataclass(frozen=True)
class ResourceSpec:
    resource_id: str
    path: str
    methods: tuple[MethodSpec, ...]


@dataclass(frozen=True)
class AuthorizerSpec:
    authorizer_id: str
    type: str
    provider_arns: tuple[str, ...]
    identity_source: str


@dataclass(frozen=True)
class GatewayResponseSpec:
    """A gateway response the API customised (API Gateway's defaults are not listed)."""

    response_type: str
    status_code: str | None
    parameters: tuple[tuple[str, str], ...]  # ("gatewayresponse.header.X", "'value'")
    templates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ApiSnapshot:
    api_id: str
    account_id: str
    region: str
    deployment_id: str
    resources: tuple[ResourceSpec, ...]
    authorizers: tuple[AuthorizerSpec, ...]
    gateway_responses: tuple[GatewayResponseSpec, ...] = ()

    def authorizer(self, authorizer_id: str | None) -> AuthorizerSpec | None:
        return next((a for a in self.authorizers if a.authorizer_id == authorizer_id), None)

    def gateway_response(self, response_type: str) -> GatewayResponseSpec | None:
        return next((g for g in self.gateway_responses if g.response_type == response_type), None)


@dataclass(frozen=True)
class DeployedStage:
    stage: str
    variables: tuple[tuple[str, str], ...]
    api: ApiSnapshot
    from_snapshot: bool  # False: the live API stands in for an unrecorded deployment


_generation = 0
_generation_lock = threading.Lock()


def generation() -> int:
    """Changes whenever the backends may have changed (see the module docstring)."""
    return _generation


def mark_changed() -> None:
    """What may have been read from the backends before no longer holds."""
    global _generation
    with _generation_lock:
        _generation += 1


_BACKEND_DICTS: dict[str, Any] = {}


def _backend_dict(service: str) -> Any:
    """moto's `BackendDict` of a service; one object for the life of the process (a reset
    empties it, never replaces it), so looked up once: `get_backend` imports on every call."""
    found = _BACKEND_DICTS.get(service)
    if found is None:
        from moto.backends import get_backend

        found = _BACKEND_DICTS[service] = get_backend(service)  # type: ignore[call-overload]
    return found


def _backends(service: str) -> Iterator[tuple[str, str, Any]]:
    backend_dict = _backend_dict(service)
    for account_id, by_region in list(backend_dict.items()):
        for region, backend in list(by_region.items()):
            yield account_id, region, backend


def _pairs(mapping: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), "" if v is None else str(v)) for k, v in (mapping or {}).items()))


def _flat(attributes: list[dict[str, str]]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in attributes}


class MotoState:
    """Read-mostly access to the moto backends of this process (see the module docstring)."""

    def __init__(self) -> None:
        self._snapshots: dict[tuple[str, str], ApiSnapshot] = {}
        self._lock = threading.Lock()

    # --- Cognito -------------------------------------------------------------------------------

    def _find_pool(self, pool_id: str) -> tuple[Any, Any] | None:
        for _, _, backend in _backends("cognito-idp"):
            pool = backend.user_pools.get(pool_id)
            if pool is not None:
                return backend, pool
        return None

    @staticmethod
    def _pool_view(pool: Any) -> PoolView:
        config = pool.extended_config
        admin_only = (config.get("AdminCreateUserConfig") or {}).get(
            "AllowAdminCreateUserOnly", False
        )
        return PoolView(
            pool_id=pool.id,
            arn=pool.arn,
            account_id=pool.account_id,
            region=pool.region,
            allow_self_signup=not admin_only,
            username_attributes=tuple(config.get("UsernameAttributes") or ()),
            client_ids=frozenset(pool.clients),
            auto_verified_attributes=tuple(config.get("AutoVerifiedAttributes") or ()),
            verify_before_update=tuple(
                (config.get("UserAttributeUpdateSettings") or {}).get(
                    "AttributesRequireVerificationBeforeUpdate"
                )
                or ()
            ),
            required_attributes=tuple(
                name
                for name, attribute in pool.schema_attributes.items()
                if getattr(attribute, "required", False) and name != "sub"
            ),
        )

    def pool(self, pool_id: str) -> PoolView | None:
        found = self._find_pool(pool_id)
        return self._pool_view(found[1]) if found else None

    def pool_for_domain(self, domain: str) -> PoolView | None:
        for _, _, backend in _backends("cognito-idp"):
            entry = backend.user_pool_domains.get(domain)
            if entry is not None:
                return self.pool(entry.user_pool_id)
        return None

    def domain_for_pool(self, pool_id: str) -> str | None:
        for _, _, backend in _backends("cognito-idp"):
            for entry in list(backend.user_pool_domains.values()):
                if entry.user_pool_id == pool_id:
                    return str(entry.domain)
        return None

    def client(self, pool_id: str, client_id: str) -> ClientView | None:
        found = self._find_pool(pool_id)
        client = found[1].clients.get(client_id) if found else None
        if client is None:
            return None
        config = client.extended_config
        return ClientView(
            client_id=client.id,
            pool_id=pool_id,
            secret=client.secret if client.generate_secret else None,
            callback_urls=tuple(config.get("CallbackURLs") or ()),
            logout_urls=tuple(config.get("LogoutURLs") or ()),
            oauth_flows=tuple(config.get("AllowedOAuthFlows") or ()),
            oauth_scopes=tuple(config.get("AllowedOAuthScopes") or ()),
            hosted_ui_enabled=bool(config.get("AllowedOAuthFlowsUserPoolClient")),
            access_seconds=_validity(config, "AccessTokenValidity", "hours", 1),
            id_seconds=_validity(config, "IdTokenValidity", "hours", 1),
            refresh_seconds=_validity(config, "RefreshTokenValidity", "days", 30),
            explicit_auth_flows=tuple(config.get("ExplicitAuthFlows") or ()),
            prevent_user_existence_errors=config.get("PreventUserExistenceErrors") == "ENABLED",
            write_attributes=tuple(config.get("WriteAttributes") or ()),
            read_attributes=tuple(config.get("ReadAttributes") or ()),
        )

    def pool_of_client(self, client_id: str) -> str | None:
        for _, _, backend in _backends("cognito-idp"):
            for pool in list(backend.user_pools.values()):
                if client_id in pool.clients:
                    return str(pool.id)
        return None

    def custom_scopes(self, pool_id: str) -> frozenset[str]:
        """Every `<identifier>/<scope>` the pool's resource servers define now."""
        from cogapi.local.resource_servers import pool_scopes

        found = self._find_pool(pool_id)
        return frozenset(pool_scopes(found[1])) if found else frozenset()

    @staticmethod
    def _find_user(pool: Any, username: str) -> Any:
        user = pool.users.get(username)
        if user is None:  # email sign-in (see the module docstring on UsernameAttributes)
            user = next(
                (
                    u
                    for u in list(pool.users.values())
                    if _flat(u.attributes).get("email") == username
                ),
                None,
            )
        return user

    @staticmethod
    def _subject(user: Any) -> Subject:
        attributes = _flat(user.attributes)
        groups = sorted(
            user.groups, key=lambda g: (g.precedence is None, g.precedence or 0, g.group_name)
        )
        return Subject(
            sub=attributes.get("sub", user.id),
            username=user.username,
            attributes=attributes,
            groups=tuple(g.group_name for g in groups),
        )

    def session_user(self, session: str) -> tuple[str, str] | None:
        """(pool id, user name) of a sign-in session moto gave out (a challenge's), if live."""
        for _, _, backend in _backends("cognito-idp"):
            found = backend.sessions.get(session) if session else None
            if found is not None:
                username, pool = found
                return pool.id, username
        return None

    def subject(self, pool_id: str, username: str) -> Subject | None:
        found = self._find_pool(pool_id)
        user = self._find_user(found[1], username) if found else None
        return self._subject(user) if user is not None and user.enabled else None

    def authenticate(self, pool_id: str, username: str, password: str) -> Subject:
        found = self._find_pool(pool_id)
        user = self._find_user(found[1], username) if found else None
        if user is None:
            raise UnknownUser(INCORRECT)
        if user.password != password:
            raise SignInError(INCORRECT)
        if not user.enabled:
            raise SignInError("User is disabled.")
        if user.status == "UNCONFIRMED":
            raise SignInError("User is not confirmed.")
        if user.status == "FORCE_CHANGE_PASSWORD":
            raise SignInError(
                "This user must change the temporary password, which the local "
                "hosted UI does not do: set a permanent one with "
                "admin-set-user-password --permanent."
            )
        return self._subject(user)

    def sign_up(
        self,
        pool_id: str,
        client_id: str,
        username: str,
        password: str,
        attributes: dict[str, str],
        *,
        confirmed: bool,
    ) -> Subject:
        """Create a user, unconfirmed or confirmed with its address verified (the hosted UI's
        sign-up: `edge.HostedUi.signup` says when)."""
        found = self._find_pool(pool_id)
        if found is None:
            raise SignInError("User pool does not exist.")
        backend, pool = found
        attrs = [{"Name": k, "Value": v} for k, v in attributes.items() if v]
        try:
            user, _ = backend.sign_up(client_id, username, password, attrs)
        except Exception as exc:  # moto's own exceptions carry the AWS message
            raise SignInError(getattr(exc, "message", None) or str(exc)) from None
        if not confirmed:
            return self._subject(user)
        return self.confirm_user(pool_id, user.username, "email") or self._subject(user)

    def confirm_user(self, pool_id: str, username: str, verified: str) -> Subject | None:
        """Confirm an unconfirmed user whose code came back to `verified` (an attribute name),
        which is then verified."""
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found else None
        if found is None or user is None:
            return None
        found[0].admin_confirm_sign_up(pool_id, user.username)
        if _flat(user.attributes).get(verified):
            user.update_attributes([{"Name": f"{verified}_verified", "Value": "true"}])
        return self.subject(pool_id, user.username)

    def user_record(self, pool_id: str, username: str) -> UserRecord | None:
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found and username else None
        if user is None:
            return None
        status = getattr(user.status, "value", user.status)
        return UserRecord(user.username, user.id, user.password, bool(user.enabled), str(status))

    # Tokens moto's user APIs accept: the pool's `access_tokens`, keyed by the exact string.

    def register_access_token(
        self, pool_id: str, token: str, client_id: str, username: str
    ) -> None:
        found = self._find_pool(pool_id)
        if found is not None:
            found[1].access_tokens[token] = (client_id, username)

    def take_api_tokens(
        self, pool_id: str, moto_access: str, moto_id: str | None, origin_jti: str
    ) -> tuple[str, str] | None:
        """Forget the tokens moto minted for a sign-in (the stand-in mints its own instead);
        returns whom moto issued them to: (client id, moto's user name).

        moto keeps the name as signed in with (an email alias, say) and GlobalSignOut matches
        it by string: the sign-in's refresh token is put under the user's own name, as the
        stand-in's tokens are, so signing out revokes it whichever name was used."""
        found = self._find_pool(pool_id)
        if found is None:
            return None
        pool = found[1]
        owner = pool.access_tokens.pop(moto_access, None)
        pool.id_tokens.pop(moto_id, None)
        if owner is None:
            return None
        user = pool._get_user(owner[1])
        name = user.username if user is not None else owner[1]
        for token, record in list(pool.refresh_tokens.items()):
            if record and record[2] == origin_jti:
                pool.refresh_tokens[token] = (record[0], name, record[2])
        return owner[0], name

    def access_token_known(self, pool_id: str, token: str) -> bool:
        """False once moto dropped it (GlobalSignOut, RevokeToken, DeleteUser)."""
        found = self._find_pool(pool_id)
        return found is not None and token in found[1].access_tokens

    def refresh_record(self, pool_id: str, token: str) -> tuple[str, str, str] | None:
        """(client id, user name, origin_jti) of one of moto's live refresh tokens."""
        found = self._find_pool(pool_id)
        record = found[1].refresh_tokens.get(token) if found else None
        if not record:
            return None
        user = found[1]._get_user(record[1]) if found else None
        return str(record[0]), user.username if user else str(record[1]), str(record[2])

    def refresh_token_revoked(self, pool_id: str, token: str) -> bool:
        """Whether `token` is one of moto's refresh tokens, revoked since (moto keeps the key)."""
        found = self._find_pool(pool_id)
        return (
            found is not None
            and token in found[1].refresh_tokens
            and not found[1].refresh_tokens[token]
        )

    def revoke_refresh_token(self, pool_id: str, client_id: str, token: str) -> str | None:
        """Revoke one of moto's refresh tokens; returns its origin_jti (None: not one of them)."""
        found = self._find_pool(pool_id)
        record = found[1].refresh_tokens.get(token) if found else None
        if found is None or not record or record[0] != client_id:
            return None
        found[1].refresh_tokens[token] = None
        return str(record[2])

    def drop_tokens_of(self, pool_id: str, origin_jti: str) -> None:
        """Forget every access and ID token of one sign-in (they share its origin_jti)."""
        import jwt

        found = self._find_pool(pool_id)
        if found is None:
            return
        for store in (found[1].access_tokens, found[1].id_tokens):
            for token in list(store):
                try:
                    claims = jwt.decode(token, options={"verify_signature": False})
                except jwt.PyJWTError:
                    continue
                if claims.get("origin_jti") == origin_jti:
                    store.pop(token, None)

    def delete_user(self, pool_id: str, username: str) -> None:
        found = self._find_pool(pool_id)
        if found is not None:
            backend, pool = found
            pool.sign_out(username)
            backend.admin_delete_user(pool_id, username)

    def mfa_facts(self, pool_id: str, username: str) -> mfa.MfaFacts | None:
        """What `mfa.next_step` decides a user's second factor from (None: no such user)."""
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found and username else None
        if found is None or user is None:
            return None
        pool = found[1]
        preferred = user.preferred_mfa_setting
        return mfa.MfaFacts(
            mode=str(pool.mfa_config or "OFF"),
            totp_offered=bool((pool.token_mfa_config or {}).get("Enabled")),
            sms_offered=bool(pool.sms_mfa_config),
            phone=_flat(user.attributes).get("phone_number") or None,
            totp_ready=bool(user.software_token_mfa_enabled or user.token_verified),
            sms_enabled=bool(user.sms_mfa_enabled),
            preferred=preferred if preferred in (mfa.SMS, mfa.TOTP) else None,
        )

    def mfa_step(self, pool_id: str, username: str) -> str | None:
        """What the hosted UI asks a user for after the password: "totp" (a code of the
        authenticator they set up; also where they could choose SMS instead), "sms" (a code
        texted to them, into the outbox), "setup" (the pool requires MFA and they have none, and
        TOTP can be set up), or None (`mfa.next_step`)."""
        facts = self.mfa_facts(pool_id, username)
        step = mfa.next_step(facts) if facts is not None else mfa.Step(None)
        if step.challenge in (mfa.TOTP, mfa.SELECT):
            return "totp"
        if step.challenge == mfa.SMS:
            return "sms"
        if step.challenge == mfa.SETUP and mfa.TOTP in step.choices:
            return "setup"
        return None

    def start_session(self, pool_id: str, username: str) -> str | None:
        """A sign-in session for a challenge the stand-in gives where moto gave none (or
        another): moto's RespondToAuthChallenge finds the user by it, as by its own."""
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found and username else None
        if found is None or user is None:
            return None
        session = str(uuid.uuid4())
        found[0].sessions[session] = (user.username, found[1])
        return session

    def end_session(self, session: str) -> None:
        for _, _, backend in _backends("cognito-idp"):
            backend.sessions.pop(session, None)

    def log_user_in(self, pool_id: str, client_id: str, username: str) -> dict[str, Any] | None:
        """moto's AuthenticationResult for a sign-in the stand-in ends where moto asked for one
        more step (its tokens, adopted as any of moto's are: `SignIn._adopt_tokens`)."""
        found = self._find_pool(pool_id)
        client = found[1].clients.get(client_id) if found else None
        if found is None or client is None or found[1]._get_user(username) is None:
            return None
        answer: dict[str, Any] = found[0]._log_user_in(found[1], client, username)
        return answer

    def drop_tokens(self, pool_id: str, result: Mapping[str, Any]) -> None:
        """Forget the tokens of an AuthenticationResult moto gave for a sign-in that the
        stand-in asks one more step of instead (none of them ever reaches the client)."""
        found = self._find_pool(pool_id)
        if found is None:
            return
        found[1].access_tokens.pop(result.get("AccessToken"), None)
        found[1].id_tokens.pop(result.get("IdToken"), None)
        found[1].refresh_tokens.pop(result.get("RefreshToken"), None)

    def enable_software_token(self, pool_id: str, username: str) -> None:
        """The user set up an authenticator in the hosted UI: TOTP is their MFA from now on (as
        VerifySoftwareToken then SetUserMFAPreference would leave them)."""
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found else None
        if user is not None:
            user.token_verified = True
            user.software_token_mfa_enabled = True
            user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"

    def set_user_attributes(self, pool_id: str, username: str, values: dict[str, str]) -> None:
        found = self._find_pool(pool_id)
        user = found[1]._get_user(username) if found else None
        if user is not None:
            user.update_attributes([{"Name": k, "Value": v} for k, v in values.items()])

    def email_in_use(self, pool_id: str, email: str) -> bool:
        """Would moto refuse `email` as taken (`AliasExistsException`)? Its own test, made
        before it lets an update give a user an address where addresses are user names."""
        found = self._find_pool(pool_id)
        if found is None:
            return False
        try:
            found[0]._verify_email_is_not_used(pool_id, email)
        except Exception as exc:  # moto's AliasExistsException
            return type(exc).__name__ == "AliasExistsException"
        return False

    def delete_user_attributes(self, pool_id: str, username: str, names: list[str]) -> None:
        found = self._find_pool(pool_id)
        if found is not None:
            found[0].admin_delete_user_attributes(pool_id, username, names)

    # --- API Gateway ---------------------------------------------------------------------------

    def _find_api(self, api_id: str) -> tuple[str, str, Any] | None:
        for account_id, region, backend in _backends("apigateway"):
            api = backend.apis.get(api_id)
            if api is not None:
                return account_id, region, api
        return None

    @staticmethod
    def _snapshot(account_id: str, region: str, api: Any, deployment_id: str) -> ApiSnapshot:
        resources = []
        for resource in list(api.resources.values()):
            methods = []
            for method in list(resource.resource_methods.values()):
                integ = method.method_integration
                spec = None
                if integ is not None:
                    timeout = integ.timeout_in_millis
                    spec = IntegrationSpec(
                        type=str(integ.integration_type or "").upper(),
                        uri=integ.uri or "",
                        request_templates=tuple(sorted((integ.request_templates or {}).items())),
                        timeout_ms=int(timeout) if timeout else None,
                        responses=tuple(
                            (str(r.status_code), r.selection_pattern or None)
                            for r in (integ.integration_responses or {}).values()
                        ),
                        response_mappings=tuple(
                            IntegrationResponseSpec(
                                str(r.status_code),
                                r.selection_pattern or None,
                                _pairs(r.response_parameters),
                                _pairs(r.response_templates),
                            )
                            for r in (integ.integration_responses or {}).values()
                        ),
                    )
                methods.append(
                    MethodSpec(
                        http_method=method.http_method.upper(),
                        authorization_type=str(method.authorization_type or "NONE").upper(),
                        authorizer_id=method.authorizer_id,
                        scopes=tuple(method.authorization_scopes or ()),
                        integration=spec,
                    )
                )
            resources.append(ResourceSpec(resource.id, resource.get_path(), tuple(methods)))
        authorizers = tuple(
            AuthorizerSpec(
                a.id, str(a.type or ""), tuple(a.provider_arns or ()), a.identity_source or ""
            )
            for a in list(api.authorizers.values())
        )
        gateway_responses = tuple(
            GatewayResponseSpec(
                str(g.response_type),
                None if g.status_code is None else str(g.status_code),
                _pairs(g.response_parameters),
                _pairs(g.response_templates),
            )
            for g in list(api.gateway_responses.values())
        )
        return ApiSnapshot(
            api.id,
            account_id,
            region,
            deployment_id,
            tuple(resources),
            authorizers,
            gateway_responses,
        )

    def record_deployment(self, api_id: str, deployment_id: str) -> None:
        """Freeze the API as it is now under `deployment_id` (call right after CreateDeployment)."""
        found = self._find_api(api_id)
        if found is not None:
            snap = self._snapshot(*found, deployment_id)
            with self._lock:
                self._snapshots[(api_id, deployment_id)] = snap

    def deployed_stage(self, api_id: str, stage: str) -> DeployedStage | None:
        found = self._find_api(api_id)
        if found is None:
            return None
        account_id, region, api = found
        stage_obj = api.stages.get(stage)
        if stage_obj is None or not stage_obj.deployment_id:
            return None
        deployment_id = stage_obj.deployment_id
        if deployment_id not in api.deployments:
            return None
        with self._lock:
            snap = self._snapshots.get((api_id, deployment_id))
        variables = tuple(sorted((stage_obj.variables or {}).items()))
        if snap is not None:
            return DeployedStage(stage, variables, snap, from_snapshot=True)
        live = self._snapshot(account_id, region, api, deployment_id)
        return DeployedStage(stage, variables, live, from_snapshot=False)

    # --- Lambda --------------------------------------------------------------------------------

    @staticmethod
    def _find_function(function_arn: str) -> Any:
        parts = function_arn.split(":")
        if len(parts) < 7 or parts[2] != "lambda":
            return None
        region, account_id = parts[3], parts[4]
        try:
            backend: Any = _backend_dict("lambda")[account_id][region]
            return backend.get_function(function_arn)
        except Exception:  # moto raises its own "not found" types
            return None

    def function_code(self, function_arn: str) -> FunctionCode | None:
        return self._code_of(self._find_function(function_arn))

    def gateway_target(
        self, function_arn: str, principal: str, source_arns: list[str]
    ) -> tuple[FunctionCode | None, bool]:
        """The function's code, and whether its resource policy lets `principal` call it from
        any of `source_arns`: one lookup for both, as the data plane needs them per request."""
        fn = self._find_function(function_arn)
        if fn is None:
            return None, False
        return self._code_of(fn), any(self._allows(fn, principal, arn) for arn in source_arns)

    @staticmethod
    def _code_of(fn: Any) -> FunctionCode | None:
        if fn is None or not getattr(fn, "code_bytes", b""):
            return None
        return FunctionCode(
            name=fn.function_name,
            handler=fn.handler or "",
            zip_bytes=fn.code_bytes,
            timeout=float(fn.timeout or 3),
            memory_size=int(fn.memory_size or 128),
            environment=dict(fn.environment_vars or {}),
            region=fn.region,
            arn=fn.function_arn,
        )

    @staticmethod
    def _allows(fn: Any, principal: str, source_arn: str) -> bool:
        """Does the function's resource policy let `principal` call it from `source_arn`?"""
        for st in list(fn.policy.statements):
            who = st.get("Principal")
            who = who.get("Service") if isinstance(who, dict) else who
            if st.get("Effect", "Allow") != "Allow" or who != principal:
                continue
            action = st.get("Action")
            if action not in ("lambda:InvokeFunction", "lambda:*", "*"):
                continue
            condition = (st.get("Condition") or {}).get("ArnLike") or {}
            pattern = condition.get("AWS:SourceArn") or condition.get("aws:SourceArn")
            if pattern is None or fnmatch.fnmatchcase(source_arn, pattern):
                return True
        return False
