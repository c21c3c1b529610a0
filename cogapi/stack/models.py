"""The desired stack as data: what the config asks AWS to hold, in AWS's own request shapes.

`desired_stack(cfg, account_id, code)` is a pure function. Each resource carries
- `settings`: a flat, normalised dict that the planner compares with what discovery read back
  (same keys, same normal form: sorted lists where order does not matter), and
- what the executor needs to build its requests (`create_params()` / `update_params()`).
Ownership is the tag `cogapi:stack=<name>` on everything taggable; the machine clients cogapi
made (app clients take no tags) are named in the pool's tag `cogapi:machine-clients`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cogapi.config import CLIENT_RECORD_TAG, Config
from cogapi.stack.code import CodePackage

OWNER_TAG = "cogapi:stack"
SIGN_IN_TAG = "cogapi:sign-in"
# App clients carry no tags, so the pool tag CLIENT_RECORD_TAG records the machine clients cogapi
# made, by name: sorted and joined by "/", a "," written as ":" (a client name has neither "/" nor
# ":", and a tag value no ","). A tag value holds 256 characters; the config check refuses more.
MACHINE_CLIENT_ID = "machine_client:"  # key prefix of a machine client's id in the ids of a run
ROLE_DESCRIPTION = "Managed by cogapi (stack {name}); do not edit by hand"
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
AUTH_FLOWS = {
    "refresh_token": "ALLOW_REFRESH_TOKEN_AUTH",
    "user_srp": "ALLOW_USER_SRP_AUTH",
    "user_password": "ALLOW_USER_PASSWORD_AUTH",
    "admin_user_password": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "custom": "ALLOW_CUSTOM_AUTH",
}
RECOVERY = {
    "verified_email": "verified_email",
    "verified_phone_number": "verified_phone_number",
    "admin_only": "admin_only",
}
# The fixed request template of the non-proxy integration: the built-in handler and the local
# stand-in both rely on this exact shape.
NON_PROXY_TEMPLATE = (
    '{"claims": {"sub": "$context.authorizer.claims.sub", '
    '"email": "$context.authorizer.claims.email", '
    '"username": "$context.authorizer.claims.username", '
    # VTL ends a name at ':', so this claim needs the bracket form.
    '"cognito:username": "$context.authorizer.claims[\'cognito:username\']"}, '
    '"path": "$context.resourcePath", "method": "$context.httpMethod"}'
)


def owner_tags(cfg: Config) -> dict[str, str]:
    return {**cfg.tags, OWNER_TAG: cfg.name}


def encode_client_record(names: list[str] | tuple[str, ...]) -> str:
    return "/".join(sorted(n.replace(",", ":") for n in names))


def decode_client_record(value: str | None) -> list[str]:
    return sorted(n.replace(":", ",") for n in (value or "").split("/") if n)


def recorded_clients(pool: dict[str, Any] | None) -> list[str]:
    """The machine clients a pool's record names (none for a pool without the tag)."""
    return decode_client_record(((pool or {}).get("UserPoolTags") or {}).get(CLIENT_RECORD_TAG))


def sign_in_params(sign_in: list[str]) -> dict[str, Any]:
    """`username` + others -> AliasAttributes; otherwise the identifiers are UsernameAttributes."""
    others = sorted(s for s in sign_in if s != "username")
    if "username" in sign_in:
        return {"AliasAttributes": others} if others else {}
    return {"UsernameAttributes": others}


@dataclass(frozen=True)
class UserPoolSpec:
    name: str
    settings: dict[str, Any]  # mutable settings, compared for drift
    fixed: dict[str, Any]  # fixed at creation: a change needs a new pool
    custom_attributes: dict[str, dict[str, Any]]  # name -> schema entry (additions allowed)
    create_params: dict[str, Any]
    mfa_params: dict[str, Any]  # SetUserPoolMfaConfig

    def update_params(self, pool_id: str) -> dict[str, Any]:
        # UpdateUserPool resets omitted settings: everything but the creation-only keys goes.
        creation_only = {"Schema", "UsernameAttributes", "AliasAttributes", "UsernameConfiguration"}
        params = {k: v for k, v in self.create_params.items() if k not in creation_only}
        params["UserPoolId"] = pool_id
        return params


@dataclass(frozen=True)
class ClientSpec:
    name: str
    generate_secret: bool
    settings: dict[str, Any]
    params: dict[str, Any]  # everything UpdateUserPoolClient takes except ids

    def create_params(self, pool_id: str) -> dict[str, Any]:
        return {"UserPoolId": pool_id, "GenerateSecret": self.generate_secret, **self.params}

    def update_params(self, pool_id: str, client_id: str) -> dict[str, Any]:
        return {"UserPoolId": pool_id, "ClientId": client_id, **self.params}


@dataclass(frozen=True)
class ResourceServerSpec:
    """A resource server: `UpdateResourceServer` replaces the name and the whole scope list."""

    identifier: str
    name: str
    scopes: tuple[tuple[str, str], ...]  # (ScopeName, ScopeDescription), in config order

    @property
    def settings(self) -> dict[str, Any]:
        return resource_server_settings(self.params(""))

    def params(self, pool_id: str) -> dict[str, Any]:
        return {
            "UserPoolId": pool_id,
            "Identifier": self.identifier,
            "Name": self.name,
            "Scopes": [{"ScopeName": n, "ScopeDescription": d} for n, d in self.scopes],
        }


def resource_server_settings(d: dict[str, Any]) -> dict[str, Any]:
    """Comparable settings of a resource server, from a request or a Describe/List answer."""
    scopes = {s.get("ScopeName"): s.get("ScopeDescription") for s in d.get("Scopes") or []}
    return {"name": d.get("Name"), "scopes": dict(sorted(scopes.items()))}


@dataclass(frozen=True)
class IdpSpec:
    name: str
    settings: dict[str, Any]
    secret_env: str | None
    params: dict[str, Any]  # without the secret, which is read from the environment at apply


@dataclass(frozen=True)
class RoleSpec:
    name: str
    trust: dict[str, Any]
    managed_policies: tuple[str, ...]
    inline_policies: dict[str, dict[str, Any]]
    tags: dict[str, str]
    description: str

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "trust": normalise_trust(self.trust),
            "managed_policies": sorted(self.managed_policies),
            "inline_policies": sorted(self.inline_policies),
            "tags": self.tags,
        }


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code: CodePackage
    settings: dict[str, Any]

    def create_params(self) -> dict[str, Any]:
        s = self.settings
        return {
            "FunctionName": self.name, "Runtime": s["runtime"], "Role": s["role_arn"],
            "Handler": s["handler"], "Code": {"ZipFile": self.code.zip_bytes},
            "MemorySize": s["memory_mb"], "Timeout": s["timeout_s"],
            "Environment": {"Variables": s["environment"]}, "Tags": s["tags"],
            "Description": "Managed by cogapi", "Publish": False,
        }  # fmt: skip

    def configuration_params(self) -> dict[str, Any]:
        s = self.settings
        return {
            "Runtime": s["runtime"], "Role": s["role_arn"], "Handler": s["handler"],
            "MemorySize": s["memory_mb"], "Timeout": s["timeout_s"],
            "Environment": {"Variables": s["environment"]},
        }  # fmt: skip


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    settings: dict[str, Any]  # authorization, scopes, integration, uri, template

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class DesiredStack:
    cfg: Config
    account_id: str
    pool: UserPoolSpec
    domain: str
    certificate_arn: str | None
    client: ClientSpec
    idps: tuple[IdpSpec, ...]
    role: RoleSpec
    sms_role: RoleSpec | None
    function: FunctionSpec
    api_name: str
    api_settings: dict[str, Any]
    authorizer_settings: dict[str, Any]  # without providerARNs' pool id until known
    resource_paths: tuple[str, ...]  # every path prefix the routes need, parents first
    routes: tuple[RouteSpec, ...]
    stage: str
    stage_tags: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    resource_servers: tuple[ResourceServerSpec, ...] = ()
    machine_clients: tuple[ClientSpec, ...] = ()  # confidential, client_credentials only

    def machine_client(self, name: str) -> ClientSpec | None:
        return next((m for m in self.machine_clients if m.name == name), None)

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.cfg.region}:{self.account_id}:function:{self.function.name}"

    @property
    def integration_uri(self) -> str:
        return (
            f"arn:aws:apigateway:{self.cfg.region}:lambda:path/2015-03-31/functions/"
            f"{self.function_arn}/invocations"
        )

    def pool_arn(self, pool_id: str) -> str:
        return f"arn:aws:cognito-idp:{self.cfg.region}:{self.account_id}:userpool/{pool_id}"

    def authorizer_spec(self, pool_id: str | None) -> dict[str, Any]:
        return {
            **self.authorizer_settings,
            "providerARNs": [self.pool_arn(pool_id or "<new pool>")],
        }

    @staticmethod
    def permission_sid(api_id: str) -> str:
        """The one invoke permission's StatementId ([A-Za-z0-9_-], unlike the old per-route ones)."""
        return f"cogapi-{api_id}-api"

    def permission_source_arn(self, account: str, api_id: str) -> str:
        # One statement for every route and stage of this API: a Lambda resource policy holds at
        # most 20 KB, so one statement per route does not scale.
        return f"arn:aws:execute-api:{self.cfg.region}:{account}:{api_id}/*"


def normalise_trust(doc: dict[str, Any] | None) -> list[list[str]]:
    """A trust policy as sorted [effect, action, principal, condition] rows (AWS reformats docs)."""
    rows = []
    for st in (doc or {}).get("Statement", []):
        principals = (st.get("Principal") or {}).get("Service", [])
        principals = [principals] if isinstance(principals, str) else principals
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        cond = json.dumps(st.get("Condition", {}), sort_keys=True)
        for p in principals:
            for a in actions:
                rows.append([st.get("Effect", "Allow"), a, p, cond])
    return sorted(rows)


def _trust(service: str, external_id: str | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        st["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [st]}


def _pool_spec(cfg: Config, account_id: str, tags: dict[str, str]) -> UserPoolSpec:
    up = cfg.user_pool
    pw = up.password
    mfa = {"off": "OFF", "optional": "OPTIONAL", "required": "ON"}[up.mfa]
    methods = sorted(up.mfa_methods) if up.mfa != "off" else []
    sms_arn = up.sms_role_arn or (
        f"arn:aws:iam::{account_id}:role/{cfg.sms_role_name}" if cfg.wants_sms_role else None
    )
    if up.email.sender == "ses":
        email: dict[str, Any] = {
            "EmailSendingAccount": "DEVELOPER",
            "SourceArn": up.email.source_arn,
        }
        if up.email.from_address:
            email["From"] = up.email.from_address
        if up.email.reply_to:
            email["ReplyToEmailAddress"] = up.email.reply_to
    else:
        email = {"EmailSendingAccount": "COGNITO_DEFAULT"}
    schema = [
        {"Name": a, "AttributeDataType": "String", "Required": True, "Mutable": True}
        for a in sorted(up.required_attributes)
    ]
    custom: dict[str, dict[str, Any]] = {}
    for attr in up.custom_attributes:
        entry: dict[str, Any] = {
            "Name": attr.name,
            "AttributeDataType": attr.type,
            "Mutable": attr.mutable,
        }
        if attr.type == "String" and (attr.min_length is not None or attr.max_length is not None):
            entry["StringAttributeConstraints"] = {
                k: str(v)
                for k, v in (("MinLength", attr.min_length), ("MaxLength", attr.max_length))
                if v is not None
            }
        if attr.type == "Number" and (attr.min_value is not None or attr.max_value is not None):
            entry["NumberAttributeConstraints"] = {
                k: str(v)
                for k, v in (("MinValue", attr.min_value), ("MaxValue", attr.max_value))
                if v is not None
            }
        custom[attr.name] = entry
    pool_tags = {**tags, SIGN_IN_TAG: "+".join(sorted(up.sign_in))}
    create: dict[str, Any] = {
        "PoolName": cfg.pool_name,
        "Policies": {"PasswordPolicy": {
            "MinimumLength": pw.min_length, "RequireUppercase": pw.require_uppercase,
            "RequireLowercase": pw.require_lowercase, "RequireNumbers": pw.require_numbers,
            "RequireSymbols": pw.require_symbols,
            "TemporaryPasswordValidityDays": pw.temporary_password_validity_days,
        }},
        "DeletionProtection": "ACTIVE" if up.deletion_protection else "INACTIVE",
        "AutoVerifiedAttributes": sorted(up.auto_verify),
        **sign_in_params(list(up.sign_in)),
        "UsernameConfiguration": {"CaseSensitive": False},
        "MfaConfiguration": mfa,
        "EmailConfiguration": email,
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": not up.self_sign_up},
        "Schema": schema + list(custom.values()),
        "AccountRecoverySetting": {"RecoveryMechanisms": [
            {"Priority": i + 1, "Name": RECOVERY[m]} for i, m in enumerate(up.account_recovery)
        ]},
        "UserPoolTags": pool_tags,
    }  # fmt: skip
    if sms_arn:
        create["SmsConfiguration"] = {"SnsCallerArn": sms_arn, "ExternalId": f"cogapi-{cfg.name}"}
    mfa_params: dict[str, Any] = {
        "MfaConfiguration": mfa,
        "SoftwareTokenMfaConfiguration": {"Enabled": "totp" in methods},
    }
    if "sms" in methods and sms_arn:
        mfa_params["SmsMfaConfiguration"] = {"SmsConfiguration": create["SmsConfiguration"]}
    settings = {
        "password_policy": create["Policies"]["PasswordPolicy"],
        "deletion_protection": create["DeletionProtection"],
        "auto_verify": create["AutoVerifiedAttributes"],
        "self_sign_up": up.self_sign_up,
        "mfa": mfa,
        "mfa_methods": methods,
        "email": email,
        "account_recovery": [RECOVERY[m] for m in up.account_recovery],
        "tags": pool_tags,
    }
    fixed = {"sign_in": sorted(up.sign_in), "required_attributes": sorted(up.required_attributes)}
    return UserPoolSpec(cfg.pool_name, settings, fixed, custom, create, mfa_params)


def _client_spec(cfg: Config) -> ClientSpec:
    c = cfg.app_client
    minutes = c.token_validity.minutes()
    flows = sorted(c.oauth_flows)
    params: dict[str, Any] = {
        "ClientName": cfg.client_name,
        "AccessTokenValidity": minutes["access"],
        "IdTokenValidity": minutes["id"],
        "RefreshTokenValidity": minutes["refresh"],
        "TokenValidityUnits": {
            "AccessToken": "minutes",
            "IdToken": "minutes",
            "RefreshToken": "minutes",
        },
        "ExplicitAuthFlows": sorted(AUTH_FLOWS[f] for f in c.auth_flows),
        "SupportedIdentityProviders": sorted(cfg.client_identity_providers),
        "CallbackURLs": list(c.callback_urls),
        "LogoutURLs": list(c.logout_urls),
        "AllowedOAuthFlows": flows,
        "AllowedOAuthScopes": sorted(c.oauth_scopes),
        # The SDK default is false, which silently disables the hosted UI for this client.
        "AllowedOAuthFlowsUserPoolClient": bool(flows),
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }
    if c.read_attributes is not None:
        params["ReadAttributes"] = sorted(c.read_attributes)
    if c.write_attributes is not None:
        params["WriteAttributes"] = sorted(c.write_attributes)
    settings = client_settings(params)
    return ClientSpec(cfg.client_name, c.generate_secret, settings, params)


def _machine_client_spec(mc: Any) -> ClientSpec:
    """A machine client as the AWS console makes one: a secret, only client_credentials, only
    custom scopes; no user sign-in (refresh alone signs nobody in), no callback URLs."""
    params: dict[str, Any] = {
        "ClientName": mc.name,
        "AccessTokenValidity": mc.token_validity.access_minutes(),
        # Not used by this grant, but UpdateUserPoolClient resets whatever it is not sent.
        "IdTokenValidity": 60,
        "RefreshTokenValidity": 43200,
        "TokenValidityUnits": {
            "AccessToken": "minutes",
            "IdToken": "minutes",
            "RefreshToken": "minutes",
        },
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        "AllowedOAuthFlows": ["client_credentials"],
        "AllowedOAuthScopes": sorted(mc.scopes),
        "AllowedOAuthFlowsUserPoolClient": True,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }
    return ClientSpec(mc.name, True, client_settings(params), params)


def client_settings(d: dict[str, Any]) -> dict[str, Any]:
    """The comparable settings of a client, from a request or a DescribeUserPoolClient answer."""
    units = d.get("TokenValidityUnits") or {}
    per = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 1440}

    def minutes(key: str, unit_key: str, default_unit: str, default: int) -> int:
        value = d.get(key)
        if value is None:
            return default
        return int(value * per[units.get(unit_key, default_unit)])

    out = {
        "access_token_minutes": minutes("AccessTokenValidity", "AccessToken", "hours", 60),
        "id_token_minutes": minutes("IdTokenValidity", "IdToken", "hours", 60),
        "refresh_token_minutes": minutes("RefreshTokenValidity", "RefreshToken", "days", 43200),
        "auth_flows": sorted(d.get("ExplicitAuthFlows") or []),
        "identity_providers": sorted(d.get("SupportedIdentityProviders") or []),
        "callback_urls": list(d.get("CallbackURLs") or []),
        "logout_urls": list(d.get("LogoutURLs") or []),
        "oauth_flows": sorted(d.get("AllowedOAuthFlows") or []),
        "oauth_scopes": sorted(d.get("AllowedOAuthScopes") or []),
        "oauth_enabled": bool(d.get("AllowedOAuthFlowsUserPoolClient")),
        "prevent_user_existence_errors": d.get("PreventUserExistenceErrors", "LEGACY"),
        "token_revocation": bool(d.get("EnableTokenRevocation", True)),
    }
    if "ReadAttributes" in d:
        out["read_attributes"] = sorted(d["ReadAttributes"] or [])
    if "WriteAttributes" in d:
        out["write_attributes"] = sorted(d["WriteAttributes"] or [])
    return out


def _idp_specs(cfg: Config) -> tuple[IdpSpec, ...]:
    out = []
    for idp in cfg.user_pool.identity_providers:
        details: dict[str, str] = {
            "client_id": idp.client_id,
            "authorize_scopes": " ".join(idp.scopes),
        }
        if idp.type == "OIDC":
            details.update({"oidc_issuer": idp.issuer or "", "attributes_request_method": "GET"})
        if idp.type == "SignInWithApple":
            details.update({"team_id": idp.team_id or "", "key_id": idp.key_id or ""})
        params = {
            "ProviderName": idp.provider_name,
            "ProviderType": idp.type,
            "ProviderDetails": details,
            "AttributeMapping": dict(idp.attribute_mapping),
        }
        settings = {
            "type": idp.type,
            "details": details,
            "attribute_mapping": dict(idp.attribute_mapping),
        }
        secret_env = idp.private_key_env if idp.type == "SignInWithApple" else idp.client_secret_env
        out.append(IdpSpec(idp.provider_name, settings, secret_env, params))
    return tuple(out)


def cors_environment(cfg: Config) -> dict[str, str]:
    """What the function learns of `api.cors`, so its answers can carry the CORS headers."""
    cors = cfg.api.cors
    if cors is None:
        return {}
    return {
        "COGAPI_CORS_ALLOW_ORIGINS": ",".join(cors.allow_origins),
        "COGAPI_CORS_ALLOW_CREDENTIALS": "true" if cors.allow_credentials else "false",
    }


def resource_paths(paths: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for p in paths:
        parts = p.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:i])
            if prefix not in out:
                out.append(prefix)
    return tuple(sorted(out, key=lambda s: (s.count("/"), s)))


def desired_stack(cfg: Config, account_id: str, code: CodePackage) -> DesiredStack:
    tags = owner_tags(cfg)
    role = RoleSpec(
        name=cfg.role_name,
        trust=_trust("lambda.amazonaws.com"),
        managed_policies=(LAMBDA_BASIC_EXECUTION,),
        inline_policies={},
        tags=tags,
        description=ROLE_DESCRIPTION.format(name=cfg.name),
    )
    sms_role = None
    if cfg.wants_sms_role:
        sms_role = RoleSpec(
            name=cfg.sms_role_name,
            trust=_trust("cognito-idp.amazonaws.com", external_id=f"cogapi-{cfg.name}"),
            managed_policies=(),
            inline_policies={"cogapi-sms": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}},
            tags=tags,
            description=ROLE_DESCRIPTION.format(name=cfg.name),
        )  # fmt: skip
    fn = cfg.function
    fn_settings = {
        "runtime": fn.runtime,
        "handler": code.handler,
        "memory_mb": fn.memory_mb,
        "timeout_s": fn.timeout_s,
        "environment": {**dict(fn.environment), **cors_environment(cfg)},
        "role_arn": f"arn:aws:iam::{account_id}:role/{cfg.role_name}",
        "code_sha256": code.sha256,
        "tags": tags,
    }
    function = FunctionSpec(cfg.function_name, code, fn_settings)
    stack = DesiredStack(
        cfg=cfg,
        account_id=account_id,
        pool=_pool_spec(cfg, account_id, tags),
        domain=cfg.domain.name,
        certificate_arn=cfg.domain.certificate_arn,
        client=_client_spec(cfg),
        idps=_idp_specs(cfg),
        role=role,
        sms_role=sms_role,
        function=function,
        api_name=cfg.api_name,
        api_settings={"endpoint_type": cfg.api.endpoint_type, "tags": tags},
        authorizer_settings={
            "name": cfg.authorizer_name,
            "type": "COGNITO_USER_POOLS",
            "identitySource": f"method.request.header.{cfg.api.authorizer.token_source}",
            "authorizerResultTtlInSeconds": cfg.api.authorizer.result_ttl_s,
        },
        resource_paths=resource_paths([r.path for r in cfg.api.routes]),
        routes=(),
        stage=cfg.api.stage,
        stage_tags=tags,
        tags=tags,
    )
    routes = []
    for r in cfg.api.routes:
        settings: dict[str, Any] = {
            "authorization": "COGNITO_USER_POOLS" if r.authorizer else "NONE",
            "authorizer": cfg.authorizer_name if r.authorizer else None,
            "scopes": sorted(r.scopes),
            "integration": "AWS_PROXY" if r.integration == "proxy" else "AWS",
            "uri": stack.integration_uri,
        }
        if r.integration == "lambda":
            settings["template"] = NON_PROXY_TEMPLATE
        routes.append(RouteSpec(r.path, r.method, settings))
    servers = tuple(
        ResourceServerSpec(
            rs.identifier, rs.name, tuple((sc.name, sc.description) for sc in rs.scopes)
        )
        for rs in cfg.resource_servers
    )
    return DesiredStack(**{
        **stack.__dict__,
        "routes": tuple(routes),
        "resource_servers": servers,
        "machine_clients": tuple(_machine_client_spec(m) for m in cfg.machine_clients),
    })  # fmt: skip
