"""One manifest file read cold: parsed with the YAML parser, each document validated with its
kind's pydantic model into a Declared entry, or into problems to be placed.

Loaded only for a file the manifest cache does not answer for (manifest.py decides); a run whose
files are all cached never imports pydantic or ruamel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.declared import Declared
from reconciler.diagnostics import describe_validation_errors
from reconciler.errors import Diagnostic, Location
from reconciler.kinds import ALL_KINDS
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.problems import Problem, byte_position, close_match, kind_of
from reconciler.textsafe import quoted
from reconciler.variables import MARK, substitute
from reconciler.words import with_article
from reconciler.yamlio import (
    MAX_EXPANDED_NODES,
    UNREADABLE,
    YamlSyntaxError,
    expanded_size,
    load_documents,
)

if TYPE_CHECKING:
    from reconciler.manifest import ParsedFiles


@dataclass
class FileResult:
    """What checking one file gave: its valid documents, and its problems (to be placed) and
    diagnostics (placed already: the file's bytes or its YAML were not readable)."""

    declared: list[Declared] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The metadata.name of each document that did not validate, when it has one: an edge that
    #: names it is not told that it names nothing.
    invalid_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Parsed:
    """A file's documents as parsed, before any substitution or validation."""

    text: str | None
    documents: list[Any]
    diagnostics: list[Diagnostic]

    @property
    def has_variables(self) -> bool:
        return self.text is not None and MARK in self.text


def check_file(
    shown: str,
    data: bytes,
    values: Mapping[str, str] | None = None,
    cache: ParsedFiles | None = None,
) -> tuple[FileResult, str | None]:
    """A manifest file's documents validated (into `declared`, or `problems` and `diagnostics`),
    and its text when it decodes. `cache` keeps what does not depend on `values` for the next
    target of the same run."""
    key = (shown, data)
    parsed = cache.parsed.get(key) if cache is not None else None
    if parsed is None:
        parsed = parse_file(shown, data)
        if cache is not None:
            cache.parsed[key] = parsed
    substituting = values is not None and parsed.has_variables
    if cache is not None and not substituting:
        checked = cache.checked.get(key)
        if checked is None:
            checked = cache.checked[key] = _check_documents(shown, parsed, None)
    else:
        checked = _check_documents(shown, parsed, values if substituting else None)
    return checked, parsed.text


def parse_file(shown: str, data: bytes) -> Parsed:
    """The file's documents; an undecodable file or YAML errors are its diagnostics."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = byte_position(data, exc.start)
        return Parsed(
            None,
            [],
            [
                Diagnostic(
                    Location(shown, line, col),
                    f"invalid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
                )
            ],
        )
    text = text.removeprefix("\ufeff")
    diagnostics: list[Diagnostic] = []
    try:
        documents = load_documents(text)
    except YamlSyntaxError as exc:
        # The documents before the error (and after it, when it is in one document's content)
        # are still checked: every problem is found in one run.
        for error in (exc, *exc.more):
            diagnostics.append(Diagnostic(Location(shown, error.line, error.col), error.message))
        documents = exc.documents
    else:
        if not documents:
            diagnostics.append(
                Diagnostic(
                    Location(shown, 1, 1),
                    "the file holds no manifest; add one or delete it",
                )
            )
    return Parsed(text, documents, diagnostics)


def _check_documents(shown: str, parsed: Parsed, values: Mapping[str, str] | None) -> FileResult:
    result = FileResult(diagnostics=list(parsed.diagnostics))
    may_alias = parsed.text is not None and "*" in parsed.text
    for index, document in enumerate(parsed.documents):
        if document is UNREADABLE:
            continue
        # An alias bomb is left to _check_document to report, unexpanded.
        if values is not None and not (may_alias and expanded_size(document) is None):
            document, unknown = substitute(document, values)
            if unknown:
                # Validating the unsubstituted text would only add confusing problems.
                result.problems.extend(Problem(shown, index, loc, m) for loc, m in unknown)
                continue
        _check_document(shown, index, document, may_alias, result)
    return result


def _check_document(
    shown: str, index: int, document: Any, may_alias: bool, result: FileResult
) -> None:
    """Validate one document: into `result.declared`, or its problems into `result.problems`."""
    if document is None:
        message = "empty document where a manifest is expected; remove the extra '---'"
    elif not isinstance(document, dict):
        message = (
            "a manifest must be a mapping with apiVersion, kind, metadata and spec, "
            f"not {kind_of(document)}"
        )
    elif may_alias and expanded_size(document) is None:
        message = (
            f"YAML aliases expand this document beyond {MAX_EXPANDED_NODES:,} values "
            "(or refer to themselves); write the values out instead"
        )
    else:
        _validate_document(shown, index, document, result)
        return
    result.problems.append(Problem(shown, index, (), message))


def _validate_document(
    shown: str, index: int, document: dict[str, Any], result: FileResult
) -> None:
    duplicate_tags = _duplicate_tag_keys(shown, index, document)
    result.problems.extend(duplicate_tags)
    kind = document.get("kind")
    manifest_kind = MANIFEST_KINDS.get(kind) if isinstance(kind, str) else None
    if manifest_kind is None:
        result.problems.extend(_unknown_kind(shown, index, document))
        result.invalid_names.extend(_name_of(document))
        return
    try:
        manifest_kind.model.model_validate(document)
    except ValidationError as exc:
        problems = describe_validation_errors(shown, index, exc.errors(), manifest_kind.model)
        result.problems.extend(problems)
        result.invalid_names.extend(_name_of(document))
        return
    if duplicate_tags:
        result.invalid_names.extend(_name_of(document))
        return
    # The model has done its job (validation); keeping it would double the memory held.
    name = document["metadata"]["name"]
    spec = document["spec"]
    spelt = manifest_kind.name_field is not None and spec.get(manifest_kind.name_field) is not None
    canonical = manifest_kind.canonical(name, spec)
    result.declared.append(Declared(name, shown, index, canonical, spelt, manifest_kind.kind))


def _name_of(document: dict[str, Any]) -> list[str]:
    """The document's metadata.name, if it has a string there."""
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return [name] if isinstance(name, str) else []


def _unknown_kind(shown: str, index: int, document: dict[str, Any]) -> list[Problem]:
    """A `kind` that is missing or not one of ALL_KINDS, and the document's other problems as
    the kind it most likely meant (a close spelling, or what its spec looks like)."""
    kind = document.get("kind")
    meant = _meant_kind(kind, document.get("spec"))
    if "kind" not in document:
        message = "the manifest: missing required field 'kind'"
        if meant is not None:
            message += f"; its spec is that of {with_article(meant)}: add 'kind: {meant}'"
        problems = [Problem(shown, index, (), message)]
    else:
        expected = ", ".join(f"'{k}'" for k in ALL_KINDS[:-1]) + f" or '{ALL_KINDS[-1]}'"
        given = kind_of(kind) if isinstance(kind, (list, dict)) or kind is None else quoted(kind)
        message = f"kind must be {expected}, not {given}"
        if meant is not None and isinstance(kind, str):
            message += f" (did you mean '{meant}'?)"
        problems = [Problem(shown, index, ("kind",), message)]
    if meant is None:
        return problems
    model = MANIFEST_KINDS[meant].model
    try:
        model.model_validate({**document, "kind": meant})
    except ValidationError as exc:
        problems += describe_validation_errors(shown, index, exc.errors(), model)
    return problems


def _meant_kind(kind: Any, spec: Any) -> str | None:
    """The kind a misspelt `kind` is closest to, else the kind whose spec fields `spec` has."""
    if isinstance(kind, str):
        close = close_match(kind, list(ALL_KINDS))
        if close is not None:
            return close
    if isinstance(spec, dict):
        for manifest_kind in MANIFEST_KINDS.values():
            if manifest_kind.marker in spec:
                return manifest_kind.kind
    return None


def _duplicate_tag_keys(shown: str, index: int, document: dict[str, Any]) -> list[Problem]:
    """Tags is a list on the wire, but two entries with one key would silently overwrite."""
    spec = document.get("spec")
    tags = spec.get("Tags") if isinstance(spec, dict) else None
    if not isinstance(tags, list):
        return []
    problems = []
    seen: dict[str, int] = {}
    for position, tag in enumerate(tags):
        key = tag.get("Key") if isinstance(tag, dict) else None
        if not isinstance(key, str):
            continue
        if key in seen:
            problems.append(
                Problem(
                    shown,
                    index,
                    ("spec", "Tags", position, "Key"),
                    f"duplicate tag key '{key}' (first in tag {seen[key] + 1})",
                )
            )
        else:
            seen[key] = position
    return problems
