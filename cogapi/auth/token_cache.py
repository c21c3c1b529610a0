"""The token cache: one JSON file per user pool and app client, readable by the user only.

Keyed by the pool and client ids, not by the stack's name: a stack that was taken down and put
up again (or a restarted `cogapi local`) has new ids, so its old tokens are never consulted, and
another project that also names its stack `test` never meets this one's tokens.

Lives under `$XDG_CACHE_HOME/cogapi/tokens/` (default `~/.cache`), directory mode 0700, file mode
0600. A directory owned by another user, or one that cannot be made 0700, is refused
(`CacheRefused`): whoever controls it could read or plant tokens. Written atomically (a 0600
temp file in the same directory, then `os.replace`), so a concurrent `cogapi call` never reads
half a file and the token is never world-readable, not even for a moment. A file that cannot be
parsed is treated as empty (and overwritten on the next sign-in), never as an error: it is a
cache. Something other than a file in its place (a directory, a named pipe) is refused with its
path, before a sign-in that could not be kept; a file opened to others is made 0600 again.

The cache holds tokens, never a decision: where a refresh token, a code or the client secret
is sent is derived from the config and the stack in use, never read from this file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cogapi.errors import CogapiError

FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass
class CachedTokens:
    pool_id: str
    client_id: str
    flow: str  # code | implicit | password
    access_token: str
    id_token: str | None = None
    refresh_token: str | None = None
    hosted_ui: str | None = None  # where the tokens came from; informational, never a destination
    username: str | None = None  # password flow: for SECRET_HASH on refresh
    expired_access_token: str | None = None  # kept after a refresh: `cogapi verify` uses it
    client_name: str | None = None  # client_credentials: the machine client's name

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Any) -> CachedTokens | None:
        if not isinstance(doc, dict):
            return None
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in doc.items() if k in names})
        except TypeError:
            return None


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cogapi" / "tokens"


class CacheRefused(CogapiError):
    """The cache directory is not safely this user's."""


def client_file_name(pool_id: str, client_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{pool_id}-{client_id}") + ".json"


def cache_file_name(stack: str, region: str, endpoint_url: str | None) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{stack}-{region}")
    if endpoint_url:
        digest = hashlib.sha256(endpoint_url.rstrip("/").encode()).hexdigest()[:10]
        safe += f"-endpoint-{digest}"
    return safe + ".json"


class TokenCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_stack(cls, stack: str, region: str, endpoint_url: str | None) -> TokenCache:
        return cls(cache_root() / cache_file_name(stack, region, endpoint_url))

    @classmethod
    def for_client(cls, pool_id: str, client_id: str) -> TokenCache:
        return cls(cache_root() / client_file_name(pool_id, client_id))

    def _check_directory(self, create: bool) -> bool:
        """Whether the directory exists, is this user's and is 0700 (made so if it can be)."""
        directory = self.path.parent
        if create:
            try:
                directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            except OSError as exc:
                raise CacheRefused(
                    f"cannot create the token cache directory {directory}: {exc.strerror}",
                    hint="set XDG_CACHE_HOME to a directory of yours",
                ) from None
        try:
            st = directory.stat()
        except FileNotFoundError:
            return False
        except OSError as exc:  # a file where a directory of the path should be, a loop, ...
            raise CacheRefused(
                f"cannot use the token cache directory {directory}: {exc.strerror or exc}",
                hint="set XDG_CACHE_HOME to a directory of yours",
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise CacheRefused(
                f"cannot use the token cache directory {directory}: it is not a directory",
                hint="remove it, or set XDG_CACHE_HOME to a directory of yours",
            )
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise CacheRefused(
                f"the token cache directory {directory} belongs to another user (uid "
                f"{st.st_uid}); refusing to read or write tokens there",
                hint="remove it, or set XDG_CACHE_HOME to a directory of yours",
            )
        if stat.S_IMODE(st.st_mode) != DIR_MODE:
            try:
                os.chmod(directory, DIR_MODE)
                ok = stat.S_IMODE(directory.stat().st_mode) == DIR_MODE
            except OSError:
                ok = False
            if not ok:
                raise CacheRefused(
                    f"the token cache directory {directory} cannot be made private (mode 0700)",
                    hint="fix its permissions, or set XDG_CACHE_HOME to a directory of yours",
                )
        return True

    def _check_file(self) -> bool:
        """Whether the cache file exists; something other than a file in its place (a directory,
        a named pipe that would block the read) is refused, before a sign-in it would waste."""
        try:
            st = self.path.stat()
        except OSError:  # missing, a dangling or looping link: no tokens, and replaceable
            return False
        if not stat.S_ISREG(st.st_mode):
            raise CacheRefused(
                f"the token cache file {self.path} is not a regular file",
                hint="remove it; cogapi writes a new one at the next sign-in",
            )
        if stat.S_IMODE(st.st_mode) != FILE_MODE:  # made readable by others since it was written
            try:
                os.chmod(self.path, FILE_MODE)
            except OSError as exc:
                raise CacheRefused(
                    f"the token cache file {self.path} cannot be made private (mode 0600): "
                    f"{exc.strerror or exc}",
                    hint="fix its permissions, or remove it",
                ) from None
        return True

    def load(self) -> CachedTokens | None:
        if not self._check_directory(create=False) or not self._check_file():
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, ValueError):  # unreadable, or not UTF-8: an empty cache
            return None
        try:
            return CachedTokens.from_json(json.loads(text))
        except ValueError:
            return None

    def store(self, tokens: CachedTokens) -> None:
        self._check_directory(create=True)
        self._check_file()
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), FILE_MODE)
                json.dump(tokens.to_json(), f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def clear(self) -> bool:
        if self._check_directory(create=False):
            self._check_file()
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
