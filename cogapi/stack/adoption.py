"""A stack that CloudFormation adopted (`cogapi export --import-file`) is no longer cogapi's.

CloudFormation marks what it manages with its stack tags (`aws:cloudformation:stack-name`,
`aws:cloudformation:stack-id`, `aws:cloudformation:logical-id`). Once any resource of the stack
carries them, `up` and `down` change nothing: `refuse_adopted(plan, observed)` turns every
mutating change of a plan into a blocked one that names the CloudFormation stack (a blocked plan
stops before any call). Changes that would only create or touch a resource beside the adopted
ones are refused too: half a stack under each engine is the drift neither can see. Reads are
untouched, so `status`, `token`, `call` and `verify` keep working.

Pure functions of the plan and what discovery read (the tags come with discovery's answers).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cogapi.stack.discover import Observed
from cogapi.stack.planner import Change, Plan

CFN_TAG_PREFIX = "aws:cloudformation:"
STACK_NAME_TAG = "aws:cloudformation:stack-name"
STACK_ID_TAG = "aws:cloudformation:stack-id"
# Which tagged resource a change belongs to: children share their parent's fate.
FAMILY = {
    "user_pool": "user_pool", "user_pool_domain": "user_pool", "app_client": "user_pool",
    "identity_provider": "user_pool", "resource_server": "user_pool", "machine_client": "user_pool",
    "lambda_function": "lambda_function", "lambda_permission": "lambda_function",
    "rest_api": "rest_api", "authorizer": "rest_api", "api_resource": "rest_api",
    "api_method": "rest_api", "api_document": "rest_api", "stage": "rest_api",
}  # fmt: skip


def cloudformation_stack(tags: dict[str, str] | None) -> str | None:
    """The CloudFormation stack named by a resource's tags, or None when it carries none."""
    tags = tags or {}
    if STACK_NAME_TAG in tags:
        return tags[STACK_NAME_TAG]
    if STACK_ID_TAG in tags:  # arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
        return tags[STACK_ID_TAG].split(":stack/")[-1].split("/")[0]
    if any(k.startswith(CFN_TAG_PREFIX) for k in tags):
        return "(unnamed)"
    return None


def adopted(o: Observed) -> dict[str, tuple[str, str]]:
    """Family (or `iam_role:<name>`) -> (what carries the tags, CloudFormation stack name)."""
    found: dict[str, tuple[str, str]] = {}
    candidates: list[tuple[str, str, dict[str, Any] | None]] = []
    if o.pool is not None:
        candidates.append(("user_pool", f"user pool {o.pool_id}", o.pool.get("UserPoolTags")))
    for role, foreign in ((o.role, o.role_foreign), (o.sms_role, o.sms_role_foreign)):
        if role is not None and not foreign:
            name = str(role.get("RoleName"))
            candidates.append((f"iam_role:{name}", f"IAM role {name}", role.get("TagMap")))
    if o.function is not None and not o.function_foreign:
        name = str(o.function.get("FunctionName"))
        candidates.append(("lambda_function", f"Lambda function {name}", o.function.get("Tags")))
    if o.api is not None:
        candidates.append(("rest_api", f"REST API {o.api_id}", o.api.get("tags")))
    if o.stage is not None and o.api is not None:
        candidates.append(("rest_api", f"stage {o.stage.get('stageName')}", o.stage.get("tags")))
    for family, what, tags in candidates:
        stack = cloudformation_stack(tags)
        if stack is not None and family not in found:
            found[family] = (what, stack)
    return found


def _family(c: Change) -> str:
    return f"iam_role:{c.name}" if c.kind == "iam_role" else FAMILY.get(c.kind, c.kind)


def refuse_adopted(plan: Plan, o: Observed) -> Plan:
    """The plan with every mutating change blocked when CloudFormation manages the stack."""
    found = adopted(o)
    if not found:
        return plan
    first_what, first_stack = next(iter(found.values()))
    hint = (
        "change the stack through its CloudFormation template (`cogapi export` writes one); "
        "`cogapi status`, `token`, `call` and `verify` still work"
    )
    out = Plan()
    for c in plan.changes:
        if not c.mutating:
            out.add(c)
            continue
        mine = found.get(_family(c))
        if mine is not None:
            reason = (
                f"managed by CloudFormation stack {mine[1]!r} ({mine[0]} carries its "
                f"{STACK_NAME_TAG} tag); cogapi no longer changes it"
            )
        else:
            reason = (
                f"the stack belongs to CloudFormation stack {first_stack!r} ({first_what} carries "
                f"its {STACK_NAME_TAG} tag); cogapi no longer changes any of it"
            )
        out.add(replace(c, action="blocked", reason=f"would {c.action}: {reason}", hint=hint))
    return out
