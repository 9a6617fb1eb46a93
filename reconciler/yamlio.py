"""Reading YAML: a fast C-backed path normally; positions only when an error needs them."""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, SafeConstructor
from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import Resolver
from ruamel.yaml.tag import Tag

#: Above this many values after alias expansion, a document is refused (a "billion laughs" guard).
#: Real manifests have a few dozen.
MAX_EXPANDED_NODES = 10_000


class YamlSyntaxError(Exception):
    """A YAML error with a 1-based position, and the documents read before it."""

    def __init__(
        self, message: str, line: int, col: int, documents: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        #: The documents complete before the error, so that they can still be checked (and,
        #: after an error in one document's content, those after it, UNREADABLE for that one).
        self.documents: list[Any] = documents or []
        #: The errors of later documents, when those could be read on their own.
        self.more: list[YamlSyntaxError] = []


class LineIndex:
    """Line and column of a character offset, counting only "\\n" as a line break.

    YAML 1.1 readers (both of ruamel's) also break lines at NEL, U+2028 and U+2029, and so
    number lines differently from editors, GitHub and grep; offsets are what they agree on.
    """

    def __init__(self, text: str) -> None:
        starts = [0]
        found = text.find("\n")
        while found != -1:
            starts.append(found + 1)
            found = text.find("\n", found + 1)
        self._starts = starts

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of the character at `index`."""
        line = bisect.bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1


class HugeInteger(float):
    """An integer with more digits than Python converts to int (4,300). It stands in as a number
    (infinite), so that validation says of it what it says of any number; it equals only itself,
    so that two of them are not duplicate keys."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other


class _Constructor(SafeConstructor):
    """ruamel's safe constructor, with YAML's view of numbers and keys rather than Python's."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """A scalar its explicit tag cannot read (`!!float x`, `!!bool maybe`) is a positioned
        problem, not whatever the tag's converter happens to raise."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError, OverflowError, ConstructorError) as exc:
            unknown_tag = isinstance(exc, ConstructorError) and "could not determine a" in str(
                exc.problem
            )  # a refused tag keeps its own message
            if not isinstance(node, ScalarNode) or unknown_tag:
                raise
            raise _unreadable_scalar(node) from exc

    def construct_huge_int(self, node: ScalarNode) -> Any:
        try:
            return self.construct_yaml_int(node)
        except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
            if not str(node.value).lstrip("+-").replace("_", "").isdigit():
                raise
            return HugeInteger("inf")

    def check_mapping_key(
        self, node: Node, key_node: Node, mapping: Any, key: Any, value: Any
    ) -> bool:
        """1, 1.0 and true are equal in Python, but not the same YAML key."""
        if key in mapping and not _same_key_in(mapping, key):
            return True
        return bool(super().check_mapping_key(node, key_node, mapping, key, value))


def _unreadable_scalar(node: ScalarNode) -> ConstructorError:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    return ConstructorError(
        None,
        None,
        f"this value cannot be read as {tag}; "
        "remove the tag, or quote the value to keep it as a string",
        node.start_mark,
    )


def _same_key_in(mapping: Any, key: Any) -> bool:
    return any(type(known) is type(key) for known in mapping if known == key)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_huge_int)


class _Yaml12Resolver(Resolver):
    """YAML 1.2's implicit types, decided once.

    `YAML(typ="safe")` resolves with ruamel's VersionedResolver, which on the C parser asks for the
    document's version on every scalar (raising and catching two AttributeErrors each time) and
    never sees a %YAML directive there anyway: it always ends at 1.2. This gives the same answers
    (the same resolvers, and 1.2 for the constructors that ask) without the cost.
    """

    processing_version = (1, 2)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """Resolver.resolve, with the candidates for each first character merged once and one
        Tag object per tag (the C composer calls this for every node). There are no path
        resolvers: an untagged node's tag depends on its kind and, for a plain scalar, its
        value."""
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        if kind is MappingNode:
            return self.DEFAULT_MAPPING_TAG
        return self.DEFAULT_SEQUENCE_TAG

    # Without path resolvers, the C composer's calls on entering and leaving each collection do
    # nothing: builtins that do nothing cost less than Python methods that return at once.
    descend_resolver = operator.is_  # type: ignore[assignment]  # called (parent, index)
    ascend_resolver = tuple  # type: ignore[assignment]  # called ()


def _implicit_resolvers() -> dict[str, tuple[tuple[Tag, Any], ...]]:
    """What Resolver.resolve tries for a plain scalar, by its first character ("" when empty)."""
    table = _Yaml12Resolver.yaml_implicit_resolvers
    anywhere = table.get(None, [])
    tags: dict[str, Tag] = {}
    return {
        first: tuple(
            (tags.setdefault(tag, Tag(suffix=tag)), regexp) for tag, regexp in [*found, *anywhere]
        )
        for first, found in table.items()
        if first is not None
    }


_IMPLICIT = _implicit_resolvers()
if _Yaml12Resolver.yaml_path_resolvers:  # pragma: no cover - ruamel adds none to the safe set
    raise RuntimeError("path resolvers would be ignored by _Yaml12Resolver")


class _FastLoader(CParser, _Constructor, _Yaml12Resolver):  # type: ignore[misc]
    """The C parser with the safe constructor (plain data only: a tag naming a Python object is
    an error, never a call), built once rather than per stream as `YAML.load_all` does."""

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        self._parser = self._composer = self
        _Constructor.__init__(self, loader=self)
        self.allow_duplicate_keys = False
        _Yaml12Resolver.__init__(self, loadumper=self)

    def build_document(self, node: Node) -> Any:
        """The document's data, as construct_document makes it (and just as it fails)."""
        try:
            return self._build(node, 0, set())
        except Exception:  # whatever it is, the general constructor says it as ruamel does
            self._forget()
            return self.construct_document(node)
        finally:
            self._forget()

    def _forget(self) -> None:
        """The constructor's state between documents (a failed construction leaves some)."""
        self.constructed_objects = {}
        self.recursive_objects = {}
        self.state_generators = []
        self.deep_construct = False

    def _build(self, node: Node, depth: int, collections: set[int]) -> Any:
        """The plain shape of a manifest (untagged mappings with string keys, sequences,
        scalars), built directly rather than through the constructor's generic machinery (half
        the cost of loading). Any other shape raises _General: an alias to a collection (so that
        shared values stay shared), a merge key, a non-string key, a key given twice, deep
        nesting; a scalar other than a plain string goes through the constructor."""
        kind = node.__class__
        if kind is ScalarNode:
            if node.ctag is _STR:
                return node.value
            return self.construct_object(node)
        if depth > _BUILD_MAX_DEPTH or id(node) in collections:
            raise _General
        collections.add(id(node))
        if kind is MappingNode and node.ctag is _MAP:
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not ScalarNode or key_node.ctag is not _STR:
                    raise _General
                key = key_node.value
                if key in mapping:
                    raise _General
                mapping[key] = self._build(value_node, depth + 1, collections)
            return mapping
        if kind is SequenceNode and node.ctag is _SEQ:
            return [self._build(item, depth + 1, collections) for item in node.value]
        raise _General


class _General(Exception):
    """A document the direct build leaves to the general constructor."""


_STR = _FastLoader.DEFAULT_SCALAR_TAG
_MAP = _FastLoader.DEFAULT_MAPPING_TAG
_SEQ = _FastLoader.DEFAULT_SEQUENCE_TAG
#: Deeper than this, the general constructor decides (and reports RecursionError as it does).
_BUILD_MAX_DEPTH = 50


def _fast_documents(text: str) -> Iterator[Any]:
    loader = _FastLoader(text)
    try:
        while loader.check_node():
            yield loader.build_document(loader.get_node())
    finally:
        loader.dispose()
        # The loader refers to itself (as parser, composer, constructor and resolver): without
        # this, each file's loader would wait for the cyclic collector, paused while loading.
        loader.__dict__.clear()


#: Deeper than this, the C parser is not trusted: it recurses on the C stack and crashes the
#: process (a segmentation fault at about 30,000 levels) where Python would raise RecursionError.
C_PARSER_MAX_DEPTH = 1_000


def load_documents(text: str) -> list[Any]:
    """Parse every document of a YAML stream, raising YamlSyntaxError with a position.

    The error carries the documents read: those before it and, when the error is in one
    document's content (a duplicate key, a refused tag) rather than in the stream, those after
    it, with UNREADABLE in place of each that failed; and the errors of those later ones.
    """
    documents: list[Any] = []
    errors: list[YamlSyntaxError] = []
    lines: LineIndex | None = None
    base = 0  # where the part being read starts
    while True:
        part = text[base:] if base else text
        loaded, error, recoverable = _load_stream(part)
        documents.extend(loaded)
        if error is None:
            break
        if base:
            lines = lines or LineIndex(text)
            error.line += lines.position(base)[0] - 1  # a later part starts a line ('---')
        errors.append(error)
        next_start = _document_start(part, len(loaded) + 1) if recoverable else None
        if next_start is None:
            break
        documents.append(UNREADABLE)
        base += next_start
    if not errors:
        return documents
    first = errors[0]
    first.documents = documents
    first.more = errors[1:]
    raise first


#: Stands for a document that could not be read (its error is reported), keeping the indices of
#: the documents after it.
UNREADABLE = object()


def _load_stream(text: str) -> tuple[list[Any], YamlSyntaxError | None, bool]:
    """The documents read, the error that stopped the reading, and whether the documents after
    the one that failed can still be read (the error is in its content, not in the stream)."""
    if _nesting_bound(text) < C_PARSER_MAX_DEPTH:
        stream = _fast_documents(text)
    else:
        stream = _safe_pure_loader().load_all(text)
    documents: list[Any] = []
    try:
        for document in stream:
            documents.append(document)
    except (ConstructorError, DuplicateKeyError, ComposerError) as exc:
        return documents, _positioned(exc, text), True
    except MarkedYAMLError as exc:
        return documents, _positioned(exc, text), False
    except ReaderError as exc:
        return documents, _unreadable_character(exc, text), False
    except YAMLError as exc:
        return documents, YamlSyntaxError(" ".join(str(exc).split()), 1, 1), False
    except RecursionError:
        return documents, YamlSyntaxError("the document is nested too deeply to read", 1, 1), False
    return documents, None, False


def _document_start(text: str, number: int) -> int | None:
    """Where the document of index `number` starts, or None (no such document, or the stream
    breaks before it)."""
    seen = 0
    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            if isinstance(event, DocumentStartEvent):
                if seen == number:
                    return int(event.start_mark.index)
                seen += 1
    except YAMLError:
        return None
    return None


def _unreadable_character(exc: ReaderError, text: str) -> YamlSyntaxError:
    """A character YAML does not allow in a file (a control character, say), named by its code
    point: the raw character would act on the terminal or the CI log that shows the message."""
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    line, col = LineIndex(text).position(exc.position)
    message = (
        f"the character U+{code:04X} is not allowed in YAML; remove it, or write it as an "
        f'escape inside a double-quoted string ("\\u{code:04x}")'
    )
    return YamlSyntaxError(message, line, col)


def _safe_pure_loader() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _Constructor
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
    lines = LineIndex(text)
    if problem.startswith("could not determine a constructor for the tag"):
        tag = problem.rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
        message = f"the YAML tag '{tag}' is not allowed: manifests hold plain data only"
    elif problem.startswith("found duplicate key"):
        # ruamel says: found duplicate key "a" with value "2" (original value: "1")
        key = problem.split('"')[1] if '"' in problem else "?"
        message = f"duplicate key '{key}'"
        if exc.context_mark is not None:
            message += f" (first at line {lines.position(exc.context_mark.index)[0]})"
    elif mark is not None and _char_at(text, mark.index) == "\t":
        message = "a tab character where YAML needs spaces; indent with spaces"
    elif mark is not None and _after_long_key(text, mark.index, problem):
        message = (
            f"a key longer than {SIMPLE_KEY_MAX:,} characters must use YAML's explicit form: "
            "'? ' and the key on one line, ': ' and the value on the next"
        )
    elif problem and context:
        message = f"{context}: {problem}"
        if "expected key" in problem or "expected <block end>" in problem:
            message += " (check the indentation of this line and the one above)"
    else:
        message = problem or context or "invalid YAML"
    if mark is None:
        return YamlSyntaxError(message, 1, 1)
    return YamlSyntaxError(
        message + _separator_note(text, mark.index, lines), *lines.position(mark.index)
    )


#: Characters YAML 1.1 readers (ruamel's) take as line breaks, where editors and GitHub do not.
UNUSUAL_LINE_BREAKS = {"\x85": "NEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def _separator_note(text: str, index: int, lines: LineIndex) -> str:
    """Name an unusual line break before an error: it often is the cause, and it is invisible."""
    found = [text.rfind(char, 0, index + 1) for char in UNUSUAL_LINE_BREAKS]
    last = max(found)
    if last < 0:
        return ""
    name = UNUSUAL_LINE_BREAKS[text[last]]
    line, col = lines.position(last)
    return (
        f" (line {line}, column {col} holds U+{ord(text[last]):04X} {name}, which YAML reads "
        "as a line break; replace it with a space or a real line break)"
    )


#: YAML limits an implicit ("simple") key to this many characters.
SIMPLE_KEY_MAX = 1024


def _after_long_key(text: str, index: int, problem: str) -> bool:
    """Whether the error is the ':' after a plain key too long for YAML's simple-key limit."""
    if not problem.startswith("mapping values are not allowed"):
        return False
    line_start = text.rfind("\n", 0, index) + 1
    key = text[line_start:index].strip().lstrip("-").strip()
    return len(key) > SIMPLE_KEY_MAX


def _char_at(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


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


def compose_documents(text: str) -> tuple[list[Node | None], list[tuple[int, int]]]:
    """The node trees of every document, with positions, and where each document starts.

    Slow path: used to place errors. Built from the parser's events with an explicit stack, so
    that no nesting depth can exhaust Python's recursion limit (ruamel's composer recurses). A
    syntax error ends the stream: the documents before it are still returned.
    """
    lines = LineIndex(text)
    roots: list[Node | None] = []
    starts: list[tuple[int, int]] = []
    anchors: dict[str, Node] = {}
    stack: list[Node] = []
    pending_key: list[Node | None] = []
    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            if isinstance(event, DocumentStartEvent):
                starts.append(lines.position(event.start_mark.index))
                anchors.clear()
                continue
            if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                node = stack.pop()
                pending_key.pop()
                node.end_mark = event.end_mark
            else:
                opened = _node_for(event, anchors)
                if opened is None:
                    continue
                if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                    stack.append(opened)
                    pending_key.append(None)
                    continue
                node = opened
            _attach(node, stack, pending_key, roots)
    except YAMLError:
        pass
    return roots, starts


def _node_for(event: Event, anchors: dict[str, Node]) -> Node | None:
    """The node an event opens or stands for (None for structural events)."""
    node: Node
    if isinstance(event, AliasEvent):
        target = anchors.get(str(event.anchor))
        return target or ScalarNode("", "", event.start_mark, event.end_mark)
    if isinstance(event, ScalarEvent):
        node = ScalarNode(
            event.tag, event.value, event.start_mark, event.end_mark, style=event.style
        )
    elif isinstance(event, MappingStartEvent):
        node = MappingNode(event.tag, [], event.start_mark, event.end_mark, event.flow_style)
    elif isinstance(event, SequenceStartEvent):
        node = SequenceNode(event.tag, [], event.start_mark, event.end_mark, event.flow_style)
    else:
        return None
    if event.anchor is not None:
        anchors[str(event.anchor)] = node
    return node


def _attach(
    node: Node, stack: list[Node], pending_key: list[Node | None], roots: list[Node | None]
) -> None:
    """Add a finished node to its parent (a mapping takes a key, then its value)."""
    if not stack:
        roots.append(node)
        return
    parent = stack[-1]
    if isinstance(parent, SequenceNode):
        parent.value.append(node)
    elif pending_key[-1] is None:
        pending_key[-1] = node
    else:
        parent.value.append((pending_key[-1], node))
        pending_key[-1] = None


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
