"""Reading YAML: a fast C-backed path normally; positions only when an error needs them."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Above this many values after alias expansion, a document is refused (a "billion laughs" guard).
#: Real manifests have a few dozen.
MAX_EXPANDED_NODES = 10_000


class YamlSyntaxError(Exception):
    """A YAML error with a 1-based position."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def _fast_loader() -> YAML:
    # typ="safe" builds only plain data: a tag naming a Python object is an error, never a call.
    yaml = YAML(typ="safe", pure=False)
    yaml.allow_duplicate_keys = False
    return yaml


_FAST = _fast_loader()

#: Deeper than this, the C parser is not trusted: it recurses on the C stack and crashes the
#: process (a segmentation fault at about 30,000 levels) where Python would raise RecursionError.
C_PARSER_MAX_DEPTH = 1_000


def load_documents(text: str) -> list[Any]:
    """Parse every document of a YAML stream, raising YamlSyntaxError with a position."""
    loader = _FAST if _nesting_bound(text) < C_PARSER_MAX_DEPTH else _safe_pure_loader()
    try:
        return list(loader.load_all(text))
    except MarkedYAMLError as exc:
        raise _positioned(exc, text) from None
    except YAMLError as exc:
        raise YamlSyntaxError(str(exc).strip(), 1, 1) from None
    except RecursionError:
        raise YamlSyntaxError("the document is nested too deeply to read", 1, 1) from None


def _safe_pure_loader() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _nesting_bound(text: str) -> int:
    """An upper bound on how deeply the text can nest, cheap enough to compute for every file.

    Flow collections need an opening bracket per level. A block collection is either indented
    deeper than its parent (at most two levels per column, a sequence may sit at its mapping
    key's column) or opened on the parent's line after an indicator ('-', '?', ':').
    """
    flow = text.count("[") + text.count("{")
    lines = text.split("\n")
    coarse = flow + 2 * max(map(len, lines)) + 2
    if coarse < C_PARSER_MAX_DEPTH:
        return coarse
    block = max(
        2 * (len(line) - len(line.lstrip(" ")))
        + line.count("-")
        + line.count("?")
        + line.count(":")
        for line in lines
    )
    return flow + block + 2


def _positioned(exc: MarkedYAMLError, text: str) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    if problem.startswith("could not determine a constructor for the tag"):
        tag = problem.rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
        message = f"the YAML tag '{tag}' is not allowed: manifests hold plain data only"
    elif problem.startswith("found duplicate key"):
        # ruamel says: found duplicate key "a" with value "2" (original value: "1")
        key = problem.split('"')[1] if '"' in problem else "?"
        message = f"duplicate key '{key}'"
        if exc.context_mark is not None:
            message += f" (first at line {exc.context_mark.line + 1})"
    elif mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        message = "a tab character where YAML needs spaces; indent with spaces"
    elif problem and context:
        message = f"{context}: {problem}"
        if "expected key" in problem or "expected <block end>" in problem:
            message += " (check the indentation of this line and the one above)"
    else:
        message = problem or context or "invalid YAML"
    if mark is None:
        return YamlSyntaxError(message, 1, 1)
    return YamlSyntaxError(message, mark.line + 1, mark.column + 1)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


def expanded_size(document: Any, limit: int = MAX_EXPANDED_NODES) -> int | None:
    """How many values the document holds once aliases are expanded; None when over `limit`.

    Aliases make the parsed document a graph whose shared parts pydantic would walk once per
    reference: sizes are computed once per shared object, so this is linear in the graph.
    Recursive aliases count as over the limit.
    """
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            return limit + 1
        in_progress.add(key)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        in_progress.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(document)
    except RecursionError:
        return None
    return None if total > limit else total


def compose_documents(text: str) -> list[Node | None]:
    """The node trees of every document, with positions. Slow path: used to place errors."""
    yaml = YAML(typ="safe", pure=True)
    return list(yaml.compose_all(text))


def node_at(root: Node, loc: tuple[str | int, ...]) -> Node:
    """The node at a pydantic error location, or the nearest ancestor the document spells out.

    A `[key]` element (pydantic's marker for an invalid mapping key) selects the key itself.
    """
    node = root
    for i, part in enumerate(loc):
        if isinstance(node, MappingNode):
            entry = _mapping_entry(node, part)
            if entry is None:
                return node
            key_node, value_node = entry
            if i + 1 < len(loc) and loc[i + 1] == "[key]":
                return key_node
            node = value_node
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            node = node.value[part]
        else:
            return node
    return node


def _mapping_entry(node: MappingNode, key: str | int) -> tuple[Node, Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == str(key):
            return key_node, value_node
    return None


def key_node_at(root: Node, loc: tuple[str | int, ...]) -> Node | None:
    """The key node naming the last element of `loc`, if the document spells it out."""
    parent = node_at(root, loc[:-1])
    if isinstance(parent, MappingNode):
        found = _mapping_entry(parent, loc[-1])
        if found is not None:
            return found[0]
    return None
