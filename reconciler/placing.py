"""Placing problems: the line and column of each in its file, found by composing (with positions)
only the files that have one, once each. Loaded only when there is a problem or a warning to show;
it needs the YAML parser but not pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml.nodes import Node, ScalarNode

from reconciler.errors import Diagnostic, Location
from reconciler.problems import Loc, Problem
from reconciler.yamlio import LineIndex, compose_documents, key_node_at, node_at

#: The longest value a "quote it" message repeats as the example of how to write it.
MAX_QUOTED_EXAMPLE = 100


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "" and node.style is None


def place_in_text(shown: str, text: str, problem: Problem) -> Diagnostic:
    """Place one problem found in `text` (read from `shown`)."""
    return Placer({shown: text}).place(problem)


class Placer:
    """Finds line and column for problems by composing the affected files once each."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = texts
        self._composed: dict[str, tuple[list[Node | None], list[tuple[int, int]]]] = {}
        self._line_indexes: dict[str, LineIndex] = {}

    def place(self, problem: Problem) -> Diagnostic:
        node = self._node(problem.path, problem.document, problem.loc, problem.at_key)
        message = problem.message
        if problem.related is not None:
            path, document, loc = problem.related
            line, col = self._position(path, document, self._node(path, document, loc, False))
            message = message.replace("{related}", f"{path}:{line}:{col}")
        if problem.quote_hint and problem.loc:
            spelt = self._scalar_text(problem)
            if len(spelt) <= MAX_QUOTED_EXAMPLE:  # a 5,000-digit number is not repeated
                message += f': {problem.loc[-1]}: "{spelt}"'
        line, col = self._position(problem.path, problem.document, node)
        return Diagnostic(Location(problem.path, line, col), message)

    def _node(self, path: str, document: int, loc: Loc, at_key: bool) -> Node | None:
        roots, _ = self._compose(path)
        root = roots[document] if document < len(roots) else None
        if root is None or _is_empty(root):
            return None  # an empty document: its '---' is the place to show
        if at_key:
            return key_node_at(root, loc) or node_at(root, loc[:-1])
        node = node_at(root, loc)
        if _is_empty(node) and loc:
            return key_node_at(root, loc) or node  # `key:` with nothing after it
        return node

    def _scalar_text(self, problem: Problem) -> str:
        """The value as the file spells it (`yes`, `1.10`), which is what quoting keeps."""
        roots, _ = self._compose(problem.path)
        root = roots[problem.document]
        node = node_at(root, problem.loc) if root is not None else None
        if isinstance(node, ScalarNode) and not _is_empty(node):
            return str(node.value).replace('"', '\\"')
        return ""

    def _position(self, path: str, document: int, node: Node | None) -> tuple[int, int]:
        if node is not None:
            return self._lines(path).position(node.start_mark.index)
        _, starts = self._compose(path)
        return starts[document] if document < len(starts) else (1, 1)

    def _lines(self, path: str) -> LineIndex:
        if path not in self._line_indexes:
            self._line_indexes[path] = LineIndex(self._texts[path])
        return self._line_indexes[path]

    def _compose(self, path: str) -> tuple[list[Node | None], list[tuple[int, int]]]:
        if path not in self._composed:
            self._composed[path] = compose_documents(self._texts[path])
        return self._composed[path]
