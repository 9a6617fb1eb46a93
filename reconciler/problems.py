"""A problem found in a manifest, before it is placed at a line and column (diagnostics.py places
it), and the small helpers messages share. Light: the cross-file rules and a run the manifest cache
answers for use these without loading pydantic or the YAML parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Loc = tuple[str | int, ...]


@dataclass
class Problem:
    """An error found on the fast path, placed later."""

    path: str
    document: int
    loc: Loc
    message: str
    at_key: bool = False
    quote_hint: bool = False
    #: Another place the message names, as "{related}" (path, document, loc).
    related: tuple[str, int, Loc] | None = None
    #: Reported, but does not make the manifests invalid.
    warning: bool = False


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is below it (as CI annotations need)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def close_match(word: str, candidates: list[str]) -> str | None:
    by_lower = {c.lower(): c for c in candidates}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    import difflib  # loaded only for a hint: a valid run never needs it

    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column
