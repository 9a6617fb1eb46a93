"""Reading a large JSON object from a file a piece at a time.

`json.loads` needs the whole text, and the text comes from the whole file's bytes: for a lockfile
of 60,000 artifacts, about 115 MB held at once, the largest thing in memory during a plan. This
reads the top-level object and the objects directly inside it member by member, each member's
value with json's own scanner, so that only a piece of the text is held at a time. It gives what
`json.loads(text, object_pairs_hook=hook, parse_int=parse_int)` gives, or None when the file is
not well-formed JSON (or not an object, or not UTF-8): the caller then reads it whole, which also
says exactly what is wrong with it.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import Any, BinaryIO

#: Read a piece of this many bytes at a time (doubled while one value does not fit).
CHUNK = 1 << 20

_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")  # JSON's whitespace, as json.loads skips it

_NUMBER_GOES_ON = frozenset("0123456789+-.eE")

Hook = Callable[[list[tuple[str, Any]]], Any]


class _NotPlain(Exception):
    """The text is not what this reads; the caller reads it whole."""


def load_object(handle: BinaryIO, hook: Hook, parse_int: Callable[[str], Any]) -> Any | None:
    """The JSON object in the rest of `handle`, read a piece at a time; None when the text is not
    a well-formed JSON object in UTF-8 (nothing is raised for it, bad input included)."""
    decoder = json.JSONDecoder(object_pairs_hook=hook, parse_int=parse_int)
    reader = _Reader(handle, decoder.scan_once)  # type: ignore[attr-defined]  # set in __init__
    try:
        document = reader.object(hook, depth=0)
        if reader.peek() != "":
            return None  # more after the object: json.loads's "Extra data"
    except (_NotPlain, ValueError, RecursionError):  # not UTF-8, or refused by the hook
        return None
    return document


class _Reader:
    def __init__(self, handle: BinaryIO, scan: Callable[[str, int], tuple[Any, int]]) -> None:
        self._handle = handle
        self._scan = scan
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._at = 0
        self._end_of_file = False

    def _more(self, size: int) -> bool:
        """Read another piece, dropping the text already read; False at the end of the file."""
        if self._end_of_file:
            return False
        data = self._handle.read(size)
        self._end_of_file = not data
        self._text = self._text[self._at :] + self._decoder.decode(data, final=not data)
        self._at = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace, not consumed ("" at the end)."""
        while True:
            found = _NOT_WHITESPACE.search(self._text, self._at)
            if found is not None:
                self._at = found.start()
                return self._text[self._at]
            self._at = len(self._text)
            if not self._more(CHUNK):
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _NotPlain
        self._at += 1

    def value(self) -> Any:
        """One whole JSON value at the current place, read by json's scanner. A value followed
        by nothing yet, or by what could continue a number ("12" of "12.5e3"), is read again
        with more text."""
        size = CHUNK
        while True:
            try:
                found, end = self._scan(self._text, self._at)
            except (StopIteration, ValueError, RecursionError):
                if self._end_of_file:
                    raise _NotPlain from None
            else:
                if self._end_of_file or (
                    end < len(self._text) and self._text[end] not in _NUMBER_GOES_ON
                ):
                    self._at = end
                    return found
            self._more(size)
            size *= 2

    def object(self, hook: Hook, depth: int) -> Any:
        """The object at the current place: its members one by one, and those of the objects
        directly inside it too (depth 0 and 1); deeper values whole."""
        self.expect("{")
        pairs: list[tuple[str, Any]] = []
        if self.peek() == "}":
            self._at += 1
            return hook(pairs)
        while True:
            if self.peek() != '"':
                raise _NotPlain
            key = self.value()
            self.expect(":")
            if self.peek() == "{" and depth < 1:
                pairs.append((key, self.object(hook, depth + 1)))
            else:
                pairs.append((key, self.value()))
            following = self.peek()
            self._at += 1
            if following == "}":
                return hook(pairs)
            if following != ",":
                raise _NotPlain
