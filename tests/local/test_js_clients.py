"""`cogapi local` driven by the JavaScript Cognito clients browser apps use, unchanged, in Node
and in a real headless Chromium page.

tests/js/package.json pins them, `npm ci --prefix tests/js` installs them (`.ci/run` does it),
and a script per library runs a list of steps against the endpoint, printing one JSON line of
results that these tests assert on:
- amazon-cognito-identity-js (identity_js.mjs), the SRP client under Amplify v5 and many apps:
  its own SRP-6a client (so the stand-in's challenge and signature check must match AWS's),
  getUserAttributes, refreshSession (REFRESH_TOKEN_AUTH) and changePassword with its tokens;
- Amplify v6 (amplify.mjs): signIn's default SRP flow, fetchAuthSession, a forced refresh
  (GetTokensFromRefreshToken), fetchUserAttributes and signOut (RevokeToken).
The same steps also run in Chromium, in a page on a loopback origin other than the endpoint's,
so every call is a CORS request with a preflight that the guard must grant as AWS does:
amazon-cognito-identity-js from its shipped browser bundle, and Amplify v6, which ships none,
from a bundle esbuild (tests/js's devDependency) makes of amplify_browser.mjs once per module.
The error code and message each library hands the app (the ones apps show or branch on) are
AWS's: "Incorrect username or password." for a wrong password and, with
PreventUserExistenceErrors=ENABLED, for an unknown user.

Without node, Chromium or the installed packages the tests fail, saying what to run: they
never skip.
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
import pyotp
import pytest
import requests
from botocore.exceptions import ClientError
from local_stack import MFA_PASSWORD, REGION, Stack, mfa_pool

from cogapi.local import urls
from tests.chromium import chromium_driver, page_origin

JS = Path(__file__).resolve().parents[1] / "js"
PASSWORD = "Sturdy-Pass-42"
INCORRECT = "Incorrect username or password."
ADMIN_SCOPE = "aws.cognito.signin.user.admin"


def _require_packages(*, bundler: bool = False) -> None:
    """Fails, saying what to run, unless tests/js's clients (and with `bundler`, its
    devDependencies: esbuild) are installed."""
    package = json.loads((JS / "package.json").read_text())
    wanted = [*package["dependencies"], *(package["devDependencies"] if bundler else ())]
    if not all((JS / "node_modules" / name / "package.json").is_file() for name in wanted):
        # NODE_ENV=production makes `npm ci` leave devDependencies out unless told otherwise
        command = "npm ci --prefix tests/js" + (" --include=dev" if bundler else "")
        pytest.fail(f"the JavaScript clients are not installed: run `{command}` in {JS.parents[1]}")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (>= 18) is not on PATH: the JavaScript client tests need it")
    return node


def node_script(script: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Run tests/js/<script> with `payload` as its JSON argument; its per-step results."""
    node = _node()
    _require_packages()
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

    @property
    def issuer(self) -> str:
        return urls.issuer(self.endpoint, self.pool_id)

    def user(self) -> str:
        """A confirmed user; its email address, which it signs in with."""
        email = f"js{secrets.token_hex(4)}@example.com"
        self.idp.admin_create_user(
            UserPoolId=self.pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])  # fmt: skip
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        return email

    def run(self, script: str, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        """tests/js/<script>'s results for `steps`, on this pool and its `srp` client."""
        payload = {"endpoint": self.endpoint, "userPoolId": self.pool_id, "clientId": self.srp}
        return node_script(script, {**payload, "steps": list(steps)})

    def identity_js(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        return self.run("identity_js.mjs", *steps)

    def amplify(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        return self.run("amplify.mjs", *steps)

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
def pool(stack: Stack) -> Pool:
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    # users sign in with their email address, as with cogapi's example config (sign_in: [email])
    pool_id = idp.create_user_pool(PoolName="js-clients", UsernameAttributes=["email"])[
        "UserPool"]["Id"]  # fmt: skip
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED")["UserPoolClient"]["ClientId"]  # fmt: skip
    return Pool(stack.endpoint, idp, pool_id, srp=client_id)


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _check_tokens(pool: Pool, email: str, id_token: str, access_token: str) -> dict[str, Any]:
    """The tokens of one sign-in of `email` by the `srp` client, signed by the pool's keys;
    the access token's claims."""
    user = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=email)
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    id_claims, access = pool.claims(id_token), pool.claims(access_token)
    assert (id_claims["token_use"], access["token_use"]) == ("id", "access")
    assert id_claims["sub"] == access["sub"] == sub
    # the user name is the pool's own (a UUID where users sign in with their email), which
    # the library learns from the challenge's USER_ID_FOR_SRP and signs with
    assert id_claims["cognito:username"] == access["username"] == user["Username"] != email
    assert id_claims["aud"] == access["client_id"] == pool.srp
    assert id_claims["email"] == email
    assert id_claims["origin_jti"] == access["origin_jti"]
    assert access["scope"] == ADMIN_SCOPE
    assert id_claims.get("at_hash", _at_hash(access_token)) == _at_hash(access_token)
    return access


def test_identity_js_sign_in_then_user_attributes_refresh_and_change_password(pool: Pool) -> None:
    email = pool.user()
    new = "Newer-Pass-43"
    signed_in, attributes, refreshed, wrong_old, changed, renewed = pool.identity_js(
        {"op": "signIn", "username": email, "password": PASSWORD},
        {"op": "getUserAttributes"},
        {"op": "refreshSession"},
        {"op": "changePassword", "old": "Not-The-Old-1", "new": new},
        {"op": "changePassword", "old": PASSWORD, "new": new},
        {"op": "signIn", "username": email, "password": new},  # SRP: a new verifier
    )
    assert signed_in["ok"], signed_in
    access = _check_tokens(pool, email, signed_in["idToken"], signed_in["accessToken"])

    # getUserAttributes is GetUser with the session's access token
    assert attributes == {
        "ok": True,
        "attributes": {"sub": access["sub"], "email": email,
                       "email_verified": "true"},
    }  # fmt: skip

    # refreshSession: InitiateAuth(REFRESH_TOKEN_AUTH); new tokens of the same sign-in, and the
    # library keeps the refresh token it had (AWS sends none back)
    assert refreshed["ok"], refreshed
    new_access = _check_tokens(pool, email, refreshed["idToken"], refreshed["accessToken"])
    assert new_access["jti"] != access["jti"]
    assert new_access["origin_jti"] == access["origin_jti"]
    assert refreshed["refreshToken"] == signed_in["refreshToken"]

    assert wrong_old == {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    assert changed == {"ok": True}
    assert renewed["ok"], renewed
    assert pool.claims(renewed["accessToken"])["origin_jti"] != access["origin_jti"]


def test_identity_js_wrong_password_and_unknown_user_say_incorrect(pool: Pool) -> None:
    wrong, unknown = pool.identity_js(
        {"op": "signIn", "username": pool.user(), "password": "Wrong-Pass-42"},
        {"op": "signIn", "username": "nobody@example.com", "password": PASSWORD},
    )
    failed = {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    assert wrong == failed
    assert unknown == failed  # PreventUserExistenceErrors=ENABLED: not UserNotFoundException


def _amplify_steps(email: str) -> list[dict[str, Any]]:
    """What both Amplify tests (Node and Chromium) have the library do, in order."""
    return [
        {"op": "signIn", "username": email, "password": PASSWORD},
        {"op": "fetchAuthSession"},
        {"op": "refresh"},
        {"op": "fetchUserAttributes"},
        {"op": "signOut"},
        {"op": "signIn", "username": email, "password": "Wrong-Pass-42"},
        {"op": "signIn", "username": "nobody@example.com", "password": PASSWORD},
    ]


def _check_amplify_results(pool: Pool, email: str, results: list[dict[str, Any]]) -> None:
    """The results of `_amplify_steps`, as Amplify hands them to the app."""
    signed_in, session, refreshed, attributes, signed_out, wrong, unknown = results
    assert signed_in == {"ok": True, "isSignedIn": True, "signInStep": "DONE"}
    assert session["ok"], session
    access = _check_tokens(pool, email, session["idToken"], session["accessToken"])

    # fetchAuthSession({forceRefresh: true}) calls GetTokensFromRefreshToken: new tokens of the
    # same sign-in
    assert refreshed["ok"], refreshed
    new_access = _check_tokens(pool, email, refreshed["idToken"], refreshed["accessToken"])
    assert new_access["jti"] != access["jti"]
    assert new_access["origin_jti"] == access["origin_jti"]

    assert attributes["ok"] and attributes["attributes"]["email"] == email

    # signOut revokes the refresh token (RevokeToken), and with it the sign-in's access tokens
    assert signed_out == {"ok": True}
    with pytest.raises(ClientError) as exc:
        pool.idp.get_user(AccessToken=refreshed["accessToken"])
    assert exc.value.response["Error"]["Message"] == "Access Token has been revoked"

    # a wrong password and (PreventUserExistenceErrors=ENABLED) an unknown user read alike
    failed = {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    assert wrong == failed
    assert unknown == failed


def test_amplify_v6_new_email_address_waits_for_its_code(stack: Stack, pool: Pool) -> None:
    """Amplify's updateUserAttributes reads UpdateUserAttributes' CodeDeliveryDetailsList: in a
    pool that verifies email, a new address is not yet updated and its next step is the code,
    which confirmUserAttribute (VerifyUserAttribute) then takes."""
    pool_id = pool.idp.create_user_pool(
        PoolName="js-verify", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client_id = pool.idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    verifying = Pool(stack.endpoint, pool.idp, pool_id, srp=client_id)
    email = verifying.user()
    moved = "moved-" + email
    sign_in = {"op": "signIn", "username": email, "password": PASSWORD}
    _, updated = verifying.amplify(
        sign_in, {"op": "updateUserAttributes", "attributes": {"email": moved}}
    )
    assert updated["ok"], updated
    assert updated["output"]["email"] == {
        "isUpdated": False,
        "nextStep": {
            "updateAttributeStep": "CONFIRM_ATTRIBUTE_WITH_CODE",
            "codeDeliveryDetails": {
                "attributeName": "email", "deliveryMedium": "EMAIL", "destination": "m***@e***",
            },
        },
    }  # fmt: skip
    messages = requests.get(
        f"{stack.endpoint}/_cogapi/outbox", params={"pool_id": pool_id}, timeout=10
    ).json()["messages"]
    code = [m for m in messages if m["destination"] == moved][-1]["code"]
    _, confirmed, attributes = verifying.amplify(
        {**sign_in, "username": moved},
        {"op": "confirmUserAttribute", "key": "email", "code": code},
        {"op": "fetchUserAttributes"},
    )
    assert confirmed == {"ok": True}, confirmed
    assert attributes["attributes"]["email"] == moved
    assert attributes["attributes"]["email_verified"] == "true"


def test_amplify_v6_sets_up_totp_mfa_then_signs_in_with_it(stack: Stack, pool: Pool) -> None:
    """In a pool that requires MFA with an authenticator, Amplify's signIn reads MFA_SETUP's
    MFAS_CAN_SETUP (JSON.parse: moto's list broke it), fetches a secret (AssociateSoftwareToken)
    and confirmSignIn sends the code (VerifySoftwareToken, then MFA_SETUP with its session); a
    wrong code is refused each time, and the next sign-in asks for a code of the same secret."""
    made = mfa_pool(stack.endpoint, "ON", totp=True, UsernameAttributes=["email"])
    mfa = Pool(stack.endpoint, pool.idp, made.pool_id, srp=made.client_id)
    email = mfa.user()
    sign_in = {"op": "signIn", "username": email, "password": PASSWORD}
    started, wrong, done, attributes = mfa.amplify(
        sign_in,
        {"op": "confirmSignInWithTotp", "wrong": True},
        {"op": "confirmSignInWithTotp"},
        {"op": "fetchUserAttributes"},
    )
    assert started["ok"] and started["signInStep"] == "CONTINUE_SIGN_IN_WITH_TOTP_SETUP", started
    secret = started["sharedSecret"]
    assert len(secret) == 52 and pyotp.TOTP(secret).now()
    assert not wrong["ok"] and wrong["code"] == "EnableSoftwareTokenMFAException", wrong
    assert done == {"ok": True, "isSignedIn": True, "signInStep": "DONE"}, done
    assert attributes["attributes"]["email"] == email
    again, wrong, done = mfa.amplify(
        sign_in,
        {"op": "confirmSignInWithTotp", "secret": secret, "wrong": True},
        {"op": "confirmSignInWithTotp", "secret": secret},
    )
    assert again["signInStep"] == "CONFIRM_SIGN_IN_WITH_TOTP_CODE", again
    assert not wrong["ok"] and wrong["code"] == "CodeMismatchException", wrong
    assert wrong["message"] == "Invalid code received for user"
    assert done == {"ok": True, "isSignedIn": True, "signInStep": "DONE"}, done


def test_amplify_v6_signs_in_with_a_texted_code(stack: Stack, pool: Pool) -> None:
    """In a pool that requires SMS MFA, Amplify's signIn stops at CONFIRM_SIGN_IN_WITH_SMS_CODE
    and shows where the code went (SMS_MFA's CODE_DELIVERY_*: moto signed in at once); its
    confirmSignIn sends the code from the outbox, and a wrong one is refused in AWS's words."""
    made = mfa_pool(stack.endpoint, "ON", sms=True)
    name = made.user(phone="+15555550199")
    texting = Pool(stack.endpoint, pool.idp, made.pool_id, srp=made.client_id)
    started, wrong, done, attributes = texting.amplify(
        {"op": "signIn", "username": name, "password": MFA_PASSWORD},
        {"op": "confirmSignInWithTexted", "username": name, "wrong": True},
        {"op": "confirmSignInWithTexted", "username": name},
        {"op": "fetchUserAttributes"},
    )
    assert started["ok"] and started["signInStep"] == "CONFIRM_SIGN_IN_WITH_SMS_CODE", started
    assert started["codeDeliveryDetails"]["deliveryMedium"] == "SMS", started
    assert started["codeDeliveryDetails"]["destination"] == "+*******0199", started
    assert not wrong["ok"] and wrong["code"] == "CodeMismatchException", wrong
    assert wrong["message"] == "Invalid code or auth state for the user."
    assert done == {"ok": True, "isSignedIn": True, "signInStep": "DONE"}, done
    assert attributes["attributes"]["phone_number_verified"] == "true", attributes


def test_amplify_v6_sign_in_refresh_and_sign_out(pool: Pool) -> None:
    email = pool.user()
    _check_amplify_results(pool, email, pool.amplify(*_amplify_steps(email)))


# --- a real browser app on another origin ---------------------------------------------------

# The app's page loads the library's browser bundle, as an app ships it, and maps the library's
# name to it, so the page can import identity_js_steps.mjs unchanged.
_PAGE = b"""<!doctype html><title>app</title>
<script src="/amazon-cognito-identity.min.js"></script>
<script type="importmap">{"imports": {"amazon-cognito-identity-js": "/library.mjs"}}</script>
"""
_RUN = """
const [input, done] = arguments;
import("/identity_js_steps.mjs").then((steps) => steps.run(input))
  .then((results) => done({results}), (e) => done({error: e.name + ": " + e.message}));
"""
_FETCH_CONTROL_PLANE = """
const [endpoint, done] = arguments;
fetch(endpoint, {method: "POST", body: "{}", headers: {"Content-Type": "application/x-amz-json-1.1",
  "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools"}})
  .then((r) => done({status: r.status}), (e) => done({error: e.name}));
"""


@pytest.fixture(scope="module")
def app_origin() -> Iterator[str]:
    dist = JS / "node_modules" / "amazon-cognito-identity-js" / "dist"
    with page_origin({
        "/": (_PAGE, "text/html"),
        "/amazon-cognito-identity.min.js": (dist / "amazon-cognito-identity.min.js",
                                            "text/javascript"),
        "/library.mjs": (b"export default globalThis.AmazonCognitoIdentity;\n",
                         "text/javascript"),
        "/identity_js_steps.mjs": (JS / "identity_js_steps.mjs", "text/javascript"),
    }) as origin:  # fmt: skip
        yield origin


def test_identity_js_in_chromium_from_another_origin(pool: Pool, app_origin: str) -> None:
    """A browser app on http://localhost:<port> calls the endpoint on 127.0.0.1:<other port>:
    the library's requests are CORS requests with a preflight, which AWS grants."""
    _require_packages()
    email = pool.user()
    payload = {"endpoint": pool.endpoint, "userPoolId": pool.pool_id, "clientId": pool.srp,
               "steps": [{"op": "signIn", "username": email, "password": PASSWORD},
                         {"op": "getUserAttributes"},
                         {"op": "signIn", "username": email, "password": "Wrong-Pass-42"}]}  # fmt: skip
    with chromium_driver() as driver:
        driver.get(app_origin + "/")
        answer = driver.execute_async_script(_RUN, payload)
        control_plane = driver.execute_async_script(_FETCH_CONTROL_PLANE, pool.endpoint)
    assert "results" in answer, answer
    signed_in, attributes, wrong = answer["results"]
    assert signed_in["ok"], signed_in
    _check_tokens(pool, email, signed_in["idToken"], signed_in["accessToken"])
    assert attributes["ok"] and attributes["attributes"]["email"] == email
    # the error's JSON body is readable across origins, so the app sees AWS's code and message
    assert wrong == {"ok": False, "code": "NotAuthorizedException", "message": INCORRECT}
    # the rest of the AWS API stays closed to web pages (the guard's defence)
    assert control_plane == {"error": "TypeError"}, control_plane


# Amplify v6 ships no browser bundle: an app's build bundles it. The test does the same with
# esbuild, once per module (a fraction of a second), into a script that defines
# `window.amplifySteps` (tests/js/amplify_browser.mjs), and the page loads it.
_AMPLIFY_PAGE = b"""<!doctype html><title>app</title>
<script src="/amplify.js"></script>
"""
_AMPLIFY_RUN = """
const [input, done] = arguments;
window.amplifySteps(input).then(done, (e) => done({error: e.name + ": " + e.message}));
"""


@pytest.fixture(scope="module")
def amplify_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/js/amplify_browser.mjs and Amplify v6 bundled for a page, as an app's build does."""
    _node()  # the esbuild command is a node script until its install step swaps in the binary
    _require_packages(bundler=True)
    out = tmp_path_factory.mktemp("amplify-bundle") / "amplify.js"
    done = subprocess.run(
        [str(JS / "node_modules" / ".bin" / "esbuild"), str(JS / "amplify_browser.mjs"),
         "--bundle", "--format=iife", "--platform=browser", "--log-level=warning",
         f"--outfile={out}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def amplify_origin(amplify_bundle: Path) -> Iterator[str]:
    with page_origin({
        "/": (_AMPLIFY_PAGE, "text/html"),
        "/amplify.js": (amplify_bundle, "text/javascript"),
    }) as origin:  # fmt: skip
        yield origin


def test_amplify_v6_in_chromium_from_another_origin(pool: Pool, amplify_origin: str) -> None:
    """Amplify v6, bundled as an app ships it, on http://localhost:<port> against the endpoint
    on 127.0.0.1:<other port>: every call is a CORS request with a preflight, which AWS grants
    (the error's type and message included, which the app reads across origins)."""
    email = pool.user()
    payload = {"endpoint": pool.endpoint, "userPoolId": pool.pool_id, "clientId": pool.srp,
               "steps": _amplify_steps(email)}  # fmt: skip
    with chromium_driver() as driver:
        driver.get(amplify_origin + "/")
        answer = driver.execute_async_script(_AMPLIFY_RUN, payload)
    assert "results" in answer, answer
    _check_amplify_results(pool, email, answer["results"])
