"""Find the few ids the sign-in, call, verify and user commands need, without a full discovery.

Same rules as `discover.py` (pools and APIs by name *and* the ownership tag; names are not
unique), but only the user pool, its app client and the REST API: a `cogapi token` should cost a
couple of calls, not a dozen. A pool of the right name that the stack does not own is named in
the error, so `cogapi user` can refuse to touch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cogapi.errors import CogapiError
from cogapi.stack.models import OWNER_TAG


@dataclass(frozen=True)
class PoolIds:
    pool_id: str
    client_id: str | None
    client_has_secret: bool


def _owned(tags: dict[str, str] | None, stack: str) -> bool:
    return (tags or {}).get(OWNER_TAG) == stack


def find_pool(aws: Any, cfg: Any, need_client: bool = True) -> PoolIds:
    pools = aws.find_user_pools(cfg.pool_name)
    owned = sorted(
        (p for p in pools if _owned(p.get("UserPoolTags"), cfg.name)),
        key=lambda p: str(p.get("CreationDate", "")),
    )
    if not owned:
        if pools:
            ids = ", ".join(p["Id"] for p in pools)
            raise CogapiError(
                f"user pool {cfg.pool_name!r} ({ids}) is not owned by stack {cfg.name!r} "
                f"(no {OWNER_TAG}={cfg.name} tag); refusing to use it",
                hint="point `name:` / `user_pool.name` in the config at the stack that made it",
            )
        raise CogapiError(
            f"stack {cfg.name!r} has no user pool {cfg.pool_name!r} in {cfg.region}: it is not "
            "deployed, or was taken down",
            hint="run `cogapi up` first (and check --region / --endpoint-url)",
        )
    pool_id = str(owned[0]["Id"])
    client_id, secret = None, False
    clients = [c for c in aws.list_clients(pool_id) if c.get("ClientName") == cfg.client_name]
    if clients:
        client_id = str(clients[0]["ClientId"])
        desc = aws.describe_client(pool_id, client_id) or {}
        secret = bool(desc.get("ClientSecret"))
    elif need_client:
        raise CogapiError(
            f"user pool {pool_id} has no app client {cfg.client_name!r}",
            hint="run `cogapi up` to converge the stack",
        )
    return PoolIds(pool_id, client_id, secret)


def find_api_id(aws: Any, cfg: Any) -> str:
    apis = sorted(
        (a for a in aws.find_rest_apis(cfg.api_name) if _owned(a.get("tags"), cfg.name)),
        key=lambda a: str(a.get("createdDate", "")),
    )
    if not apis:
        raise CogapiError(
            f"stack {cfg.name!r} has no REST API {cfg.api_name!r} in {cfg.region}",
            hint="run `cogapi up` first (and check --region / --endpoint-url)",
        )
    return str(apis[0]["id"])


def find_machine_client_id(aws: Any, cfg: Any, pool_id: str, name: str) -> str:
    """The id of the machine client `name` in the stack's pool (found by name, like discovery)."""
    for c in aws.list_clients(pool_id):
        if c.get("ClientName") == name:
            return str(c["ClientId"])
    raise CogapiError(
        f"user pool {pool_id} has no machine client {name!r}",
        hint="run `cogapi up` to converge the stack",
    )
