"""The least IAM policy that runs cogapi with a given config: `cogapi iam-policy`.

`COMMAND_ACTIONS` lists, per command, every IAM action the AWS calls of that command need (the
calls are in `cogapi.aws`; a test records every call the end-to-end tests make and fails when one
maps, through `iam_action`, to an action missing here). `iam_policy(cfg, command, account)` is a
pure function that narrows each action to what the config names:
- Cognito: the account's user pools in the region (`userpool/*`: a pool's id is known only once
  it exists); ListUserPools and DescribeUserPoolDomain take no resource, and CreateUserPool is
  allowed only with this stack's ownership tag in the request.
- IAM: the function's role (and the SMS role, when cogapi makes one); AttachRolePolicy only for
  AWSLambdaBasicExecutionRole; `iam:PassRole` only for the function's role and only to
  lambda.amazonaws.com (and the SMS role to cognito-idp.amazonaws.com).
- Lambda: the function's ARN.
- API Gateway (whose IAM actions are the HTTP verbs): the region's REST APIs, and tags.
Operations that need no permission (STS GetCallerIdentity; InitiateAuth, which is unsigned) are
left out on purpose (`needs_no_permission`).
"""

from __future__ import annotations

from typing import Any

from cogapi.config import Config
from cogapi.stack.models import LAMBDA_BASIC_EXECUTION, OWNER_TAG

COMMANDS = ("up", "status", "down", "token", "user")
# `call` and `verify` find the same ids as `token` (cogapi.stack.lookup), and nothing else.
SAME_AS = {"call": "token", "verify": "token"}

_DISCOVER = {
    "cognito-idp": [
        "ListUserPools", "DescribeUserPool", "DescribeUserPoolDomain", "GetUserPoolMfaConfig",
        "ListUserPoolClients", "DescribeUserPoolClient", "ListIdentityProviders",
        "DescribeIdentityProvider", "ListResourceServers",
    ],
    "iam": ["GetRole", "ListRoleTags", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy"],
    "lambda": ["GetFunction", "GetPolicy"],
    "apigateway": ["GET"],
}  # fmt: skip
_LOOKUP = {
    "cognito-idp": ["ListUserPools", "DescribeUserPool", "ListUserPoolClients", "DescribeUserPoolClient"],
    "apigateway": ["GET"],
}  # fmt: skip
COMMAND_ACTIONS: dict[str, dict[str, list[str]]] = {
    "status": _DISCOVER,
    "up": {
        "cognito-idp": [
            *_DISCOVER["cognito-idp"], "CreateUserPool", "UpdateUserPool", "SetUserPoolMfaConfig",
            "AddCustomAttributes", "CreateUserPoolDomain", "DeleteUserPoolDomain",
            "CreateUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient",
            "CreateIdentityProvider", "UpdateIdentityProvider", "DeleteIdentityProvider",
            "CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer",
        ],
        "iam": [
            *_DISCOVER["iam"], "CreateRole", "TagRole", "UpdateAssumeRolePolicy",
            "AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "PassRole",
        ],
        "lambda": [
            *_DISCOVER["lambda"], "CreateFunction", "GetFunctionConfiguration",
            "UpdateFunctionCode", "UpdateFunctionConfiguration", "TagResource", "AddPermission",
            "RemovePermission",
        ],
        "apigateway": ["GET", "POST", "PUT", "PATCH", "DELETE"],
    },
    "down": {
        "cognito-idp": [*_DISCOVER["cognito-idp"], "DeleteUserPoolDomain", "DeleteUserPool"],
        "iam": [*_DISCOVER["iam"], "DetachRolePolicy", "DeleteRolePolicy", "DeleteRole"],
        "lambda": [*_DISCOVER["lambda"], "DeleteFunction"],
        "apigateway": ["GET", "DELETE"],
    },
    # ListUsers: only after a failed sign-in, to hint `cogapi user add` when the pool has none.
    "token": {**_LOOKUP, "cognito-idp": [*_LOOKUP["cognito-idp"], "ListUsers"]},
    "user": {
        "cognito-idp": [
            *_LOOKUP["cognito-idp"], "ListUsers", "AdminCreateUser", "AdminSetUserPassword",
            "AdminDeleteUser",
        ],
    },
}  # fmt: skip
# Cognito actions that take no resource (the Service Authorization Reference: no resource type).
COGNITO_NO_RESOURCE = {"ListUserPools", "DescribeUserPoolDomain", "CreateUserPool"}
# Calls that need no IAM permission at all.
NO_PERMISSION = {("sts", "GetCallerIdentity")}
# botocore operation names that differ from their IAM action.
RENAMED = {("lambda", "Invoke"): "InvokeFunction"}


def needs_no_permission(service: str, operation: str, signed: bool = True) -> bool:
    """Unsigned operations (InitiateAuth) and STS GetCallerIdentity are allowed to anyone."""
    return not signed or (service, operation) in NO_PERMISSION


def iam_action(service: str, operation: str, http_method: str) -> str:
    """The IAM action of a botocore operation: `<prefix>:<operation>`, with API Gateway's HTTP
    verbs (`apigateway:GET`, ...) and the few renamed ones."""
    if service == "apigateway":
        return f"apigateway:{http_method.upper()}"
    return f"{service}:{RENAMED.get((service, operation), operation)}"


def command_actions(command: str) -> set[str]:
    """Every IAM action `command` may need (`all`: every command's)."""
    names = COMMANDS if command == "all" else (SAME_AS.get(command, command),)
    out: set[str] = set()
    for name in names:
        for service, actions in COMMAND_ACTIONS[name].items():
            out |= {f"{service}:{a}" for a in actions}
    return out


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _statement(
    sid: str, actions: list[str], resources: list[str], condition: Any = None
) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": resources[0] if len(resources) == 1 else resources,
    }
    if condition:
        st["Condition"] = condition
    return st


def iam_policy(cfg: Config, command: str = "all", account: str = "*") -> dict[str, Any]:
    """The policy document for `command` (`all`: every command) with this config."""
    actions = command_actions(command)
    p, region = partition(cfg.region), cfg.region

    def of(service: str) -> list[str]:
        return sorted(a.split(":", 1)[1] for a in actions if a.startswith(service + ":"))

    statements = []
    cognito = of("cognito-idp")
    pool_arn = f"arn:{p}:cognito-idp:{region}:{account}:userpool/*"
    free = [a for a in cognito if a in COGNITO_NO_RESOURCE and a != "CreateUserPool"]
    if free:
        statements.append(_statement("CognitoFind", [f"cognito-idp:{a}" for a in free], ["*"]))
    if "CreateUserPool" in cognito:
        statements.append(_statement(
            "CognitoCreateOwnedPool", ["cognito-idp:CreateUserPool"], ["*"],
            {"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": cfg.name}},
        ))  # fmt: skip
    pooled = [a for a in cognito if a not in COGNITO_NO_RESOURCE]
    if pooled:
        statements.append(
            _statement("CognitoUserPools", [f"cognito-idp:{a}" for a in pooled], [pool_arn])
        )

    iam = [a for a in of("iam") if a not in ("PassRole", "AttachRolePolicy")]
    roles = [f"arn:{p}:iam::{account}:role/{cfg.role_name}"]
    if cfg.wants_sms_role:
        roles.append(f"arn:{p}:iam::{account}:role/{cfg.sms_role_name}")
    if iam:
        statements.append(_statement("IamRoles", [f"iam:{a}" for a in iam], roles))
    if "AttachRolePolicy" in of("iam"):
        basic = LAMBDA_BASIC_EXECUTION.replace("arn:aws:", f"arn:{p}:", 1)
        statements.append(_statement(
            "IamAttachBasicExecution", ["iam:AttachRolePolicy"], roles[:1],
            {"ArnEquals": {"iam:PolicyARN": basic}},
        ))  # fmt: skip
    if "PassRole" in of("iam"):
        statements.append(_statement(
            "PassRoleToLambda", ["iam:PassRole"], roles[:1],
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ))  # fmt: skip
        sms = cfg.user_pool.sms_role_arn or (roles[1] if cfg.wants_sms_role else None)
        if sms:  # the pool's SmsConfiguration names it: CreateUserPool and UpdateUserPool pass it
            statements.append(_statement(
                "PassSmsRoleToCognito", ["iam:PassRole"], [sms],
                {"StringEquals": {"iam:PassedToService": "cognito-idp.amazonaws.com"}},
            ))  # fmt: skip

    lam = of("lambda")
    if lam:
        fn = f"arn:{p}:lambda:{region}:{account}:function:{cfg.function_name}"
        statements.append(_statement("LambdaFunction", [f"lambda:{a}" for a in lam], [fn]))

    verbs = of("apigateway")
    if verbs:
        base = f"arn:{p}:apigateway:{region}::"
        resources = [f"{base}/restapis", f"{base}/restapis/*"]
        if "PUT" in verbs:
            resources.append(f"{base}/tags/*")  # TagResource is PUT /tags/{arn}
        statements.append(
            _statement("ApiGatewayRestApis", [f"apigateway:{v}" for v in verbs], resources)
        )
    return {"Version": "2012-10-17", "Statement": statements}
