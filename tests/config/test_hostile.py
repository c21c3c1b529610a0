"""Hostile config files: each is refused as a config error (exit 2, naming the file and the key
where there is one), never as a crash (`error: unexpected ...`, a traceback, minutes of CPU or
gigabytes of memory).

The named cases run the installed `cogapi` as a subprocess, as a user would meet them. The fuzz
runs a few hundred mutations of the example config in-process through the CLI's own error ->
exit-code mapping (`run_command`) around the loader.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import resource
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cogapi.cli.common import run_command
from cogapi.config import load_config
from cogapi.errors import ConfigError
from cogapi.stack.context import Options
from tests.helpers import cogapi_command

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TEXT = (ROOT / "cogapi" / "config" / "example.yaml").read_text()
EXAMPLE_BYTES = EXAMPLE_TEXT.encode()


def _replace(old: str, new: str) -> bytes:
    assert old in EXAMPLE_TEXT, old
    return EXAMPLE_TEXT.replace(old, new, 1).encode()


def _laughs() -> bytes:
    """Nine levels of nine aliases each: 9**9 strings once expanded."""
    lines = ["lol:", '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return EXAMPLE_BYTES + ("\n".join(lines) + "\n").encode()


# (id, file bytes, the start of the problem after "error: <file>: ", words that must follow)
# fmt: off
HOSTILE: list[tuple[str, bytes, str, tuple[str, ...]]] = [
    ("stray-byte", EXAMPLE_BYTES.replace(b"name: test ", b"name: te\xffst", 1), "line 5, column 9: ", ("not UTF-8", "0xff")),
    ("utf16-bom", EXAMPLE_TEXT.encode("utf-16"), "", ("UTF-16", "not UTF-8")),
    ("int-5000-digits", _replace("memory_mb: 128", "memory_mb: " + "7" * 5000), "function.memory_mb: ", ("integer",)),
    ("nested-1000-lists", EXAMPLE_BYTES + b"deep: " + b"[" * 1000 + b"]" * 1000 + b"\n", "line ", ("nest",)),
    ("nested-1000-maps", EXAMPLE_BYTES + b"deep: " + b"{a: " * 1000 + b"1" + b"}" * 1000 + b"\n", "line ", ("nest",)),
    ("nul-in-source", _replace("source: null ", 'source: "app\\0.py"'), "function.source: ", ("NUL",)),
    ("source-too-long", _replace("source: null ", "source: " + "a" * 5000), "function.source: ", ("cannot be used as a path", "too long")),
    ("billion-laughs", _laughs(), "line ", ("expands to more than",)),
    ("alias-cycle", EXAMPLE_BYTES + b"loop: &x [*x]\n", "line ", ("cycle",)),
    ("over-1-mib", EXAMPLE_BYTES + b"#" * (1024 * 1024), "", ("larger than 1024 KiB",)),
    ("environment-list", _replace("environment: {}", "environment: {PATHS: [a, b]}"), "function.environment.PATHS: ", ("not a list",)),
    ("environment-mapping", _replace("environment: {}", "environment: {DB: {host: x}}"), "function.environment.DB: ", ("not a mapping",)),
    ("environment-over-4kb", _replace("environment: {}", "environment: {BLOB: " + "x" * 5000 + "}"), "function.environment: ", ("4096 bytes", "in all")),
]
# fmt: on


def _assert_config_error(returncode: int, stdout: str, stderr: str, path: Path, key: str) -> None:
    assert returncode == 2, (returncode, stderr[-2000:])
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert "unexpected" not in stderr, stderr[-2000:]
    assert stdout == ""
    assert stderr.startswith(f"error: {path}: {key}"), stderr[:500]


@pytest.mark.parametrize(
    ("data", "key", "words"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_installed_cli_refuses_hostile_config(
    data: bytes, key: str, words: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_bytes(data)
    started = time.monotonic()
    p = subprocess.run(
        [*cogapi_command(), "status", "-c", str(path)],  # the lightest command that reads it
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    _assert_config_error(p.returncode, p.stdout, p.stderr, path, key)
    first = p.stderr.splitlines()[0]
    assert len(first) < 400, first  # a 5000-character value is not quoted whole
    for word in words:
        assert word in first, (word, first)


def test_up_dry_run_refuses_hostile_config_too(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_bytes(_laughs())
    p = subprocess.run(
        [*cogapi_command(), "up", "--dry-run", "-c", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    _assert_config_error(p.returncode, p.stdout, p.stderr, path, "line ")


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(EXAMPLE_TEXT + "name: other\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert "key 'name' is given twice" in str(info.value)
    assert "first on line 5" in str(info.value)


def test_a_named_pipe_is_read_and_one_nothing_writes_to_is_refused(tmp_path: Path) -> None:
    """Opening a FIFO without a writer blocked `cogapi status -c fifo` forever; with a writer
    (`-c <(generate-config)`) the config is read as any file."""
    fifo = tmp_path / "cogapi.yaml"
    os.mkfifo(fifo)
    refused: list[ConfigError] = []

    def load() -> None:
        try:
            load_config(str(fifo))
        except ConfigError as exc:
            refused.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # stuck opening the pipe: a writer lets it go, then fail
        os.close(os.open(fifo, os.O_WRONLY))
        pytest.fail("load_config blocked on a named pipe that nothing writes to")
    assert [e.lines for e in refused] == [[f"{fifo}: is a named pipe that nothing writes to"]]
    keep_open = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer can open it first
    try:
        writer = os.open(fifo, os.O_WRONLY)
        os.write(writer, EXAMPLE_BYTES)  # smaller than a pipe's buffer
        os.close(writer)  # what it wrote stays in the pipe while a reader has it open
        assert load_config(str(fifo)).name == yaml.safe_load(EXAMPLE_TEXT)["name"]
    finally:
        os.close(keep_open)


# ---- the fuzz --------------------------------------------------------------------------------

EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["off", "on", "yes", "~", "1h", "0x1f", "python3.13", "/a", "GET", "*x"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        items: Any = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return out
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_configs(draw: st.DrawFn) -> bytes:
    doc = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        op = draw(st.sampled_from(["drop", "retype", "rename", "wrap"]))
        if op == "drop":
            del parent[last]
        elif op == "retype":
            parent[last] = draw(VALUES)
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=15))] = parent.pop(last)
        elif op == "wrap":
            value = parent[last]
            for _ in range(draw(st.integers(1, 20))):
                value = draw(st.sampled_from([[value], {"x": value}]))
            parent[last] = value
    text = yaml.dump(doc, Dumper=DUMPER, sort_keys=False, allow_unicode=True)
    data = text.encode()
    for _ in range(draw(st.integers(0, 3))):
        lines = data.split(b"\n")
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(["bytes", "duplicate-line", "deep", "aliases", "long-int"]))
        if op == "bytes":
            lines[at] = lines[at][: len(lines[at]) // 2] + draw(st.binary(min_size=1, max_size=8))
        elif op == "duplicate-line":
            lines.insert(at, lines[at])
        elif op == "deep":
            n = draw(st.integers(30, 1200))
            lines.append(b"deep: " + b"[" * n + b"]" * n)
        elif op == "aliases":
            width = draw(st.integers(2, 12))
            chain = ["bomb:", "  l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
            for i in range(1, draw(st.integers(2, 10))):
                chain.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
            lines.append("\n".join(chain).encode())
        elif op == "long-int":
            lines.append(b"function: {memory_mb: " + b"9" * draw(st.integers(4000, 6000)) + b"}")
        data = b"\n".join(lines)
    if draw(st.booleans()) and draw(st.booleans()):
        data = data.decode("utf-8", errors="replace").encode(
            draw(st.sampled_from(["utf-16", "latin-1", "utf-8-sig"])), errors="replace"
        )
    return data


def _run_loader(path: Path) -> tuple[int, str]:
    """The loader behind the CLI's error -> exit mapping, as `cogapi up` reaches it."""
    opts = Options(config_path=str(path))

    def body(ui: Any) -> int:
        load_config(str(path))
        return 0

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            run_command(opts, body)
        except SystemExit as exc:
            return int(exc.code or 0), stderr.getvalue()
    raise AssertionError("run_command always exits")


def test_fuzz_mutated_configs_never_crash(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    statuses: dict[int, int] = {}

    @settings(
        max_examples=300, deadline=timedelta(seconds=3), database=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
    )  # fmt: skip
    @given(mutated_configs())
    def one(data: bytes) -> None:
        path.write_bytes(data)
        code, stderr = _run_loader(path)
        statuses[code] = statuses.get(code, 0) + 1
        assert code in (0, 1, 2), stderr
        assert "Traceback" not in stderr, stderr
        assert "unexpected" not in stderr, stderr
        if code == 2:
            assert stderr.startswith(f"error: {path}: "), stderr

    started = time.monotonic()
    one()
    assert time.monotonic() - started < 60
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 300, grown_mib
    assert statuses.get(2, 0) > 100 and statuses.get(0, 0) > 0, statuses  # both outcomes explored
