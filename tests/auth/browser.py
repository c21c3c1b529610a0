"""What a browser does on the local hosted UI, done with urllib: follow the authorize URL to the
login form, post it (XSRF cookie + `_csrf`), and hand back where the hosted UI redirects."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import urlencode


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class FormBrowser:
    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def _open(self, url: str, data: bytes | None = None) -> tuple[int, dict[str, str], str]:
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=10) as r:
                return r.status, dict(r.headers.items()), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read().decode()

    def sign_in(self, authorize_url: str, username: str, password: str) -> str:
        """The Location the hosted UI redirects to after a successful sign-in."""
        status, headers, _ = self._open(authorize_url)
        assert status == 302, (status, headers)
        status, _, page = self._open(headers["Location"])
        assert status == 200, page
        action = re.search(r'<form method="post" action="([^"]+)"', page)
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page)
        assert action and csrf, page
        body = urlencode({"_csrf": csrf.group(1), "username": username, "password": password})
        status, headers, page = self._open(unescape(action.group(1)), body.encode())
        assert status == 302, page
        return headers["Location"]

    def get(self, url: str) -> tuple[int, str]:
        status, _, page = self._open(url)
        return status, page

    def post(self, url: str, body: str) -> tuple[int, str]:
        status, _, page = self._open(url, body.encode())
        return status, page
