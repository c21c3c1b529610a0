"""`cogapi local` driven by Cognito client libraries nobody here wrote, used unchanged.

- pycognito: SRP sign-in (its own SRP-6a client), token verification against
  `<endpoint>/<pool id>/.well-known/jwks.json` with issuer `<endpoint>/<pool id>` (its convention
  for a custom endpoint), at_hash, and the user APIs that take an access or refresh token.
- Authlib: the hosted UI's code flow with PKCE and a nonce, ID-token validation (nonce, at_hash),
  and OpenID discovery at both issuer paths.
Each pins an AWS behaviour (aws-notes: "Sign-in APIs a real client uses").
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import jwt as pyjwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from botocore.exceptions import ClientError
from local_stack import REGION, Stack, aws_error, fits_aws_model, other_code
from pycognito import Cognito
from pycognito.aws_srp import AWSSRP

from cogapi.local import urls

with warnings.catch_warnings():  # Authlib's OIDC claim classes still come with authlib.jose
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as authlib_jwt
    from authlib.oidc.core import CodeIDToken, IDToken, ImplicitIDToken

PASSWORD = "Sturdy-Pass-42"
CALLBACK = "http://localhost:8765/callback"
ADMIN_SCOPE = "aws.cognito.signin.user.admin"
INCORRECT = "Incorrect username or password."
REVOKED = "Refresh Token has been revoked"
EXPIRED = "Refresh Token has expired"
INVALID_REFRESH = "Invalid Refresh Token."  # AWS's answer to a token it cannot use at all


@dataclass
class Pool:
    endpoint: str
    idp: Any
    pool_id: str
    domain: str
    srp: str  # SRP + refresh, PreventUserExistenceErrors=ENABLED, hosted UI
    password: str  # password flows + refresh, ENABLED
    legacy: str  # password flows + refresh, LEGACY
    default: str  # no ExplicitAuthFlows at all: AWS's default (SRP, custom, refresh)
    secret: tuple[str, str]  # (client id, secret): SRP and password flows, ENABLED

    @property
    def issuer(self) -> str:
        return f"{self.endpoint}/{self.pool_id}"

    @property
    def hosted_ui(self) -> str:
        return urls.hosted_ui_base(self.endpoint, self.domain)

    def user(self, name: str | None = None, password: str = PASSWORD) -> str:
        name = name or "u" + secrets.token_hex(4)
        self.idp.admin_create_user(
            UserPoolId=self.pool_id, Username=name, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                            {"Name": "email_verified", "Value": "true"}])  # fmt: skip
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=name, Password=password, Permanent=True
        )
        return name

    def cognito(
        self, username: str, client_id: str | None = None, client_secret: str | None = None
    ) -> Cognito:
        return Cognito(
            self.pool_id, client_id or self.srp, username=username, client_secret=client_secret,
            boto3_client_kwargs={"endpoint_url": self.endpoint,
                                 "aws_access_key_id": "testing",
                                 "aws_secret_access_key": "testing"})  # fmt: skip

    def messages(self) -> list[dict[str, Any]]:
        """What the outbox holds for this pool, read as a script would (the terminal running
        `cogapi local` shows the same lines)."""
        answer = requests.get(
            f"{self.endpoint}/_cogapi/outbox", params={"pool_id": self.pool_id}, timeout=10
        )
        return list(answer.json()["messages"])

    def code(self, username: str, purpose: str) -> str:
        """The last code "sent" to the user for `purpose`."""
        messages = self.messages()
        mine = [m for m in messages if purpose == m["purpose"] and username in (
            m["username"], m["destination"])]  # fmt: skip
        assert mine, (username, purpose, messages)
        return str(mine[-1]["code"])

    def srp_sign_in(self, username: str, password: str, client_id: str | None = None) -> Any:
        return AWSSRP(
            username=username,
            password=password,
            pool_id=self.pool_id,
            client_id=client_id or self.srp,
            client=self.idp,
        ).authenticate_user()


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Iterator[Pool]:
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool_id = idp.create_user_pool(PoolName="clients", AutoVerifiedAttributes=["email"])[
        "UserPool"]["Id"]  # fmt: skip
    domain = "clients-" + secrets.token_hex(3)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)

    def client(name: str, **kw: Any) -> str:
        return str(idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **kw)[
            "UserPoolClient"]["ClientId"])  # fmt: skip

    secret = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="secret", GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                           "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED")["UserPoolClient"]  # fmt: skip
    password_flows = [
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    ]
    yield Pool(
        stack.endpoint, idp, pool_id, domain,
        srp=client("srp", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                   PreventUserExistenceErrors="ENABLED", AllowedOAuthFlows=["code", "implicit"],
                   AllowedOAuthScopes=["openid", "email", ADMIN_SCOPE],
                   AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=[CALLBACK],
                   SupportedIdentityProviders=["COGNITO"]),
        password=client("password", ExplicitAuthFlows=password_flows,
                        PreventUserExistenceErrors="ENABLED"),
        legacy=client("legacy", ExplicitAuthFlows=password_flows,
                      PreventUserExistenceErrors="LEGACY", AllowedOAuthFlows=["code"],
                      AllowedOAuthScopes=["openid"], AllowedOAuthFlowsUserPoolClient=True,
                      CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"]),
        default=client("default"),
        secret=(secret["ClientId"], secret["ClientSecret"]),
    )  # fmt: skip


def jwt_claims(token: str) -> dict[str, Any]:
    return dict(pyjwt.decode(token, options={"verify_signature": False}))


MISMATCH = ("CodeMismatchException", "Invalid verification code provided, please try again.")


# --- SRP ---------------------------------------------------------------------------------------


def test_srp_sign_in_gives_tokens_pycognito_verifies(pool: Pool) -> None:
    user = pool.cognito(pool.user())
    user.authenticate(PASSWORD)  # SRP, then verify_tokens against <endpoint>/<pool>/jwks
    assert user.access_claims["token_use"] == "access"
    assert user.access_claims["scope"] == ADMIN_SCOPE
    assert user.access_claims["iss"] == user.id_claims["iss"] == pool.issuer
    # one sign-in: the two tokens share origin_jti (AWS revokes them together)
    assert user.id_claims["origin_jti"] == user.access_claims["origin_jti"]
    assert user.id_claims["aud"] == pool.srp


def test_srp_with_a_wrong_password_is_refused(pool: Pool) -> None:
    name = pool.user()
    with pytest.raises(ClientError) as exc:
        pool.srp_sign_in(name, "Wrong-Pass-42")
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)


def test_srp_signature_is_checked_not_just_present(pool: Pool) -> None:
    name = pool.user()
    srp = AWSSRP(
        username=name, password=PASSWORD, pool_id=pool.pool_id, client_id=pool.srp, client=pool.idp
    )
    params = srp.get_auth_params()
    challenge = pool.idp.initiate_auth(
        ClientId=pool.srp, AuthFlow="USER_SRP_AUTH", AuthParameters=params
    )
    responses = srp.process_challenge(challenge["ChallengeParameters"], params)
    responses["TIMESTAMP"] = responses["TIMESTAMP"].replace("UTC", "GMT")  # signed over UTC
    with pytest.raises(ClientError) as exc:
        pool.idp.respond_to_auth_challenge(
            ClientId=pool.srp, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)


def test_srp_challenge_looks_like_cognitos(pool: Pool) -> None:
    name = pool.user()
    srp = AWSSRP(
        username=name, password=PASSWORD, pool_id=pool.pool_id, client_id=pool.srp, client=pool.idp
    )
    params = pool.idp.initiate_auth(
        ClientId=pool.srp, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )["ChallengeParameters"]
    assert set(params) == {"SALT", "SECRET_BLOCK", "SRP_B", "USERNAME", "USER_ID_FOR_SRP"}
    # AWS's user id for SRP is the user name, which amazon-cognito-identity-js sends back as
    # USERNAME (moto's is a random id it cannot find the user by)
    assert params["USER_ID_FOR_SRP"] == params["USERNAME"] == name
    big_b = int(params["SRP_B"], 16)
    assert 1 < big_b < srp.big_n and big_b.bit_length() > 3000  # a real group element


# --- user existence ------------------------------------------------------------------------


def test_unknown_user_with_srp_gets_a_simulated_challenge_then_incorrect(pool: Pool) -> None:
    srp = AWSSRP(
        username="nobody-srp",
        password=PASSWORD,
        pool_id=pool.pool_id,
        client_id=pool.srp,
        client=pool.idp,
    )
    first, second = (
        pool.idp.initiate_auth(ClientId=pool.srp, AuthFlow="USER_SRP_AUTH",
                               AuthParameters=srp.get_auth_params())["ChallengeParameters"]
        for _ in range(2))  # fmt: skip
    # the same salt and user id for the same user name: nothing tells it from a real user
    assert (first["SALT"], first["USER_ID_FOR_SRP"]) == (second["SALT"], second["USER_ID_FOR_SRP"])
    with pytest.raises(ClientError) as exc:
        srp.authenticate_user()
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)


@pytest.mark.parametrize("admin", [False, True], ids=["InitiateAuth", "AdminInitiateAuth"])
def test_unknown_user_with_a_password_is_incorrect(pool: Pool, admin: bool) -> None:
    params = {"USERNAME": "nobody-pw", "PASSWORD": PASSWORD}
    with pytest.raises(ClientError) as exc:
        if admin:
            pool.idp.admin_initiate_auth(
                UserPoolId=pool.pool_id,
                ClientId=pool.password,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters=params,
            )
        else:
            pool.idp.initiate_auth(
                ClientId=pool.password, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
            )
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)
    with pytest.raises(ClientError) as legacy:  # LEGACY still says so
        pool.idp.initiate_auth(
            ClientId=pool.legacy, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
        )
    assert aws_error(legacy)[0] == "UserNotFoundException"


def test_wrong_admin_password_says_incorrect(pool: Pool) -> None:
    name = pool.user()
    with pytest.raises(ClientError) as exc:
        pool.idp.admin_initiate_auth(
            UserPoolId=pool.pool_id,
            ClientId=pool.password,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": "Nope-123x"},
        )
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)


def _hosted_login(
    session: requests.Session, authorize_url: str, username: str, password: str
) -> requests.Response:
    r = session.get(authorize_url, allow_redirects=False)
    assert r.status_code == 302 and "/login?" in r.headers["Location"], r.text
    form = session.get(r.headers["Location"], allow_redirects=False)
    action = re.search(r'<form method="post" action="([^"]+)"', form.text)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert action and csrf
    return session.post(
        action.group(1).replace("&amp;", "&"),
        data={"_csrf": csrf.group(1), "username": username, "password": password},
        allow_redirects=False,
    )


def test_hosted_ui_hides_unknown_users_only_when_enabled(pool: Pool) -> None:
    def form_error(client_id: str) -> str:
        url = f"{pool.hosted_ui}/oauth2/authorize?" + requests.compat.urlencode(
            {"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
             "scope": "openid"})  # fmt: skip
        r = _hosted_login(requests.Session(), url, "nobody-ui", PASSWORD)
        found = re.search(r'id="error">([^<]+)<', r.text)
        assert r.status_code == 200 and found, r.text
        return found.group(1)

    assert form_error(pool.srp) == INCORRECT
    assert form_error(pool.legacy) == "User does not exist."


def test_neutral_answers_for_recovery_and_confirmation(pool: Pool) -> None:
    # AWS, "Managing user existence error responses": a simulated delivery, never "not found"
    sent = pool.idp.forgot_password(ClientId=pool.srp, Username="nobody@example.com")
    assert sent["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    resent = pool.idp.resend_confirmation_code(ClientId=pool.srp, Username="nobody@example.com")
    assert resent["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    with pytest.raises(ClientError) as exc:
        pool.idp.confirm_forgot_password(
            ClientId=pool.srp,
            Username="nobody@example.com",
            ConfirmationCode="123456",
            Password=PASSWORD,
        )
    assert aws_error(exc)[0] == "CodeMismatchException"
    with pytest.raises(ClientError) as legacy:
        pool.idp.forgot_password(ClientId=pool.legacy, Username="nobody@example.com")
    assert aws_error(legacy)[0] == "UserNotFoundException"


# --- sign-up, recovery and the codes they send --------------------------------------------------


def test_sign_up_is_confirmed_only_with_the_code_sent(pool: Pool) -> None:
    name = "s" + secrets.token_hex(4)
    email = f"{name}@example.com"
    user = pool.cognito(name)
    user.set_base_attributes(email=email)
    signed_up = user.register(name, PASSWORD)  # SignUp: the pool verifies email, so a code goes
    assert signed_up["UserConfirmed"] is False
    assert signed_up["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    first = pool.code(name, "sign-up")
    with pytest.raises(ClientError) as wrong:
        user.confirm_sign_up(other_code(first), username=name)
    assert aws_error(wrong) == MISMATCH
    pool.idp.resend_confirmation_code(ClientId=pool.srp, Username=name)
    second = pool.code(name, "sign-up")
    if second != first:  # a new code replaces the last (one in a million is the same)
        with pytest.raises(ClientError) as old:
            user.confirm_sign_up(first, username=name)
        assert aws_error(old) == MISMATCH
    with pytest.raises(ClientError) as unconfirmed:
        user.authenticate(PASSWORD)
    assert aws_error(unconfirmed)[0] == "UserNotConfirmedException"
    user.confirm_sign_up(second, username=name)
    got = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=name)
    assert got["UserStatus"] == "CONFIRMED"
    attributes = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert attributes["email_verified"] == "true"  # the code went to that address
    with pytest.raises(ClientError) as again:
        user.confirm_sign_up(second, username=name)
    assert aws_error(again) == (
        "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")  # fmt: skip
    user.authenticate(PASSWORD)
    assert user.id_claims["email"] == email


def test_confirming_an_unknown_user_hides_that_it_is_unknown(pool: Pool) -> None:
    with pytest.raises(ClientError) as hidden:  # PreventUserExistenceErrors=ENABLED
        pool.idp.confirm_sign_up(
            ClientId=pool.srp, Username="nobody@example.com", ConfirmationCode="123456"
        )
    assert aws_error(hidden) == MISMATCH
    with pytest.raises(ClientError) as legacy:
        pool.idp.confirm_sign_up(
            ClientId=pool.legacy, Username="nobody@example.com", ConfirmationCode="123456"
        )
    assert aws_error(legacy)[0] == "UserNotFoundException"


def test_a_password_reset_takes_only_the_code_sent_and_only_once(pool: Pool) -> None:
    name = pool.user()
    user = pool.cognito(name)
    user.initiate_forgot_password()  # ForgotPassword
    code = pool.code(name, "password reset")
    with pytest.raises(ClientError) as wrong:
        user.confirm_forgot_password(other_code(code), "Another-Horse-7")
    assert aws_error(wrong) == MISMATCH
    user.confirm_forgot_password(code, "Another-Horse-7")
    pool.cognito(name).authenticate("Another-Horse-7")
    with pytest.raises(ClientError) as used:
        user.confirm_forgot_password(code, "Third-Horse-8")
    assert aws_error(used) == MISMATCH


# --- flows the client does not enable ---------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "flow"),
    [("srp", "USER_PASSWORD_AUTH"), ("password", "USER_SRP_AUTH"),
     ("default", "USER_PASSWORD_AUTH"), ("srp", "ADMIN_USER_PASSWORD_AUTH"),
     ("default", "ADMIN_NO_SRP_AUTH")],
)  # fmt: skip
def test_a_flow_the_client_does_not_enable_is_refused(pool: Pool, client: str, flow: str) -> None:
    name = pool.user()
    client_id = getattr(pool, client)
    params = {"USERNAME": name, "PASSWORD": PASSWORD, "SRP_A": "ab" * 384}
    with pytest.raises(ClientError) as exc:
        if flow.startswith("ADMIN_"):
            pool.idp.admin_initiate_auth(
                UserPoolId=pool.pool_id, ClientId=client_id, AuthFlow=flow, AuthParameters=params
            )
        else:
            pool.idp.initiate_auth(ClientId=client_id, AuthFlow=flow, AuthParameters=params)
    assert aws_error(exc) == (
        "InvalidParameterException",
        f"{flow} flow not enabled for this client",
    )


def test_default_client_allows_srp(pool: Pool) -> None:
    user = pool.cognito(pool.user(), client_id=pool.default)
    user.authenticate(PASSWORD)
    assert user.access_claims["client_id"] == pool.default


# --- APIs that take the tokens ---------------------------------------------------------------


def test_get_and_update_user_with_the_access_token(pool: Pool) -> None:
    name = pool.user()
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    assert user.get_user().username == name
    user.update_profile({"given_name": "Bob"}, attr_map={})
    assert user.get_user(attr_map={}).given_name == "Bob"
    pool.idp.delete_user_attributes(
        AccessToken=user.access_token, UserAttributeNames=["given_name"]
    )
    attrs = pool.idp.get_user(AccessToken=user.access_token)["UserAttributes"]
    assert "given_name" not in {a["Name"] for a in attrs}
    pool.idp.admin_update_user_attributes(
        UserPoolId=pool.pool_id, Username=name,
        UserAttributes=[{"Name": "email_verified", "Value": "false"}])  # fmt: skip
    user.send_verification("email")  # GetUserAttributeVerificationCode: a code in the outbox
    code = pool.code(name, "email verification")
    with pytest.raises(ClientError) as exc:
        user.validate_verification(other_code(code), "email")  # VerifyUserAttribute
    assert aws_error(exc) == MISMATCH
    assert user.get_user(attr_map={}).email_verified is False
    user.validate_verification(code, "email")
    assert user.get_user(attr_map={}).email_verified is True  # pycognito parses "true"


UNAUTHORIZED_WRITE = (
    "NotAuthorizedException",
    "A client attempted to write unauthorized attribute",
)
NON_MUTABLE = (
    "InvalidParameterException",
    "Cannot modify the non-mutable attribute email_verified",
)


def _attributes(pool: Pool, name: str) -> dict[str, str]:
    got = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=name)["UserAttributes"]
    return {a["Name"]: a["Value"] for a in got}


def _with_custom_attributes(pool: Pool, *names: str) -> None:
    """The module's pool has these custom string attributes (tests share the pool, and a
    pool refuses an attribute it already has)."""
    schema = pool.idp.describe_user_pool(UserPoolId=pool.pool_id)["UserPool"]["SchemaAttributes"]
    have = {a["Name"] for a in schema}
    missing = [n for n in names if f"custom:{n}" not in have]
    if missing:
        pool.idp.add_custom_attributes(UserPoolId=pool.pool_id, CustomAttributes=[
            {"Name": n, "AttributeDataType": "String", "Mutable": True} for n in missing])  # fmt: skip


def test_a_user_writes_only_what_the_app_client_lets_it_write(pool: Pool) -> None:
    """AWS: a user's own writes (UpdateUserAttributes, SignUp) are limited to the app client's
    WriteAttributes, or to the standard attributes when it sets none; a verification flag is
    never the user's to set (AWS: "Cannot modify the non-mutable attribute email_verified").
    moto let a user write anything, `email_verified` included."""
    pool.idp.add_custom_attributes(
        UserPoolId=pool.pool_id,
        CustomAttributes=[{"Name": "role", "AttributeDataType": "String", "Mutable": True}],
    )
    limited = pool.idp.create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="limited", WriteAttributes=["email", "given_name"],
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    name = pool.user()
    pool.idp.admin_update_user_attributes(
        UserPoolId=pool.pool_id, Username=name,
        UserAttributes=[{"Name": "email_verified", "Value": "false"}])  # fmt: skip
    for client, refused, allowed, why in (
        (limited, {"family_name": "X"}, {"given_name": "Ann"}, UNAUTHORIZED_WRITE),
        (pool.srp, {"custom:role": "admin"}, {"family_name": "Y"}, UNAUTHORIZED_WRITE),
        (pool.srp, {"email_verified": "true"}, {"given_name": "Bea"}, NON_MUTABLE),
    ):  # pool.srp sets no WriteAttributes: the standard attributes
        user = pool.cognito(name, client_id=client)
        user.authenticate(PASSWORD)
        with pytest.raises(ClientError) as exc:
            user.update_profile({**allowed, **refused}, attr_map={})
        assert aws_error(exc) == why
        attributes = _attributes(pool, name)
        assert all(attributes.get(k) != v for k, v in {**refused, **allowed}.items())  # as a whole
        assert attributes.get("email_verified") == "false"
        user.update_profile(allowed, attr_map={})
        assert all(_attributes(pool, name)[k] == v for k, v in allowed.items())
    # SignUp writes with the client's permissions too, and makes no user when it refuses
    newcomer = "w" + secrets.token_hex(4)
    signing_up = pool.cognito(newcomer)
    signing_up.set_base_attributes(email=f"{newcomer}@example.com", email_verified="true")
    with pytest.raises(ClientError) as exc:
        signing_up.register(newcomer, PASSWORD)
    assert aws_error(exc) == NON_MUTABLE
    with pytest.raises(ClientError, match="UserNotFoundException"):
        pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=newcomer)
    with pytest.raises(ClientError) as exc:
        pool.idp.sign_up(ClientId=limited, Username=newcomer, Password=PASSWORD,
                         UserAttributes=[{"Name": "email", "Value": f"{newcomer}@example.com"},
                                         {"Name": "name", "Value": "N"}])  # fmt: skip
    assert aws_error(exc) == UNAUTHORIZED_WRITE


def _schema_refusal(*names: str) -> tuple[str, str]:
    lines = "".join(f"{n}: The attribute is required\n" for n in names)
    return ("InvalidParameterException", "Attributes did not conform to the schema: " + lines)


def test_sign_up_needs_every_required_attribute(pool: Pool) -> None:
    """AWS: SignUp without a value for a required attribute is refused ("Attributes did not
    conform to the schema: <name>: The attribute is required", a line each) and makes no user;
    where the email address is the user name, the user name gives it. moto made the user."""
    idp = pool.idp
    strict = idp.create_user_pool(
        PoolName="strict", UsernameAttributes=["email"],
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True},
                {"Name": "given_name", "AttributeDataType": "String", "Required": True},
                {"Name": "family_name", "AttributeDataType": "String", "Required": True}],
    )["UserPool"]["Id"]  # fmt: skip
    client_id = idp.create_user_pool_client(UserPoolId=strict, ClientName="app")[
        "UserPoolClient"]["ClientId"]  # fmt: skip
    email = f"s{secrets.token_hex(4)}@example.com"
    for given, missing in (
        ([], ("given_name", "family_name")),
        ([{"Name": "given_name", "Value": "Ann"}], ("family_name",)),
        ([{"Name": "given_name", "Value": "Ann"}, {"Name": "family_name", "Value": ""}],
         ("family_name",)),
    ):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            idp.sign_up(ClientId=client_id, Username=email, Password=PASSWORD, UserAttributes=given)
        assert aws_error(exc) == _schema_refusal(*missing)
        with pytest.raises(ClientError, match="UserNotFoundException"):
            idp.admin_get_user(UserPoolId=strict, Username=email)
    # pycognito's register, unchanged: the email address comes from the user name
    user = Cognito(strict, client_id, username=email, boto3_client_kwargs={
        "endpoint_url": pool.endpoint, "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing"})  # fmt: skip
    user.set_base_attributes(given_name="Ann", family_name="Lee")
    user.register(email, PASSWORD)
    made = idp.admin_get_user(UserPoolId=strict, Username=email)["UserAttributes"]
    assert {a["Name"]: a["Value"] for a in made}.items() >= {
        "email": email, "given_name": "Ann", "family_name": "Lee"}.items()  # fmt: skip


@pytest.mark.usefixtures("insecure_local_transport")
def test_a_client_reads_only_its_read_attributes(pool: Pool) -> None:
    """AWS: GetUser with an access token answers only the attributes the token's app client may
    read, and the client's ID tokens (and userInfo) carry only those, `sub` aside. A client that
    sets no ReadAttributes reads them all here (see `ClientView.readable`). moto answered, and
    the stand-in minted, every attribute whatever the client."""
    _with_custom_attributes(pool, "squad", "tier")
    reader = pool.idp.create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="reader",
        ReadAttributes=["email", "email_verified", "custom:squad"],
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]  # fmt: skip
    name = pool.user()
    pool.idp.admin_update_user_attributes(UserPoolId=pool.pool_id, Username=name, UserAttributes=[
        {"Name": "given_name", "Value": "Ann"}, {"Name": "custom:squad", "Value": "blue"},
        {"Name": "custom:tier", "Value": "gold"}])  # fmt: skip
    readable = {"sub", "email", "email_verified", "custom:squad"}
    everything = readable | {"given_name", "custom:tier"}

    def attribute_claims(claims: dict[str, Any]) -> set[str]:
        return {k for k in claims if k in everything}

    for client, expected in ((reader, readable), (pool.srp, everything)):
        user = pool.cognito(name, client_id=client)
        user.authenticate(PASSWORD)  # pycognito's SRP; it verifies the tokens it gets
        assert attribute_claims(user.id_claims) == expected, client
        answer = pool.idp.get_user(AccessToken=user.access_token)
        assert {a["Name"] for a in answer["UserAttributes"]} == expected, client
        fits_aws_model("get_user", answer)
        user.renew_access_token()  # a refreshed ID token reads no more than the first
        assert attribute_claims(jwt_claims(user.id_token)) == expected, client
    # the code flow: the ID token and userInfo read as the client may (Authlib)
    oauth, token, meta = _code_flow(pool, reader, "openid email", name)
    assert attribute_claims(jwt_claims(token["id_token"])) == readable
    info = oauth.get(meta["userinfo_endpoint"]).json()  # scope email: sub, email, email_verified
    assert set(info) == {"sub", "email", "email_verified", "username"}
    # an administrator reads everything, whatever the clients may
    admin_view = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=name)
    assert everything <= {a["Name"] for a in admin_view["UserAttributes"]}


@pytest.mark.usefixtures("insecure_local_transport")
@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", {"sub", "email", "email_verified", "given_name", "phone_number",
                    "custom:squad"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid profile", {"sub", "given_name", "custom:squad"}),
        ("openid phone profile", {"sub", "given_name", "custom:squad", "phone_number"}),
    ],
)  # fmt: skip
def test_user_info_answers_what_the_scopes_and_the_client_allow(
    pool: Pool, scope: str, expected: set[str]
) -> None:
    """AWS's userInfo endpoint: `openid` alone gives every attribute the app client may read;
    with `profile`, `email` or `phone` it gives `sub` and what those scopes name (`profile`:
    the OIDC profile claims and the custom attributes), never what the client may not read
    (here `custom:tier` and `family_name`). The stand-in answered every attribute."""
    _with_custom_attributes(pool, "squad", "tier")
    client = pool.idp.create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="scoped",
        ReadAttributes=["email", "email_verified", "given_name", "phone_number", "custom:squad"],
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email", "phone", "profile"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]  # fmt: skip
    name = pool.user()
    pool.idp.admin_update_user_attributes(UserPoolId=pool.pool_id, Username=name, UserAttributes=[
        {"Name": "given_name", "Value": "Ann"}, {"Name": "family_name", "Value": "Lee"},
        {"Name": "phone_number", "Value": "+15555550100"},
        {"Name": "custom:squad", "Value": "blue"}, {"Name": "custom:tier", "Value": "gold"}])  # fmt: skip
    oauth, _, meta = _code_flow(pool, client, scope, name)
    info = oauth.get(meta["userinfo_endpoint"]).json()
    assert set(info) == expected | {"username"}
    assert info["username"] == name


def test_a_new_email_address_is_unverified_until_its_code_comes_back(pool: Pool) -> None:
    """AWS (the pool auto-verifies email): UpdateUserAttributes sends a code to the new address
    and says where in CodeDeliveryDetailsList; the address is unverified until VerifyUserAttribute
    takes that code. moto changed the address, kept it verified and sent nothing."""
    name = pool.user()
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    answer = pool.idp.update_user_attributes(
        AccessToken=user.access_token,
        UserAttributes=[{"Name": "email", "Value": f"new-{name}@example.org"}],
    )
    assert answer["CodeDeliveryDetailsList"] == [
        {"Destination": "n***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    ]
    fits_aws_model("update_user_attributes", answer)
    profile = user.get_user(attr_map={})
    assert (profile.email, profile.email_verified) == (f"new-{name}@example.org", False)
    code = pool.code(f"new-{name}@example.org", "email verification")
    with pytest.raises(ClientError) as exc:
        user.validate_verification(other_code(code), "email")
    assert aws_error(exc) == MISMATCH
    user.validate_verification(code, "email")
    assert user.get_user(attr_map={}).email_verified is True
    # the same address again, or an attribute the pool does not verify: no code, no list
    same = pool.idp.update_user_attributes(
        AccessToken=user.access_token,
        UserAttributes=[{"Name": "email", "Value": f"new-{name}@example.org"},
                        {"Name": "given_name", "Value": "Ann"}])  # fmt: skip
    assert "CodeDeliveryDetailsList" not in same
    assert user.get_user(attr_map={}).email_verified is True


def test_an_administrator_changing_an_address_sends_a_code_unless_marking_it_verified(
    pool: Pool,
) -> None:
    """AWS's AdminUpdateUserAttributes in a pool that verifies email: a new address is
    unverified and gets a code, unless the same call sets email_verified to true (AWS's way to
    skip the message); the answer is {} either way. moto applied the address, verified as the
    old one was, and sent nothing, so a user's unverified address went unnoticed locally."""
    name = pool.user()
    moved = f"admin-{name}@example.org"
    answer = pool.idp.admin_update_user_attributes(UserPoolId=pool.pool_id, Username=name,
        UserAttributes=[{"Name": "email", "Value": moved}])  # fmt: skip
    fits_aws_model("admin_update_user_attributes", answer)
    attributes = _attributes(pool, name)
    assert (attributes["email"], attributes["email_verified"]) == (moved, "false")
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    user.validate_verification(pool.code(moved, "email verification"), "email")  # pycognito
    assert _attributes(pool, name)["email_verified"] == "true"
    # marked verified in the same call: applied as given, and no code is sent
    trusted = f"trusted-{name}@example.org"
    pool.idp.admin_update_user_attributes(UserPoolId=pool.pool_id, Username=name, UserAttributes=[
        {"Name": "email", "Value": trusted}, {"Name": "email_verified", "Value": "true"}])  # fmt: skip
    attributes = _attributes(pool, name)
    assert (attributes["email"], attributes["email_verified"]) == (trusted, "true")
    assert [m for m in pool.messages() if m["destination"] == trusted] == []
    # the same address again, or an attribute the pool does not verify: no code
    pool.idp.admin_update_user_attributes(UserPoolId=pool.pool_id, Username=name, UserAttributes=[
        {"Name": "email", "Value": trusted}, {"Name": "given_name", "Value": "Ann"}])  # fmt: skip
    assert [m for m in pool.messages() if m["destination"] == trusted] == []
    assert _attributes(pool, name)["email_verified"] == "true"


def test_a_pool_that_verifies_before_updating_keeps_the_old_address_until_then(
    stack: Stack,
) -> None:
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool_id = idp.create_user_pool(
        PoolName="verify-first", AutoVerifiedAttributes=["email"],
        UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]},
    )["UserPool"]["Id"]  # fmt: skip
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    held = Pool(stack.endpoint, idp, pool_id, "", client_id, "", "", "", ("", ""))
    name = held.user()
    user = held.cognito(name)
    user.authenticate(PASSWORD)
    answer = idp.update_user_attributes(
        AccessToken=user.access_token,
        UserAttributes=[{"Name": "email", "Value": "moved@example.org"}],
    )
    assert answer["CodeDeliveryDetailsList"][0]["AttributeName"] == "email"
    profile = user.get_user(attr_map={})
    assert (profile.email, profile.email_verified) == (f"{name}@example.com", True)
    user.validate_verification(held.code("moved@example.org", "email verification"), "email")
    profile = user.get_user(attr_map={})
    assert (profile.email, profile.email_verified) == ("moved@example.org", True)
    # an administrator's change is held the same way (AWS's AdminUpdateUserAttributes)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=name, UserAttributes=[
        {"Name": "email", "Value": "admin-moved@example.org"}])  # fmt: skip
    profile = user.get_user(attr_map={})
    assert (profile.email, profile.email_verified) == ("moved@example.org", True)
    user.validate_verification(held.code("admin-moved@example.org", "email verification"), "email")
    profile = user.get_user(attr_map={})
    assert (profile.email, profile.email_verified) == ("admin-moved@example.org", True)


def test_an_address_held_for_verification_must_still_be_free_where_it_is_a_user_name(
    stack: Stack,
) -> None:
    """Where the email address is the user name, UpdateUserAttributes refuses another user's
    address (AliasExistsException), also when the pool holds the new address until it is
    verified: else the code, once verified, gives two users the same user name."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool_id = idp.create_user_pool(
        PoolName="verify-first-by-email", UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]},
    )["UserPool"]["Id"]  # fmt: skip
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for email in ("first@example.com", "second@example.com"):
        idp.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])  # fmt: skip
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
    token = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "first@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]  # fmt: skip
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(
            AccessToken=token, UserAttributes=[{"Name": "email", "Value": "second@example.com"}]
        )
    assert aws_error(exc) == (
        "AliasExistsException",
        "An account with the given email already exists.",
    )
    answer = idp.update_user_attributes(
        AccessToken=token, UserAttributes=[{"Name": "email", "Value": "third@example.com"}]
    )
    assert answer["CodeDeliveryDetailsList"][0]["AttributeName"] == "email"
    # the held address is taken while its code is out: verifying it must not give two users
    # one user name
    idp.admin_create_user(UserPoolId=pool_id, Username="third@example.com", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "third@example.com"},
                        {"Name": "email_verified", "Value": "true"}])  # fmt: skip
    held = Pool(stack.endpoint, idp, pool_id, "", client_id, "", "", "", ("", ""))
    code = held.code("third@example.com", "email verification")
    with pytest.raises(ClientError) as exc:
        idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    assert aws_error(exc) == (
        "AliasExistsException",
        "An account with the given email already exists.",
    )
    first = idp.admin_get_user(UserPoolId=pool_id, Username="first@example.com")
    assert {a["Name"]: a["Value"] for a in first["UserAttributes"]}["email"] == "first@example.com"


def test_change_password_then_sign_in_with_the_new_one(pool: Pool) -> None:
    name = pool.user()
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    with pytest.raises(ClientError) as exc:
        user.change_password("Not-The-Old-1", "Newer-Pass-43")
    assert aws_error(exc) == ("NotAuthorizedException", INCORRECT)
    user.change_password(PASSWORD, "Newer-Pass-43")
    with pytest.raises(ClientError):
        pool.srp_sign_in(name, PASSWORD)
    assert pool.srp_sign_in(name, "Newer-Pass-43")["AuthenticationResult"]["AccessToken"]


def test_refresh_then_global_sign_out_revokes_everything(pool: Pool) -> None:
    user = pool.cognito(pool.user())
    user.authenticate(PASSWORD)
    first_origin = user.access_claims["origin_jti"]
    user.renew_access_token()  # REFRESH_TOKEN_AUTH; pycognito verifies the new tokens
    assert user.access_claims["origin_jti"] == first_origin
    token, refresh = user.access_token, user.refresh_token
    user.logout()  # GlobalSignOut
    with pytest.raises(ClientError) as exc:
        pool.idp.get_user(AccessToken=token)
    assert aws_error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as again:
        pool.idp.initiate_auth(
            ClientId=pool.srp,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh},
        )
    assert aws_error(again) == ("NotAuthorizedException", REVOKED)


def test_revoke_token_revokes_the_refresh_token_and_its_access_tokens(pool: Pool) -> None:
    user = pool.cognito(pool.user())
    user.authenticate(PASSWORD)
    other = pool.cognito(user.username)
    other.authenticate(PASSWORD)  # a second sign-in of the same user stays valid
    assert pool.idp.revoke_token(Token=user.refresh_token, ClientId=pool.srp)
    with pytest.raises(ClientError) as exc:
        pool.idp.initiate_auth(
            ClientId=pool.srp,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": user.refresh_token},
        )
    assert aws_error(exc) == ("NotAuthorizedException", REVOKED)
    with pytest.raises(ClientError) as revoked:
        pool.idp.get_user(AccessToken=user.access_token)
    assert aws_error(revoked) == ("NotAuthorizedException", "Access Token has been revoked")
    assert other.get_user().username == user.username


def test_delete_user_with_the_access_token(pool: Pool) -> None:
    name = pool.user()
    user = pool.cognito(name)
    user.authenticate(PASSWORD)
    user.delete_user()
    with pytest.raises(ClientError) as exc:
        pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=name)
    assert aws_error(exc)[0] == "UserNotFoundException"


def test_user_apis_check_the_token_as_aws_does(stack: Stack, pool: Pool) -> None:
    name = pool.user()
    expired = stack.server.issue_tokens(
        pool.pool_id, pool.srp, name, (ADMIN_SCOPE,), issued_at=1_700_000_000
    )["access_token"]
    with pytest.raises(ClientError) as exc:
        pool.idp.get_user(AccessToken=expired)
    assert aws_error(exc) == ("NotAuthorizedException", "Access Token has expired")
    unscoped = stack.server.issue_tokens(pool.pool_id, pool.srp, name, ("openid",))
    with pytest.raises(ClientError) as scope:
        pool.idp.get_user(AccessToken=unscoped["access_token"])
    assert aws_error(scope) == (
        "NotAuthorizedException",
        "Access Token does not have required scopes",
    )
    scoped = stack.server.issue_tokens(pool.pool_id, pool.srp, name, ("openid", ADMIN_SCOPE))
    assert pool.idp.get_user(AccessToken=scoped["access_token"])["Username"] == name
    with pytest.raises(ClientError) as forged:
        pool.idp.get_user(AccessToken=scoped["id_token"])
    assert aws_error(forged)[0] == "NotAuthorizedException"


def test_refresh_tokens_work_across_the_api_and_the_token_endpoint(pool: Pool) -> None:
    # AWS takes a refresh token from either kind of sign-in in both places
    name = pool.user()
    api = pool.srp_sign_in(name, PASSWORD)["AuthenticationResult"]
    r = requests.post(f"{pool.hosted_ui}/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": pool.srp,
        "refresh_token": api["RefreshToken"]})  # fmt: skip
    assert r.status_code == 200, r.text
    origin = jwt_claims(api["AccessToken"])["origin_jti"]
    assert jwt_claims(r.json()["access_token"])["origin_jti"] == origin
    assert jwt_claims(r.json()["access_token"])["scope"] == ADMIN_SCOPE
    assert pool.idp.get_user(AccessToken=r.json()["access_token"])["Username"] == name

    url = f"{pool.hosted_ui}/oauth2/authorize?" + requests.compat.urlencode(
        {"client_id": pool.srp, "redirect_uri": CALLBACK, "response_type": "code",
         "scope": f"openid {ADMIN_SCOPE}"})  # fmt: skip
    done = _hosted_login(requests.Session(), url, name, PASSWORD)
    code = parse_qs(urlsplit(done.headers["Location"]).query)["code"][0]
    hosted = requests.post(f"{pool.hosted_ui}/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": pool.srp, "code": code,
        "redirect_uri": CALLBACK}).json()  # fmt: skip
    user = pool.cognito(name)
    user.access_token, user.refresh_token = hosted["access_token"], hosted["refresh_token"]
    user.renew_access_token()  # InitiateAuth(REFRESH_TOKEN_AUTH), tokens verified by pycognito
    assert user.access_claims["origin_jti"] == jwt_claims(hosted["access_token"])["origin_jti"]
    assert user.get_user().username == name


def test_get_tokens_from_refresh_token_refreshes_either_kind_of_sign_in(
    stack: Stack, pool: Pool
) -> None:
    # how Amplify v6 refreshes (moto lacks the call); rotation disabled, AWS's default
    name = pool.user()
    api = pool.idp.initiate_auth(
        ClientId=pool.password,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    hosted = stack.server.issue_tokens(pool.pool_id, pool.password, name, ("openid", ADMIN_SCOPE))
    for access, refresh in [
        (api["AccessToken"], api["RefreshToken"]),
        (hosted["access_token"], hosted["refresh_token"]),
    ]:
        answer = pool.idp.get_tokens_from_refresh_token(
            ClientId=pool.password, RefreshToken=refresh
        )
        result = answer["AuthenticationResult"]
        assert set(answer) == {"AuthenticationResult", "ResponseMetadata"}
        assert set(result) == {"AccessToken", "IdToken", "ExpiresIn", "TokenType"}  # no rotation
        assert jwt_claims(result["AccessToken"])["origin_jti"] == jwt_claims(access)["origin_jti"]
        assert jwt_claims(result["IdToken"])["cognito:username"] == name
        assert pool.idp.get_user(AccessToken=result["AccessToken"])["Username"] == name
    pool.idp.revoke_token(Token=api["RefreshToken"], ClientId=pool.password)
    with pytest.raises(ClientError) as revoked:
        pool.idp.get_tokens_from_refresh_token(
            ClientId=pool.password, RefreshToken=api["RefreshToken"]
        )
    assert aws_error(revoked) == ("NotAuthorizedException", REVOKED)
    with pytest.raises(ClientError) as other:
        pool.idp.get_tokens_from_refresh_token(
            ClientId="nope", RefreshToken=hosted["refresh_token"]
        )
    assert aws_error(other)[0] == "ResourceNotFoundException"


def test_a_refresh_token_that_does_not_refresh_says_why_as_aws_does(
    stack: Stack, pool: Pool
) -> None:
    name = pool.user()
    hosted = stack.server.issue_tokens(pool.pool_id, pool.srp, name, ("openid", ADMIN_SCOPE))
    api = pool.srp_sign_in(name, PASSWORD)["AuthenticationResult"]

    def refresh(token: str, client_id: str = pool.srp) -> tuple[tuple[str, str], ...]:
        answers = []
        for call in (
            lambda: pool.idp.initiate_auth(
                ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": token}),
            lambda: pool.idp.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=token),
        ):  # fmt: skip
            with pytest.raises(ClientError) as exc:
                call()
            answers.append(aws_error(exc))
        return tuple(answers)

    invalid = (("NotAuthorizedException", INVALID_REFRESH),) * 2
    assert refresh("not-a-refresh-token") == invalid
    assert refresh(hosted["refresh_token"], pool.password) == invalid  # another client's
    assert refresh(api["RefreshToken"], pool.password) == invalid
    gone = pool.user()
    gone_refresh = pool.srp_sign_in(gone, PASSWORD)["AuthenticationResult"]["RefreshToken"]
    gone_hosted = stack.server.issue_tokens(pool.pool_id, pool.srp, gone, ("openid",))
    pool.idp.admin_delete_user(UserPoolId=pool.pool_id, Username=gone)
    no_user = (("UserNotFoundException", "User does not exist."),) * 2  # not moto's 500
    assert refresh(gone_refresh) == no_user
    assert refresh(gone_hosted["refresh_token"]) == no_user
    hosted_ui = stack.server.hosted_ui
    assert hosted_ui is not None
    real = hosted_ui.clock
    hosted_ui.clock = lambda: real() + 31 * 24 * 3600  # past the client's 30-day refresh validity
    try:
        assert refresh(hosted["refresh_token"]) == (("NotAuthorizedException", EXPIRED),) * 2
    finally:
        hosted_ui.clock = real
    pool.idp.revoke_token(Token=hosted["refresh_token"], ClientId=pool.srp)
    pool.idp.revoke_token(Token=api["RefreshToken"], ClientId=pool.srp)
    for token in (hosted["refresh_token"], api["RefreshToken"]):
        assert refresh(token) == (("NotAuthorizedException", REVOKED),) * 2


def test_get_tokens_from_refresh_token_needs_the_client_secret(pool: Pool) -> None:
    client_id, secret = pool.secret
    name = pool.user()
    digest = hmac.new(secret.encode(), (name + client_id).encode(), "sha256").digest()
    refresh = pool.idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD,
                        "SECRET_HASH": base64.b64encode(digest).decode()},
    )["AuthenticationResult"]["RefreshToken"]  # fmt: skip
    for given in [{}, {"ClientSecret": "not-the-secret" * 2}]:
        with pytest.raises(ClientError) as exc:
            pool.idp.get_tokens_from_refresh_token(
                ClientId=client_id, RefreshToken=refresh, **given
            )
        assert aws_error(exc)[0] == "NotAuthorizedException"
    result = pool.idp.get_tokens_from_refresh_token(
        ClientId=client_id, RefreshToken=refresh, ClientSecret=secret
    )["AuthenticationResult"]
    assert jwt_claims(result["AccessToken"])["username"] == name


def test_a_client_with_a_secret_needs_the_secret_hash(pool: Pool) -> None:
    client_id, secret = pool.secret
    name = pool.user()
    user = pool.cognito(name, client_id=client_id, client_secret=secret)
    user.authenticate(PASSWORD)  # pycognito sends SECRET_HASH with SRP
    assert user.access_claims["client_id"] == client_id
    user.renew_access_token()
    for given, message in [
        (None, f"Client {client_id} is configured with secret but SECRET_HASH was not received"),
        ("bm90LXRoZS1oYXNo", f"Unable to verify secret hash for client {client_id}"),
    ]:
        params = {"USERNAME": name, "PASSWORD": PASSWORD}
        if given:
            params["SECRET_HASH"] = given
        with pytest.raises(ClientError) as exc:
            pool.idp.initiate_auth(
                ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
            )
        assert aws_error(exc) == ("NotAuthorizedException", message)


# --- OIDC: nonce, at_hash, discovery -------------------------------------------------------


@pytest.fixture
def insecure_local_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # Authlib's switch for http://


def _discover(issuer: str) -> OpenIDProviderMetadata:
    r = requests.get(get_well_known_url(issuer, external=True))
    assert r.status_code == 200, r.text
    metadata = OpenIDProviderMetadata(r.json())
    metadata.validate()
    assert metadata["issuer"] == issuer  # OpenID Discovery 1.0 section 4.3
    return metadata


def _claims(metadata: OpenIDProviderMetadata, token: str, cls: type[IDToken], **params: str) -> Any:
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())
    claims = authlib_jwt.decode(
        token,
        keys,
        claims_cls=cls,
        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
        claims_params=params,
    )
    claims.validate()
    return claims


def _code_flow(
    pool: Pool,
    client_id: str,
    scope: str,
    username: str,
    nonce: str | None = None,
    browser: requests.Session | None = None,
) -> tuple[OAuth2Session, dict[str, Any], OpenIDProviderMetadata]:
    """Authlib's code flow with PKCE (and `nonce`, when given) through the hosted UI's form,
    in `browser` (a new one unless given): the session, the token endpoint's answer and the
    discovery document it used."""
    meta = _discover(pool.issuer)
    oauth = OAuth2Session(
        client_id, redirect_uri=CALLBACK, scope=scope, code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    extra = {"nonce": nonce} if nonce is not None else {}
    url, state = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, **extra
    )
    done = _hosted_login(browser or requests.Session(), url, username, PASSWORD)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK)
    token = oauth.fetch_token(meta["token_endpoint"], authorization_response=done.headers[
        "Location"], code_verifier=verifier, state=state)  # fmt: skip
    return oauth, dict(token), meta


@pytest.mark.usefixtures("insecure_local_transport")
def test_code_flow_nonce_and_at_hash_with_authlib(pool: Pool) -> None:
    name = pool.user()
    nonce = secrets.token_urlsafe(16)
    oauth, token, meta = _code_flow(pool, pool.srp, "openid email", name, nonce=nonce)
    claims = _claims(
        meta,
        token["id_token"],
        CodeIDToken,
        nonce=nonce,
        client_id=pool.srp,
        access_token=token["access_token"],
    )
    assert claims["nonce"] == nonce and "at_hash" in claims
    info = oauth.get(meta["userinfo_endpoint"]).json()
    assert info["username"] == name


@pytest.mark.usefixtures("insecure_local_transport")
def test_silent_sign_in_with_prompt_none_and_authlib(pool: Pool) -> None:
    """An OIDC library's silent renewal: the browser that signed in through the hosted UI gets
    a new code from `prompt=none` without a form, and the ID token passes Authlib's checks
    (nonce, at_hash, and the first sign-in's auth_time); a browser without a session gets
    login_required at the callback, with the request's state."""
    name = pool.user()
    browser = requests.Session()
    _, first, meta = _code_flow(pool, pool.srp, "openid email", name, browser=browser)
    first_claims = _claims(meta, first["id_token"], CodeIDToken, client_id=pool.srp)
    nonce = secrets.token_urlsafe(16)
    oauth = OAuth2Session(
        pool.srp, redirect_uri=CALLBACK, scope="openid email", code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, prompt="none"
    )
    silent = browser.get(url, allow_redirects=False)
    assert silent.status_code == 302 and silent.headers["Location"].startswith(CALLBACK)
    token = oauth.fetch_token(meta["token_endpoint"], authorization_response=silent.headers[
        "Location"], code_verifier=verifier, state=state)  # fmt: skip
    claims = _claims(meta, token["id_token"], CodeIDToken, nonce=nonce, client_id=pool.srp,
                     access_token=token["access_token"])  # fmt: skip
    assert claims["cognito:username"] == name
    assert claims["auth_time"] == first_claims["auth_time"]
    stranger = requests.Session().get(url, allow_redirects=False)
    assert stranger.status_code == 302
    answer = parse_qs(urlsplit(stranger.headers["Location"]).query)
    assert answer == {"error": ["login_required"], "state": [state]}


@pytest.mark.usefixtures("insecure_local_transport")
def test_implicit_flow_id_token_carries_nonce_and_at_hash(pool: Pool) -> None:
    name = pool.user()
    meta = _discover(pool.issuer)
    nonce = secrets.token_urlsafe(16)
    oauth = OAuth2Session(pool.srp, redirect_uri=CALLBACK, scope="openid")
    url, _ = oauth.create_authorization_url(
        meta["authorization_endpoint"], nonce=nonce, response_type="token"
    )
    done = _hosted_login(requests.Session(), url, name, PASSWORD)
    fragment = {k: v[0] for k, v in parse_qs(urlsplit(done.headers["Location"]).fragment).items()}
    _claims(
        meta,
        fragment["id_token"],
        ImplicitIDToken,
        nonce=nonce,
        client_id=pool.srp,
        access_token=fragment["access_token"],
    )  # ImplicitIDToken requires at_hash


@pytest.mark.usefixtures("insecure_local_transport")
def test_api_sign_in_id_token_validates_with_its_access_token(pool: Pool) -> None:
    result = pool.srp_sign_in(pool.user(), PASSWORD)["AuthenticationResult"]
    claims = _claims(
        _discover(pool.issuer),
        result["IdToken"],
        CodeIDToken,
        client_id=pool.srp,
        access_token=result["AccessToken"],
    )  # at_hash, if any, must match
    assert claims["token_use"] == "id"


@pytest.mark.usefixtures("insecure_local_transport")
def test_discovery_and_jwks_agree_at_both_issuer_paths(pool: Pool) -> None:
    at_pool = _discover(pool.issuer)  # <endpoint>/<pool id>: the moto/pycognito convention
    legacy_path = f"{pool.endpoint}{urls.LOCAL_PREFIX}/idp/{pool.pool_id}"
    r = requests.get(f"{legacy_path}/.well-known/openid-configuration")
    assert r.status_code == 200 and r.json() == dict(at_pool)  # one issuer, wherever asked
    for jwks_url in (
        at_pool["jwks_uri"],
        f"{legacy_path}/.well-known/jwks.json",
        f"{pool.issuer}/.well-known/jwks.json",
    ):
        keys = requests.get(jwks_url).json()["keys"]
        assert {k["kid"] for k in keys} != {"dummy"} and len(keys) == 2
    user = pool.cognito(pool.user())
    user.authenticate(PASSWORD)
    assert user.id_claims["iss"] == at_pool["issuer"] == urls.issuer(pool.endpoint, pool.pool_id)


def test_global_sign_out_after_signing_in_with_an_email_alias(pool: Pool) -> None:
    idp = pool.idp
    pool_id = idp.create_user_pool(PoolName="by-email", UsernameAttributes=["email"])[
        "UserPool"]["Id"]  # fmt: skip
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    sub = idp.sign_up(ClientId=client_id, Username="eve@example.com", Password=PASSWORD)["UserSub"]
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username="eve@example.com")
    result = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "eve@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert jwt_claims(result["AccessToken"])["sub"] == sub
    idp.global_sign_out(AccessToken=result["AccessToken"])
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
        )
    assert aws_error(exc)[0] == "NotAuthorizedException"
