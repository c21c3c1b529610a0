"""The client_credentials grant and resource servers on `cogapi local`, at the HTTP level.

Pins what Cognito answers (aws-notes: "Resource servers and machine clients"): HTTP Basic or form
credentials, `scope` only narrows, 401 invalid_client for a bad secret, 400 invalid_scope for an
unknown or unallowed scope, 400 unauthorized_client for a client without the grant; the access
token's claims; and moto's missing UpdateResourceServer / DeleteResourceServer.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.exceptions
import jwt
import pytest
import requests
from local_stack import CALLBACK, Stack, code_from, sign_in

SCOPES = [
    {"ScopeName": "read", "ScopeDescription": "Read orders"},
    {"ScopeName": "write", "ScopeDescription": "Change orders"},
]


@dataclass
class Machine:
    stack: Stack
    identifier: str
    client_id: str
    secret: str
    web_client_id: str

    @property
    def token_url(self) -> str:
        return f"{self.stack.hosted_ui}/oauth2/token"

    def token(self, data: dict[str, str] | None = None, auth: Any = None) -> requests.Response:
        body = {"grant_type": "client_credentials", **(data or {})}
        if auth is None:
            auth = (self.client_id, self.secret)
        return requests.post(self.token_url, data=body, auth=auth or None, timeout=10)


@pytest.fixture(scope="module")
def machine(stack: Stack) -> Iterator[Machine]:
    idp = stack.clients["cognito-idp"]
    ident = "orders-" + secrets.token_hex(3)
    idp.create_resource_server(
        UserPoolId=stack.pool_id, Identifier=ident, Name="Orders", Scopes=SCOPES
    )
    client = idp.create_user_pool_client(
        UserPoolId=stack.pool_id,
        ClientName="reporting",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=[f"{ident}/read", f"{ident}/write"],
        AccessTokenValidity=15,
        TokenValidityUnits={"AccessToken": "minutes"},
    )["UserPoolClient"]
    web = idp.create_user_pool_client(
        UserPoolId=stack.pool_id,
        ClientName="web-orders",
        GenerateSecret=False,
        AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email", f"{ident}/read"],
        CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    yield Machine(stack, ident, client["ClientId"], client["ClientSecret"], web["ClientId"])
    for cid in (client["ClientId"], web["ClientId"]):
        idp.delete_user_pool_client(UserPoolId=stack.pool_id, ClientId=cid)
    idp.delete_resource_server(UserPoolId=stack.pool_id, Identifier=ident)


def test_basic_credentials_get_an_access_token_only(machine: Machine) -> None:
    r = machine.token()
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body) == ["access_token", "expires_in", "token_type"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    assert r.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert sorted(claims) == [
        "auth_time",
        "client_id",
        "exp",
        "iat",
        "iss",
        "jti",
        "scope",
        "sub",
        "token_use",
        "version",
    ]
    assert claims["sub"] == claims["client_id"] == machine.client_id
    assert claims["token_use"] == "access" and claims["version"] == 2
    assert claims["scope"] == f"{machine.identifier}/read {machine.identifier}/write"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["iss"].endswith("/" + machine.stack.pool_id)
    # Signed by the pool's access-token key: it verifies against the JWKS.
    assert machine.stack.server.keys.decode(body["access_token"])["jti"] == claims["jti"]


def test_form_credentials_and_a_narrowing_scope(machine: Machine) -> None:
    r = machine.token(
        {
            "client_id": machine.client_id,
            "client_secret": machine.secret,
            "scope": f"{machine.identifier}/read",
        },
        auth=False,
    )
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == f"{machine.identifier}/read"


@pytest.mark.parametrize(("data", "auth", "status", "error"), [
    ({}, ("CLIENT", "wrong-secret"), 401, "invalid_client"),
    ({}, ("no-such-client", "x"), 401, "invalid_client"),
    ({"scope": "ORDERS/admin"}, None, 400, "invalid_scope"),  # unknown scope
    ({"scope": "ORDERS/read openid"}, None, 400, "invalid_scope"),  # not allowed to this client
    ({"scope": "other/read"}, None, 400, "invalid_scope"),
])  # fmt: skip
def test_refusals(
    machine: Machine, data: dict[str, str], auth: Any, status: int, error: str
) -> None:
    data = {k: v.replace("ORDERS", machine.identifier) for k, v in data.items()}
    if auth is not None:
        auth = (auth[0].replace("CLIENT", machine.client_id), auth[1])
    r = machine.token(data, auth)
    assert (r.status_code, r.json()) == (status, {"error": error})


def test_a_public_client_is_unauthorized_client(machine: Machine) -> None:
    r = machine.token({"client_id": machine.web_client_id}, auth=False)
    assert (r.status_code, r.json()) == (400, {"error": "unauthorized_client"})


def test_a_custom_scope_reaches_a_persons_access_token(machine: Machine) -> None:
    stack = machine.stack
    scope = f"openid {machine.identifier}/read"
    code = code_from(sign_in(stack, client_id=machine.web_client_id, scope=scope))
    r = requests.post(f"{stack.hosted_ui}/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": machine.web_client_id, "code": code,
        "redirect_uri": CALLBACK}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"].split() == ["openid", f"{machine.identifier}/read"]
    assert claims["username"]  # a person's token, unlike a machine's


def test_the_implicit_flow_carries_a_requested_custom_scope_and_refuses_others(
    machine: Machine,
) -> None:
    stack, ident = machine.stack, machine.identifier
    r = sign_in(stack, client_id=machine.web_client_id, scope=f"{ident}/read",
                response_type="token")  # fmt: skip
    assert r.status_code == 302, r.text
    fragment = parse_qs(urlsplit(r.headers["Location"]).fragment)
    claims = jwt.decode(fragment["access_token"][0], options={"verify_signature": False})
    assert claims["scope"] == f"{ident}/read" and "id_token" not in fragment
    # A scope the client is not allowed never reaches the form: invalid_scope on the redirect.
    refused = requests.get(
        f"{stack.hosted_ui}/oauth2/authorize",
        params={"client_id": machine.web_client_id, "response_type": "code",
                "redirect_uri": CALLBACK, "scope": f"openid {ident}/write"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert refused.status_code == 302
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_update_replaces_the_scope_list_and_delete_removes_the_server(machine: Machine) -> None:
    idp = machine.stack.clients["cognito-idp"]
    pool, ident = machine.stack.pool_id, "tmp-" + secrets.token_hex(3)
    idp.create_resource_server(UserPoolId=pool, Identifier=ident, Name="Tmp", Scopes=SCOPES)
    got = idp.update_resource_server(
        UserPoolId=pool,
        Identifier=ident,
        Name="Tmp 2",
        Scopes=[{"ScopeName": "x", "ScopeDescription": "X"}],
    )
    assert got["ResourceServer"]["Scopes"] == [{"ScopeName": "x", "ScopeDescription": "X"}]
    seen = idp.describe_resource_server(UserPoolId=pool, Identifier=ident)["ResourceServer"]
    assert (seen["Name"], seen["Scopes"]) == (
        "Tmp 2",
        [{"ScopeName": "x", "ScopeDescription": "X"}],
    )
    idp.update_resource_server(UserPoolId=pool, Identifier=ident, Name="Tmp 2")  # no Scopes
    seen = idp.describe_resource_server(UserPoolId=pool, Identifier=ident)["ResourceServer"]
    assert not seen.get("Scopes")
    idp.delete_resource_server(UserPoolId=pool, Identifier=ident)
    listed = idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"]
    assert ident not in [s["Identifier"] for s in listed]
    for call in (
        lambda: idp.delete_resource_server(UserPoolId=pool, Identifier=ident),
        lambda: idp.update_resource_server(UserPoolId=pool, Identifier=ident, Name="n"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_client_cannot_name_a_scope_no_server_defines(machine: Machine) -> None:
    idp = machine.stack.clients["cognito-idp"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        idp.create_user_pool_client(
            UserPoolId=machine.stack.pool_id, ClientName="bad", GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"], AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=[f"{machine.identifier}/admin"])  # fmt: skip
    assert info.value.response["Error"]["Code"] == "ScopeDoesNotExistException"
