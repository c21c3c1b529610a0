"""A real browser signs in: headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
`.ci/run`) opens what `cogapi token --open-browser` hands to `$BROWSER`, fills the local hosted
UI's form, and is redirected to cogapi's loopback server; the token cogapi prints must verify
against the pool's JWKS. The implicit flow also runs the callback page's relay script for real.

Without Chromium these tests fail (never skip): CI installs it, and a silent skip would hide the
only test of the real redirect and of the relay script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.auth.conftest import EMAIL, PASSWORD, AuthStack, wait_for_url
from tests.auth.flows import finish, verify
from tests.chromium import chromium_driver


@pytest.fixture
def chromium() -> Iterator[Any]:
    with chromium_driver() as driver:
        yield driver


def sign_in_with(driver: Any, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.ID, "username").send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.NAME, "signInSubmitButton").click()


def wait_for_text(driver: Any, text: str, timeout: float = 15) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.page_source)


def token_through_the_browser(
    auth_stack: AuthStack,
    cache: Path,
    url_file: tuple[Path, str],
    chromium: Any,
    drive: Callable[[str], None],
    *flags: str,
) -> Any:
    """`cogapi token --open-browser --print id` with Chromium as $BROWSER: `drive` takes the
    browser from the authorize URL cogapi opened; then the browser must land on the app's
    callback ("Signed in"). Returns cogapi's finished process (killed if it was left running)."""
    urls_path, browser = url_file
    proc = auth_stack.start(
        "token", *flags, "--open-browser", "--print", "id", cache=cache, BROWSER=browser
    )
    try:
        drive(wait_for_url(urls_path, proc))
        wait_for_text(chromium, "Signed in")
        assert chromium.current_url.startswith(auth_stack.callback)
        return finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("flow", ["code", "implicit"])
def test_real_browser_sign_in(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str], chromium: Any, flow: str
) -> None:
    result = token_through_the_browser(
        auth_stack, cache, url_file, chromium, lambda url: sign_in_with(chromium, url),
        "--flow", flow,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    claims = verify(auth_stack, result.stdout.strip(), "id")
    assert claims["email"] == EMAIL and claims["aud"] == auth_stack.client_id


def test_real_browser_signs_up_and_confirms_the_emailed_code(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str], chromium: Any
) -> None:
    """The hosted UI's sign-up as AWS's runs it, in the browser `cogapi token` opens: the form,
    then the confirm page, which takes the code cogapi local "sent" (its outbox), then the app's
    callback. The token cogapi prints is the new user's, its address verified."""
    from selenium.webdriver.common.by import By

    email = f"new-{time.time_ns()}@example.com"

    def sign_up(authorize_url: str) -> None:
        chromium.get(authorize_url)
        chromium.find_element(By.LINK_TEXT, "Sign up").click()
        chromium.find_element(By.ID, "email").send_keys(email)
        chromium.find_element(By.ID, "password").send_keys("Brand-New-Pass-7")
        chromium.find_element(By.NAME, "signUpButton").click()
        wait_for_text(chromium, "Enter it below to confirm your account.")
        assert "/confirm?" in chromium.current_url
        messages = requests.get(
            f"{auth_stack.endpoint}/_cogapi/outbox",
            params={"pool_id": auth_stack.pool_id},
            timeout=10,
        ).json()["messages"]
        code = [m for m in messages if m["destination"] == email][-1]["code"]
        chromium.find_element(By.ID, "code").send_keys(code)
        chromium.find_element(By.NAME, "confirm").click()

    result = token_through_the_browser(auth_stack, cache, url_file, chromium, sign_up)
    assert result.returncode == 0, result.stderr
    claims = verify(auth_stack, result.stdout.strip(), "id")
    assert claims["email"] == email and claims["email_verified"] is True
