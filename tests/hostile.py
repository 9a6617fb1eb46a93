"""A corpus of hostile strings, and checks that an output shows them without obeying them.

A terminal obeys ESC and C1 sequences; a CI log breaks lines at CR (and a browser at NEL, U+2028,
U+2029); GitHub Actions runs a command from a line that starts (after blanks) with `::`, or that
holds `##[` anywhere; markdown and HTML in a comment can close our blocks or hide text.
"""

from __future__ import annotations

import json
import re
from typing import Any

HOSTILE: tuple[str, ...] = (
    "Tgs\r::warning file=README.md,line=1::x",
    "\n::add-mask::x",
    "\r\n  ::error title=forged::crlf",
    "\x1b]8;;http://evil.example\x1b\\click me\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[H",
    "nel\x85::error::nel",
    "ls\u2028::error::ls",
    "ps\u2029::notice::ps",
    "\x9b2Jcsi",
    "bidi\u202egnp.exe",
    "tab\tbell\x07del\x7fnul\x00",
    "##[error]legacy command",
    "%0A::error::percent-encoded",
    "```\n</details>\n```",
    "| a | b |",
    "<details><summary>x</summary>",
    "--> <!-- hidden",
    "`backticks` and ``more``",
    "::error::at the start",
    "\u00a0::error::after a no-break space",
)

#: What may appear in a manifest's single-line fields (no line terminator: item 3 refuses them).
LINE_TERMINATORS = ("\r", "\n", "\x85", "\u2028", "\u2029")
SINGLE_LINE: tuple[str, ...] = tuple(
    h for h in HOSTILE if not any(t in h for t in LINE_TERMINATORS)
)
#: Valid tag values (the tag pattern takes letters, digits, \p{Z} and `_ . : / = + - @`).
TAG_VALUES: tuple[str, ...] = (
    "\u2028::error::ls",
    "\u2029::add-mask::x",
    "::warning::x",
    "a\u00a0::b",
)

#: Characters none of our human-readable output may hold raw (LF is our line break).
_RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The annotations validate --format github writes, with properties and data escaped.
_ANNOTATION = re.compile(
    r"::(error|warning) file=[^:,\r\n]*,line=\d+,col=\d+,title=reconciler validate::[^\r\n]*"
)


def assert_safe_text(output: str, *, annotations: bool = False) -> None:
    """No raw control character, no `##[`, and no line that GitHub would run as a command (but
    our own annotations, when `annotations`)."""
    raw = _RAW.search(output)
    assert raw is None, f"raw {raw.group()!r} in {output!r}"
    assert "##[" not in output, output
    for line in output.split("\n"):
        if line.lstrip().startswith("::"):
            assert annotations and _ANNOTATION.fullmatch(line), f"a command line: {line!r}"


def assert_safe_markdown(output: str) -> None:
    """Safe as text; code fences and <details> balanced; no user markup outside a code block."""
    assert_safe_text(output)
    outside = _outside_fences(output)
    opened = len(re.findall(r"<details[\s>]", outside))
    assert opened == outside.count("</details>"), output
    for markup in ("<summary>x</summary>", "<!--", "-->", "| a | b |", "`backticks`"):
        assert markup not in outside, f"{markup!r} outside a code block in {output!r}"


def _outside_fences(markdown: str) -> str:
    outside: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opening = re.fullmatch(r"(`{3,})[a-z]*", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line == fence:
            fence = None
        elif fence is None:
            outside.append(line)
    assert fence is None, f"an unclosed code block in {markdown!r}"
    return "\n".join(outside)


def assert_safe_json(output: str) -> Any:
    """Safe as text (JSON escapes what it must), and still the same JSON: returns the value."""
    assert_safe_text(output)
    return json.loads(output)


def strings_in(value: Any) -> set[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(strings_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(strings_in(v) for v in value))
    return set()
