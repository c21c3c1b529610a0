"""Where the local stand-in serves AWS's edge: pure string builders, no heavy imports.

Everything the stand-in adds to moto's server lives under one prefix, `/_cogapi`, so it can
never shadow a moto route, with one deliberate exception: a pool's issuer (`issuer`), whose
`.well-known/` documents moto would answer with its own static key. The CLI uses these to print URLs and to probe a running server.
"""

from __future__ import annotations

LOCAL_PREFIX = "/_cogapi"


def hosted_ui_base(endpoint: str, domain: str) -> str:
    """Stand-in for `https://<domain>.auth.<region>.amazoncognito.com`."""
    return f"{endpoint}{LOCAL_PREFIX}/auth/{domain}"


def invoke_base(endpoint: str, api_id: str, stage: str) -> str:
    """Stand-in for `https://<api_id>.execute-api.<region>.amazonaws.com/<stage>`."""
    return f"{endpoint}{LOCAL_PREFIX}/api/{api_id}/{stage}"


def issuer(endpoint: str, pool_id: str) -> str:
    """Stand-in for `https://cognito-idp.<region>.amazonaws.com/<pool_id>` (the tokens' `iss`).

    The endpoint stands in for the cognito-idp host, as it does for the API calls, so the issuer
    is where clients look for it by convention (pycognito, moto: `<endpoint>/<pool id>`); the
    server answers that path's `.well-known/` documents itself, not moto. The older
    `{LOCAL_PREFIX}/idp/<pool_id>` path serves the same documents.
    """
    return f"{endpoint}/{pool_id}"


def info_url(endpoint: str) -> str:
    """Answers `{"cogapi_local": true}` when `endpoint` is a cogapi local server."""
    return f"{endpoint}{LOCAL_PREFIX}/info"


def expired_tokens_url(endpoint: str) -> str:
    """POST {pool_id, client_id, username}: an access and an ID token of that user that expired
    a day ago, so `cogapi verify` can check the authorizer's answer to one. Expired tokens only:
    they open nothing."""
    return f"{endpoint}{LOCAL_PREFIX}/expired-tokens"
