"""A content-addressed cache of validated manifest files, so that an unchanged file is never
parsed again.

One file per lockfile and manifests directories, `.reconciler/cache/manifests-<id>.json` beside
the lockfile. It maps the SHA-256 of a manifest file's bytes (of its bytes and the target's values,
for a file with `${...}` read for a target) to that file's validated, canonical documents (only
files without any problem are kept, so diagnostics never come from the cache). Rules across files
(unique names and sources) are still checked over the whole set on every run.

The cache is never trusted: a file whose first line (format, the tool's key: reconciler's version,
its manifest code and the libraries it validates with) does not match, whose body does not have
the checksum the first line records, or whose entries do not have the expected shape, is ignored
and rebuilt. Entries are found by the hash of the manifest's bytes, so a changed file is read anew;
writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reconciler import __version__
from reconciler.fsio import write_atomic_with
from reconciler.kinds.manifests import MANIFEST_KINDS

FORMAT = 2

#: The modules whose code decides what a manifest file validates to (and every module of the
#: kinds package: a kind's table and canonical form).
_DECIDING_MODULES = (
    "models.py",
    "limits.py",
    "validation.py",
    "variables.py",
    "manifest.py",
    "declared.py",
    "yamlio.py",
    "cache.py",
)
#: The libraries that parse and validate: found where they are installed, not imported (a run the
#: cache answers for never loads them).
_LIBRARIES = ("pydantic", "pydantic_core", "ruamel.yaml", "_ruamel_yaml")


@dataclass(frozen=True, slots=True)
class CachedDocument:
    index: int
    name: str
    spells_name: bool
    spec: dict[str, Any]
    kind: str


def tool_key(
    modules: tuple[str, ...] = _DECIDING_MODULES,
    *,
    kinds: bool = True,
    libraries: tuple[str, ...] = (),
) -> str | None:
    """What cached results depend on besides the files: reconciler's version, the code of the
    `modules` that decide them (and of the kinds package), and the installed files of the
    libraries that parse and validate (and of `libraries`); None if it cannot be known."""
    key = hashlib.sha256(f"{FORMAT}\0{__version__}\0".encode())
    try:
        key.update(_code(modules, kinds))
        for library in (*_LIBRARIES, *libraries):
            key.update(_installed(library))
    except (OSError, ImportError, ValueError):
        return None
    return key.hexdigest()


# Both are read once per process (a run reads a key per target and for reconciler.yaml): neither
# reconciler's code nor a library is installed again while it runs.


@functools.cache
def _code(modules: tuple[str, ...], kinds: bool) -> bytes:
    """The digest of the `modules` of this package, and of the kinds package's when `kinds`."""
    here = Path(__file__).parent
    tables = sorted((here / "kinds").glob("*.py")) if kinds else []
    digest = hashlib.sha256()
    for module in [*(here / name for name in modules), *tables]:
        digest.update(module.relative_to(here).as_posix().encode() + b"\0")
        digest.update(module.read_bytes())
    return digest.digest()


@functools.cache
def _installed(library: str) -> bytes:
    """Where a library is installed and what its files are (name, size, modification time):
    another version, or the same one installed again, changes it. Of a package, the files in its
    own directory are read, not its subdirectories; a library not installed raises ImportError
    (not kept: the next call looks again)."""
    spec = importlib.util.find_spec(library)
    if spec is None or spec.origin is None:
        raise ImportError(library)
    files = [spec.origin]
    for directory in spec.submodule_search_locations or ():
        with os.scandir(directory) as entries:
            files += sorted(entry.path for entry in entries if entry.is_file())
    seen = [library]
    for path in files:
        status = os.stat(path)
        seen.append(f"{path}\0{status.st_size}\0{status.st_mtime_ns}")
    return "\0".join(seen).encode() + b"\0\0"


def cache_path(state_directory: Path, lockfile_name: str, manifests: Sequence[Path]) -> Path:
    """The cache of the files of the `manifests` directories (a target's, in order) read for the
    lockfile `lockfile_name` (beside which `state_directory` is): one file per lockfile and set
    of directories, so that targets whose lockfiles share a directory do not each rewrite it
    without the other's files."""
    where = json.dumps([lockfile_name, *(str(directory.resolve()) for directory in manifests)])
    where = hashlib.sha256(where.encode()).hexdigest()[:16]
    return state_directory / "cache" / f"manifests-{where}.json"


class ManifestCache:
    """Documents by file hash: read once at the start of a run, written once at its end."""

    def __init__(self, path: Path, key: str, entries: dict[str, Any]) -> None:
        self.path = path
        self._key = key
        #: Entries read and not used yet (still to be checked).
        self._unused = entries
        self._used: dict[str, list[CachedDocument]] = {}
        self._stored = False

    @classmethod
    def open(cls, path: Path) -> ManifestCache | None:
        """The cache at `path` (empty when absent or not to be trusted); None when the tool's key
        cannot be known, and so nothing may be cached."""
        key = tool_key()
        if key is None:
            return None
        return cls(path, key, read_entries(path, key))

    def documents(self, file_hash: str) -> list[CachedDocument] | None:
        """The documents of the file with this hash, or None when not cached (or malformed)."""
        rows = self._unused.pop(file_hash, None)
        documents = _documents(rows) if rows is not None else self._used.get(file_hash)
        if documents is not None:
            self._used[file_hash] = documents
        return documents

    def store(self, file_hash: str, documents: list[CachedDocument]) -> None:
        self._used[file_hash] = documents
        self._stored = True

    def save(self) -> None:
        """Write the entries this run used, if that changes the file; failures are ignored (the
        cache only saves time)."""
        if not self._stored and not self._unused:
            return
        if not confined(self.path):
            return
        with contextlib.suppress(OSError):
            write_atomic_with(self.path, self._write, durable=False)

    def _write(self, handle: BinaryIO) -> None:
        """The header, then the JSON object of every entry used, a file's entry at a time (the
        whole body at once would be the largest thing in memory at the end of a cold run); then
        the header again, with the body's checksum (it keeps its length)."""
        handle.write(_header(self._key, "0" * 64))
        digest = hashlib.sha256()
        separator = b"{"
        for file_hash, documents in self._used.items():
            rows = [[d.index, d.name, d.spells_name, d.spec, d.kind] for d in documents]
            piece = f"{json.dumps(file_hash)}:{json.dumps(rows, **_COMPACT)}".encode()
            for part in (separator, piece):
                digest.update(part)
                handle.write(part)
            separator = b","
        end = b"{}" if separator == b"{" else b"}"
        digest.update(end)
        handle.write(end)
        handle.seek(0)
        handle.write(_header(self._key, digest.hexdigest()))


_COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}

#: The body is read, hashed and decoded a piece at a time: its bytes are never held whole beside
#: its text.
_CHUNK = 1 << 20


def _header(key: str, sha256: str) -> bytes:
    return json.dumps({"format": FORMAT, "tool": key, "sha256": sha256}).encode() + b"\n"


def write_entries(path: Path, key: str, entries: dict[str, Any]) -> None:
    """A small cache file of `entries` (the format every cache here has), written atomically;
    failures are ignored (a cache only saves time)."""
    if not confined(path):
        return
    body = json.dumps(entries, **_COMPACT).encode()
    header = _header(key, hashlib.sha256(body).hexdigest())
    with contextlib.suppress(OSError):
        write_atomic_with(path, lambda handle: handle.write(header + body), durable=False)


def read_entries(path: Path, key: str) -> dict[str, Any]:
    """The entries of a cache file; empty when it is absent, unreadable, of another format or
    tool key, or when its body does not have the checksum its header records; not read when it
    is not a regular file (a link, a FIFO) or not `confined`."""
    if not confined(path):
        return {}
    try:
        with _open_regular(path) as handle:
            header = json.loads(handle.readline(4096))
            if not (
                isinstance(header, dict)
                and header.get("format") == FORMAT
                and header.get("tool") == key
            ):
                return {}
            body, sha256 = _text_and_hash(handle)
        if header.get("sha256") != sha256:
            return {}
        entries = json.loads(body)
    except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON, too deep
        return {}
    return entries if isinstance(entries, dict) else {}


def confined(path: Path) -> bool:
    """Whether the cache file `path` (`.reconciler/cache/NAME` in the directory of the lockfile,
    or of reconciler.yaml) stays in that directory, links followed: a pull request may commit
    `.reconciler` or its `cache` as a symbolic link, and a run must not write (or read) its caches
    out of the repository through it, over a file of the machine that runs it."""
    holder = path.parent.parent.parent
    try:
        return path.parent.resolve().is_relative_to(holder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def _open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file, not a symbolic link; OSError else (a
    link to /dev/stdin, or a FIFO, would wait for a writer for ever)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _text_and_hash(handle: BinaryIO) -> tuple[str, str]:
    """The rest of the file as text, and the SHA-256 of its bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    text = ""
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        text += decoder.decode(chunk)
    text += decoder.decode(b"", final=True)
    return text, digest.hexdigest()


def _documents(rows: Any) -> list[CachedDocument] | None:
    if not isinstance(rows, list):
        return None
    documents = []
    for row in rows:
        if not (
            isinstance(row, list)
            and len(row) == 5
            and type(row[0]) is int
            and isinstance(row[1], str)
            and isinstance(row[2], bool)
            and isinstance(row[3], dict)
            and row[4] in MANIFEST_KINDS
        ):
            return None
        documents.append(CachedDocument(row[0], row[1], row[2], row[3], row[4]))
    return documents
