"""Reading the file: YAML -> pydantic -> cross-key checks, every problem as one `ConfigError`;
also the checks shared with flags (`endpoint_problem`, `region_problem`) and the JSON Schema."""

from __future__ import annotations

import codecs
import difflib
import os
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cogapi.config.checks import cross_checks
from cogapi.config.model import DEFAULT_PATH, Config
from cogapi.config.yaml_doc import MAX_BYTES, ValueProblem, read_yaml
from cogapi.errors import ConfigError, UsageError

UNION_BRANCH_TAGS = ("cognito", "ses", "PasswordPolicy", "literal['default']")
# UTF-32 first: its little-endian mark starts with UTF-16's.
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
MAX_MESSAGE = 300  # a problem quotes the value it refuses; a 1 MB value is not quoted whole


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


_LONG_QUOTE = re.compile(r"'([^']{60,})'")


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Shorten the values a long message quotes, never its explanation: `'ooo...ooo' is not a ...`."""
    if len(text) <= limit:
        return text
    text = _LONG_QUOTE.sub(lambda m: f"'{m.group(1)[:40]}...{m.group(1)[-8:]}'", text)
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config sections an annotation can hold (through Optional, unions, lists, Annotated)."""
    out: list[type[BaseModel]] = []
    todo = [annotation]
    while todo:
        a = todo.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            out.append(a)
        else:
            todo.extend(typing.get_args(a))
    return out


def _is_branch(model: type[BaseModel], tag: str) -> bool:
    """Whether `tag` (a part of a pydantic location) names this branch of a union."""
    if model.__name__ == tag:
        return True
    return any(
        typing.get_origin(f.annotation) is typing.Literal
        and typing.get_args(f.annotation) == (tag,)
        for f in model.model_fields.values()
    )


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the config allows in the mapping at `loc` (a pydantic location)."""
    models: list[type[BaseModel]] = [Config]
    for part in loc:
        if isinstance(part, int):
            continue
        branches = [m for m in models if _is_branch(m, str(part))]
        if branches:
            models = branches
            continue
        models = [
            sub
            for m in models
            if (field := m.model_fields.get(str(part))) is not None
            for sub in _models_in(field.annotation)
        ]
    return sorted({key for m in models for key in m.model_fields})


def _unknown_key(loc: tuple[Any, ...]) -> str:
    close = difflib.get_close_matches(str(loc[-1]), allowed_keys(loc[:-1]), n=1)
    return f"unknown key; did you mean {close[0]!r}?" if close else "unknown key"


def _line_of(key: str, lines: dict[str, int]) -> int:
    """The line of a key path, or of its nearest enclosing key that is in the file."""
    while key not in lines and key:
        cut = max(key.rfind("."), key.rfind("["))
        key = key[: max(cut, 0)]
    return lines.get(key, 0)


def _in_file_order(problems: list[tuple[str, str]], lines: dict[str, int]) -> list[tuple[str, str]]:
    return [
        (key, _clip(what)) for key, what in sorted(problems, key=lambda p: _line_of(p[0], lines))
    ]


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown_key(tuple(err["loc"]))
    if kind == "missing":
        return "required key is missing"
    if kind == "string_type" and isinstance(err.get("input"), (list, dict)):
        return f"Input should be a valid string, not a {'list' if isinstance(err['input'], list) else 'mapping'}"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def parse_config(text: str, path: str = DEFAULT_PATH, base_dir: Path | None = None) -> Config:
    """Parse and validate config text; raise ConfigError listing every problem, in file order."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            path, [("", f"is larger than {MAX_BYTES // 1024} KiB; a config never is")]
        )
    try:
        raw, lines = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [(where, f"not valid YAML: {_clip(problem)}")]) from None
    except ValueProblem as exc:
        raise ConfigError(path, [(exc.key, exc.message)]) from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        # Whatever else the YAML library trips on is still this file's problem, not a crash.
        raise ConfigError(
            path, [("", f"cannot be read as YAML ({type(exc).__name__}: {_clip(str(exc))})")]
        ) from None
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
        raise ConfigError(path, _in_file_order(problems, lines)) from None
    base = base_dir or Path(path).resolve().parent
    problems = cross_checks(cfg, base)
    if problems:
        raise ConfigError(path, _in_file_order(problems, lines))
    if cfg.function.source is not None:  # relative to the config file, wherever we run from
        fn = cfg.function.model_copy(update={"source": str((base / cfg.function.source).resolve())})
        cfg = cfg.model_copy(update={"function": fn})
    return cfg


def resolve_path(explicit: str | None) -> str:
    if explicit == "":  # `-c "$CONFIG"` with CONFIG unset: not silently ./cogapi.yaml
        raise UsageError("-c/--config: the path is empty", hint="name a config file, or drop -c")
    return explicit or os.environ.get("COGAPI_CONFIG") or DEFAULT_PATH


def load_config(path: str) -> Config:
    p = Path(path)
    try:
        # Opened without blocking: opening a named pipe that nothing writes to waits forever.
        # Reading then blocks again, so `-c <(generate-config)` reads what its writer sends.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            os.set_blocking(fd, True)
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            path, [("", "no such file")], hint="run `cogapi init` to write one, or pass -c PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(path, [("", f"cannot read: {exc.strerror or exc}")]) from None
    if not data and p.is_fifo():
        raise ConfigError(path, [("", "is a named pipe that nothing writes to")])
    if len(data) > MAX_BYTES:
        raise ConfigError(
            path, [("", f"is larger than {MAX_BYTES // 1024} KiB; a config never is")]
        )
    return parse_config(decode_utf8(data, path), path, p.resolve().parent)


def decode_utf8(data: bytes, path: str) -> str:
    """The file's text; a file in another encoding is a config error at the first bad byte."""
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise ConfigError(
                path, [("", f"is encoded as {name}, not UTF-8")], hint="save it as UTF-8"
            )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            path,
            [
                (
                    f"line {line}, column {column}",
                    f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start or continue a character",
                )
            ],
            hint="save the file as UTF-8",
        ) from None


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cogapi config"
    return schema
