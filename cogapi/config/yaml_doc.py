"""Reading a config file's YAML safely, and remembering where each key was written.

A config file is small, but it may come from anywhere (a pull request, a download), so reading it
must fail as a config error, never as a crash or a runaway:
- the text is capped (`MAX_BYTES`) before it is parsed;
- nesting is capped (`MAX_DEPTH`) while the document is composed: PyYAML's composer recurses once
  per level, so a thousand `[` would end in RecursionError;
- aliases are counted as what they expand to: every node's size includes the full size of what
  its aliases point to, and the document may expand to at most `MAX_NODES` nodes. A "billion
  laughs" tree (nine aliases of nine aliases of ...) is refused at the level where it passes the
  bound, long before anything walks it; an alias to an anchor that is still open (a cycle) is
  refused outright;
- an integer literal Python will not convert (more than 4300 digits) is a problem at its line;
- a key given twice in one mapping is a problem (PyYAML would keep the last one silently).

`read_yaml` returns the data (or raises yaml.YAMLError, or `ValueProblem` naming the key) and
`lines`: the line of every key path (`api.routes[0].scopes`), so the loader can report several
problems in the order they appear in the file.
"""

from __future__ import annotations

from typing import Any

from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner, ScannerError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Bounds(Composer, SafeConstructor):
    """The composer and constructor of a safe loader, bounding nesting and alias expansion while
    composing (see the module doc). Mixed with libyaml's parser where PyYAML has it (five times
    faster), else with PyYAML's own."""

    def _start_bounds(self) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)  # type: ignore[arg-type]  # the mix always has a Resolver
        self._depth = 0
        self._size: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
        self.bad_value: Node | None = None

    # These come from the parser and the resolver the class is mixed with.
    peek_event: Any
    check_event: Any
    get_event: Any
    descend_resolver: Any
    ascend_resolver: Any
    resolve: Any

    def compose_node(self, parent: Node | None, index: Any) -> Any:
        event: Any = self.peek_event()
        mark: Any = event.start_mark  # libyaml's and PyYAML's marks both have line and column
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._size:
                raise ComposerError(
                    None, None, f"alias *{event.anchor} refers to its own anchor (a cycle)", mark
                )
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            node: Any = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
            self._check_duplicate_keys(node)
        sizes = [self._size[id(c)] for c in children]
        size = 1 + sum(s for s, _ in sizes)
        depth = 1 + max((d for _, d in sizes), default=0)
        if size > MAX_NODES:
            raise ComposerError(
                None, None,
                f"expands to more than {MAX_NODES} values (aliases are counted as what they "
                "repeat); a config never needs that many",
                node.start_mark,
            )  # fmt: skip
        if depth > MAX_DEPTH:
            raise ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep once aliases are expanded",
                node.start_mark,
            )  # fmt: skip
        self._size[id(node)] = (size, depth)
        return node

    @staticmethod
    def _check_duplicate_keys(node: MappingNode) -> None:
        seen: dict[Any, Any] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                continue
            ident = (key.tag, key.value)
            if ident in seen:
                first = seen[ident]
                raise ComposerError(
                    None, None,
                    f"key {_clip(repr(key.value))} is given twice in one mapping "
                    f"(first on line {first.line + 1})",
                    key.start_mark,
                )  # fmt: skip
            seen[ident] = key.start_mark

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python converts at most 4300 digits (int_max_str_digits)
            self.bad_value = node
            raise ConstructorError(
                None, None, "an integer literal too long to be read", node.start_mark
            ) from None


_Bounds.add_constructor("tag:yaml.org,2002:int", _Bounds.construct_yaml_int)  # type: ignore[type-var]


class _PythonLoader(_Bounds, Scanner, Parser, Reader, Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        self._start_bounds()

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803
        # PyYAML's scanner tracks every open flow level on each token: a thousand `[` cost
        # a second before the composer could refuse them.
        if self.flow_level >= MAX_DEPTH:
            raise ScannerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)


_Loader: Any = _PythonLoader
try:
    from yaml._yaml import CParser

    class _CLoader(_Bounds, CParser, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            self._start_bounds()

    _Loader = _CLoader
except ImportError:  # PyYAML built without libyaml
    pass


class ValueProblem(Exception):
    """A value that is valid YAML but cannot be read (an integer too long for Python), at `key`."""

    def __init__(self, key: str, line: int, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.line = line
        self.message = message


def _path_of(root: Node, target: Node) -> str | None:
    """The key path of `target` in the document, if it is a key's value or a list item."""
    todo: list[tuple[str, Node]] = [("", root)]
    visits = 0
    while todo and visits <= MAX_NODES:
        path, node = todo.pop()
        visits += 1
        if node is target:
            return path
        if isinstance(node, MappingNode):
            todo.extend(
                (f"{path}.{k.value}" if path else str(k.value), v)
                for k, v in node.value
                if isinstance(k, ScalarNode)
            )
        elif isinstance(node, SequenceNode):
            todo.extend((f"{path}[{i}]", item) for i, item in enumerate(node.value))
    return None


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_lines(root: Node) -> dict[str, int]:
    """Key path -> 1-based line, for every key and list item of the document (first place wins)."""
    lines: dict[str, int] = {"": root.start_mark.line + 1}
    todo: list[tuple[str, Node]] = [("", root)]
    visits = 0
    while todo and visits <= MAX_NODES:
        path, node = todo.pop()
        visits += 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                    continue
                sub = f"{path}.{key.value}" if path else str(key.value)
                lines.setdefault(sub, key.start_mark.line + 1)
                todo.append((sub, value))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                sub = f"{path}[{i}]"
                lines.setdefault(sub, item.start_mark.line + 1)
                todo.append((sub, item))
    return lines


def read_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """(data, key path -> line). Raises yaml.YAMLError (with a mark where one is known)."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        try:
            data = loader.construct_document(root)
        except ConstructorError as exc:
            if loader.bad_value is None:
                raise
            key = _path_of(root, loader.bad_value)
            line = loader.bad_value.start_mark.line + 1
            raise ValueProblem(key or f"line {line}", line, str(exc.problem)) from None
        return data, _key_lines(root)
    finally:
        loader.dispose()
