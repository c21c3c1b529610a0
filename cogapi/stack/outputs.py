"""The stack's outputs: ids, the hosted-UI login URL and the invoke URL.

Against AWS the URLs are AWS's (`https://<prefix>.auth.<region>.amazoncognito.com`,
`https://<api>.execute-api.<region>.amazonaws.com/<stage>`). Against `cogapi local` (detected by
its `/_cogapi/info` answer) they point at the local stand-in, so they work in a browser and curl.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlencode

from cogapi.config import Config
from cogapi.local import urls as local_urls
from cogapi.stack.models import MACHINE_CLIENT_ID


def is_local_endpoint(endpoint_url: str | None, timeout: float = 1.0) -> bool:
    if not endpoint_url:
        return False
    try:
        with urllib.request.urlopen(
            local_urls.info_url(endpoint_url.rstrip("/")), timeout=timeout
        ) as r:
            return bool(json.loads(r.read().decode() or "{}").get("cogapi_local"))
    except Exception:  # any failure: not the local stand-in
        return False


def hosted_ui_base(cfg: Config, local_endpoint: str | None) -> str:
    if local_endpoint:
        return local_urls.hosted_ui_base(local_endpoint.rstrip("/"), cfg.domain.name)
    if cfg.domain.custom:
        return f"https://{cfg.domain.custom}"
    return f"https://{cfg.domain.prefix}.auth.{cfg.region}.amazoncognito.com"


def invoke_base(cfg: Config, api_id: str, local_endpoint: str | None) -> str:
    if local_endpoint:
        return local_urls.invoke_base(local_endpoint.rstrip("/"), api_id, cfg.api.stage)
    return f"https://{api_id}.execute-api.{cfg.region}.amazonaws.com/{cfg.api.stage}"


def token_endpoint(cfg: Config, local_endpoint: str | None) -> str:
    return f"{hosted_ui_base(cfg, local_endpoint)}/oauth2/token"


def login_url(cfg: Config, client_id: str, local_endpoint: str | None) -> str:
    query = urlencode({
        "client_id": client_id,
        "response_type": "code" if "code" in cfg.app_client.oauth_flows else "token",
        "scope": " ".join(cfg.app_client.oauth_scopes),
        "redirect_uri": cfg.app_client.callback_urls[0] if cfg.app_client.callback_urls else "",
    })  # fmt: skip
    return f"{hosted_ui_base(cfg, local_endpoint)}/login?{query}"


def stack_outputs(
    cfg: Config, ids: dict[str, str], local_endpoint: str | None = None
) -> dict[str, Any]:
    client_id, api_id = ids.get("client_id"), ids.get("api_id")
    pool_id = ids.get("pool_id")
    machine = {
        m.name: ids[MACHINE_CLIENT_ID + m.name]
        for m in cfg.machine_clients
        if MACHINE_CLIENT_ID + m.name in ids
    }
    out: dict[str, Any] = {
        "hosted_ui_url": login_url(cfg, client_id, local_endpoint) if client_id else None,
        "invoke_url": invoke_base(cfg, api_id, local_endpoint) + cfg.api.routes[0].path
        if api_id
        else None,
        "user_pool_id": ids.get("pool_id"),
        "app_client_id": client_id,
        "api_id": api_id,
        "region": cfg.region,
        "stage": cfg.api.stage,
        "domain": cfg.domain.name,
        "function_arn": ids.get("function_arn"),
        "role_arn": ids.get("role_arn"),
        "authorizer_id": ids.get("authorizer_id"),
    }
    # Additive keys: the client_credentials endpoint and each machine client's id (never a secret).
    out["token_endpoint"] = token_endpoint(cfg, local_endpoint) if pool_id else None
    if cfg.machine_clients:
        out["machine_clients"] = machine
    return out
