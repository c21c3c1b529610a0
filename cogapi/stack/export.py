"""The stack as a CloudFormation template, and the list an IMPORT change set takes to adopt it.

`cloudformation_template(desired)` is a pure function of the same desired stack `up` converges
to (`stack.models`): each resource's properties come from the very request parameters the
executor sends (CloudFormation's property names are the API's, with a handful of renames listed
in `POOL_RENAMES`), and the REST API's `Body` is the document `up` puts with PutRestApi
(`stack.openapi.api_document`). What `up` learns only at run time (the account, the pool's ARN,
the API's id) is written as a `${...}` placeholder while rendering and every string holding one
becomes an `Fn::Sub`, so once CloudFormation resolves them the body is byte for byte what `up`
sends for that account and pool.

Design points:
- The deployment's logical id carries a hash of the document: CloudFormation creates a new
  deployment only for a new logical id, so without it the stage would keep serving the first
  document forever (the trap of terraform#6613).
- The pool has `DeletionPolicy` and `UpdateReplacePolicy: Retain`: deleting the stack, or a change
  that needs a new pool, never takes the users with it.
- Federated-provider secrets are `NoEcho` parameters, never literals. The built-in handler goes
  inline (`Code.ZipFile`; CloudFormation writes it to `index.py`, hence handler `index.<name>`); a
  user's `function.source` is a zip the caller writes beside the template, named by its hash, with
  bucket and key parameters.
- `import_resources(template, observed)` lists, from a discovery, every existing resource of a
  type CloudFormation can import with the identifier keys of that type's primary identifier (the
  CloudFormation resource schemas); `import_template` is the template an IMPORT change set takes
  (those resources only, each retained, no outputs: an import may add nothing else).
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from cogapi.stack.discover import Observed
from cogapi.stack.models import DesiredStack
from cogapi.stack.openapi import api_document, document_json
from cogapi.stack.outputs import hosted_ui_base, invoke_base, login_url

TEMPLATE_VERSION = "2010-09-09"
# Placeholders rendered into strings; each string holding one becomes an Fn::Sub.
ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
POOL_ARN = "${UserPool.Arn}"
API_ID = "${RestApi}"
CLIENT_ID = "${AppClient}"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
SUBSTITUTED = {
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "UserPool.Arn",
    "RestApi",
    "AppClient",
    "SmsRole.Arn",
}
# CreateUserPool's parameter -> AWS::Cognito::UserPool's property, where the names differ.
POOL_RENAMES = {"PoolName": "UserPoolName"}
MFA_METHODS = {"totp": "SOFTWARE_TOKEN_MFA", "sms": "SMS_MFA"}
# The resources an IMPORT change set can adopt, with the keys of each type's primary identifier
# (the `primaryIdentifier` of its CloudFormation resource schema).
IMPORTABLE: dict[str, tuple[str, ...]] = {
    "AWS::Cognito::UserPool": ("UserPoolId",),
    "AWS::Cognito::UserPoolDomain": ("UserPoolId", "Domain"),
    "AWS::Cognito::UserPoolClient": ("UserPoolId", "ClientId"),
    "AWS::Cognito::UserPoolIdentityProvider": ("UserPoolId", "ProviderName"),
    "AWS::Cognito::UserPoolResourceServer": ("UserPoolId", "Identifier"),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::ApiGateway::RestApi": ("RestApiId",),
    "AWS::ApiGateway::Deployment": ("DeploymentId", "RestApiId"),
    "AWS::ApiGateway::Stage": ("RestApiId", "StageName"),
}
# Left out of the import, and why (the README says what to do with each).
NOT_IMPORTED = {
    "AWS::Lambda::Permission": (
        "its identifier is a statement id CloudFormation generates; the full template creates "
        "a new permission on the first update, after which cogapi's own statement can go"
    ),
}


def logical_id(*parts: str) -> str:
    """A CloudFormation logical id (alphanumeric) from free-form names: `my-idp` -> `MyIdp`."""
    words = re.split(r"[^A-Za-z0-9]+", " ".join(parts))
    return "".join(w[:1].upper() + w[1:] for w in words if w) or "Resource"


def _sub(value: Any) -> Any:
    """Wrap every string holding a placeholder in Fn::Sub (escaping any other `${`)."""
    if isinstance(value, dict):
        if "Fn::Sub" in value:  # already substituted
            return value
        return {k: _sub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub(v) for v in value]
    if isinstance(value, str) and "${" in value:
        names = _PLACEHOLDER.findall(value)
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in SUBSTITUTED and not whole.group(1).startswith("AWS::"):
            name, _, attr = whole.group(1).partition(".")
            return {"Fn::GetAtt": [name, attr]} if attr else {"Ref": name}
        if any(n in SUBSTITUTED for n in names):
            escaped = _PLACEHOLDER.sub(
                lambda m: m.group(0) if m.group(1) in SUBSTITUTED else "${!" + m.group(1) + "}",
                value,
            )
            # cogapi's ARNs say `aws`; the template says whichever partition it is deployed in.
            return {"Fn::Sub": escaped.replace("arn:aws:", "arn:${AWS::Partition}:")}
    return value


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _digest(text: str | bytes, n: int = 12) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:n]


def code_file_name(desired: DesiredStack) -> str:
    """The zip of a user's function.source, named by its content: a new key means new code."""
    return f"{desired.function.name}-{_digest(desired.function.code.zip_bytes, 16)}.zip"


def inline_handler(desired: DesiredStack) -> str:
    """The built-in handler's name as CloudFormation's inline code has it (`index.<name>`)."""
    return "index." + desired.function.settings["handler"].rsplit(".", 1)[1]


def is_builtin(desired: DesiredStack) -> bool:
    return desired.cfg.function.source is None


def deployment_logical_id(document: dict[str, Any]) -> str:
    """`Deployment<hash of the body as the template holds it>`: a new document, a new id."""
    return "Deployment" + _digest(document_json(document), 10)


# ---- resources ------------------------------------------------------------------------------


def _pool(d: DesiredStack, sms_logical: str | None) -> dict[str, Any]:
    create = d.pool.create_params
    props: dict[str, Any] = {POOL_RENAMES.get(k, k): copy.deepcopy(v) for k, v in create.items()}
    props["MfaConfiguration"] = d.pool.mfa_params["MfaConfiguration"]
    methods = d.pool.settings["mfa_methods"]
    if methods:
        props["EnabledMfas"] = [MFA_METHODS[m] for m in methods]
    if sms_logical and "SmsConfiguration" in props:
        props["SmsConfiguration"]["SnsCallerArn"] = {"Fn::GetAtt": [sms_logical, "Arn"]}
    return {
        "Type": "AWS::Cognito::UserPool",
        # Never lose the users: neither deleting the stack nor a replacement deletes the pool.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }


def _role(spec: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "RoleName": spec.name,
        "Description": spec.description,
        "AssumeRolePolicyDocument": spec.trust,
        "Tags": _tag_list(spec.tags),
    }
    if spec.managed_policies:
        props["ManagedPolicyArns"] = list(spec.managed_policies)
    if spec.inline_policies:
        props["Policies"] = [
            {"PolicyName": name, "PolicyDocument": doc}
            for name, doc in sorted(spec.inline_policies.items())
        ]
    return {"Type": "AWS::IAM::Role", "Properties": props}


def _function(d: DesiredStack, role_logical: str) -> dict[str, Any]:
    params = d.function.create_params()
    if is_builtin(d):
        source = _builtin_source()
        code: dict[str, Any] = {"ZipFile": source}
        handler = inline_handler(d)
    else:
        code = {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}
        handler = params["Handler"]
    props: dict[str, Any] = {
        "FunctionName": params["FunctionName"],
        "Description": params["Description"],
        "Runtime": params["Runtime"],
        "Handler": handler,
        "Role": {"Fn::GetAtt": [role_logical, "Arn"]},
        "Code": code,
        "MemorySize": params["MemorySize"],
        "Timeout": params["Timeout"],
        "Tags": _tag_list(params["Tags"]),
    }
    if params["Environment"]["Variables"]:
        props["Environment"] = copy.deepcopy(params["Environment"])
    return {"Type": "AWS::Lambda::Function", "Properties": props}


def _builtin_source() -> str:
    from cogapi.stack.code import BUILTIN_DIR

    return (BUILTIN_DIR / "app.py").read_text(encoding="utf-8")


def _client(params: dict[str, Any], generate_secret: bool, depends: list[str]) -> dict[str, Any]:
    props = {"UserPoolId": {"Ref": "UserPool"}, "GenerateSecret": generate_secret}
    props.update(copy.deepcopy(params))
    out: dict[str, Any] = {"Type": "AWS::Cognito::UserPoolClient", "Properties": props}
    if depends:
        out["DependsOn"] = sorted(depends)
    return out


def _machine_resources(d: DesiredStack) -> tuple[dict[str, Any], list[str]]:
    """Resource servers and machine clients (`resource_servers`, `machine_clients`).

    From the engine's specs when the desired stack has them, else from the config in the same
    request shapes (CreateResourceServer; a client_credentials-only CreateUserPoolClient with a
    secret, aws-notes: "Resource servers and machine clients"). Returns the resources and the
    logical ids of the resource servers, which every client naming a custom scope waits for.
    """
    resources: dict[str, Any] = {}
    servers: list[str] = []
    for rs in _server_params(d):
        lid = _unique(resources, logical_id("ResourceServer", rs["Identifier"]))
        resources[lid] = {
            "Type": "AWS::Cognito::UserPoolResourceServer",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, **rs},
        }
        servers.append(lid)
    for name, params in _machine_client_params(d):
        lid = _unique(resources, logical_id("MachineClient", name))
        resources[lid] = _client(params, True, servers)
    return resources, servers


def _server_params(d: DesiredStack) -> list[dict[str, Any]]:
    specs = getattr(d, "resource_servers", None)
    if specs is not None:
        return [{k: v for k, v in rs.params("").items() if k != "UserPoolId"} for rs in specs]
    return [
        {
            "Identifier": rs.identifier,
            "Name": rs.name,
            "Scopes": [{"ScopeName": s.name, "ScopeDescription": s.description} for s in rs.scopes],
        }
        for rs in getattr(d.cfg, "resource_servers", None) or []
    ]


def _machine_client_params(d: DesiredStack) -> list[tuple[str, dict[str, Any]]]:
    specs = getattr(d, "machine_clients", None)
    if specs is not None:
        return [(mc.name, dict(mc.params)) for mc in specs]
    out = []
    for mc in getattr(d.cfg, "machine_clients", None) or []:
        out.append((mc.name, {
            "ClientName": mc.name,
            "AccessTokenValidity": mc.token_validity.access_minutes(),
            "IdTokenValidity": 60,
            "RefreshTokenValidity": 43200,
            "TokenValidityUnits": {
                "AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes",
            },
            "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
            "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthScopes": sorted(mc.scopes),
            "AllowedOAuthFlowsUserPoolClient": True,
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
        }))  # fmt: skip
    return out


def _unique(taken: dict[str, Any], lid: str) -> str:
    if lid not in taken:
        return lid
    n = 2
    while f"{lid}{n}" in taken:
        n += 1
    return f"{lid}{n}"


def rest_api_body(d: DesiredStack) -> dict[str, Any]:
    """The document `up` puts with PutRestApi, with the pool's ARN as a placeholder."""
    return api_document(d, POOL_ARN)


def cloudformation_template(d: DesiredStack) -> dict[str, Any]:
    """The whole stack as a CloudFormation template (a dict; YAML is the caller's business).

    `d` must be built with the placeholder account (`ACCOUNT`) and region (`REGION`):
    `desired_for_export` does that.
    """
    cfg = d.cfg
    params: dict[str, Any] = {}
    res: dict[str, Any] = {}
    sms_logical = "SmsRole" if d.sms_role else None
    if d.sms_role:
        res["SmsRole"] = _role(d.sms_role)
    res["UserPool"] = _pool(d, sms_logical)
    domain: dict[str, Any] = {"UserPoolId": {"Ref": "UserPool"}, "Domain": d.domain}
    if d.certificate_arn:
        domain["CustomDomainConfig"] = {"CertificateArn": d.certificate_arn}
    else:
        domain["ManagedLoginVersion"] = 1  # the classic hosted UI, as `up` creates it
    res["UserPoolDomain"] = {"Type": "AWS::Cognito::UserPoolDomain", "Properties": domain}
    idp_ids = []
    for idp in d.idps:
        lid = _unique(res, logical_id("IdentityProvider", idp.name))
        details = dict(idp.params["ProviderDetails"])
        if idp.secret_env:
            pname = _unique(params, lid + "Secret")
            key = (
                "private_key"
                if idp.params["ProviderType"] == "SignInWithApple"
                else "client_secret"
            )
            params[pname] = {
                "Type": "String",
                "NoEcho": True,
                "MinLength": 1,
                "Description": f"{key} of identity provider {idp.name} (cogapi reads it from ${idp.secret_env})",
            }
            details[key] = {"Ref": pname}
        res[lid] = {
            "Type": "AWS::Cognito::UserPoolIdentityProvider",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ProviderName": idp.params["ProviderName"],
                "ProviderType": idp.params["ProviderType"],
                "ProviderDetails": details,
                "AttributeMapping": dict(idp.params["AttributeMapping"]),
            },
        }
        idp_ids.append(lid)
    machine, servers = _machine_resources(d)
    res["AppClient"] = _client(d.client.params, d.client.generate_secret, idp_ids + servers)
    res.update(machine)
    res["FunctionRole"] = _role(d.role)
    if not is_builtin(d):
        params["CodeS3Bucket"] = {
            "Type": "String",
            "MinLength": 3,
            "Description": f"S3 bucket holding {code_file_name(d)} (the function's code)",
        }
        params["CodeS3Key"] = {
            "Type": "String",
            "Default": code_file_name(d),
            "Description": "S3 key of the function's zip; the file name carries its hash",
        }
    res["Function"] = _function(d, "FunctionRole")
    body = _sub(rest_api_body(d))
    res["RestApi"] = {
        "Type": "AWS::ApiGateway::RestApi",
        "Properties": {
            "Name": d.api_name,
            "Description": f"Managed by cogapi (stack {cfg.name})",
            "EndpointConfiguration": {"Types": [d.api_settings["endpoint_type"]]},
            # As `up` puts it: the document replaces the API's whole definition.
            "Mode": "overwrite",
            "Body": body,
            "Tags": _tag_list(d.tags),
        },
    }
    res["InvokePermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": "Function"},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": d.permission_source_arn(ACCOUNT, API_ID),
        },
    }
    dep = deployment_logical_id(body)
    res[dep] = {
        "Type": "AWS::ApiGateway::Deployment",
        "Properties": {
            "RestApiId": {"Ref": "RestApi"},
            "Description": f"cogapi export {dep[len('Deployment') :]}",
        },
    }
    res["Stage"] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "RestApiId": {"Ref": "RestApi"},
            "StageName": d.stage,
            "DeploymentId": {"Ref": dep},
            "Description": f"Managed by cogapi (stack {cfg.name})",
            "Tags": _tag_list(d.stage_tags),
        },
    }
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": f"cogapi stack {cfg.name}: Cognito user pool, hosted UI, Lambda, REST API",
    }
    if params:
        template["Parameters"] = params
    template["Resources"] = _sub(res)
    template["Outputs"] = _sub(_outputs(d))
    return template


def _outputs(d: DesiredStack) -> dict[str, Any]:
    cfg = d.cfg
    # login_url URL-encodes its arguments: put the placeholder in after.
    login = login_url(cfg, "CLIENTID", None).replace("client_id=CLIENTID", f"client_id={CLIENT_ID}")
    out = {
        "HostedUiUrl": (login, "The hosted UI's sign-in page for the app client"),
        "HostedUiBase": (hosted_ui_base(cfg, None), "The hosted UI's domain"),
        "InvokeUrl": (
            invoke_base(cfg, API_ID, None) + cfg.api.routes[0].path,
            "The first route on the stage",
        ),
        "UserPoolId": ({"Ref": "UserPool"}, "user_pool_id"),
        "AppClientId": ({"Ref": "AppClient"}, "app_client_id"),
        "ApiId": ({"Ref": "RestApi"}, "api_id"),
        "Region": (REGION, "region"),
        "Stage": (d.stage, "stage"),
        "Domain": (d.domain, "domain"),
        "FunctionArn": ({"Fn::GetAtt": ["Function", "Arn"]}, "function_arn"),
        "RoleArn": ({"Fn::GetAtt": ["FunctionRole", "Arn"]}, "role_arn"),
    }
    return {k: {"Description": desc, "Value": v} for k, (v, desc) in out.items()}


def desired_for_export(cfg: Any, code: Any) -> DesiredStack:
    """The desired stack with the account and region left to CloudFormation (`${AWS::...}`)."""
    from cogapi.stack.models import desired_stack

    return desired_stack(cfg.model_copy(update={"region": REGION}), ACCOUNT, code)


# ---- adopting the live stack ----------------------------------------------------------------


def _identifiers(template: dict[str, Any], o: Observed) -> dict[str, dict[str, str]]:
    """Logical id -> resource identifier, for each template resource discovery found."""
    res = template["Resources"]
    out: dict[str, dict[str, str]] = {}
    pool_id = o.pool_id
    props = {lid: r.get("Properties", {}) for lid, r in res.items()}
    if pool_id:
        out["UserPool"] = {"UserPoolId": pool_id}
        if o.pool_domain and o.pool_domain == props["UserPoolDomain"]["Domain"]:
            out["UserPoolDomain"] = {"UserPoolId": pool_id, "Domain": o.pool_domain}
        if o.client:
            out["AppClient"] = {"UserPoolId": pool_id, "ClientId": o.client["ClientId"]}
        for lid, r in res.items():
            name = props[lid].get("ProviderName")
            if r["Type"] == "AWS::Cognito::UserPoolIdentityProvider" and name in o.idps:
                out[lid] = {"UserPoolId": pool_id, "ProviderName": name}
        out.update(_machine_identifiers(res, o, pool_id))
    for lid, seen, foreign in (
        ("FunctionRole", o.role, o.role_foreign),
        ("SmsRole", o.sms_role, o.sms_role_foreign),
    ):
        if lid in res and seen is not None and not foreign:
            out[lid] = {"RoleName": props[lid]["RoleName"]}
    if o.function is not None and not o.function_foreign:
        out["Function"] = {"FunctionName": props["Function"]["FunctionName"]}
    if o.api_id:
        out["RestApi"] = {"RestApiId": o.api_id}
        if o.stage:
            out["Stage"] = {"RestApiId": o.api_id, "StageName": o.stage["stageName"]}
            dep = next(lid for lid, r in res.items() if r["Type"] == "AWS::ApiGateway::Deployment")
            if o.stage.get("deploymentId"):
                out[dep] = {"DeploymentId": o.stage["deploymentId"], "RestApiId": o.api_id}
    return out


def _machine_identifiers(
    res: dict[str, Any], o: Observed, pool_id: str
) -> dict[str, dict[str, str]]:
    """Resource servers and machine clients that discovery found (when it reads them)."""
    out: dict[str, dict[str, str]] = {}
    servers = getattr(o, "resource_servers", None) or {}
    clients = getattr(o, "machine_clients", None) or {}
    for lid, r in res.items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::Cognito::UserPoolResourceServer" and p["Identifier"] in servers:
            out[lid] = {"UserPoolId": pool_id, "Identifier": p["Identifier"]}
        if lid.startswith("MachineClient") and p.get("ClientName") in clients:
            found = clients[p["ClientName"]]
            out[lid] = {"UserPoolId": pool_id, "ClientId": found["ClientId"]}
    return out


def import_resources(template: dict[str, Any], o: Observed) -> list[dict[str, Any]]:
    """`--resources-to-import` of an IMPORT change set: every importable resource that exists."""
    res = template["Resources"]
    out = []
    for lid, ident in _identifiers(template, o).items():
        rtype = res[lid]["Type"]
        keys = IMPORTABLE.get(rtype)
        if keys is None:
            continue
        assert set(ident) == set(keys), (lid, ident, keys)
        out.append(
            {
                "ResourceType": rtype,
                "LogicalResourceId": lid,
                "ResourceIdentifier": {k: ident[k] for k in keys},
            }
        )
    return out


def not_imported(template: dict[str, Any]) -> dict[str, str]:
    """Logical ids of the template's resources an import cannot adopt -> why."""
    return {
        lid: NOT_IMPORTED[r["Type"]]
        for lid, r in template["Resources"].items()
        if r["Type"] in NOT_IMPORTED
    }


def import_template(template: dict[str, Any], to_import: list[dict[str, Any]]) -> dict[str, Any]:
    """The template an IMPORT change set takes: only the resources imported, each retained, no
    outputs (an import may add nothing else), and only the parameters those resources use."""
    keep = {r["LogicalResourceId"] for r in to_import}
    resources = {}
    for lid, r in template["Resources"].items():
        if lid in keep:
            r = copy.deepcopy(r)
            r["DeletionPolicy"] = "Retain"  # an import requires one on every resource
            r.setdefault("UpdateReplacePolicy", "Retain")
            if "DependsOn" in r:
                r["DependsOn"] = [x for x in r["DependsOn"] if x in keep]
                if not r["DependsOn"]:
                    del r["DependsOn"]
            resources[lid] = r
    out: dict[str, Any] = {
        "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
        "Description": template["Description"] + " (import)",
    }
    used = _refs(resources)
    params = {k: v for k, v in (template.get("Parameters") or {}).items() if k in used}
    if params:
        out["Parameters"] = params
    out["Resources"] = resources
    return out


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found: set[str] = set()
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::Sub" and isinstance(v, str):
                found |= {n.split(".")[0] for n in _PLACEHOLDER.findall(v)}
            else:
                found |= _refs(v)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()
