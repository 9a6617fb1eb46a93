"""Manifests on disk → validated models → the desired state.

The normal path parses with the C-backed loader and validates with pydantic, keeping no positions.
Only when something is wrong is the offending file read again, slowly, to find where.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.cache import CachedDocument, ManifestCache
from reconciler.crossrules import check_across
from reconciler.declared import Declared, DesiredState
from reconciler.diagnostics import (
    Placer,
    Problem,
    byte_position,
    close_match,
    describe_validation_errors,
    display_path,
    kind_of,
)
from reconciler.errors import Diagnostic, Location, ManifestError, ReconcilerError
from reconciler.kinds import ALL_KINDS
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.memory import paused_gc
from reconciler.textsafe import visible
from reconciler.variables import MARK, substitute
from reconciler.words import with_article
from reconciler.yamlio import (
    MAX_EXPANDED_NODES,
    UNREADABLE,
    YamlSyntaxError,
    expanded_size,
    load_documents,
)

MANIFEST_SUFFIXES = (".yaml", ".yml")

__all__ = ["Declared", "DesiredState", "ParsedFiles", "load_manifests", "load_target_manifests"]


@dataclass
class _FileResult:
    declared: list[Declared] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The metadata.name of each document that did not validate, when it has one: an edge that
    #: names it is not told that it names nothing.
    invalid_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Parsed:
    """A file's documents as parsed, before any substitution or validation."""

    text: str | None
    documents: list[Any]
    diagnostics: list[Diagnostic]

    @property
    def has_variables(self) -> bool:
        return self.text is not None and MARK in self.text


@dataclass
class ParsedFiles:
    """Files read for one target, kept for the next in the same run: each file is parsed once,
    and one without `${` is validated once (its result does not depend on the target). Keyed by
    the path shown and the file's bytes, so a changed file is never served stale."""

    parsed: dict[tuple[str, bytes], _Parsed] = field(default_factory=dict)
    checked: dict[tuple[str, bytes], _FileResult] = field(default_factory=dict)


def find_manifest_files(directory: Path) -> tuple[list[Path], list[Diagnostic]]:
    """Every manifest below `directory` (suffix .yaml or .yml in any case), sorted by its path
    relative to it, and a problem for each symbolic link refused (reported together with the
    problems of the files found). Symbolic links are followed within the repository and refused
    when they lead out of it: a checkout should not read the files of the machine it runs on."""
    if not directory.is_dir():
        if directory.exists():
            raise ReconcilerError(
                f"the manifests path '{directory}' is a file, not a directory; point "
                "--manifests (or 'manifests' in reconciler.yaml) at the directory that holds it"
            )
        raise ReconcilerError(
            f"the manifests directory '{directory}' does not exist; "
            "create it or point --manifests (or 'manifests' in reconciler.yaml) at it"
        )
    found, refused = _walk(directory, _repository_root(directory))
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix()), refused


def _repository_root(directory: Path) -> Path:
    """The nearest ancestor holding .git, else the manifests directory itself (resolved)."""
    absolute = directory.absolute()
    for candidate in (absolute, *absolute.parents):
        if (candidate / ".git").exists():
            return candidate.resolve()
    return directory.resolve()


def _walk(directory: Path, root: Path) -> tuple[list[Path], list[Diagnostic]]:
    found: list[Path] = []
    refused: list[Diagnostic] = []
    shown_directory = display_path(directory)
    allowed = (root, directory.resolve())
    visited = {directory.resolve()}  # each directory is read once, however it is reached
    pending = [directory]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                path = current / entry.name
                is_manifest = os.path.splitext(entry.name)[1].lower() in MANIFEST_SUFFIXES
                if not entry.is_symlink():
                    if entry.is_dir(follow_symlinks=False) and _first_visit(path, visited):
                        pending.append(path)
                    elif is_manifest and entry.is_file(follow_symlinks=False):
                        found.append(path)
                    continue
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):  # a loop of links
                    refused.append(_link_problem(directory, shown_directory, path, LINK_LOOP))
                    continue
                if not (is_manifest or target.is_dir()):
                    continue
                if not any(target.is_relative_to(base) for base in allowed):
                    why = f"a symbolic link to {visible(str(target))}, {LINK_OUTSIDE}"
                    refused.append(_link_problem(directory, shown_directory, path, why))
                elif target.is_dir():
                    if _first_visit(target, visited):
                        pending.append(path)
                elif target.is_file():
                    found.append(path)
                else:
                    why = f"a symbolic link to {visible(str(target))}, {LINK_NOWHERE}"
                    refused.append(_link_problem(directory, shown_directory, path, why))
    return found, refused


def _first_visit(directory: Path, visited: set[Path]) -> bool:
    resolved = directory.resolve()
    if resolved in visited:
        return False
    visited.add(resolved)
    return True


LINK_OUTSIDE = "outside the repository; copy what it points to into the repository instead"
LINK_NOWHERE = "which does not exist; remove the link or restore its target"
LINK_LOOP = "a loop of symbolic links; remove the link"


def _link_problem(directory: Path, shown_directory: str, link: Path, why: str) -> Diagnostic:
    relative = link.relative_to(directory).as_posix()
    shown = relative if shown_directory == "." else f"{shown_directory}/{relative}"
    return Diagnostic(Location(shown, 1, 1), why)


def load_manifests(directory: Path, disk: ManifestCache | None = None) -> DesiredState:
    """Read and validate every manifest below `directory`; raise ManifestError with all problems.

    With `disk` (the cache in .reconciler/), a file whose bytes it knows is not parsed again.
    """
    return _loading((directory,), None, None, disk)


def load_target_manifests(
    directories: Sequence[Path],
    values: Mapping[str, str],
    cache: ParsedFiles | None = None,
    disk: ManifestCache | None = None,
) -> DesiredState:
    """The manifests of a target: every directory in order, `${...}` in string values replaced by
    `values` before validation. The digest covers the variables too."""
    return _loading(tuple(directories), values, cache or ParsedFiles(), disk)


def _loading(
    directories: tuple[Path, ...],
    values: Mapping[str, str] | None,
    cache: ParsedFiles | None,
    disk: ManifestCache | None,
) -> DesiredState:
    try:
        with paused_gc():
            return _load_manifests(directories, values, cache, disk)
    finally:
        if disk is not None:
            disk.save()  # the valid files, even when others have problems


def _load_manifests(
    directories: tuple[Path, ...],
    values: Mapping[str, str] | None,
    cache: ParsedFiles | None,
    disk: ManifestCache | None = None,
) -> DesiredState:
    digest = hashlib.sha256()
    declared: list[Declared] = []
    invalid_names: list[str] = []
    problems: list[Problem] = []
    diagnostics: list[Diagnostic] = []
    texts = _Texts()
    seen: set[Path] = set()
    count = 0
    for position, directory in enumerate(directories):
        files, refused = find_manifest_files(directory)
        diagnostics.extend(refused)
        shown_directory = display_path(directory)
        if values is not None:
            digest.update(f"{position}\0".encode())
        for path in files:
            if len(directories) > 1:
                resolved = path.resolve()
                if resolved in seen:
                    continue  # a directory listed inside another: read each file once
                seen.add(resolved)
            count += 1
            relative = path.relative_to(directory).as_posix()
            shown = relative if shown_directory == "." else f"{shown_directory}/{relative}"
            data = path.read_bytes()
            file_hash = hashlib.sha256(data).digest()
            digest.update(relative.encode() + b"\0")
            digest.update(file_hash)
            # A file with variables validates differently per target: never kept on disk.
            cacheable = disk is not None and (values is None or b"${" not in data)
            cached = disk.documents(file_hash.hex()) if disk is not None and cacheable else None
            texts.locate(shown, path, file_hash)
            if cached is not None:
                declared.extend(
                    Declared(d.name, shown, d.index, d.spec, d.spells_name, d.kind) for d in cached
                )
                continue
            result = _load_file(shown, data, texts, values, cache)
            declared.extend(result.declared)
            problems.extend(result.problems)
            invalid_names.extend(result.invalid_names)
            diagnostics.extend(result.diagnostics)
            if disk is not None and cacheable and not (result.problems or result.diagnostics):
                disk.store(file_hash.hex(), [_cached(item) for item in result.declared])
    if values is not None:
        for name, value in sorted(values.items()):
            digest.update(f"{name}\0{value}\0".encode())

    placer = Placer(texts)
    by_kind, across = check_across(declared, set(invalid_names))
    problems.extend(across)
    diagnostics.extend(placer.place(problem) for problem in problems if not problem.warning)
    warnings = sorted(placer.place(problem) for problem in problems if problem.warning)
    if diagnostics:
        raise ManifestError(diagnostics, warnings=warnings)
    return DesiredState(
        declared=by_kind,
        digest=digest.hexdigest(),
        files=count,
        warnings=tuple(warnings),
    )


def _cached(item: Declared) -> CachedDocument:
    return CachedDocument(item.document, item.name, item.spells_name, item.spec, item.kind)


class _Texts(Mapping[str, str]):
    """The text of each manifest file by its shown path: the texts of files with problems are
    kept; another file (valid, or answered by the disk cache) is read again only if a problem
    elsewhere points into it (a duplicate's first place), and refused if it changed meanwhile.
    Keeping every text would hold the whole repository in memory for nothing."""

    def __init__(self) -> None:
        self._kept: dict[str, str] = {}
        self._files: dict[str, tuple[Path, bytes]] = {}

    def locate(self, shown: str, path: Path, file_hash: bytes) -> None:
        self._files[shown] = (path, file_hash)

    def keep(self, shown: str, text: str) -> None:
        self._kept[shown] = text

    def __getitem__(self, shown: str) -> str:
        if shown not in self._kept:
            path, file_hash = self._files[shown]
            data = path.read_bytes()
            if hashlib.sha256(data).digest() != file_hash:
                raise ReconcilerError(
                    f"{shown} changed while reconciler was reading the manifests; run it again"
                )
            self._kept[shown] = data.decode("utf-8").removeprefix("\ufeff")
        return self._kept[shown]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kept.keys() | self._files.keys())

    def __len__(self) -> int:
        return len(self._kept.keys() | self._files.keys())


def _load_file(
    shown: str,
    data: bytes,
    texts: _Texts,
    values: Mapping[str, str] | None = None,
    cache: ParsedFiles | None = None,
) -> _FileResult:
    key = (shown, data)
    parsed = cache.parsed.get(key) if cache is not None else None
    if parsed is None:
        parsed = _parse_file(shown, data)
        if cache is not None:
            cache.parsed[key] = parsed
    substituting = values is not None and parsed.has_variables
    if cache is not None and not substituting:
        checked = cache.checked.get(key)
        if checked is None:
            checked = cache.checked[key] = _check_documents(shown, parsed, None)
    else:
        checked = _check_documents(shown, parsed, values if substituting else None)
    if parsed.text is not None and checked.problems:
        texts.keep(shown, parsed.text)  # the others are read again if a problem points there
    return checked


def _parse_file(shown: str, data: bytes) -> _Parsed:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = byte_position(data, exc.start)
        return _Parsed(
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
    return _Parsed(text, documents, diagnostics)


def _check_documents(shown: str, parsed: _Parsed, values: Mapping[str, str] | None) -> _FileResult:
    result = _FileResult(diagnostics=list(parsed.diagnostics))
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
    shown: str, index: int, document: Any, may_alias: bool, result: _FileResult
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
    shown: str, index: int, document: dict[str, Any], result: _FileResult
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
        given = kind_of(kind) if isinstance(kind, (list, dict)) or kind is None else repr(kind)
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
