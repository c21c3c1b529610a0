"""The function's deployment package: a deterministic zip and its Lambda code identity.

Lambda reports `CodeSha256` = base64(sha256(zip bytes)). The zip is built with sorted entries, a
fixed timestamp and fixed modes, so the same source always gives the same bytes and an unchanged
source never causes `update_function_code` (aws-notes: "Code identity").
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

BUILTIN_DIR = Path(__file__).parent / "builtin_handler"
BUILTIN_HANDLER = "app.handler"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".pytest_cache", ".mypy_cache"}


@dataclass(frozen=True)
class CodePackage:
    zip_bytes: bytes
    handler: str

    @property
    def sha256(self) -> str:
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode()


def _files(source: Path) -> list[tuple[str, Path]]:
    if source.is_file():
        return [(source.name, source)]
    out = []
    for p in sorted(source.rglob("*")):
        rel = p.relative_to(source)
        if p.is_file() and not (set(rel.parts) & _SKIP_DIRS) and p.suffix not in (".pyc", ".pyo"):
            out.append((rel.as_posix(), p))
    return out


def build_zip(source: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, path in sorted(_files(source)):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def package(source: Path | None, handler: str) -> CodePackage:
    """The zip for `source` (a folder or .py file), or the built-in handler when None."""
    if source is None:
        return CodePackage(build_zip(BUILTIN_DIR / "app.py"), BUILTIN_HANDLER)
    return CodePackage(build_zip(source), handler)
