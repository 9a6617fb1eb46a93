"""Manifests on disk → validated models → the desired state.

Each file is found, hashed and looked up in the manifest cache (cache.py); only a file it does not
answer for is parsed and validated (validation.py, with the C-backed YAML loader and pydantic,
keeping no positions). The rules across files run over the whole set on every run. Only when
something is wrong are the offending files composed again, slowly, to find where (diagnostics.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cache import CachedDocument, ManifestCache
from reconciler.crossrules import check_across, foreign_ends
from reconciler.declared import Declared, DesiredState
from reconciler.errors import Diagnostic, Location, ManifestError, ReconcilerError
from reconciler.memory import paused_gc
from reconciler.problems import Problem, display_path
from reconciler.textsafe import visible

if TYPE_CHECKING:
    from reconciler.foreign import Where
    from reconciler.validation import FileResult, Parsed

MANIFEST_SUFFIXES = (".yaml", ".yml")

__all__ = ["Declared", "DesiredState", "ParsedFiles", "load_manifests", "load_target_manifests"]


@dataclass
class ParsedFiles:
    """Files read for one target, kept for the next in the same run: each file is parsed once,
    and one without `${` is validated once (its result does not depend on the target). Keyed by
    the path shown and the file's bytes, so a changed file is never served stale.

    With `readers` (each target's manifest directories, resolved), only the files that more than
    one target reads are kept: keeping the others would hold every target's parsed documents
    until the end of the run for nothing."""

    parsed: dict[tuple[str, bytes], Parsed] = field(default_factory=dict)
    checked: dict[tuple[str, bytes], FileResult] = field(default_factory=dict)
    readers: tuple[tuple[str, ...], ...] | None = None

    @classmethod
    def between(cls, directories: Sequence[Sequence[Path]]) -> ParsedFiles:
        """For a run over targets reading these manifest directories (one sequence a target)."""
        return cls(readers=tuple(tuple(_resolved(d) for d in each) for each in directories))

    def shared_below(self, directory: Path) -> Callable[[str], bool]:
        """Whether the file at a relative path below `directory` is read by more than one target
        (as the same path shown: the directory resolved, then the relative path)."""
        if self.readers is None:
            return _always
        base = _resolved(directory)
        whole = 0  # the targets reading all of `directory`
        nested: list[tuple[str, ...]] = []  # of the others, the directories below it they read
        for directories in self.readers:
            if any(_within(base, d) for d in directories):
                whole += 1
                continue
            below = tuple(_below(d, base) for d in directories if _within(d, base))
            if below:
                nested.append(below)
        if whole >= 2:
            return _always
        if not nested:
            return _never

        def shared(relative: str) -> bool:
            return whole + sum(any(_within(relative, d) for d in each) for each in nested) >= 2

        return shared


def _resolved(directory: Path) -> str:
    return directory.resolve().as_posix()


def _within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it, as written (both absolute, or both relative)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _below(path: str, directory: str) -> str:
    """`path`, which is below `directory`, relative to it."""
    return path[len(directory.rstrip("/")) + 1 :]


def _always(relative: str) -> bool:
    return True


def _never(relative: str) -> bool:
    return False


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
    where: Where | None = None,
) -> DesiredState:
    """The manifests of a target: every directory in order, `${...}` in string values replaced by
    `values` before validation. The digest covers the variables too. `where`: the target's
    account and region, which the edges' ARN ends are checked against."""
    return _loading(tuple(directories), values, cache or ParsedFiles(), disk, where)


def _loading(
    directories: tuple[Path, ...],
    values: Mapping[str, str] | None,
    cache: ParsedFiles | None,
    disk: ManifestCache | None,
    where: Where | None = None,
) -> DesiredState:
    try:
        with paused_gc():
            return _load_manifests(directories, values, cache, disk, where)
    finally:
        if disk is not None:
            disk.save()  # the valid files, even when others have problems


def _load_manifests(
    directories: tuple[Path, ...],
    values: Mapping[str, str] | None,
    cache: ParsedFiles | None,
    disk: ManifestCache | None = None,
    where: Where | None = None,
) -> DesiredState:
    digest = hashlib.sha256()
    declared: list[Declared] = []
    invalid_names: list[str] = []
    problems: list[Problem] = []
    diagnostics: list[Diagnostic] = []
    texts = _Texts()
    seen: set[Path] = set()
    count = 0
    variables = None if values is None else json.dumps(sorted(values.items())).encode()
    for position, directory in enumerate(directories):
        files, refused = find_manifest_files(directory)
        diagnostics.extend(refused)
        shown_directory = display_path(directory)
        shared = cache.shared_below(directory) if cache is not None else _never
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
            entry = _cache_entry(file_hash, data, variables)
            cached = disk.documents(entry) if disk is not None else None
            texts.locate(shown, path, file_hash)
            if cached is not None:
                declared.extend(
                    Declared(d.name, shown, d.index, d.spec, d.spells_name, d.kind) for d in cached
                )
                continue
            # Only a file another target reads too is kept for it (or found kept by one).
            kept = cache if shared(relative) else None
            result, text = _check_file(shown, data, values, kept)
            if text is not None and result.problems:
                texts.keep(shown, text)  # the others are read again if a problem points there
            declared.extend(result.declared)
            problems.extend(result.problems)
            invalid_names.extend(result.invalid_names)
            diagnostics.extend(result.diagnostics)
            if disk is not None and not (result.problems or result.diagnostics):
                disk.store(entry, [_cached(item) for item in result.declared])
    if values is not None:
        for name, value in sorted(values.items()):
            digest.update(f"{name}\0{value}\0".encode())

    by_kind, across = check_across(declared, set(invalid_names), where)
    problems.extend(across)
    placed, warnings = _placed(problems, texts)
    diagnostics.extend(placed)
    if diagnostics:
        raise ManifestError(diagnostics, warnings=warnings)
    return DesiredState(
        declared=by_kind,
        digest=digest.hexdigest(),
        files=count,
        warnings=tuple(warnings),
        check_ends=None if where is not None else _EndChecks.of(by_kind["Association"], texts),
    )


@dataclass(frozen=True)
class _EndChecks:
    """The edges with an ARN end, and what places a problem in their files: what a check
    against an account and region known only after loading (the lockfile's, the credentials')
    needs, without keeping every file's path."""

    edges: tuple[Declared, ...]
    texts: _Texts

    @classmethod
    def of(cls, edges: Mapping[str, Declared], texts: _Texts) -> _EndChecks | None:
        with_arns = tuple(
            item
            for item in edges.values()
            if any(str(item.spec[end]).startswith("arn:") for end in ("Source", "Destination"))
        )
        if not with_arns:
            return None
        return cls(with_arns, texts.only({item.path for item in with_arns}))

    def __call__(self, where: Where) -> tuple[list[Diagnostic], list[Diagnostic]]:
        return _placed(foreign_ends(self.edges, where), self.texts)


def _placed(problems: list[Problem], texts: _Texts) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The problems placed at their lines and columns: the errors, and the warnings sorted."""
    if not problems:
        return [], []
    from reconciler.placing import Placer  # composes the files again: only when needed

    placer = Placer(texts)
    errors = [placer.place(problem) for problem in problems if not problem.warning]
    return errors, sorted(placer.place(problem) for problem in problems if problem.warning)


def _cache_entry(file_hash: bytes, data: bytes, variables: bytes | None) -> str:
    """Where a file is kept in the manifest cache: by the hash of its bytes; a file with ${...}
    read for a target (whose `variables` are given) validates differently per target, and is
    kept by its bytes and the target's values together."""
    if variables is None or b"${" not in data:
        return file_hash.hex()
    return hashlib.sha256(file_hash + b"\0" + variables).hexdigest()


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

    def only(self, shown: set[str]) -> _Texts:
        """The same files, but only those of `shown`."""
        kept = _Texts()
        kept._kept = {path: text for path, text in self._kept.items() if path in shown}
        kept._files = {path: where for path, where in self._files.items() if path in shown}
        return kept

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


def _check_file(
    shown: str, data: bytes, values: Mapping[str, str] | None, cache: ParsedFiles | None
) -> tuple[FileResult, str | None]:
    """A file the disk cache does not answer for, parsed and validated (validation.py: only then
    are pydantic and the YAML parser loaded)."""
    from reconciler.validation import check_file

    return check_file(shown, data, values, cache)
