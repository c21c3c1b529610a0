"""Settings in one normal form on both sides, in the config's terms: what AWS answered
(`observed_*`) and, where the config's own form is not already `models.py`'s, what the config
wants (`desired_*`). The planner diffs the two; because both sides are built here and in
`models.py`, AWS's reformatting (reordered lists, defaults it fills in, ids where the config has
names) never shows as drift.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from cogapi.config.model import Cors
from cogapi.stack.models import NON_PROXY_TEMPLATE, SIGN_IN_TAG, DesiredStack, RouteSpec
from cogapi.stack.openapi import allow_methods_value

# An integration URI naming a Lambda function: .../functions/arn:...:function:<name>/invocations
LAMBDA_URI = re.compile(r"/functions/arn:[^/]*:function:([^/:]+)(?::[^/]*)?/invocations$")


def managed_tags(observed: dict[str, str] | None, wanted: dict[str, str]) -> dict[str, str | None]:
    """Only the tag keys we manage: tags others add (org policies, cost tools) are not drift."""
    observed = observed or {}
    return {k: observed.get(k) for k in wanted}


def observed_pool_settings(
    pool: dict[str, Any], mfa: dict[str, Any] | None, wanted_tags: dict[str, str]
) -> dict[str, Any]:
    pw = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
    pw_keys = ("MinimumLength", "RequireUppercase", "RequireLowercase", "RequireNumbers",
               "RequireSymbols", "TemporaryPasswordValidityDays")  # fmt: skip
    mfa_mode = (mfa or {}).get("MfaConfiguration") or pool.get("MfaConfiguration") or "OFF"
    methods = []
    if mfa_mode != "OFF" and mfa:
        if (mfa.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"):
            methods.append("totp")
        if mfa.get("SmsMfaConfiguration"):
            methods.append("sms")
    email = pool.get("EmailConfiguration") or {}
    email = {
        k: email[k]
        for k in ("EmailSendingAccount", "SourceArn", "From", "ReplyToEmailAddress")
        if email.get(k)
    }
    mechanisms = sorted(
        (pool.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms") or [],
        key=lambda m: m.get("Priority", 0),
    )
    return {
        "password_policy": {k: pw.get(k) for k in pw_keys},
        "deletion_protection": pool.get("DeletionProtection", "INACTIVE"),
        "auto_verify": sorted(pool.get("AutoVerifiedAttributes") or []),
        "self_sign_up": not (pool.get("AdminCreateUserConfig") or {}).get(
            "AllowAdminCreateUserOnly", False
        ),
        "mfa": mfa_mode,
        "mfa_methods": sorted(methods),
        "email": email or {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "account_recovery": [m["Name"] for m in mechanisms],
        "tags": managed_tags(pool.get("UserPoolTags"), wanted_tags),
    }


def observed_sign_in(pool: dict[str, Any]) -> list[str]:
    if pool.get("UsernameAttributes"):
        return sorted(pool["UsernameAttributes"])
    if pool.get("AliasAttributes"):
        return sorted(["username", *pool["AliasAttributes"]])
    # moto drops UsernameAttributes after any update: fall back to what we recorded at creation.
    tag = (pool.get("UserPoolTags") or {}).get(SIGN_IN_TAG)
    return sorted(tag.split("+")) if tag else ["username"]


def _schema(pool: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pool.get("SchemaAttributes") or [])


def observed_required(pool: dict[str, Any]) -> list[str]:
    return sorted(
        a["Name"] for a in _schema(pool)
        if a.get("Required") and a["Name"] != "sub" and not a["Name"].startswith("custom:")
    )  # fmt: skip


def observed_custom(pool: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Name"][len("custom:") :]: a for a in _schema(pool) if a["Name"].startswith("custom:")
    }


def observed_function_settings(fn: dict[str, Any], wanted_tags: dict[str, str]) -> dict[str, Any]:
    return {
        "runtime": fn.get("Runtime"),
        "handler": fn.get("Handler"),
        "memory_mb": fn.get("MemorySize"),
        "timeout_s": fn.get("Timeout"),
        "environment": (fn.get("Environment") or {}).get("Variables") or {},
        "role_arn": fn.get("Role"),
        "code_sha256": fn.get("CodeSha256"),
        "tags": managed_tags(fn.get("Tags"), wanted_tags),
    }


def _function_of(uri: str | None) -> str | None:
    """The function an integration URI calls (its name), or the URI itself if it is no Lambda's."""
    found = LAMBDA_URI.search(uri or "")
    return found.group(1) if found else uri


def desired_route_settings(r: RouteSpec) -> dict[str, Any]:
    """A route as the config says it: authorizer, scopes, integration, function."""
    s = r.settings
    out: dict[str, Any] = {
        "authorizer": s["authorization"] == "COGNITO_USER_POOLS",
        "scopes": list(s["scopes"]),
        "integration": "proxy" if s["integration"] == "AWS_PROXY" else "lambda",
        "function": _function_of(s["uri"]),
    }
    if s["integration"] == "AWS":
        out["request_template"] = "cogapi's"
    return out


def observed_route_settings(
    method: dict[str, Any], authorizer_names: dict[str, str], our_authorizer: str
) -> dict[str, Any]:
    """A method read back from API Gateway, in the config's terms (never AWS field names).

    `authorizer` is true only for our authorizer, matched by the name its id resolves to; another
    authorizer shows by its name.
    """
    integ = method.get("methodIntegration") or {}
    kind = str(integ.get("type") or "").upper()
    authorizer: bool | str = False
    if (method.get("authorizationType") or "NONE") != "NONE":
        name = authorizer_names.get(method.get("authorizerId") or "")
        authorizer = True if name == our_authorizer else (name or str(method["authorizationType"]))
    out: dict[str, Any] = {
        "authorizer": authorizer,
        "scopes": sorted(method.get("authorizationScopes") or []),
        "integration": {"AWS_PROXY": "proxy", "AWS": "lambda"}.get(kind, kind.lower() or None),
        "function": _function_of(integ.get("uri")),
    }
    if kind == "AWS":
        template = (integ.get("requestTemplates") or {}).get("application/json")
        out["request_template"] = "cogapi's" if template == NON_PROXY_TEMPLATE else "other"
    return out


def desired_preflight_settings(cors: Cors, route_methods: list[str]) -> dict[str, Any]:
    return {
        "allow_origins": list(cors.allow_origins),
        "allow_methods": allow_methods_value(cors, route_methods).split(","),
        "allow_headers": list(cors.allow_headers),
        "max_age_s": cors.max_age_s,
        "allow_credentials": cors.allow_credentials,
    }


def observed_preflight_settings(method: dict[str, Any]) -> dict[str, Any]:
    """An OPTIONS method's MOCK answer read back as `api.cors` keys."""
    integ = method.get("methodIntegration") or {}
    responses = integ.get("integrationResponses") or {}
    response: dict[str, Any] = responses.get("200") or next(iter(responses.values()), {}) or {}
    params = response.get("responseParameters") or {}

    def header(name: str) -> str | None:
        value = params.get(f"method.response.header.{name}")
        return value.strip("'") if isinstance(value, str) else None

    origins: list[str] | None = None
    template = (response.get("responseTemplates") or {}).get("application/json") or ""
    listed = re.match(r"#set\(\$allowed = (\[.*?\])\)", template)
    if listed:
        with contextlib.suppress(ValueError):
            origins = [str(o) for o in json.loads(listed.group(1))]
    origin = header("Access-Control-Allow-Origin")
    if origins is None:
        origins = [origin] if origin else []
    methods, headers, age = (
        header("Access-Control-Allow-Methods"),
        header("Access-Control-Allow-Headers"),
        header("Access-Control-Max-Age"),
    )
    return {
        "allow_origins": origins,
        "allow_methods": methods.split(",") if methods else [],
        "allow_headers": headers.split(",") if headers else [],
        "max_age_s": int(age) if age and age.isdigit() else None,
        "allow_credentials": header("Access-Control-Allow-Credentials") == "true",
    }


def authorizer_settings(d: DesiredStack, pool_id: str | None) -> dict[str, Any]:
    """The authorizer as `api.authorizer` says it (the pool by ARN, which is what changes)."""
    return {
        "token_source": d.cfg.api.authorizer.token_source,
        "result_ttl_s": d.cfg.api.authorizer.result_ttl_s,
        "user_pool": d.pool_arn(pool_id) if pool_id else "<new pool>",
    }


def observed_authorizer_settings(a: dict[str, Any]) -> dict[str, Any]:
    source = str(a.get("identitySource") or "")
    arns = a.get("providerARNs") or []
    return {
        "token_source": source.removeprefix("method.request.header."),
        "result_ttl_s": a.get("authorizerResultTtlInSeconds", 300),
        "user_pool": arns[0] if len(arns) == 1 else sorted(arns),
    }


def permission_granted(policy: list[dict[str, Any]], sid: str, source_arn: str) -> bool:
    for st in policy:
        if st.get("Sid") != sid:
            continue
        cond = st.get("Condition") or {}
        arn = (cond.get("ArnLike") or {}).get("AWS:SourceArn") or (cond.get("ArnEquals") or {}).get(
            "AWS:SourceArn"
        )
        return arn == source_arn
    return False
