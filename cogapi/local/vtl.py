"""A small subset of Velocity (VTL), as API Gateway's mapping templates use it, for the local stand-in.

Enough for the templates API Gateway's own docs and tools write into integration and gateway
responses, such as answering a CORS preflight with the request's Origin when it is listed:

    #set($allowed = ["https://a.example", "https://b.example"])
    #set($origin = $input.params().header.get('Origin'))
    #if($allowed.contains($origin))
    #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
    #end

Supported: `#set`, `#if` / `#elseif` / `#else` / `#end` (also `#{else}`, `#{end}`), `##` comments;
references `$var`, `$context...` (bracket keys too), `$input.params()` / `.params('x')` /
`.json('$')` / `.body`, with `.get(k)`, `.contains(x)`, `.size()`, `.toLowerCase()`; literals
(strings, numbers, booleans, JSON lists and objects); `==`, `!=`, `!`, `&&`, `||` in conditions.
`$context.responseOverride.header.<name>` and `.status` set on the answer. An undefined
`$context` reference renders empty (so `claims.cognito:username` is `:username`, as on AWS);
other undefined references stay as written, as Velocity leaves them. Anything else (loops,
macros, `$util`, arithmetic) is out of scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# `#{end}` takes both braces; `#end}` leaves the `}` to the text
_DIRECTIVE = re.compile(r"#(?:(set|if|elseif)\s*\(|\{(else|end)\}|(else|end)\b)")
_REFERENCE = re.compile(
    r"\$!?(?:\{(?P<braced>[A-Za-z_][^{}]*)\}|(?P<plain>[A-Za-z_][\w-]*"
    r"(?:\.[A-Za-z_][\w-]*(?:\((?:[^()'\"]|'[^']*'|\"[^\"]*\")*\))?|\[(?:'[^']*'|\"[^\"]*\")\])*))"
)
_MISSING = object()


@dataclass
class Scope:
    """What a template can see, and what it sets."""

    context: Mapping[str, Any]
    body: str = ""
    params: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # path|querystring|header
    variables: dict[str, Any] = field(default_factory=dict)
    header_overrides: dict[str, str] = field(default_factory=dict)
    status_override: int | None = None


class _Input:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "params":
            if not args:
                return {k: dict(v) for k, v in self.scope.params.items()}
            for where in ("path", "querystring", "header"):
                found = (self.scope.params.get(where) or {}).get(str(args[0]))
                if found is not None:
                    return found
            return ""
        if name == "json":
            try:
                return json.loads(self.scope.body or "{}")
            except ValueError:
                return self.scope.body
        return _MISSING

    def attribute(self, name: str) -> Any:
        return self.scope.body if name == "body" else _MISSING


# --- expressions ---------------------------------------------------------------------------


def _split(text: str, separators: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Split at top-level separators (outside quotes, brackets and parentheses)."""
    parts, found, depth, quote, start, i = [], [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            sep = next((s for s in separators if text.startswith(s, i)), None)
            if sep is not None:
                parts.append(text[start:i])
                found.append(sep)
                i += len(sep)
                start = i
                continue
        i += 1
    parts.append(text[start:])
    return parts, found


def _truthy(value: Any) -> bool:
    return value not in (None, _MISSING, False, "") and value != [] and value != {}


def evaluate(expression: str, scope: Scope) -> Any:
    text = expression.strip()
    for ops in (("||",), ("&&",)):
        parts, _ = _split(text, ops)
        if len(parts) > 1:
            values = [_truthy(evaluate(p, scope)) for p in parts]
            return any(values) if ops == ("||",) else all(values)
    parts, found = _split(text, ("==", "!="))
    if len(parts) == 2:
        equal = _plain(evaluate(parts[0], scope)) == _plain(evaluate(parts[1], scope))
        return equal if found[0] == "==" else not equal
    if text.startswith("!"):
        return not _truthy(evaluate(text[1:], scope))
    if text.startswith("(") and text.endswith(")"):
        return evaluate(text[1:-1], scope)
    if text.startswith("$"):
        return _reference(text, scope)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _closing_paren(text: str, open_at: int) -> int:
    """The index of the `)` that closes the `(` at `open_at`, skipping quoted text; the end of
    `text` when none does."""
    depth, quote = 0, ""
    for j in range(open_at, len(text)):
        ch = text[j]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def _chain(text: str) -> tuple[str, list[tuple[str, str, list[str] | None]]]:
    """'$a.b(x).c[\'d\']' -> ('a', [('.', 'b', ['x']), ('.', 'c', None), ('[', 'd', None)])."""
    body = text.lstrip("$!")
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    name = re.match(r"[A-Za-z_][\w-]*", body)
    if name is None:
        raise ValueError(text)
    steps: list[tuple[str, str, list[str] | None]] = []
    i = name.end()
    while i < len(body):
        if body[i] == "." and (m := re.match(r"\.([A-Za-z_][\w-]*)", body[i:])):
            i += m.end()
            args = None
            if i < len(body) and body[i] == "(":
                j = _closing_paren(body, i)
                inner = body[i + 1 : j]
                args = [a for a in _split(inner, (",",))[0] if a.strip()]
                i = j + 1
            steps.append((".", m.group(1), args))
        elif body[i] == "[" and (m := re.match(r"\[\s*(['\"])(.*?)\1\s*\]", body[i:])):
            steps.append(("[", m.group(2), None))
            i += m.end()
        else:
            raise ValueError(text)
    return name.group(0), steps


def _reference(text: str, scope: Scope) -> Any:
    try:
        name, steps = _chain(text)
    except ValueError:
        return _MISSING
    value: Any
    if name == "context":
        value = scope.context
    elif name == "input":
        value = _Input(scope)
    else:
        value = scope.variables.get(name, _MISSING)
    for kind, key, raw_args in steps:
        if value is _MISSING or value is None:
            return value
        args = [evaluate(a, scope) for a in raw_args] if raw_args is not None else None
        value = _step(value, kind, key, args)
    return value


def _step(value: Any, kind: str, key: str, args: list[Any] | None) -> Any:
    if isinstance(value, _Input):
        return value.call(key, args) if args is not None else value.attribute(key)
    if args is None or kind == "[":
        return value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
    if key == "get" and isinstance(value, Mapping) and args:
        return value.get(str(args[0]))
    if key == "contains" and args:
        target = _plain(args[0])
        if isinstance(value, str):
            return isinstance(target, str) and target in value
        return isinstance(value, (list, tuple, Mapping)) and target in value
    if key in ("size", "length") and not args:
        return len(value) if hasattr(value, "__len__") else _MISSING
    if key == "toLowerCase" and isinstance(value, str):
        return value.lower()
    if key == "toUpperCase" and isinstance(value, str):
        return value.upper()
    return _MISSING


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


# --- templates -----------------------------------------------------------------------------


def _tokens(template: str) -> list[tuple[str, str]]:
    """[("text", s) | ("set"|"if"|"elseif", inside the parentheses) | ("else"|"end", "")]."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(template):
        j = template.find("#", i)
        if j < 0:
            out.append(("text", template[i:]))
            break
        if j > i:
            out.append(("text", template[i:j]))
        if template.startswith("##", j):
            end = template.find("\n", j)
            i = len(template) if end < 0 else end + 1
            continue
        m = _DIRECTIVE.match(template, j)
        if m is None:
            out.append(("text", "#"))
            i = j + 1
            continue
        if m.group(2) or m.group(3):
            out.append((m.group(2) or m.group(3), ""))
            i = m.end()
        else:
            # past the `)` closing the directive's `(` (the last character when none does)
            k = min(_closing_paren(template, m.end() - 1) + 1, len(template))
            out.append((m.group(1), template[m.end() : k - 1]))
            i = k
        if out[-1][0] in ("set", "else", "end") and template.startswith("\n", i):
            i += 1  # a directive alone on its line leaves no blank line
    return out


def _block(tokens: list[tuple[str, str]], i: int, scope: Scope, out: list[str], run: bool) -> int:
    """Run tokens from i until an unmatched else/elseif/end; returns that token's index."""
    while i < len(tokens):
        kind, arg = tokens[i]
        if kind in ("else", "elseif", "end"):
            return i
        if kind == "text":
            if run:
                out.append(_substitute(arg, scope))
            i += 1
        elif kind == "set":
            if run:
                _assign(arg, scope)
            i += 1
        else:  # if
            taken = False
            cond = arg
            i += 1
            while True:
                here = run and not taken and _truthy(evaluate(cond, scope))
                i = _block(tokens, i, scope, out, here)
                taken = taken or here
                if i >= len(tokens):
                    return i
                kind, arg = tokens[i]
                i += 1
                if kind == "end":
                    break
                cond = arg if kind == "elseif" else "true"
    return i


def _assign(statement: str, scope: Scope) -> None:
    parts, _ = _split(statement, ("=",))
    if len(parts) < 2:
        return
    target, value = parts[0].strip(), evaluate("=".join(parts[1:]), scope)
    override = re.fullmatch(
        r"\$!?\{?context\.responseOverride\.(header\.([^}\s]+)|status)\}?", target
    )
    if override is not None:
        if override.group(2):
            if value not in (None, _MISSING):
                scope.header_overrides[override.group(2)] = _text(value)
        elif str(_plain(value)).isdigit():
            scope.status_override = int(str(value))
        return
    name = re.fullmatch(r"\$!?\{?([A-Za-z_][\w-]*)\}?", target)
    if name is not None:
        scope.variables[name.group(1)] = value


def _substitute(text: str, scope: Scope) -> str:
    def one(match: re.Match[str]) -> str:
        value = _reference(match.group(0), scope)
        if value is _MISSING or value is None:
            if (match.group("braced") or match.group("plain") or "").startswith("context"):
                return ""
            return "" if match.group(0).startswith("$!") else match.group(0)
        return _text(value)

    return _REFERENCE.sub(one, text)


def render(template: str, scope: Scope) -> str:
    out: list[str] = []
    _block(_tokens(template), 0, scope, out, True)
    return "".join(out)
