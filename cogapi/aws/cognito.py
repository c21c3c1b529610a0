"""Cognito user pools: pools, domains, app clients, identity providers, test users and the
password sign-in (InitiateAuth).
"""

from __future__ import annotations

import contextlib
from typing import Any

from cogapi.aws.core import AwsCore
from cogapi.errors import AwsError, NotFound


class CognitoCalls(AwsCore):
    # ---- Cognito user pools ---------------------------------------------------------------

    def find_user_pools(self, name: str) -> list[dict[str, Any]]:
        """Full descriptions of every pool named `name` (names are not unique)."""
        found = []
        for page in self._pages(
            self.cognito, "list_user_pools", "user pools", "NextToken", MaxResults=60
        ):
            for pool in page.get("UserPools", []):
                if pool.get("Name") == name:
                    desc = self.describe_user_pool(pool["Id"])
                    if desc is not None:
                        found.append(desc)
        return found

    def describe_user_pool(self, pool_id: str) -> dict[str, Any] | None:
        r = self._read(
            self.cognito, "describe_user_pool", f"user pool {pool_id}", UserPoolId=pool_id
        )
        return None if r is None else r["UserPool"]

    def get_mfa_config(self, pool_id: str) -> dict[str, Any]:
        # moto's describe_user_pool keeps the creation-time MfaConfiguration; this one is right.
        r = self._call(
            self.cognito, "get_user_pool_mfa_config", f"user pool {pool_id}", UserPoolId=pool_id
        )
        return {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def create_user_pool(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._call(
            self.cognito, "create_user_pool", f"user pool {params['PoolName']}", **params
        )
        return dict(r["UserPool"])

    def update_user_pool(self, params: dict[str, Any]) -> None:
        # UpdateUserPool resets every omitted setting: `params` must be the full desired settings.
        self._call(self.cognito, "update_user_pool", f"user pool {params['UserPoolId']}", **params)

    def set_mfa_config(self, pool_id: str, params: dict[str, Any]) -> None:
        self._call(
            self.cognito,
            "set_user_pool_mfa_config",
            f"user pool {pool_id}",
            UserPoolId=pool_id,
            **params,
        )

    def add_custom_attributes(self, pool_id: str, attributes: list[dict[str, Any]]) -> None:
        self._call(
            self.cognito, "add_custom_attributes", f"user pool {pool_id}",
            UserPoolId=pool_id, CustomAttributes=attributes,
        )  # fmt: skip

    def delete_user_pool(self, pool_id: str) -> None:
        self._call(self.cognito, "delete_user_pool", f"user pool {pool_id}", UserPoolId=pool_id)

    def domain_owner(self, domain: str) -> dict[str, Any] | None:
        """The description of `domain` (prefix or custom), or None when no pool holds it."""
        r = self._read(self.cognito, "describe_user_pool_domain", f"domain {domain}", Domain=domain)
        desc = (r or {}).get("DomainDescription") or {}
        # moto answers an unknown prefix with an empty DomainDescription rather than an error.
        return desc if desc.get("UserPoolId") else None

    def create_domain(
        self, pool_id: str, domain: str, certificate_arn: str | None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"Domain": domain, "UserPoolId": pool_id}
        if certificate_arn:
            params["CustomDomainConfig"] = {"CertificateArn": certificate_arn}
        else:
            # Classic hosted UI: managed login v2 shows "Login pages unavailable" until a
            # branding style exists.
            params["ManagedLoginVersion"] = 1
        r = self._call(self.cognito, "create_user_pool_domain", f"domain {domain}", **params)
        return {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def delete_domain(self, pool_id: str, domain: str) -> None:
        self._delete(
            self.cognito, "delete_user_pool_domain", f"domain {domain}",
            Domain=domain, UserPoolId=pool_id,
        )  # fmt: skip

    def list_clients(self, pool_id: str) -> list[dict[str, Any]]:
        pages = self._pages(
            self.cognito, "list_user_pool_clients", f"clients of {pool_id}", "NextToken",
            UserPoolId=pool_id, MaxResults=60,
        )  # fmt: skip
        return [c for page in pages for c in page.get("UserPoolClients", [])]

    def describe_client(self, pool_id: str, client_id: str) -> dict[str, Any] | None:
        r = self._read(
            self.cognito, "describe_user_pool_client", f"app client {client_id}",
            UserPoolId=pool_id, ClientId=client_id,
        )  # fmt: skip
        return None if r is None else r["UserPoolClient"]

    def create_client(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._call(
            self.cognito, "create_user_pool_client", f"app client {params['ClientName']}", **params
        )
        return dict(r["UserPoolClient"])

    def update_client(self, params: dict[str, Any]) -> None:
        # Like UpdateUserPool, omitted settings reset to defaults: send the full desired client.
        self._call(
            self.cognito, "update_user_pool_client", f"app client {params['ClientId']}", **params
        )

    def delete_client(self, pool_id: str, client_id: str) -> None:
        self._call(
            self.cognito, "delete_user_pool_client", f"app client {client_id}",
            UserPoolId=pool_id, ClientId=client_id,
        )  # fmt: skip

    # ---- resource servers (custom scopes) --------------------------------------------------

    def list_resource_servers(self, pool_id: str) -> list[dict[str, Any]]:
        """Full descriptions (List answers with names and scopes, so no Describe per server)."""
        pages = self._pages(
            self.cognito, "list_resource_servers", f"resource servers of {pool_id}", "NextToken",
            UserPoolId=pool_id, MaxResults=50,
        )  # fmt: skip
        return [rs for page in pages for rs in page.get("ResourceServers", [])]

    def create_resource_server(self, params: dict[str, Any]) -> None:
        self._call(
            self.cognito, "create_resource_server",
            f"resource server {params['Identifier']}", **params,
        )  # fmt: skip

    def update_resource_server(self, params: dict[str, Any]) -> None:
        # UpdateResourceServer replaces the name and the whole scope list: send every scope.
        self._call(
            self.cognito, "update_resource_server",
            f"resource server {params['Identifier']}", **params,
        )  # fmt: skip

    def delete_resource_server(self, pool_id: str, identifier: str) -> None:
        self._delete(
            self.cognito, "delete_resource_server", f"resource server {identifier}",
            UserPoolId=pool_id, Identifier=identifier,
        )  # fmt: skip

    def client_secret(self, pool_id: str, client_id: str) -> str | None:
        """The client's secret, read when it is needed and never kept (DescribeUserPoolClient)."""
        desc = self.describe_client(pool_id, client_id) or {}
        secret = desc.get("ClientSecret")
        return str(secret) if secret else None

    def list_identity_providers(self, pool_id: str) -> list[dict[str, Any]]:
        r = self._call(
            self.cognito, "list_identity_providers", f"identity providers of {pool_id}",
            UserPoolId=pool_id, MaxResults=60,
        )  # fmt: skip
        out = []
        for p in r.get("Providers", []):
            d = self._read(
                self.cognito, "describe_identity_provider", f"identity provider {p['ProviderName']}",
                UserPoolId=pool_id, ProviderName=p["ProviderName"],
            )  # fmt: skip
            if d:
                out.append(d["IdentityProvider"])
        return out

    def put_identity_provider(self, pool_id: str, params: dict[str, Any], exists: bool) -> None:
        if exists:
            update = {k: v for k, v in params.items() if k != "ProviderType"}
            self._call(
                self.cognito, "update_identity_provider", f"identity provider {params['ProviderName']}",
                UserPoolId=pool_id, **update,
            )  # fmt: skip
        else:
            self._call(
                self.cognito, "create_identity_provider", f"identity provider {params['ProviderName']}",
                UserPoolId=pool_id, **params,
            )  # fmt: skip

    def delete_identity_provider(self, pool_id: str, name: str) -> None:
        self._call(
            self.cognito, "delete_identity_provider", f"identity provider {name}",
            UserPoolId=pool_id, ProviderName=name,
        )  # fmt: skip

    # ---- users (test-user management) ----------------------------------------------------

    def list_users(self, pool_id: str) -> list[dict[str, Any]]:
        pages = self._pages(
            self.cognito, "list_users", f"users of {pool_id}", "PaginationToken",
            UserPoolId=pool_id, Limit=60,
        )  # fmt: skip
        return [u for page in pages for u in page.get("Users", [])]

    def any_user(self, pool_id: str) -> bool:
        """Whether the pool has at least one user (one call, one user asked for)."""
        page = self._call(
            self.cognito, "list_users", f"users of {pool_id}", UserPoolId=pool_id, Limit=1
        )
        return bool(page.get("Users"))

    def create_confirmed_user(
        self, pool_id: str, username: str, password: str, attributes: dict[str, str]
    ) -> None:
        self._call(
            self.cognito, "admin_create_user", f"user {username}",
            UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )  # fmt: skip
        try:
            self._call(
                self.cognito, "admin_set_user_password", f"user {username}",
                UserPoolId=pool_id, Username=username, Password=password, Permanent=True,
            )  # fmt: skip
        except AwsError:
            # AWS refused the password (a pool policy stricter than the config says, say): the
            # user just made would stay behind with a temporary password nobody knows
            with contextlib.suppress(AwsError, NotFound):
                self.delete_user(pool_id, username)
            raise

    def delete_user(self, pool_id: str, username: str) -> None:
        self._call(
            self.cognito,
            "admin_delete_user",
            f"user {username}",
            UserPoolId=pool_id,
            Username=username,
        )

    # ---- sign-in for `cogapi token --flow password` (used by cogapi.auth.sign_in) ----------
    # InitiateAuth is unsigned: it needs no AWS credentials, only the app client's id (and a
    # SECRET_HASH when the client has a secret). Its tokens carry no OAuth scopes (aws-notes).

    def initiate_password_auth(
        self, client_id: str, username: str, password: str, secret_hash: str | None = None
    ) -> dict[str, Any]:
        """InitiateAuth USER_PASSWORD_AUTH: the whole answer (`AuthenticationResult` or a challenge)."""
        params = {"USERNAME": username, "PASSWORD": password}
        if secret_hash:
            params["SECRET_HASH"] = secret_hash
        return dict(self._call(
            self.cognito, "initiate_auth", f"user {username}",
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params,
        ))  # fmt: skip

    def refresh_password_auth(
        self, client_id: str, refresh_token: str, secret_hash: str | None = None
    ) -> dict[str, Any]:
        """InitiateAuth REFRESH_TOKEN_AUTH (no new refresh token comes back)."""
        params = {"REFRESH_TOKEN": refresh_token}
        if secret_hash:
            params["SECRET_HASH"] = secret_hash
        return dict(self._call(
            self.cognito, "initiate_auth", "refresh token",
            ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params,
        ))  # fmt: skip
