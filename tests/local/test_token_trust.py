"""Who is let in: the checks on a token's client and on revoked refresh tokens, on the local
stand-in's data plane and OAuth endpoints and in cogapi's own verifier. Each test has a control
(the same request let in) so that it fails when the guard is removed, not only when all breaks."""

from __future__ import annotations

import time

import pytest
import requests
from local_stack import CALLBACK, EMAIL, REGION, Stack

from cogapi.auth.jwt_verify import TokenRejected, TokenVerifier, trusted_issuers
from cogapi.local import urls
from cogapi.local.tokens import Grant, Subject, mint


def _me(stack: Stack, id_token: str) -> requests.Response:
    return requests.get(stack.url("/me"), headers={"Authorization": id_token}, timeout=10)


def test_id_token_of_a_deleted_client_is_refused(stack: Stack) -> None:
    idp = stack.clients["cognito-idp"]
    client_id = idp.create_user_pool_client(
        UserPoolId=stack.pool_id, ClientName="short-lived", GenerateSecret=False,
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    id_token = stack.server.issue_tokens(stack.pool_id, client_id, EMAIL)["id_token"]
    assert _me(stack, id_token).status_code == 200  # control: a client of the pool
    idp.delete_user_pool_client(UserPoolId=stack.pool_id, ClientId=client_id)
    refused = _me(stack, id_token)
    assert refused.status_code == 401, refused.text
    assert refused.json() == {"message": "Unauthorized"}


def test_id_token_for_an_audience_that_never_was_a_client_is_refused(stack: Stack) -> None:
    now = int(time.time())
    subject = Subject("sub-1", EMAIL, {"email": EMAIL})
    issuer = urls.issuer(stack.endpoint, stack.pool_id)  # the pool's own issuer and keys

    def id_token(audience: str) -> str:
        token = mint(stack.server.keys, Grant(issuer, audience, subject, ("openid",), now)).id_token
        assert token is not None
        return token

    assert _me(stack, id_token(stack.client_id)).status_code == 200  # control
    refused = _me(stack, id_token("not-a-client-of-this-pool"))
    assert refused.status_code == 401, refused.text


def _token_endpoint(stack: Stack, **form: str) -> requests.Response:
    return requests.post(f"{stack.hosted_ui}/oauth2/token", data=form, timeout=10)


def test_a_revoked_refresh_token_gets_no_new_tokens(stack: Stack) -> None:
    refresh = stack.tokens()["refresh_token"]
    grant = {"grant_type": "refresh_token", "client_id": stack.client_id, "refresh_token": refresh}
    assert _token_endpoint(stack, **grant).status_code == 200  # control: it works until revoked
    # Another client cannot revoke it.
    other = requests.post(
        f"{stack.hosted_ui}/oauth2/revoke", data={"token": refresh},
        auth=(stack.secret_client_id, stack.secret), timeout=10,
    )  # fmt: skip
    assert other.status_code == 200
    assert _token_endpoint(stack, **grant).status_code == 200
    revoked = requests.post(
        f"{stack.hosted_ui}/oauth2/revoke",
        data={"token": refresh, "client_id": stack.client_id},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    after = _token_endpoint(stack, **grant)
    assert after.status_code == 400
    assert after.json() == {"error": "invalid_grant"}


def test_cogapi_verifier_refuses_tokens_of_another_client(stack: Stack) -> None:
    tokens = stack.tokens()
    issuers = trusted_issuers(REGION, stack.pool_id, stack.endpoint, stack.endpoint)
    ours = TokenVerifier(issuers, stack.client_id)
    assert ours.verify(tokens["access_token"], "access")["client_id"] == stack.client_id  # control
    assert ours.verify(tokens["id_token"], "id")["aud"] == stack.client_id
    theirs = TokenVerifier(issuers, stack.secret_client_id)  # another client of the same pool
    with pytest.raises(TokenRejected, match="issued to client"):
        theirs.verify(tokens["access_token"], "access")
    with pytest.raises(TokenRejected, match="issued to client"):
        theirs.verify(tokens["id_token"], "id")
