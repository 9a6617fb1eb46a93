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
from reconciler.diagnostics import (
    Loc,
    Placer,
    Problem,
    byte_position,
    describe_validation_errors,
    display_path,
    kind_of,
)
from reconciler.errors import Diagnostic, Location, ManifestError, ReconcilerError
from reconciler.memory import paused_gc
from reconciler.models import Manifest, canonical
from reconciler.textsafe import visible
from reconciler.variables import MARK, substitute
from reconciler.yamlio import (
    MAX_EXPANDED_NODES,
    UNREADABLE,
    YamlSyntaxError,
    expanded_size,
    load_documents,
)

MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Declared:
    """One validated manifest, canonical, and where it was declared."""

    name: str
    path: str
    document: int
    spec: dict[str, Any]
    #: Whether spec.ArtifactName is spelt out (else it defaults to the name), to point at it.
    names_artifact: bool


@dataclass(frozen=True)
class DesiredState:
    """Every declared artifact, by metadata.name, and a digest of the files they came from."""

    artifacts: dict[str, Declared]
    digest: str
    files: int = 0
    #: Problems that do not make the manifests invalid (a repeated ArtifactName).
    warnings: tuple[Diagnostic, ...] = ()

    def specs(self) -> dict[str, dict[str, Any]]:
        return {name: declared.spec for name, declared in self.artifacts.items()}


@dataclass
class _FileResult:
    declared: list[Declared] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


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
            if cached is not None:
                texts.locate(shown, path, file_hash)
                declared.extend(
                    Declared(d.name, shown, d.index, d.spec, d.names_artifact) for d in cached
                )
                continue
            result = _load_file(shown, data, texts, values, cache)
            declared.extend(result.declared)
            problems.extend(result.problems)
            diagnostics.extend(result.diagnostics)
            if disk is not None and cacheable and not (result.problems or result.diagnostics):
                disk.store(file_hash.hex(), [_cached(item) for item in result.declared])
    if values is not None:
        for name, value in sorted(values.items()):
            digest.update(f"{name}\0{value}\0".encode())

    placer = Placer(texts)
    by_name, duplicates = _index_unique(declared)
    problems.extend(duplicates)
    diagnostics.extend(placer.place(problem) for problem in problems if not problem.warning)
    warnings = sorted(placer.place(problem) for problem in problems if problem.warning)
    if diagnostics:
        raise ManifestError(diagnostics, warnings=warnings)
    return DesiredState(
        artifacts=by_name,
        digest=digest.hexdigest(),
        files=count,
        warnings=tuple(warnings),
    )


def _cached(item: Declared) -> CachedDocument:
    return CachedDocument(item.document, item.name, item.names_artifact, item.spec)


class _Texts(Mapping[str, str]):
    """The text of each manifest file by its shown path: files parsed this run are kept; a file
    answered by the disk cache is read again only if a problem elsewhere points into it (a
    duplicate's first place), and refused if it changed meanwhile."""

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
    if parsed.text is not None:
        texts.keep(shown, parsed.text)
    substituting = values is not None and parsed.has_variables
    if cache is not None and not substituting:
        checked = cache.checked.get(key)
        if checked is None:
            checked = cache.checked[key] = _check_documents(shown, parsed, None)
        return checked
    return _check_documents(shown, parsed, values if substituting else None)


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
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as exc:
        result.problems.extend(describe_validation_errors(shown, index, exc.errors()))
        return
    if duplicate_tags:
        return
    # The model has done its job (validation); keeping it would double the memory held.
    name = manifest.metadata.name
    spec = document["spec"]
    artifact_named = spec.get("ArtifactName") is not None
    result.declared.append(Declared(name, shown, index, canonical(name, spec), artifact_named))


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


def _index_unique(
    declared: list[Declared],
) -> tuple[dict[str, Declared], list[Problem]]:
    """Index by metadata.name; report a second use of a name or of a whole Source (errors), or
    of an ArtifactName (a warning: the service does not enforce it)."""
    problems: list[Problem] = []
    by_name: dict[str, Declared] = {}
    by_artifact_name: dict[str, Declared] = {}
    by_source: dict[tuple[Any, ...], Declared] = {}
    for item in declared:
        first = by_name.get(item.name)
        if first is not None:
            problems.append(_duplicate(item, first, ("metadata", "name"), "metadata.name"))
            continue
        by_name[item.name] = item
        first = by_source.setdefault(_source_key(item.spec["Source"]), item)
        if first is not item:
            problems.append(_duplicate(item, first, ("spec", "Source", "SourceUri"), "Source"))
        first = by_artifact_name.setdefault(item.spec["ArtifactName"], item)
        if first is not item:
            problems.append(_duplicate(item, first, _artifact_name_loc(item), "ArtifactName"))
    return by_name, problems


def _source_key(source: dict[str, Any]) -> tuple[Any, ...]:
    """The service keeps one artifact per whole Source: its URI and its (canonical, sorted)
    SourceTypes."""
    types = tuple((t["SourceIdType"], t["Value"]) for t in source.get("SourceTypes", ()))
    return (source["SourceUri"], types)


def _artifact_name_loc(item: Declared) -> Loc:
    if not item.names_artifact:
        return ("metadata", "name")
    return ("spec", "ArtifactName")


def _duplicate(item: Declared, first: Declared, loc: Loc, what: str) -> Problem:
    related = (
        first.path,
        first.document,
        _artifact_name_loc(first) if what == "ArtifactName" else loc,
    )
    if what == "ArtifactName":
        return Problem(
            item.path,
            item.document,
            loc,
            f"ArtifactName '{item.spec['ArtifactName']}' is also the name of '{first.name}' at "
            "{related}; the service allows it, but the two are hard to tell apart there",
            related=related,
            warning=True,
        )
    if what == "Source":
        message = (
            f"duplicate Source: SourceUri '{item.spec['Source']['SourceUri']}' with the same "
            "SourceTypes is first declared at {related}; the service keeps one artifact per "
            "source, so give each its own SourceUri or SourceTypes"
        )
    else:
        message = f"duplicate {what} '{item.name}'; first declared at {{related}}"
    return Problem(item.path, item.document, loc, message, related=related)
