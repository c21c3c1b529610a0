"""`cogapi token` end to end against `cogapi local`: the installed command as a subprocess, a test
acting as the browser (urllib with a cookie jar), tokens checked against the pool's JWKS."""

from __future__ import annotations

import json
import socket
import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from cogapi.local import urls
from tests.auth.browser import FormBrowser
from tests.auth.conftest import EMAIL, PASSWORD, AuthStack, wait_for_url
from tests.auth.flows import browser_code_login, finish, password_token, verify


def test_code_flow_with_pkce_through_the_loopback_callback(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    urls_path, browser = url_file
    proc = auth_stack.start("token", "--open-browser", cache=cache, BROWSER=browser)
    authorize = wait_for_url(urls_path, proc)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["response_type"] == ["code"] and query["state"][0]
    assert query["redirect_uri"] == [auth_stack.callback]
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    status, page = FormBrowser().get(location)
    assert status == 200, page
    result = finish(proc)
    assert result.returncode == 0, result.stderr
    assert authorize in result.stderr  # the URL is always printed, whatever the browser does
    token = result.stdout.strip()
    assert "\n" not in token
    claims = verify(auth_stack, token)
    assert claims["iss"] == urls.issuer(auth_stack.endpoint, auth_stack.pool_id)
    assert "email" in str(claims["scope"]).split()

    files = list((cache / "cogapi" / "tokens").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700

    # A second run reuses the cache: no browser, the same token.
    again = auth_stack.run("token", "--open-browser", cache=cache, BROWSER=browser)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == token
    assert len(urls_path.read_text().splitlines()) == 1

    doc = auth_stack.run("token", "-o", "json", cache=cache).json()
    assert doc["source"] == "cache" and doc["flow"] == "code"
    assert doc["refresh_token"] and doc["id_token"]
    assert doc["claims"]["id"]["email"] == EMAIL
    assert doc["expires_at"]["access"].endswith("Z")
    id_token = auth_stack.run("token", "--print", "id", cache=cache).stdout.strip()
    assert verify(auth_stack, id_token, "id")["aud"] == auth_stack.client_id


def test_expired_access_token_is_refreshed(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    result = browser_code_login(auth_stack, cache, url_file)
    assert result.returncode == 0, result.stderr
    # Age the cached token: swap in one the same server issued an hour ago (a real, signed,
    # expired token), keeping the real refresh token.
    path = next((cache / "cogapi" / "tokens").iterdir())
    entry = json.loads(path.read_text())
    old = auth_stack.server.issue_tokens(
        auth_stack.pool_id, auth_stack.client_id, EMAIL, issued_at=int(time.time()) - 3600
    )
    entry["access_token"], entry["id_token"] = old["access_token"], old["id_token"]
    path.write_text(json.dumps(entry))
    refreshed = auth_stack.run("token", "-o", "json", cache=cache)
    assert refreshed.returncode == 0, refreshed.stderr
    doc = refreshed.json()
    assert doc["source"] == "refresh"
    assert doc["access_token"] != old["access_token"]
    verify(auth_stack, doc["access_token"])
    assert json.loads(path.read_text())["expired_access_token"] == old["access_token"]


def test_implicit_flow_relays_the_fragment(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    urls_path, browser = url_file
    proc = auth_stack.start(
        "token", "--flow", "implicit", "--open-browser", "-o", "json", cache=cache, BROWSER=browser
    )
    authorize = wait_for_url(urls_path, proc)
    assert "response_type=token" in authorize and "code_challenge" not in authorize
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    page_url, fragment = location.split("#", 1)
    tab = FormBrowser()
    status, page = tab.get(page_url)  # what the browser loads: the fragment stays behind
    assert status == 200 and "fetch(" in page
    status, page = tab.post(page_url, fragment)  # what the page's script does
    assert status == 200 and "Signed in" in page
    result = finish(proc)
    assert result.returncode == 0, result.stderr
    doc = result.json()
    assert doc["flow"] == "implicit" and doc["refresh_token"] is None
    verify(auth_stack, doc["access_token"])


def test_no_browser_reads_the_pasted_url(auth_stack: AuthStack, cache: Path) -> None:
    proc = auth_stack.start("token", "--no-browser", cache=cache)
    assert proc.stderr is not None and proc.stdin is not None
    authorize = ""
    while "/oauth2/authorize?" not in authorize:
        authorize = proc.stderr.readline().strip()
        assert authorize or proc.poll() is None
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    proc.stdin.write(location + "\n")
    proc.stdin.flush()
    result = finish(proc)
    assert result.returncode == 0, result.stderr
    verify(auth_stack, result.stdout.strip())


def test_pasted_url_with_the_wrong_state_is_refused(auth_stack: AuthStack, cache: Path) -> None:
    proc = auth_stack.start("token", "--no-browser", cache=cache)
    assert proc.stderr is not None and proc.stdin is not None
    authorize = ""
    while "/oauth2/authorize?" not in authorize:
        authorize = proc.stderr.readline().strip()
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    state = parse_qs(urlsplit(location).query)["state"][0]
    proc.stdin.write(location.replace(f"state={state}", "state=forged") + "\n")
    proc.stdin.flush()
    result = finish(proc)
    assert result.returncode == 1
    assert "state does not match" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_callback_with_the_wrong_state_ends_the_login(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    urls_path, browser = url_file
    proc = auth_stack.start("token", "--open-browser", cache=cache, BROWSER=browser)
    authorize = wait_for_url(urls_path, proc)
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    state = parse_qs(urlsplit(location).query)["state"][0]
    status, page = FormBrowser().get(location.replace(f"state={state}", "state=forged"))
    assert status == 400
    result = finish(proc)
    assert result.returncode == 1
    assert "state does not match" in result.stderr
    assert not (cache / "cogapi" / "tokens").exists() or not any(
        (cache / "cogapi" / "tokens").iterdir()
    )


def test_login_that_never_comes_back_times_out(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    _, browser = url_file
    result = auth_stack.run(
        "token", "--open-browser", "--timeout", "1.5", cache=cache, BROWSER=browser
    )
    assert result.returncode == 1
    assert "no sign-in came back" in result.stderr and "within 1.5 s" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_callback_port_in_use_is_a_clear_error(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    urls_path, browser = url_file
    port = urlsplit(auth_stack.callback).port
    assert port
    with socket.socket() as busy:
        # SO_REUSEADDR: the port may be in TIME_WAIT from an earlier test; a listener still blocks
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = auth_stack.run("token", "--open-browser", cache=cache, BROWSER=browser)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "hint:" in result.stderr
    assert not urls_path.exists()  # checked before any browser opens


def test_password_flow_warns_about_scopes_and_refreshes(auth_stack: AuthStack, cache: Path) -> None:
    result = password_token(auth_stack, cache, "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = result.json()
    assert "no OAuth scopes" in doc["warnings"][0]
    assert "no OAuth scopes" in result.stderr
    claims = verify(auth_stack, doc["access_token"])
    assert claims["scope"] == "aws.cognito.signin.user.admin"
    assert doc["refresh_token"]
    # text mode: the token alone on stdout, the warning on stderr
    plain = auth_stack.run("token", cache=cache)
    assert plain.stdout.strip() == doc["access_token"] and "warning:" in plain.stderr


def test_wrong_password_is_a_clear_error(auth_stack: AuthStack, cache: Path) -> None:
    result = password_token(auth_stack, cache, password="Wrong-Horse-9")
    assert result.returncode == 1
    assert "NotAuthorizedException" in result.stderr and "Traceback" not in result.stderr


def test_force_signs_in_again_and_logout_clears_the_cache(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    first = browser_code_login(auth_stack, cache, url_file)
    assert first.returncode == 0, first.stderr
    second = browser_code_login(auth_stack, cache, url_file, "--force")
    assert second.returncode == 0, second.stderr
    assert second.stdout != first.stdout
    urls_path, browser = url_file
    out = auth_stack.run(
        "token", "--logout", "--open-browser", "-o", "json", cache=cache, BROWSER=browser
    )
    assert out.returncode == 0, out.stderr
    doc = out.json()
    assert doc["cleared"] and doc["revoked"]
    assert "/logout?client_id=" in doc["logout_url"]
    assert urls_path.read_text().splitlines()[-1] == doc["logout_url"]
    assert not any((cache / "cogapi" / "tokens").iterdir())


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--flow", "password"), "--flow password needs --username"),
        (("--password-stdin",), "belong to --flow password"),
    ],
)
def test_bad_flag_combinations_exit_2(
    auth_stack: AuthStack, cache: Path, args: tuple[str, ...], needle: str
) -> None:
    result = auth_stack.run("token", *args, cache=cache)
    assert result.returncode == 2 and needle in result.stderr


def test_token_is_signed_by_the_pool_not_anyone(auth_stack: AuthStack, cache: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cogapi.auth.jwt_verify import TokenRejected

    good = auth_stack.server.issue_tokens(auth_stack.pool_id, auth_stack.client_id, EMAIL)
    claims = jwt.decode(good["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(good["access_token"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})
    with pytest.raises(TokenRejected, match="signature"):
        verify(auth_stack, forged)
    with pytest.raises(TokenRejected, match="token_use"):
        verify(auth_stack, good["access_token"], "id")


def test_no_loopback_callback_is_a_clear_error(
    auth_stack: AuthStack, cache: Path, tmp_path: Path
) -> None:
    import yaml

    doc = yaml.safe_load(auth_stack.config.read_text())
    doc["app_client"]["callback_urls"] = ["https://app.example.com/callback"]
    other = tmp_path / "https-only.yaml"
    other.write_text(yaml.safe_dump(doc))
    result = auth_stack.run("token", "--open-browser", cache=cache, COGAPI_CONFIG=str(other))
    assert result.returncode == 2
    assert "no loopback callback URL" in result.stderr and "--no-browser" in result.stderr
