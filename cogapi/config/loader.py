"""Reading the file: YAML -> pydantic -> cross-key checks, every problem as one `ConfigError`;
also the checks shared with flags (`endpoint_problem`, `region_problem`) and the JSON Schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cogapi.config.checks import cross_checks
from cogapi.config.model import DEFAULT_PATH, Config
from cogapi.errors import ConfigError

UNION_BRANCH_TAGS = ("cognito", "ses", "PasswordPolicy", "literal['default']")


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) in UNION_BRANCH_TAGS:
            continue  # names of union branches pydantic adds to the location, not config keys
        else:
            out += ("." if out else "") + str(part)
    return out


def _relevant(errors: list[Any]) -> list[Any]:
    """Drop union-branch noise: `'default' | {...}` given a mapping also fails the literal branch,
    which would tell the user to write 'default'; keep the errors of the branch that was meant."""
    out = []
    for e in errors:
        if e["type"] == "literal_error" and not isinstance(e.get("input"), str):
            base = _key_path(e["loc"])
            if any(o is not e and _key_path(o["loc"]).startswith(base) for o in errors):
                continue
        out.append(e)
    return out


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def parse_config(text: str, path: str = DEFAULT_PATH, base_dir: Path | None = None) -> Config:
    """Parse and validate config text; raise ConfigError listing every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [(where, f"not valid YAML: {problem}")]) from None
    if raw is None:
        raise ConfigError(
            path, [("", "the file is empty")], hint="run `cogapi init` for a commented example"
        )
    if not isinstance(raw, dict):
        raise ConfigError(path, [("", "the top level must be a mapping of keys")])
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [(_key_path(e["loc"]), _message(e)) for e in _relevant(exc.errors())]
        raise ConfigError(path, problems) from None
    base = base_dir or Path(path).resolve().parent
    problems = cross_checks(cfg, base)
    if problems:
        raise ConfigError(path, problems)
    if cfg.function.source is not None:  # relative to the config file, wherever we run from
        fn = cfg.function.model_copy(update={"source": str((base / cfg.function.source).resolve())})
        cfg = cfg.model_copy(update={"function": fn})
    return cfg


def resolve_path(explicit: str | None) -> str:
    return explicit or os.environ.get("COGAPI_CONFIG") or DEFAULT_PATH


def load_config(path: str) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, [("", "no such file")], hint="run `cogapi init` to write one, or pass -c PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(path, [("", f"cannot read: {exc.strerror}")]) from None
    return parse_config(text, path, p.resolve().parent)


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cogapi config"
    return schema
