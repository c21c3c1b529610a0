"""Plan as data: compare the desired stack with what discovery observed.

`plan_up(desired, observed)` and `plan_down(cfg, observed, keep_user_pool)` are pure functions
returning a list of `Change` values, one per resource, in dependency order. `up --dry-run`,
`status` and `up` all print and act on the same list; tests compare it directly.

Actions: `create`, `update` (with the fields that differ, old -> new), `replace` (delete and
re-create a child whose identity changed, e.g. a domain whose prefix changed), `delete`
(stale children of resources we own, and everything on `down`), `ok`, `skip` (left alone: on
`down`, or a client in our pool that cogapi did not make) and `blocked`. A blocked change stops
the run before any mutating call: a domain prefix held by another pool, a role or function of
our name without our tag, a setting fixed at creation that the config changed (we never replace
a pool silently: that loses its users).

The REST API is planned per route (`api_method` rows, CORS preflights included, and the
`authorizer`), in the config's terms (`scopes: [email] -> [email, openid]`, `authorizer: false ->
true`, never an AWS field name or an id), and applied by one `api_document` row: the whole
OpenAPI document (`stack.openapi`) in one PutRestApi. It is put whenever a row differs or the
stage serves another document's fingerprint.

Settings are compared in a normal form built on both sides (`models.py` and `settings` for
desired, `settings`' `observed_*` functions for AWS's answers), so AWS's reformatting never
shows as drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cogapi.config import CLIENT_RECORD_TAG, Config
from cogapi.stack.discover import Observed
from cogapi.stack.models import (
    DesiredStack,
    client_settings,
    normalise_trust,
    recorded_clients,
    resource_server_settings,
)
from cogapi.stack.openapi import fingerprint
from cogapi.stack.settings import (
    authorizer_settings,
    desired_preflight_settings,
    desired_route_settings,
    managed_tags,
    observed_authorizer_settings,
    observed_custom,
    observed_function_settings,
    observed_pool_settings,
    observed_preflight_settings,
    observed_required,
    observed_route_settings,
    observed_sign_in,
    permission_granted,
)

KINDS = (
    "user_pool", "identity_provider", "user_pool_domain", "resource_server", "app_client",
    "user_pool_tag", "iam_role",
    "lambda_function", "rest_api", "authorizer", "api_resource", "api_method",
    "lambda_permission", "api_document", "stage",
)  # fmt: skip
FINGERPRINT_PREFIX = "cogapi:"
NEW_POOL_ARN = "<new pool>"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str
    id: str | None = None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""
    hint: str = ""
    foreign: bool = False  # blocked because a same-named resource is not ours

    @property
    def mutating(self) -> bool:
        return self.action in ("create", "update", "replace", "delete")

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "id": self.id, "action": self.action,
            "changes": [f.to_json() for f in self.fields], "reason": self.reason,
        }  # fmt: skip


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.changes.append(change)

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.action == "blocked"]

    @property
    def mutating(self) -> list[Change]:
        return [c for c in self.changes if c.mutating]

    def find(self, kind: str, name: str | None = None) -> Change | None:
        for c in self.changes:
            if c.kind == kind and (name is None or c.name == name):
                return c
        return None

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.changes]


def diff(
    old: dict[str, Any], new: dict[str, Any], secret: tuple[str, ...] = ()
) -> tuple[FieldChange, ...]:
    out = []
    for key in new:
        if _canon(old.get(key)) != _canon(new[key]):
            if key in secret:
                out.append(FieldChange(key, "***", "***"))
            else:
                out.append(FieldChange(key, old.get(key), new[key]))
    return tuple(out)


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


# ---- plan_up ---------------------------------------------------------------------------------


def plan_up(d: DesiredStack, o: Observed) -> Plan:
    plan = Plan()
    _plan_cognito(d, o, plan)
    _plan_lambda(d, o, plan)
    _plan_api(d, o, plan)
    return plan


def _plan_cognito(d: DesiredStack, o: Observed, plan: Plan) -> None:
    pool_change = _plan_pool(d, o)
    plan.add(pool_change)
    pool_new = pool_change.action == "create"
    pid = o.pool_id

    # Identity providers live inside the pool: a new pool means all are created.
    for idp in d.idps:
        seen = None if pool_new else o.idps.get(idp.name)
        if seen is None:
            plan.add(Change("identity_provider", idp.name, "create"))
            continue
        details = seen.get("ProviderDetails") or {}
        observed = {
            "type": seen.get("ProviderType"),
            "details": {k: details.get(k) for k in idp.settings["details"]},
            "attribute_mapping": {
                k: (seen.get("AttributeMapping") or {}).get(k)
                for k in idp.settings["attribute_mapping"]
            },
        }
        fields = diff(observed, idp.settings)
        if observed["type"] != idp.settings["type"]:
            plan.add(Change("identity_provider", idp.name, "replace", idp.name, fields))
        else:
            plan.add(
                Change(
                    "identity_provider", idp.name, "update" if fields else "ok", idp.name, fields
                )
            )
    if not pool_new:
        for name in sorted(set(o.idps) - {i.name for i in d.idps}):
            plan.add(
                Change("identity_provider", name, "delete", name, reason="no longer in the config")
            )

    # Domain: a prefix is unique across all accounts of the region.
    owner = (o.domain_owner or {}).get("UserPoolId")
    if owner and owner != pid:
        plan.add(Change(
            "user_pool_domain", d.domain, "blocked", reason=f"domain {d.domain!r} already belongs to another user pool ({owner})",
            hint="choose another domain.prefix (it must be unique in the region across all AWS accounts)",
            foreign=True,
        ))  # fmt: skip
    elif pool_new or not o.pool_domain:
        plan.add(Change("user_pool_domain", d.domain, "create"))
    elif o.pool_domain != d.domain:
        plan.add(
            Change(
                "user_pool_domain",
                d.domain,
                "replace",
                o.pool_domain,
                (FieldChange("domain", o.pool_domain, d.domain),),
            )
        )
    else:
        plan.add(Change("user_pool_domain", d.domain, "ok", d.domain))

    _plan_resource_servers(d, o, plan, pool_new)
    client = None if pool_new else o.client
    if client is None:
        plan.add(Change("app_client", d.client.name, "create"))
    else:
        cid = client["ClientId"]
        has_secret = bool(client.get("ClientSecret"))
        if has_secret != d.client.generate_secret:
            plan.add(Change(
                "app_client", d.client.name, "blocked", cid,
                (FieldChange("generate_secret", has_secret, d.client.generate_secret),),
                reason="app_client.generate_secret is fixed when the client is created",
                hint="revert generate_secret, or rename the client (app_client.name) to create a new one",
            ))  # fmt: skip
        else:
            observed = client_settings(client)
            fields = diff(observed, d.client.settings)
            plan.add(Change("app_client", d.client.name, "update" if fields else "ok", cid, fields))
    if o.client_duplicates and not pool_new:
        for cid in o.client_duplicates:
            plan.add(
                Change(
                    "app_client",
                    f"{d.client.name} (duplicate {cid})",
                    "delete",
                    cid,
                    reason="a second client of the same name in our pool",
                )
            )
    _plan_machine_clients(d, o, plan, pool_new)


def _plan_resource_servers(d: DesiredStack, o: Observed, plan: Plan, pool_new: bool) -> None:
    """Found by identifier in our pool; a change is one UpdateResourceServer of the whole list."""
    for spec in d.resource_servers:
        seen = None if pool_new else o.resource_servers.get(spec.identifier)
        if seen is None:
            plan.add(Change("resource_server", spec.identifier, "create"))
            continue
        fields = diff(resource_server_settings(seen), spec.settings)
        action = "update" if fields else "ok"
        plan.add(Change("resource_server", spec.identifier, action, spec.identifier, fields))
    if not pool_new:
        wanted = {rs.identifier for rs in d.resource_servers}
        for identifier in sorted(set(o.resource_servers) - wanted):
            plan.add(
                Change(
                    "resource_server",
                    identifier,
                    "delete",
                    identifier,
                    reason="no longer in the config",
                )  # fmt: skip
            )


def _plan_machine_clients(d: DesiredStack, o: Observed, plan: Plan, pool_new: bool) -> None:
    """Found by name in our pool, like the app client; the secret is fixed at creation."""
    for spec in d.machine_clients:
        seen = None if pool_new else o.machine_clients.get(spec.name)
        if seen is None:
            plan.add(Change("app_client", spec.name, "create"))
            continue
        cid = seen["ClientId"]
        if not seen.get("ClientSecret"):
            plan.add(Change(
                "app_client", spec.name, "blocked", cid,
                (FieldChange("generate_secret", False, True),),
                reason=f"client {spec.name!r} has no secret, and a machine client needs one "
                "(a secret is fixed when a client is created)",
                hint="rename the machine client (machine_clients[].name) to create a new one, "
                "or delete the client by hand",
            ))  # fmt: skip
            continue
        fields = diff(client_settings(seen), spec.settings)
        plan.add(Change("app_client", spec.name, "update" if fields else "ok", cid, fields))
    recorded = [] if pool_new else recorded_clients(o.pool)
    if not pool_new:
        _plan_foreign_looking_clients(o, plan, set(recorded))
    # The record follows the clients (it depends on every app_client change): a client is made,
    # then recorded; deleted, then unrecorded. A run killed in between leaves a configured client
    # unrecorded (found by name and recorded by the next run) or a deleted one still recorded
    # (dropped by the next run): cogapi never forgets a client it made, nor claims one it did
    # not (but for a client a person gives a dropped name before that next run). After the run
    # the record holds exactly the configured names.
    wanted = sorted(m.name for m in d.machine_clients)
    tags = {} if pool_new else ((o.pool or {}).get("UserPoolTags") or {})
    if wanted or recorded:
        fields = (FieldChange("machine_clients", recorded, wanted),)
        if CLIENT_RECORD_TAG not in tags:
            plan.add(Change("user_pool_tag", CLIENT_RECORD_TAG, "create", o.pool_id, fields))
        elif recorded != wanted:
            plan.add(Change("user_pool_tag", CLIENT_RECORD_TAG, "update", o.pool_id, fields))
        else:
            plan.add(Change("user_pool_tag", CLIENT_RECORD_TAG, "ok", o.pool_id))


def _plan_foreign_looking_clients(o: Observed, plan: Plan, recorded: set[str]) -> None:
    """Clients in our pool beyond the configured ones: delete what the record names, show the
    rest as not ours.

    A second client of a configured name goes only when the record names it: that name then
    belongs to cogapi, and the extras are what two overlapping runs (or a listing that lagged
    a creation) made; the oldest is kept. Without the record there is no telling a person's
    client from cogapi's, so it stays (shown as `skip`). The run records the name, so a
    duplicate cogapi made goes on the next run: a person should not give a client the name of
    a configured machine client in the stack's pool."""
    not_ours = (
        "not made by cogapi (the pool's cogapi:machine-clients tag does not name it); left alone"
    )
    for name, ids in sorted(o.machine_client_duplicates.items()):
        for cid in ids:
            if name in recorded:
                plan.add(Change(
                    "app_client", f"{name} (duplicate {cid})", "delete", cid,
                    reason="a second client of the same name in our pool",
                ))  # fmt: skip
            else:
                plan.add(Change(
                    "app_client", f"{name} (duplicate {cid})", "skip", cid,
                    reason=f"a second client of the same name, {not_ours}",
                ))  # fmt: skip
    taken = {c.key for c in plan.changes}
    for seen in o.stale_machine_clients:
        cid = seen["ClientId"]
        name = str(seen.get("ClientName") or cid)
        ours = name in recorded
        if ("app_client", name) in taken:
            name = f"{name} ({cid})"
        taken.add(("app_client", name))
        if ours:
            plan.add(Change(
                "app_client", name, "delete", cid,
                reason="a machine client cogapi made that the config no longer names",
            ))  # fmt: skip
        else:
            plan.add(Change(
                "app_client", name, "skip", cid,
                reason=f"a client_credentials client in our pool, {not_ours}",
            ))  # fmt: skip


def _plan_pool(d: DesiredStack, o: Observed) -> Change:
    spec = d.pool
    if o.pool_duplicates:
        return Change(
            "user_pool", spec.name, "blocked", o.pool_id,
            reason=f"several user pools named {spec.name!r} carry this stack's tag: {', '.join([o.pool_id or '', *o.pool_duplicates])}",
            hint="delete the extra pools by hand (keep the one with your users), then re-run",
        )  # fmt: skip
    if o.pool is None:
        return Change("user_pool", spec.name, "create")
    pool = o.pool
    fixed_now = {"sign_in": observed_sign_in(pool), "required_attributes": observed_required(pool)}
    fixed = diff(fixed_now, spec.fixed)
    custom_now = observed_custom(pool)
    for name in sorted(set(custom_now) - set(spec.custom_attributes)):
        fixed += (FieldChange(f"custom_attributes.{name}", "present", "removed"),)
    for name, attr in spec.custom_attributes.items():
        seen = custom_now.get(name)
        if seen is not None and (
            seen.get("AttributeDataType") != attr["AttributeDataType"]
            or bool(seen.get("Mutable", True)) != attr["Mutable"]
        ):
            fixed += (
                FieldChange(
                    f"custom_attributes.{name}",
                    seen.get("AttributeDataType"),
                    attr["AttributeDataType"],
                ),
            )
    if fixed:
        return Change(
            "user_pool", spec.name, "blocked", pool["Id"], fixed,
            reason="changes settings fixed when a user pool is created ("
            + ", ".join(f.field for f in fixed) + "); applying them needs a new pool, which loses every user",
            hint="revert these keys in the config, or run `cogapi down` then `cogapi up` to start a new pool",
        )  # fmt: skip
    fields = diff(observed_pool_settings(pool, o.mfa, spec.settings["tags"]), spec.settings)
    added = tuple(
        FieldChange(f"custom_attributes.{n}", None, "added")
        for n in spec.custom_attributes
        if n not in custom_now
    )
    fields += added
    return Change("user_pool", spec.name, "update" if fields else "ok", pool["Id"], fields)


def _plan_role(spec: Any, seen: dict[str, Any] | None, foreign: bool, stack: str) -> Change:
    if seen is None:
        return Change("iam_role", spec.name, "create")
    if foreign:
        return Change(
            "iam_role", spec.name, "blocked", seen.get("Arn"), foreign=True,
            reason=f"IAM role {spec.name!r} exists but was not created by cogapi stack {stack!r} (no cogapi:stack tag)",
            hint="cogapi never changes a resource it did not create: set function.role_name to another name",
        )  # fmt: skip
    observed = {
        "trust": normalise_trust(seen.get("AssumeRolePolicyDocument")),
        "managed_policies": seen.get("ManagedPolicyArns", []),
        "inline_policies": sorted(seen.get("InlinePolicies", {})) if spec.inline_policies else [],
        "tags": managed_tags(seen.get("TagMap"), spec.tags),
    }
    fields = diff(observed, spec.settings)
    return Change("iam_role", spec.name, "update" if fields else "ok", seen.get("Arn"), fields)


def _plan_lambda(d: DesiredStack, o: Observed, plan: Plan) -> None:
    stack = d.cfg.name
    if d.sms_role is not None:
        plan.add(_plan_role(d.sms_role, o.sms_role, o.sms_role_foreign, stack))
    plan.add(_plan_role(d.role, o.role, o.role_foreign, stack))
    fn = o.function
    if fn is None:
        plan.add(Change("lambda_function", d.function.name, "create"))
    elif o.function_foreign:
        plan.add(Change(
            "lambda_function", d.function.name, "blocked", fn.get("FunctionArn"), foreign=True,
            reason=f"Lambda function {d.function.name!r} exists but was not created by cogapi stack {stack!r} (no cogapi:stack tag)",
            hint="cogapi never changes a resource it did not create: set function.name to another name",
        ))  # fmt: skip
    else:
        fields = diff(
            observed_function_settings(fn, d.function.settings["tags"]), d.function.settings
        )
        plan.add(
            Change(
                "lambda_function",
                d.function.name,
                "update" if fields else "ok",
                fn.get("FunctionArn"),
                fields,
            )
        )


def _plan_api(d: DesiredStack, o: Observed, plan: Plan) -> None:
    """Per-route rows computed from discovery; one `api_document` row applies them all.

    The rows (authorizer, api_method, api_resource) say what differs, in the config's terms; the
    executor applies none of them one by one: the `api_document` change puts the whole rendered
    document (PutRestApi, mode overwrite) and the stage change deploys it.
    """
    api_new = o.api is None
    if o.api_duplicates:
        plan.add(Change(
            "rest_api", d.api_name, "blocked", o.api_id,
            reason=f"several REST APIs named {d.api_name!r} carry this stack's tag: {', '.join([o.api_id or '', *o.api_duplicates])}",
            hint="delete the extra APIs by hand, then re-run",
        ))  # fmt: skip
    elif o.api is None:
        plan.add(Change("rest_api", d.api_name, "create"))
    else:
        # Tags go on at creation only (moto cannot tag a REST API afterwards), so only the
        # endpoint type is compared.
        observed = {
            "endpoint_type": ((o.api.get("endpointConfiguration") or {}).get("types") or [None])[0]
        }
        fields = diff(observed, {"endpoint_type": d.api_settings["endpoint_type"]})
        plan.add(Change("rest_api", d.api_name, "update" if fields else "ok", o.api_id, fields))

    # Authorizer: found by name, changed in place by the document (TTL, token header, pool).
    pool_change = plan.find("user_pool")
    pool_id = None if pool_change is None or pool_change.action == "create" else o.pool_id
    our_name = d.authorizer_settings["name"]
    authorizers = [] if api_new else o.authorizers
    ours = next((a for a in authorizers if a.get("name") == our_name), None)
    if ours is None:
        plan.add(Change("authorizer", our_name, "create"))
    else:
        fields = diff(observed_authorizer_settings(ours), authorizer_settings(d, pool_id))
        plan.add(Change("authorizer", our_name, "update" if fields else "ok", ours["id"], fields))
    for a in authorizers:
        if a.get("name") != our_name:
            plan.add(Change("authorizer", a.get("name") or a["id"], "delete", a["id"],
                            reason="no longer in the config"))  # fmt: skip
    names = {str(a["id"]): str(a.get("name")) for a in authorizers}

    # Routes, keyed "VERB /path", and with api.cors one preflight per path with routes.
    resources = {} if api_new else o.resources
    cors = d.cfg.api.cors
    wanted: set[str] = set()
    for r in d.routes:
        wanted.add(r.key)
        method = ((resources.get(r.path) or {}).get("resourceMethods") or {}).get(r.method)
        want = desired_route_settings(r)
        if method is None:
            plan.add(Change("api_method", r.key, "create"))
            continue
        fields = diff(observed_route_settings(method, names, our_name), want)
        rid = resources[r.path]["id"]
        plan.add(Change("api_method", r.key, "update" if fields else "ok", rid, fields))
    if cors is not None:
        for path in sorted({r.path for r in d.routes}):
            key = f"OPTIONS {path}"
            wanted.add(key)
            want = desired_preflight_settings(cors, [r.method for r in d.routes if r.path == path])
            method = ((resources.get(path) or {}).get("resourceMethods") or {}).get("OPTIONS")
            if method is None:
                plan.add(Change("api_method", key, "create", reason="CORS preflight"))
                continue
            fields = diff(observed_preflight_settings(method), want)
            rid = resources[path]["id"]
            plan.add(Change("api_method", key, "update" if fields else "ok", rid, fields,
                            reason="CORS preflight"))  # fmt: skip
    for path, res in sorted(resources.items()):
        verbs = sorted(res.get("resourceMethods") or {})
        for verb in verbs:
            if f"{verb} {path}" not in wanted:
                plan.add(Change("api_method", f"{verb} {path}", "delete", res["id"],
                                reason="no longer in the config"))  # fmt: skip
        if not verbs and path != "/" and path not in d.resource_paths:
            plan.add(Change("api_resource", path, "delete", res["id"],
                            reason="no longer in the config"))  # fmt: skip

    # Invoke permission: one statement scoped to this API; cogapi's older ones go.
    policy = [] if o.function_foreign else o.policy
    perm = f"REST API {d.api_name}"
    sid = d.permission_sid(o.api_id) if o.api_id else None
    if api_new or o.function is None or sid is None or not o.account_id:
        plan.add(Change("lambda_permission", perm, "create"))
    else:
        ok = permission_granted(policy, sid, d.permission_source_arn(o.account_id, o.api_id or ""))
        plan.add(Change("lambda_permission", perm, "ok" if ok else "create", sid))
    for st in policy:
        other = st.get("Sid", "")
        if other.startswith("cogapi-") and other != sid:
            plan.add(Change("lambda_permission", other, "delete", other,
                            reason="replaced by one permission for the whole API"))  # fmt: skip

    # The document: put whenever a row above differs or the stage serves another document (a
    # crash between PutRestApi and the deployment leaves exactly that).
    fp = FINGERPRINT_PREFIX + fingerprint(d, d.pool_arn(pool_id) if pool_id else NEW_POOL_ARN)
    stage = None if api_new else o.stage
    row_changes = [
        c for c in plan.changes
        if c.mutating and c.kind in ("authorizer", "api_method", "api_resource")
    ]  # fmt: skip
    stale = stage is None or stage.get("description") != fp
    if api_new or row_changes or stale:
        reason = f"one PutRestApi (overwrite) with {len(d.routes)} route(s)"
        action = "create" if api_new or not resources_with_methods(resources) else "update"
        plan.add(Change("api_document", d.api_name, action, o.api_id, reason=reason))
    else:
        plan.add(Change("api_document", d.api_name, "ok", o.api_id))
    if stage is None:
        plan.add(Change("stage", d.stage, "create"))
    else:
        fields = diff({"deployment": stage.get("description"), "tags": managed_tags(stage.get("tags"), d.stage_tags)},
                      {"deployment": fp, "tags": d.stage_tags})  # fmt: skip
        if row_changes and not any(f.field == "deployment" for f in fields):
            fields += (FieldChange("deployment", "current", "redeploy (routes changed)"),)
        plan.add(Change("stage", d.stage, "update" if fields else "ok", d.stage, fields))


def resources_with_methods(resources: dict[str, dict[str, Any]]) -> bool:
    return any(res.get("resourceMethods") for res in resources.values())


# ---- plan_down -------------------------------------------------------------------------------


def plan_down(cfg: Config, o: Observed, keep_user_pool: bool = False) -> Plan:
    plan = Plan()
    keep = "kept (--keep-user-pool)"
    if o.pool is not None:
        users = o.pool.get("EstimatedNumberOfUsers", 0)
        if o.pool_domain:
            plan.add(
                Change(
                    "user_pool_domain",
                    o.pool_domain,
                    "skip" if keep_user_pool else "delete",
                    o.pool_domain,
                    reason=keep if keep_user_pool else "",
                )
            )
        if o.client:
            plan.add(Change("app_client", cfg.client_name, "skip" if keep_user_pool else "delete", o.client["ClientId"],
                            reason=keep if keep_user_pool else "deleted with the pool"))  # fmt: skip
        for name, seen in o.machine_clients.items():
            plan.add(Change("app_client", name, "skip" if keep_user_pool else "delete", seen["ClientId"],
                            reason=keep if keep_user_pool else "deleted with the pool"))  # fmt: skip
        for identifier in sorted(o.resource_servers):
            plan.add(Change("resource_server", identifier, "skip" if keep_user_pool else "delete", identifier,
                            reason=keep if keep_user_pool else "deleted with the pool"))  # fmt: skip
        if keep_user_pool:
            plan.add(
                Change(
                    "user_pool", cfg.pool_name, "skip", o.pool_id, reason=f"{keep}; {users} user(s)"
                )
            )
        elif o.pool.get("DeletionProtection") == "ACTIVE":
            plan.add(Change(
                "user_pool", cfg.pool_name, "blocked", o.pool_id,
                reason=f"deletion protection is on for user pool {o.pool_id} ({users} user(s))",
                hint="set user_pool.deletion_protection: false and run `cogapi up`, or keep the pool with `cogapi down --keep-user-pool`",
            ))  # fmt: skip
        else:
            plan.add(
                Change(
                    "user_pool",
                    cfg.pool_name,
                    "delete",
                    o.pool_id,
                    reason=f"{users} user(s) will be lost",
                )
            )
    if o.api is not None:
        plan.add(
            Change(
                "rest_api",
                cfg.api_name,
                "delete",
                o.api_id,
                reason="with its resources, methods, authorizer and stage",
            )
        )
    if o.function is not None:
        if o.function_foreign:
            plan.add(
                Change(
                    "lambda_function",
                    cfg.function_name,
                    "skip",
                    o.function.get("FunctionArn"),
                    reason="not created by cogapi; left alone",
                )
            )
        else:
            plan.add(
                Change(
                    "lambda_function", cfg.function_name, "delete", o.function.get("FunctionArn")
                )
            )
    for role, foreign, name in (
        (o.role, o.role_foreign, cfg.role_name),
        (o.sms_role, o.sms_role_foreign, cfg.sms_role_name),
    ):
        if role is not None:
            if foreign:
                plan.add(
                    Change(
                        "iam_role",
                        name,
                        "skip",
                        role.get("Arn"),
                        reason="not created by cogapi; left alone",
                    )
                )
            else:
                plan.add(Change("iam_role", name, "delete", role.get("Arn")))
    return plan
