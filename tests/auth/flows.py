"""Sign-in steps the auth tests share: a code-flow login with the test as the browser, and a
check of a token against the local pool's JWKS."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cogapi.auth.jwt_verify import TokenVerifier, trusted_issuers
from tests.auth.browser import FormBrowser
from tests.auth.conftest import EMAIL, PASSWORD, AuthStack, Result, wait_for_url


def verify(stack: AuthStack, token: str, use: str = "access") -> dict[str, object]:
    issuers = trusted_issuers("us-east-1", stack.pool_id, stack.endpoint, stack.endpoint)
    return TokenVerifier(issuers, stack.client_id).verify(token, use)


def password_token(stack: AuthStack, cache: Path, *extra: str, password: str = PASSWORD) -> Result:
    """`cogapi token --flow password` for the test user, the password on stdin."""
    return stack.run(
        "token", "--flow", "password", "--username", EMAIL, "--password-stdin", *extra,
        cache=cache, input=password + "\n",
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> Result:
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err)


def browser_code_login(
    stack: AuthStack, cache: Path, url_file: tuple[Path, str], *extra: str
) -> Result:
    """`cogapi token --open-browser` with a recording BROWSER; the test signs in on the form."""
    urls_path, browser = url_file
    seen = len(urls_path.read_text().splitlines()) if urls_path.exists() else 0
    proc = stack.start("token", "--open-browser", *extra, cache=cache, BROWSER=browser)
    authorize = wait_for_url(urls_path, proc, count=seen + 1)
    location = FormBrowser().sign_in(authorize, EMAIL, PASSWORD)
    assert location.startswith(stack.callback + "?code=")
    status, page = FormBrowser().get(location)
    assert status == 200 and "Signed in" in page
    return finish(proc)
