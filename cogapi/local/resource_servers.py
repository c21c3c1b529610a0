"""What moto 5.2.5 lacks for resource servers, added to the moto that `cogapi local` runs.

moto has `CreateResourceServer`, `DescribeResourceServer` and `ListResourceServers` but answers
`UpdateResourceServer` and `DeleteResourceServer` with "not yet implemented". This module adds
them to moto's Cognito backend and its JSON dispatcher, as AWS documents them:
- `UpdateResourceServer(UserPoolId, Identifier, Name, Scopes)` replaces the name and the whole
  scope list (omitted `Scopes` means none); an unknown pool or server is
  `ResourceNotFoundException`.
- `DeleteResourceServer(UserPoolId, Identifier)`: the same errors, an empty answer.
It also makes `CreateUserPoolClient` / `UpdateUserPoolClient` refuse a custom scope that no
resource server of the pool defines (`ScopeDoesNotExistException`, as AWS does; moto accepts
any string), so a client made before its resource server fails locally as it would on AWS.

`install()` patches the classes once per process (idempotent); `moto_state.load_moto` calls it.
"""

from __future__ import annotations

import threading
from typing import Any

STANDARD_SCOPES = frozenset(
    {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}
)

_installed = False
_lock = threading.Lock()


def pool_scopes(pool: Any) -> set[str]:
    """Every `<identifier>/<scope>` the pool's resource servers define."""
    out: set[str] = set()
    for server in list(pool.resource_servers.values()):
        for scope in server.scopes or []:
            out.add(f"{server.identifier}/{scope.get('ScopeName')}")
    return out


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _patch()
        _installed = True


def _patch() -> None:
    from moto.cognitoidp.exceptions import ResourceNotFoundError
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoResourceServer
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult, EmptyResult

    def _server(backend: Any, pool_id: str, identifier: str) -> tuple[Any, Any]:
        pool = backend.user_pools.get(pool_id)
        if pool is None:
            raise ResourceNotFoundError(f"User pool {pool_id} does not exist.")
        server = pool.resource_servers.get(identifier)
        if server is None:
            raise ResourceNotFoundError(f"Resource server {identifier} does not exist.")
        return pool, server

    def update_resource_server(
        self: Any, user_pool_id: str, identifier: str, name: str, scopes: list[dict[str, str]]
    ) -> Any:
        pool, _ = _server(self, user_pool_id, identifier)
        server = CognitoResourceServer(user_pool_id, identifier, name, list(scopes or []))
        pool.resource_servers[identifier] = server  # the whole scope list is replaced
        return server

    def delete_resource_server(self: Any, user_pool_id: str, identifier: str) -> None:
        pool, _ = _server(self, user_pool_id, identifier)
        del pool.resource_servers[identifier]

    def _check_scopes(backend: Any, pool_id: str, config: dict[str, Any]) -> None:
        pool = backend.user_pools.get(pool_id)
        if pool is None:
            return  # moto's own call raises the right error
        known = pool_scopes(pool)
        for scope in config.get("AllowedOAuthScopes") or []:
            if scope not in STANDARD_SCOPES and scope not in known:
                raise JsonRESTError(
                    "ScopeDoesNotExistException", f"Invalid scope requested: {scope}"
                )

    original_create = CognitoIdpBackend.create_user_pool_client
    original_update = CognitoIdpBackend.update_user_pool_client

    def create_user_pool_client(
        self: Any, user_pool_id: str, generate_secret: bool, extended_config: dict[str, Any]
    ) -> Any:
        _check_scopes(self, user_pool_id, extended_config or {})
        return original_create(self, user_pool_id, generate_secret, extended_config)

    def update_user_pool_client(
        self: Any, user_pool_id: str, client_id: str, extended_config: dict[str, Any]
    ) -> Any:
        _check_scopes(self, user_pool_id, extended_config or {})
        return original_update(self, user_pool_id, client_id, extended_config)

    def update_resource_server_action(self: Any) -> Any:
        server = self.backend.update_resource_server(
            self._get_param("UserPoolId"),
            self._get_param("Identifier"),
            self._get_param("Name"),
            self._get_param("Scopes") or [],
        )
        return ActionResult({"ResourceServer": server.to_json()})

    def delete_resource_server_action(self: Any) -> Any:
        self.backend.delete_resource_server(
            self._get_param("UserPoolId"), self._get_param("Identifier")
        )
        return EmptyResult()

    backend_cls: Any = CognitoIdpBackend
    backend_cls.update_resource_server = update_resource_server
    backend_cls.delete_resource_server = delete_resource_server
    backend_cls.create_user_pool_client = create_user_pool_client
    backend_cls.update_user_pool_client = update_user_pool_client
    response_cls: Any = CognitoIdpResponse
    response_cls.update_resource_server = update_resource_server_action
    response_cls.delete_resource_server = delete_resource_server_action
