"""Hosted UI, OAuth endpoints, JWKS and discovery, driven over real HTTP."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from local_stack import (
    CALLBACK,
    EMAIL,
    LOGOUT,
    PASSWORD,
    Stack,
    authorize_params,
    code_from,
    login_form,
    new_pkce,
    sign_in,
)

from cogapi.local import urls
from cogapi.local.tokens import public_jwk_key


def _token(stack: Stack, data: dict[str, str], **kw: object) -> requests.Response:
    return requests.post(f"{stack.hosted_ui}/oauth2/token", data=data, **kw)  # type: ignore[arg-type]


def _redeem(stack: Stack, code: str, verifier: str | None = None) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": stack.client_id,
        "code": code,
        "redirect_uri": CALLBACK,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return _token(stack, data)


def _verify(stack: Stack, token: str) -> dict[str, object]:
    jwks = requests.get(urls.issuer(stack.endpoint, stack.pool_id) + "/.well-known/jwks.json")
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.json()["keys"] if k["kid"] == kid)
    return jwt.decode(
        token, public_jwk_key(key), algorithms=["RS256"], options={"verify_aud": False}
    )


def test_info_answers_cogapi_local(stack: Stack) -> None:
    r = requests.get(urls.info_url(stack.endpoint))
    assert r.status_code == 200 and r.json()["cogapi_local"] is True


def test_moto_control_plane_is_served_beside_the_stand_in(stack: Stack) -> None:
    pools = stack.clients["cognito-idp"].list_user_pools(MaxResults=10)["UserPools"]
    assert stack.pool_id in [p["Id"] for p in pools]


def test_unknown_domain_is_404(stack: Stack) -> None:
    r = requests.get(
        urls.hosted_ui_base(stack.endpoint, "nope-nope") + "/oauth2/authorize",
        params=authorize_params(stack),
        allow_redirects=False,
    )
    assert r.status_code == 404


def test_authorize_redirects_to_login_with_same_query_and_xsrf_cookie(stack: Stack) -> None:
    params = authorize_params(stack)
    r = requests.get(f"{stack.hosted_ui}/oauth2/authorize", params=params, allow_redirects=False)
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path.endswith(f"/_cogapi/auth/{stack.domain}/login")
    assert {k: v[0] for k, v in parse_qs(location.query).items()} == params
    assert r.cookies.get("XSRF-TOKEN")


def test_code_flow_with_pkce_gives_verifiable_tokens(stack: Stack) -> None:
    pkce = new_pkce()
    r = sign_in(stack, code_challenge=pkce.challenge, code_challenge_method="S256")
    assert parse_qs(urlsplit(r.headers["Location"]).query)["state"] == ["st-123"]
    tokens = _redeem(stack, code_from(r), pkce.verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    access, id_token = _verify(stack, body["access_token"]), _verify(stack, body["id_token"])
    iss = urls.issuer(stack.endpoint, stack.pool_id)
    assert access["iss"] == id_token["iss"] == iss
    assert access["token_use"] == "access" and access["scope"] == "openid email"
    assert access["client_id"] == stack.client_id and "aud" not in access
    assert access["version"] == 2 and access["cognito:groups"] == ["admins", "staff"]
    assert {"sub", "origin_jti", "event_id", "auth_time", "exp", "iat", "jti", "username"} <= set(
        access
    )
    assert id_token["token_use"] == "id" and id_token["aud"] == stack.client_id
    assert id_token["email"] == EMAIL and id_token["email_verified"] is True
    assert id_token["sub"] == access["sub"] and "at_hash" in id_token
    assert id_token["cognito:username"] == access["username"]
    assert access["exp"] - access["iat"] == 3600
    # two keys: ID and access tokens are signed by different ones; header is {kid, alg} only
    h_access, h_id = (jwt.get_unverified_header(body[k]) for k in ("access_token", "id_token"))
    assert set(h_access) == {"kid", "alg"} and h_access["kid"] != h_id["kid"]


def test_wrong_pkce_verifier_is_invalid_grant(stack: Stack) -> None:
    pkce = new_pkce()
    r = sign_in(stack, code_challenge=pkce.challenge, code_challenge_method="S256")
    bad = _redeem(stack, code_from(r), new_pkce().verifier)
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_grant"}


def test_missing_pkce_verifier_is_invalid_grant(stack: Stack) -> None:
    pkce = new_pkce()
    r = sign_in(stack, code_challenge=pkce.challenge, code_challenge_method="S256")
    bad = _redeem(stack, code_from(r))
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_grant"}


def test_code_is_single_use(stack: Stack) -> None:
    code = code_from(sign_in(stack))
    assert _redeem(stack, code).status_code == 200
    again = _redeem(stack, code)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_code_expires_after_five_minutes(stack: Stack) -> None:
    code = code_from(sign_in(stack))
    ui = stack.server.hosted_ui
    assert ui is not None
    real = ui.clock
    ui.clock = lambda: real() + 301
    try:
        r = _redeem(stack, code)
    finally:
        ui.clock = real
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_code_with_other_redirect_uri_is_invalid_grant(stack: Stack) -> None:
    code = code_from(sign_in(stack))
    r = _token(
        stack,
        {
            "grant_type": "authorization_code",
            "client_id": stack.client_id,
            "code": code,
            "redirect_uri": CALLBACK + "/",
        },
    )
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_token_endpoint_errors(stack: Stack) -> None:
    cases = [
        ({"grant_type": "authorization_code", "client_id": "nope", "code": "x"}, "invalid_client"),
        ({"client_id": stack.client_id}, "invalid_request"),
        ({"grant_type": "password", "client_id": stack.client_id}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "client_id": stack.client_id}, "unauthorized_client"),
        ({"grant_type": "authorization_code", "client_id": stack.client_id}, "invalid_request"),
        (
            {"grant_type": "refresh_token", "client_id": stack.client_id, "refresh_token": "nope"},
            "invalid_grant",
        ),
    ]
    for data, error in cases:
        r = _token(stack, data)
        assert (r.status_code, r.json()) == (400, {"error": error}), data
    json_body = requests.post(
        f"{stack.hosted_ui}/oauth2/token", json={"grant_type": "authorization_code"}
    )
    assert json_body.status_code == 400 and json_body.json() == {"error": "invalid_request"}


def test_client_with_secret_needs_http_basic(stack: Stack) -> None:
    code = code_from(sign_in(stack, client_id=stack.secret_client_id, scope="openid"))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    no_auth = _token(stack, {**data, "client_id": stack.secret_client_id})
    assert no_auth.status_code == 400 and no_auth.json() == {"error": "invalid_client"}
    code = code_from(sign_in(stack, client_id=stack.secret_client_id, scope="openid"))
    ok = _token(stack, {**data, "code": code}, auth=(stack.secret_client_id, stack.secret))
    assert ok.status_code == 200, ok.text
    assert "id_token" in ok.json()


def test_refresh_grant_returns_no_new_refresh_token(stack: Stack) -> None:
    first = _redeem(stack, code_from(sign_in(stack))).json()
    r = _token(
        stack,
        {
            "grant_type": "refresh_token",
            "client_id": stack.client_id,
            "refresh_token": first["refresh_token"],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body and {"access_token", "id_token"} <= set(body)
    claims = _verify(stack, body["access_token"])
    assert claims["scope"] == "openid email"
    other = _token(
        stack,
        {
            "grant_type": "refresh_token",
            "client_id": stack.secret_client_id,
            "refresh_token": first["refresh_token"],
        },
        auth=(stack.secret_client_id, stack.secret),
    )
    assert other.status_code == 400 and other.json() == {"error": "invalid_grant"}


def test_implicit_flow_puts_tokens_in_fragment(stack: Stack) -> None:
    r = sign_in(stack, response_type="token")
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(CALLBACK + "#")
    fragment = {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}
    assert fragment["token_type"] == "Bearer" and fragment["state"] == "st-123"
    assert fragment["expires_in"] == "3600"
    assert _verify(stack, fragment["access_token"])["token_use"] == "access"
    assert _verify(stack, fragment["id_token"])["token_use"] == "id"
    assert "refresh_token" not in fragment


def test_no_id_token_without_openid(stack: Stack) -> None:
    r = sign_in(stack, response_type="token", scope="email")
    fragment = parse_qs(urlsplit(r.headers["Location"]).fragment)
    assert "access_token" in fragment and "id_token" not in fragment


def test_redirect_mismatch_never_redirects_to_the_uri(stack: Stack) -> None:
    for uri in (CALLBACK + "/", "http://evil.example/callback"):
        r = requests.get(
            f"{stack.hosted_ui}/oauth2/authorize",
            params=authorize_params(stack, redirect_uri=uri),
            allow_redirects=False,
        )
        assert r.status_code == 302
        location = urlsplit(r.headers["Location"])
        assert location.path.endswith("/error")
        assert parse_qs(location.query) == {
            "error": ["redirect_mismatch"],
            "client_id": [stack.client_id],
        }
    page = requests.get(r.headers["Location"])
    assert "redirect_mismatch" in page.text


def _authorize_error(stack: Stack, **overrides: str) -> dict[str, list[str]]:
    r = requests.get(
        f"{stack.hosted_ui}/oauth2/authorize",
        params=authorize_params(stack, **overrides),
        allow_redirects=False,
    )
    assert r.status_code == 302
    assert r.headers["Location"].startswith(CALLBACK + "?")
    return parse_qs(urlsplit(r.headers["Location"]).query)


def test_authorize_errors_redirect_to_the_registered_uri(stack: Stack) -> None:
    assert _authorize_error(stack, client_id=stack.secret_client_id, response_type="token") == {
        "error": ["unauthorized_client"],
        "state": ["st-123"],
    }
    assert _authorize_error(stack, scope="openid phone")["error"] == ["invalid_scope"]
    assert _authorize_error(stack, response_type="id_token")["error"] == ["invalid_request"]
    assert _authorize_error(stack, code_challenge="abc", code_challenge_method="plain")[
        "error"
    ] == ["invalid_request"]


def test_wrong_password_shows_the_form_again(stack: Stack) -> None:
    r = sign_in(stack, password="wrong-password")
    assert r.status_code == 200
    assert "Incorrect username or password." in r.text and 'name="_csrf"' in r.text


def test_login_post_without_csrf_is_refused(stack: Stack) -> None:
    session = requests.Session()
    action, _ = login_form(session, stack)
    r = session.post(
        action,
        data={"_csrf": "forged", "username": EMAIL, "password": PASSWORD},
        allow_redirects=False,
    )
    assert r.status_code == 400 and "Location" not in r.headers


def _form(page: requests.Response) -> tuple[str, str]:
    """(action, csrf) of the page's form."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text)
    assert action and csrf, page.text
    return action.group(1).replace("&amp;", "&"), csrf.group(1)


def _signup(
    session: requests.Session, stack: Stack, email: str, **fields: str
) -> requests.Response:
    """The sign-up form filled in with `email`, a password and `fields`."""
    action, _ = login_form(session, stack)
    form = session.get(action.replace("/login?", "/signup?"))
    assert form.status_code == 200 and 'name="email"' in form.text
    action, csrf = _form(form)
    return session.post(
        action,
        data={"_csrf": csrf, "email": email, "password": "Another-Pass-1", **fields},
        allow_redirects=False,
    )


def _outbox_code(stack: Stack, email: str) -> str:
    messages = requests.get(
        f"{stack.endpoint}/_cogapi/outbox", params={"pool_id": stack.pool_id}
    ).json()["messages"]
    return str([m for m in messages if m["destination"] == email][-1]["code"])


def test_signup_asks_for_the_emailed_code_then_signs_in(stack: Stack) -> None:
    """AWS's hosted UI, in a pool that verifies email: the new user is unconfirmed, a code goes
    to the address, and the confirm page takes it; then the sign-in continues to the app."""
    session = requests.Session()
    email = f"bob{time.time_ns()}@example.com"
    r = _signup(session, stack, email)
    assert r.status_code == 302 and "/confirm?" in r.headers["Location"], r.text
    idp = stack.clients["cognito-idp"]
    assert idp.admin_get_user(UserPoolId=stack.pool_id, Username=email)["UserStatus"] == (
        "UNCONFIRMED"
    )
    page = session.get(r.headers["Location"])
    assert page.status_code == 200 and "b***@e***" in page.text, page.text
    action, csrf = _form(page)
    first = _outbox_code(stack, email)
    wrong = session.post(action, data={"_csrf": csrf, "code": f"{(int(first) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400
    assert "Invalid verification code provided, please try again." in wrong.text
    action, csrf = _form(wrong)
    resent = session.post(action, data={"_csrf": csrf, "resend": "1"})
    assert resent.status_code == 200 and "A new code was sent." in resent.text
    second = _outbox_code(stack, email)
    action, csrf = _form(resent)
    if second != first:  # only the last code sent counts
        stale = session.post(action, data={"_csrf": csrf, "code": first})
        assert stale.status_code == 400
        action, csrf = _form(stale)
    r = session.post(action, data={"_csrf": csrf, "code": second}, allow_redirects=False)
    claims = _verify(stack, _redeem(stack, code_from(r)).json()["id_token"])
    assert claims["email"] == email and claims["email_verified"] is True
    user = idp.admin_get_user(UserPoolId=stack.pool_id, Username=email)
    assert user["UserStatus"] == "CONFIRMED"
    assert sign_in(stack, username=email, password="Another-Pass-1").status_code == 302
    again = session.get(r.request.url or "")  # the confirm page for a confirmed user
    assert "User cannot be confirmed. Current status is CONFIRMED" in again.text


def test_signup_confirms_the_new_user_whatever_user_name_the_query_carries(stack: Stack) -> None:
    """The sign-in's query goes on to /confirm; a `username` already in it (another user's) must
    not stand for the user just signed up."""
    session = requests.Session()
    action, _ = login_form(session, stack, username=EMAIL)
    action, csrf = _form(session.get(action.replace("/login?", "/signup?")))
    email = f"dan{time.time_ns()}@example.com"
    r = session.post(
        action,
        data={"_csrf": csrf, "email": email, "password": "Another-Pass-1"},
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text
    assert len(parse_qs(urlsplit(r.headers["Location"]).query)["username"]) == 1
    page = session.get(r.headers["Location"])
    assert page.status_code == 200 and "d***@e***" in page.text, page.text
    action, csrf = _form(page)
    r = session.post(
        action, data={"_csrf": csrf, "code": _outbox_code(stack, email)}, allow_redirects=False
    )
    assert _verify(stack, _redeem(stack, code_from(r)).json()["id_token"])["email"] == email


def test_a_code_typed_in_another_browser_confirms_but_does_not_sign_in(stack: Stack) -> None:
    """Only the browser that signed up (and so gave the password) is signed in by the code;
    another one that has the code and the confirm URL confirms the user and is sent to the
    login form, which wants the password."""
    email = f"eve{time.time_ns()}@example.com"
    r = _signup(requests.Session(), stack, email)
    confirm_url = r.headers["Location"]
    other = requests.Session()
    action, csrf = _form(other.get(confirm_url))
    r = other.post(
        action, data={"_csrf": csrf, "code": _outbox_code(stack, email)}, allow_redirects=False
    )
    assert r.status_code == 302 and "/login?" in r.headers["Location"], r.text
    assert "code=" not in r.headers["Location"] and "username=" not in r.headers["Location"]
    idp = stack.clients["cognito-idp"]
    assert idp.admin_get_user(UserPoolId=stack.pool_id, Username=email)["UserStatus"] == (
        "CONFIRMED"
    )
    assert code_from(sign_in(stack, username=email, password="Another-Pass-1"))


def test_the_confirm_page_tells_no_one_whether_a_user_exists_where_the_client_hides_it(
    stack: Stack,
) -> None:
    idp = stack.clients["cognito-idp"]
    hiding = idp.create_user_pool_client(
        UserPoolId=stack.pool_id, ClientName="hiding", AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"], AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    query = authorize_params(stack, client_id=hiding)

    def posted(username: str, code: str) -> requests.Response:
        session = requests.Session()
        url = f"{stack.hosted_ui}/confirm?" + urlencode({**query, "username": username})
        page = session.get(url)
        assert page.status_code == 200, page.text
        action, csrf = _form(page)
        return session.post(action, data={"_csrf": csrf, "code": code})

    known = f"kim{time.time_ns()}@example.com"
    _signup(requests.Session(), stack, known)  # unconfirmed, a code in the outbox
    wrong = f"{(int(_outbox_code(stack, known)) + 1) % 10**6:06d}"
    for answer in (posted("nobody@example.com", "123456"), posted(known, wrong)):
        assert answer.status_code == 400
        assert "Invalid verification code provided, please try again." in answer.text
    legacy = requests.get(
        f"{stack.hosted_ui}/confirm?"
        + urlencode({**authorize_params(stack), "username": "nobody@example.com"})
    )
    assert "Username/client id combination not found." in legacy.text  # LEGACY still says so


def _pool_with_hosted_ui(stack: Stack, name: str, **pool: object) -> Stack:
    """A new pool (`pool`: CreateUserPool's settings) with a domain and a code-flow client,
    as a `Stack` the helpers here take."""
    idp = stack.clients["cognito-idp"]
    pool_id = idp.create_user_pool(PoolName=name, **pool)["UserPool"]["Id"]
    domain = f"{name}-{time.time_ns()}"
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"], AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    return Stack(**{**stack.__dict__, "pool_id": pool_id, "client_id": client_id,
                    "domain": domain})  # fmt: skip


def test_signup_in_a_pool_that_verifies_nothing_signs_in_at_once(stack: Stack) -> None:
    other = _pool_with_hosted_ui(stack, "no-verify", UsernameAttributes=["email"])
    email = f"cat{time.time_ns()}@example.com"
    r = _signup(requests.Session(), other, email)
    assert code_from(r)
    user = stack.clients["cognito-idp"].admin_get_user(UserPoolId=other.pool_id, Username=email)
    assert user["UserStatus"] == "CONFIRMED"


def test_signup_asks_for_the_pools_required_attributes(stack: Stack) -> None:
    """AWS's sign-up form has a field for every required attribute, and a sign-up without one
    is refused with SignUp's own message; the user it makes carries them."""
    idp = stack.clients["cognito-idp"]
    other = _pool_with_hosted_ui(
        stack, "required", UsernameAttributes=["email"],
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True},
                {"Name": "given_name", "AttributeDataType": "String", "Required": True}],
    )  # fmt: skip
    pool_id = other.pool_id
    email = f"req{time.time_ns()}@example.com"
    browser = requests.Session()
    action, _ = login_form(browser, other)
    form = browser.get(action.replace("/login?", "/signup?")).text
    assert re.search(r'<label for="given_name">Given name</label>\s*<input id="given_name" '
                     r'name="given_name" type="text" required>', form)  # fmt: skip
    refused = _signup(browser, other, email)  # as a client that skips the browser's checks
    assert refused.status_code == 400
    assert "given_name: The attribute is required" in refused.text
    assert idp.list_users(UserPoolId=pool_id)["Users"] == []
    code_from(_signup(browser, other, email, given_name="Ann"))  # no verification: signed in
    made = idp.admin_get_user(UserPoolId=pool_id, Username=email)["UserAttributes"]
    assert {a["Name"]: a["Value"] for a in made}["given_name"] == "Ann"


def test_userinfo(stack: Stack) -> None:
    tokens = stack.tokens()
    r = requests.get(
        f"{stack.hosted_ui}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == EMAIL and body["email_verified"] == "true" and "sub" in body
    missing = requests.get(f"{stack.hosted_ui}/oauth2/userInfo")
    assert missing.status_code == 400
    assert 'error="invalid_request"' in missing.headers["WWW-Authenticate"]
    id_token = requests.get(
        f"{stack.hosted_ui}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {tokens['id_token']}"},
    )
    assert id_token.status_code == 401
    assert 'error="invalid_token"' in id_token.headers["WWW-Authenticate"]
    no_openid = stack.tokens(scopes=("email",))
    r = requests.get(
        f"{stack.hosted_ui}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {no_openid['access_token']}"},
    )
    assert r.status_code == 401


def test_logout_redirects_only_to_registered_urls(stack: Stack) -> None:
    ok = requests.get(
        f"{stack.hosted_ui}/logout",
        params={"client_id": stack.client_id, "logout_uri": LOGOUT},
        allow_redirects=False,
    )
    assert ok.status_code == 302 and ok.headers["Location"] == LOGOUT
    bad = requests.get(
        f"{stack.hosted_ui}/logout",
        params={"client_id": stack.client_id, "logout_uri": "http://evil/"},
        allow_redirects=False,
    )
    assert bad.status_code == 302 and "/error?" in bad.headers["Location"]


# --- the hosted UI's session -----------------------------------------------------------------


def _authorize(browser: requests.Session, stack: Stack, **overrides: str) -> requests.Response:
    return browser.get(
        f"{stack.hosted_ui}/oauth2/authorize",
        params=authorize_params(stack, **overrides),
        allow_redirects=False,
    )


def _callback_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _user(stack: Stack) -> str:
    """A confirmed user of the stack's pool of its own (tests here disable theirs)."""
    idp = stack.clients["cognito-idp"]
    email = f"sso{time.time_ns()}@example.com"
    idp.admin_create_user(
        UserPoolId=stack.pool_id, Username=email, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email},
                        {"Name": "email_verified", "Value": "true"}])  # fmt: skip
    idp.admin_set_user_password(
        UserPoolId=stack.pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    return email


def test_a_signed_in_browser_is_signed_in_again_without_the_form(stack: Stack) -> None:
    browser = requests.Session()
    first = sign_in(stack, session=browser)
    cookie = first.cookies.get("cognito")
    assert cookie and "HttpOnly" in first.headers["Set-Cookie"]
    first_claims = _verify(stack, _redeem(stack, code_from(first)).json()["id_token"])
    time.sleep(1.1)  # so that a new sign-in would carry a later auth_time
    again = _authorize(browser, stack, nonce="n-2", state="st-2")
    query = _callback_query(again)
    assert query["state"] == "st-2"
    claims = _verify(stack, _redeem(stack, query["code"]).json()["id_token"])
    assert claims["nonce"] == "n-2" and claims["email"] == EMAIL
    assert claims["auth_time"] == first_claims["auth_time"]  # the session's sign-in
    assert claims["iat"] > first_claims["iat"]
    other_browser = _authorize(requests.Session(), stack)
    assert other_browser.status_code == 302 and "/login?" in other_browser.headers["Location"]


def test_prompt_login_and_none(stack: Stack) -> None:
    browser = requests.Session()
    none = _callback_query(_authorize(browser, stack, prompt="none"))
    assert none == {"error": "login_required", "state": "st-123"}
    code_from(sign_in(stack, session=browser))
    login = _authorize(browser, stack, prompt="login")
    assert login.status_code == 302 and "/login?" in login.headers["Location"]
    assert "code" in _callback_query(_authorize(browser, stack, prompt="none"))
    for prompt in ("select_account", "consent"):  # nothing to choose or consent to here
        assert "code" in _callback_query(_authorize(browser, stack, prompt=prompt))
    mixed = _callback_query(_authorize(browser, stack, prompt="none login"))
    assert mixed == {"error": "invalid_request", "state": "st-123"}


def test_logout_ends_the_session(stack: Stack) -> None:
    browser = requests.Session()
    code_from(sign_in(stack, session=browser))
    assert "code" in _callback_query(_authorize(browser, stack))
    out = browser.get(
        f"{stack.hosted_ui}/logout",
        params={"client_id": stack.client_id, "logout_uri": LOGOUT},
        allow_redirects=False,
    )
    assert out.status_code == 302 and out.headers["Location"] == LOGOUT
    assert not browser.cookies.get("cognito")
    assert _callback_query(_authorize(browser, stack, prompt="none"))["error"] == "login_required"


def test_a_session_stolen_back_after_logout_is_dead(stack: Stack) -> None:
    browser = requests.Session()
    code_from(sign_in(stack, session=browser))
    kept = browser.cookies.get("cognito")
    browser.get(
        f"{stack.hosted_ui}/logout",
        params={"client_id": stack.client_id, "logout_uri": LOGOUT},
        allow_redirects=False,
    )
    replay = requests.Session()
    replay.cookies.set("cognito", kept)
    assert _callback_query(_authorize(replay, stack, prompt="none"))["error"] == "login_required"


def test_a_session_ends_after_an_hour_or_with_its_user(stack: Stack) -> None:
    email = _user(stack)
    browser = requests.Session()
    code_from(sign_in(stack, email, session=browser))
    ui = stack.server.hosted_ui
    assert ui is not None
    real = ui.clock
    ui.clock = lambda: real() + 3601
    try:
        late = _callback_query(_authorize(browser, stack, prompt="none"))
    finally:
        ui.clock = real
    assert late["error"] == "login_required"
    assert "code" in _callback_query(_authorize(browser, stack, prompt="none"))
    stack.clients["cognito-idp"].admin_disable_user(UserPoolId=stack.pool_id, Username=email)
    disabled = _callback_query(_authorize(browser, stack, prompt="none"))
    assert disabled["error"] == "login_required"


def test_a_session_serves_every_client_of_its_pool_only(stack: Stack) -> None:
    idp = stack.clients["cognito-idp"]
    browser = requests.Session()
    code_from(sign_in(stack, session=browser))
    second = idp.create_user_pool_client(
        UserPoolId=stack.pool_id, ClientName="second", AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"], AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[CALLBACK], SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]["ClientId"]  # fmt: skip
    query = _callback_query(_authorize(browser, stack, client_id=second, scope="openid"))
    tokens = _token(stack, {"grant_type": "authorization_code", "client_id": second,
                            "code": query["code"], "redirect_uri": CALLBACK}).json()  # fmt: skip
    assert _verify(stack, tokens["id_token"])["aud"] == second
    other = _pool_with_hosted_ui(stack, "elsewhere")
    name = idp.admin_get_user(UserPoolId=stack.pool_id, Username=EMAIL)["Username"]
    idp.admin_create_user(UserPoolId=other.pool_id, Username=name, MessageAction="SUPPRESS")
    # the first pool's cookie, sent to the other pool's domain, which has a user of its name
    stolen = requests.Session()
    stolen.cookies.set("cognito", browser.cookies.get("cognito"))
    refused = _callback_query(_authorize(stolen, other, scope="openid", prompt="none"))
    assert refused["error"] == "login_required"


def test_jwks_and_openid_configuration(stack: Stack) -> None:
    iss = urls.issuer(stack.endpoint, stack.pool_id)
    keys = requests.get(f"{iss}/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2
    for key in keys:
        assert set(key) == {"alg", "e", "kid", "kty", "n", "use"}
        assert (key["alg"], key["kty"], key["use"]) == ("RS256", "RSA", "sig")
        base64.urlsafe_b64decode(key["n"] + "==")
    doc = requests.get(f"{iss}/.well-known/openid-configuration").json()
    assert doc["issuer"] == iss and doc["jwks_uri"] == f"{iss}/.well-known/jwks.json"
    assert doc["authorization_endpoint"] == f"{stack.hosted_ui}/oauth2/authorize"
    assert doc["token_endpoint"] == f"{stack.hosted_ui}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{stack.hosted_ui}/oauth2/userInfo"
    assert doc["end_session_endpoint"] == f"{stack.hosted_ui}/logout"
    assert "revocation_endpoint" in doc
    assert doc["response_types_supported"] == ["code", "token"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    unknown = requests.get(urls.issuer(stack.endpoint, "us-east-1_nope") + "/.well-known/jwks.json")
    assert unknown.status_code == 404
