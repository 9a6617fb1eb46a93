"""Text from manifests, lockfiles, file names and the service, made safe to show.

Every user-controlled string is hostile until escaped for where it goes. A terminal obeys escape
sequences (ESC, and the C1 controls of 8-bit terminals); a CI log starts a new line at CR, and a
browser at NEL, U+2028 or U+2029; bidirectional overrides reorder what a reviewer reads; GitHub
Actions runs a workflow command found in a line that starts (after blanks) with `::`, or that holds
`##[` anywhere (the runner's legacy syntax, still parsed).

`visible` is the one escaping function for every human-readable output (text plans and audits,
diagnostics, annotations, progress, summaries, messages): it shows each such character as an
escape (`\\r`, `\\x1b`, `\\u2028`) and breaks `##[`. `safe_lines` then makes sure no line of what we
print starts with `::` unless we wrote the command ourselves (annotations do not go through it).
`json_safe` does the same for JSON, losslessly, with JSON's own escapes.

`quoted` is how a message names a user's value: in single quotes, as written; the output escapes
it (never Python's `repr`, whose quoting and doubled backslashes are not what the user wrote).
"""

from __future__ import annotations

import json
import re

#: DEL, C1 controls (NEL, CSI...), the Unicode line and paragraph separators, and the
#: bidirectional embeddings, overrides and isolates: what JSON leaves raw.
_BEYOND_JSON = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: Those, and the C0 controls (tab, LF and CR included).
_UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_JSON}]|##\\[")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: A line that the runner would read as a command: blanks, then `::`.
_COMMAND_LINE = re.compile(r"^([^\S\n]*):(?=:)", re.MULTILINE)
_JSON_UNSAFE = re.compile(f"[{_BEYOND_JSON}]|##\\[")


def visible(text: str) -> str:
    """`text` with every control character, line or paragraph separator and bidi control shown
    as an escape, and `##[` broken (as `#\\x23[`). Printable text, backslashes included, is left
    as it is."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


#: The most of a user's value a message quotes.
QUOTED_MAX = 200


def quoted(value: object) -> str:
    """A user's value as a message names it: a string in single quotes, as written (what it holds
    is escaped where the message is shown, by `visible`); any other value (a number or a list
    read from a JSON or YAML file) as JSON. Cut to QUOTED_MAX characters, ending in `…`."""
    if isinstance(value, str):
        return f"'{_cut(value)}'"
    return _cut(json.dumps(value, ensure_ascii=False, default=str))


def _cut(text: str) -> str:
    return text if len(text) <= QUOTED_MAX else text[: QUOTED_MAX - 1] + "…"


def _escape(match: re.Match[str]) -> str:
    found = match.group()
    if found == "##[":
        return "#\\x23["
    named = _NAMED.get(found)
    if named is not None:
        return named
    code = ord(found)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_lines(text: str) -> str:
    """Our output, with every line that would start (after blanks) with `::` shown as `\\x3a:`.

    For output assembled from pieces already passed through `visible`, and our own line breaks
    (and colours)."""
    if "::" not in text:
        return text
    return _COMMAND_LINE.sub(lambda m: m.group(1) + "\\x3a", text)


def safe_line(text: str) -> str:
    """One message line for a terminal or a log, whatever it quotes."""
    return safe_lines(visible(text))


def json_safe(document: str) -> str:
    """A JSON text with the characters JSON leaves raw (DEL, C1, U+2028/2029, bidi controls) and
    `##[` written as \\u escapes: the same JSON value, harmless in a log or a terminal."""
    if _JSON_UNSAFE.search(document) is None:
        return document
    return _JSON_UNSAFE.sub(_json_escape, document)


def _json_escape(match: re.Match[str]) -> str:
    found = match.group()
    if found == "##[":
        return "#\\u0023["
    return f"\\u{ord(found):04x}"
