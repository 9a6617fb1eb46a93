"""Counts in English: "1 artifact", "2 artifacts"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and the noun in the number it takes: counted(1, "API call") is "1 API call"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural or noun + 's'}"
