"""The token cache: one JSON file per stack, region and endpoint, readable by the user only.

Lives under `$XDG_CACHE_HOME/cogapi/tokens/` (default `~/.cache`), directory mode 0700, file mode
0600. Written atomically (a 0600 temp file in the same directory, then `os.replace`), so a
concurrent `cogapi call` never reads half a file and the token is never world-readable, not
even for a moment. A file that cannot be parsed is treated as empty (and overwritten on the next
sign-in), never as an error: it is a cache.

A stack reached through a custom endpoint (`cogapi local`, a moto server) gets its own file, so
local tokens never shadow AWS ones for a stack of the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

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
    hosted_ui: str | None = None  # base URL, for /logout and /oauth2/revoke
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
    def for_machine_client(
        cls, stack: str, region: str, endpoint_url: str | None, client: str
    ) -> TokenCache:
        """A file of its own per machine client, beside the stack's (same modes, same rules)."""
        base = cache_file_name(stack, region, endpoint_url).removesuffix(".json")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", client)
        digest = hashlib.sha256(client.encode()).hexdigest()[:6]  # names differing in odd chars
        return cls(cache_root() / f"{base}-client-{safe}-{digest}.json")

    def load(self) -> CachedTokens | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            return CachedTokens.from_json(json.loads(text))
        except ValueError:
            return None

    def store(self, tokens: CachedTokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        with contextlib.suppress(OSError):  # not ours to fix if someone else owns it
            os.chmod(self.path.parent, DIR_MODE)
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
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
