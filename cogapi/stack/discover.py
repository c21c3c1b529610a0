"""Read-only discovery: what of the stack exists in AWS right now.

AWS is the source of truth (no local state file): a fresh clone on another machine finds the
stack. Pools and REST APIs are found by name *and* the ownership tag (their names are not unique);
the role and function by name, then checked for the tag; children (client, domain, identity
providers, authorizer, resources, methods, stage) inside their parent.

The number of calls matters (a no-op `up` should stay at about a dozen), and so does their latency:
the Cognito, IAM, Lambda and API Gateway parts are read concurrently. The account id comes from
an ARN we already read when there is one, MFA and identity-provider reads are skipped when neither
the config nor the pool uses them, and methods come embedded in `get_resources`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cogapi.aws import Aws
from cogapi.config import Config
from cogapi.stack.models import OWNER_TAG, recorded_clients


@dataclass
class Observed:
    """What discovery found. `None` means missing; `*_foreign` means same name, not ours."""

    account_id: str | None = None
    pool: dict[str, Any] | None = None
    pool_duplicates: list[str] = field(default_factory=list)
    mfa: dict[str, Any] | None = None
    domain_owner: dict[str, Any] | None = None  # who holds the configured domain, if anyone
    client: dict[str, Any] | None = None
    client_duplicates: list[str] = field(default_factory=list)
    idps: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_servers: dict[str, dict[str, Any]] = field(default_factory=dict)  # identifier ->
    machine_clients: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> describe
    machine_client_duplicates: dict[str, list[str]] = field(default_factory=dict)
    # clients in our pool that the config does not name: recorded ones, client_credentials-only ones
    stale_machine_clients: list[dict[str, Any]] = field(default_factory=list)
    role: dict[str, Any] | None = None
    role_foreign: bool = False
    sms_role: dict[str, Any] | None = None
    sms_role_foreign: bool = False
    function: dict[str, Any] | None = None
    function_foreign: bool = False
    policy: list[dict[str, Any]] = field(default_factory=list)
    api: dict[str, Any] | None = None
    api_duplicates: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> resource
    authorizers: list[dict[str, Any]] = field(default_factory=list)
    stage: dict[str, Any] | None = None

    @property
    def pool_id(self) -> str | None:
        return self.pool["Id"] if self.pool else None

    @property
    def api_id(self) -> str | None:
        return self.api["id"] if self.api else None

    @property
    def pool_domain(self) -> str | None:
        if not self.pool:
            return None
        return self.pool.get("CustomDomain") or self.pool.get("Domain")


def _owned(tags: dict[str, str] | None, stack: str) -> bool:
    return (tags or {}).get(OWNER_TAG) == stack


def _account_from_arn(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def discover_stack(aws: Aws, cfg: Config) -> Observed:
    """Read the three independent parts concurrently: discovery is all round trips."""
    obs = Observed()
    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = [
            pool.submit(f, aws, cfg, obs)
            for f in (_discover_cognito, _discover_roles, _discover_function, _discover_api)
        ]
        for part in parts:
            part.result()  # each part fills its own fields of `obs`; re-raise the first failure
    obs.account_id = (
        obs.account_id
        or _account_from_arn((obs.function or {}).get("FunctionArn"))
        or _account_from_arn((obs.role or {}).get("Arn"))
        or _account_from_arn((obs.pool or {}).get("Arn"))
        or aws.account_id()
    )
    return obs


def _discover_cognito(aws: Aws, cfg: Config, obs: Observed) -> None:
    pools = [
        p for p in aws.find_user_pools(cfg.pool_name) if _owned(p.get("UserPoolTags"), cfg.name)
    ]
    pools.sort(key=lambda p: str(p.get("CreationDate", "")))
    if pools:
        obs.pool = pools[0]
        obs.pool_duplicates = [p["Id"] for p in pools[1:]]
    pool_id = obs.pool_id
    if obs.pool_domain != cfg.domain.name:
        obs.domain_owner = aws.domain_owner(cfg.domain.name)
    elif pool_id:
        obs.domain_owner = {"UserPoolId": pool_id, "Domain": cfg.domain.name}
    if not pool_id:
        return
    assert obs.pool is not None
    if cfg.user_pool.mfa != "off" or obs.pool.get("MfaConfiguration", "OFF") != "OFF":
        obs.mfa = aws.get_mfa_config(pool_id)
    listed = aws.list_clients(pool_id)
    clients = [c for c in listed if c.get("ClientName") == cfg.client_name]
    if clients:
        obs.client = aws.describe_client(pool_id, clients[0]["ClientId"])
        obs.client_duplicates = [c["ClientId"] for c in clients[1:]]
    _discover_machine_clients(aws, cfg, obs, pool_id, listed)
    # Listed when the config defines servers or a client of ours names a custom scope (a config
    # that dropped its servers still leaves such a client to delete): a stack without custom
    # scopes keeps its no-op discovery at a dozen calls. A dropped server that no client ever
    # used is missed until then; it is deleted with the pool.
    named = [obs.client, *obs.machine_clients.values(), *obs.stale_machine_clients]
    if cfg.resource_servers or any(
        "/" in scope for c in named if c for scope in c.get("AllowedOAuthScopes") or []
    ):
        obs.resource_servers = {
            rs["Identifier"]: rs
            for rs in aws.list_resource_servers(pool_id)
            if rs.get("Identifier")
        }
    uses_idps = bool(cfg.user_pool.identity_providers) or any(
        p != "COGNITO" for p in (obs.client or {}).get("SupportedIdentityProviders", [])
    )
    if uses_idps:
        obs.idps = {p["ProviderName"]: p for p in aws.list_identity_providers(pool_id)}


def _discover_machine_clients(
    aws: Aws, cfg: Config, obs: Observed, pool_id: str, listed: list[dict[str, Any]]
) -> None:
    """Machine clients by name in our pool (the oldest of a name is the one; later ones are
    duplicates). Another client is stale when the pool's record names it (cogapi made it and the
    config dropped it) or when it is client_credentials-only (it looks like a machine client, so
    the plan shows it, as not cogapi's unless recorded); the planner decides which go."""
    wanted = {m.name for m in cfg.machine_clients}
    recorded = set(recorded_clients(obs.pool))
    for c in listed:
        name, cid = c.get("ClientName"), c["ClientId"]
        if name == cfg.client_name:
            continue
        if name in wanted:
            if name in obs.machine_clients:
                obs.machine_client_duplicates.setdefault(name, []).append(cid)
                continue
            desc = aws.describe_client(pool_id, cid)
            if desc is not None:
                obs.machine_clients[name] = desc
            continue
        desc = aws.describe_client(pool_id, cid)
        if desc is not None and (
            name in recorded or list(desc.get("AllowedOAuthFlows") or []) == ["client_credentials"]
        ):
            obs.stale_machine_clients.append(desc)


def _discover_roles(aws: Aws, cfg: Config, obs: Observed) -> None:
    role = aws.get_role(cfg.role_name)
    if role is not None:
        obs.role, obs.role_foreign = role, not _owned(role["TagMap"], cfg.name)
    else:  # no ARN to read the account id from: ask STS now, alongside the other parts
        obs.account_id = aws.account_id()
    if cfg.wants_sms_role:
        sms = aws.get_role(cfg.sms_role_name, with_inline=True)
        if sms is not None:
            obs.sms_role, obs.sms_role_foreign = sms, not _owned(sms["TagMap"], cfg.name)


def _discover_function(aws: Aws, cfg: Config, obs: Observed) -> None:
    fn = aws.get_function(cfg.function_name)
    if fn is not None:
        obs.function, obs.function_foreign = fn, not _owned(fn.get("Tags"), cfg.name)
        if not obs.function_foreign:
            obs.policy = aws.get_policy_statements(cfg.function_name)


def _discover_api(aws: Aws, cfg: Config, obs: Observed) -> None:
    apis = [a for a in aws.find_rest_apis(cfg.api_name) if _owned(a.get("tags"), cfg.name)]
    apis.sort(key=lambda a: str(a.get("createdDate", "")))
    if not apis:
        return
    obs.api = apis[0]
    obs.api_duplicates = [a["id"] for a in apis[1:]]
    api_id = obs.api["id"]
    for res in aws.get_resources(api_id):
        methods = res.get("resourceMethods") or {}
        for verb, method in list(methods.items()):
            # AWS embeds full methods with embed=methods; fetch any that came back bare.
            if "methodIntegration" not in method or "authorizationType" not in method:
                methods[verb] = aws.get_method(api_id, res["id"], verb) or method
        res["resourceMethods"] = methods
        obs.resources[res["path"]] = res
    obs.authorizers = aws.get_authorizers(api_id)
    obs.stage = aws.get_stage(api_id, cfg.api.stage)
