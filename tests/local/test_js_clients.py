"""`cogapi local` driven by the JavaScript Cognito client browser apps use, unchanged, in Node.

amazon-cognito-identity-js (the SRP client under Amplify v5 and many apps), pinned in
tests/js/package.json and installed by `npm ci --prefix tests/js` (`.ci/run` does it), runs
tests/js/identity_js.mjs against the endpoint: SRP sign-in (its own SRP-6a client, so the
stand-in's challenge and signature check must match AWS's), the user APIs that take its access
token, refresh, and the error codes and messages the library hands to `onFailure`, which apps
show or branch on. Each script run prints one JSON line that these tests assert on.

Without node or the installed packages the tests fail, saying what to run: they never skip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
import requests
from local_stack import REGION, Stack

from cogapi.local import urls

JS = Path(__file__).resolve().parents[1] / "js"
PASSWORD = "Sturdy-Pass-42"
INCORRECT = "Incorrect username or password."
ADMIN_SCOPE = "aws.cognito.signin.user.admin"


def node_script(script: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Run tests/js/<script> with `payload` as its JSON argument; its per-step results."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (>= 18) is not on PATH: the JavaScript client tests need it")
    if not (JS / "node_modules" / "amazon-cognito-identity-js").is_dir():
        pytest.fail(
            "the JavaScript clients are not installed: run `npm ci --prefix tests/js` in "
            f"{JS.parents[1]}"
        )
    done = subprocess.run(
        [node, str(JS / script), json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return list(json.loads(lines[-1])["results"])


@dataclass
class Pool:
    endpoint: str
    idp: Any
    pool_id: str
    srp: str  # SRP + refresh, PreventUserExistenceErrors=ENABLED
    legacy: str  # SRP + refresh, PreventUserExistenceErrors=LEGACY

    @property
    def issuer(self) -> str:
        return urls.issuer(self.endpoint, self.pool_id)

    def user(self) -> str:
        name = "js" + secrets.token_hex(4)
        self.idp.admin_create_user(
            UserPoolId=self.pool_id, Username=name, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                            {"Name": "email_verified", "Value": "true"}])  # fmt: skip
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=name, Password=PASSWORD, Permanent=True
        )
        return name

    def identity_js(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        return node_script(
            "identity_js.mjs",
            {
                "endpoint": self.endpoint,
                "userPoolId": self.pool_id,
                "clientId": self.srp,
                "steps": list(steps),
            },
        )

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims, its signature checked against the pool's JWKS."""
        keys = jwt.PyJWKSet.from_dict(
            requests.get(f"{self.issuer}/.well-known/jwks.json", timeout=10).json()
        )
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in keys.keys if k.key_id == kid)
        return dict(
            jwt.decode(
                token, key, algorithms=["RS256"], issuer=self.issuer, options={"verify_aud": False}
            )
        )


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Iterator[Pool]:
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool_id = idp.create_user_pool(PoolName="js-clients")["UserPool"]["Id"]

    def client(name: str, existence_errors: str) -> str:
        return str(idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=name,
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors=existence_errors)["UserPoolClient"]["ClientId"])  # fmt: skip

    yield Pool(
        stack.endpoint,
        idp,
        pool_id,
        srp=client("web", "ENABLED"),
        legacy=client("legacy", "LEGACY"),
    )


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_sign_in_user_attributes_and_refresh(pool: Pool) -> None:
    name = pool.user()
    sub = next(
        a["Value"]
        for a in pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=name)["UserAttributes"]
        if a["Name"] == "sub"
    )
    signed_in, attributes, refreshed = pool.identity_js(
        {"op": "signIn", "username": name, "password": PASSWORD},
        {"op": "getUserAttributes"},
        {"op": "refreshSession"},
    )
    assert signed_in["ok"], signed_in
    id_claims = pool.claims(signed_in["idToken"])
    access = pool.claims(signed_in["accessToken"])
    assert (id_claims["token_use"], access["token_use"]) == ("id", "access")
    assert id_claims["sub"] == access["sub"] == sub
    assert id_claims["cognito:username"] == access["username"] == name
    assert id_claims["aud"] == access["client_id"] == pool.srp
    assert id_claims["email"] == f"{name}@example.com"
    assert access["scope"] == ADMIN_SCOPE
    assert id_claims.get("at_hash", _at_hash(signed_in["accessToken"])) == _at_hash(
        signed_in["accessToken"]
    )

    # getUserAttributes is GetUser with the session's access token
    assert attributes == {
        "ok": True,
        "attributes": {"sub": sub, "email": f"{name}@example.com", "email_verified": "true"},
    }

    # refreshSession: InitiateAuth(REFRESH_TOKEN_AUTH); new tokens of the same sign-in, and the
    # library keeps the refresh token it had (AWS sends none back)
    assert refreshed["ok"], refreshed
    new_access = pool.claims(refreshed["accessToken"])
    new_id = pool.claims(refreshed["idToken"])
    assert new_access["jti"] != access["jti"] and new_id["jti"] != id_claims["jti"]
    assert new_access["origin_jti"] == access["origin_jti"]
    assert (new_access["sub"], new_id["cognito:username"]) == (sub, name)
    assert refreshed["refreshToken"] == signed_in["refreshToken"]
    assert pool.idp.get_user(AccessToken=refreshed["accessToken"])["Username"] == name


def test_wrong_password_and_unknown_user_fail_as_on_aws(pool: Pool) -> None:
    name = pool.user()
    wrong, unknown, unknown_legacy = pool.identity_js(
        {"op": "signIn", "username": name, "password": "Wrong-Pass-42"},
        {"op": "signIn", "username": "nobody-js", "password": PASSWORD},
        {"op": "signIn", "username": "nobody-js", "password": PASSWORD, "clientId": pool.legacy},
    )
    failed = {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    assert wrong == failed
    assert unknown == failed  # PreventUserExistenceErrors=ENABLED: not UserNotFoundException
    assert unknown_legacy == {
        "ok": False,
        "code": "UserNotFoundException",
        "message": "User does not exist.",
    }


def test_change_password_then_sign_in_with_the_new_one(pool: Pool) -> None:
    name = pool.user()
    new = "Newer-Pass-43"
    signed_in, wrong_old, changed, renewed = pool.identity_js(
        {"op": "signIn", "username": name, "password": PASSWORD},
        {"op": "changePassword", "old": "Not-The-Old-1", "new": new},
        {"op": "changePassword", "old": PASSWORD, "new": new},
        {"op": "signIn", "username": name, "password": new},  # SRP: the verifier changed too
    )
    assert signed_in["ok"], signed_in
    assert wrong_old == {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    assert changed == {"ok": True}
    assert renewed["ok"], renewed
    assert pool.claims(renewed["accessToken"])["username"] == name
