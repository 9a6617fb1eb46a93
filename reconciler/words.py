"""Counts in English: "1 artifact", "2 artifacts"; and articles: "an Artifact"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and the noun in the number it takes: counted(1, "API call") is "1 API call"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural or noun + 's'}"


def with_article(noun: str) -> str:
    """The noun with its indefinite article, by its first letter: "an Action", "a Context"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
