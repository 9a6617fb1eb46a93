"""Reading a JSON object a piece at a time gives what json.loads gives, or None for bad input."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from reconciler import jsonstream

GOOD = [
    "{}",
    " \n{ } \n",
    '{"a": 1}',
    '{"serial": 1234567890, "x": -12.5e3, "y": true, "z": null, "w": [1, 2, {"k": "v"}]}',
    '{"artifacts": {}, "n": 10}',
    '{\n  "artifacts": {\n    "a": {"arn": "x", "spec": {"S": {"U": "s3://b/k"}}},\n'
    '    "b": {"arn": "y\\u00e9\\"\\\\", "spec": {}}\n  },\n  "serial": 77\n}\n',
    '{"a": {"b": 1, "c": 22, "d": 333}, "e": {"f": {"g": "héllo wörld ✓ 𝄞"}}}',
    '{"a": {"b": 1}, "a2": 9999}',
    '{"a":{"b":[]},"c":{}}',
    '{"NaN": NaN, "inf": -Infinity}',
]

BAD = [
    "",
    "[]",
    '"x"',
    "{",
    '{"a": 1,}',
    '{"a": 1} x',
    '{"a": 1}{}',
    '{"a" 1}',
    "{a: 1}",
    '{"a": {"b": 1,}}',
    '{"a": {"b": }}',
    '\ufeff{"a": 1}',
    '{"a": "line\nbreak"}',
    '{"a": 1}\n<<<<<<< HEAD\n',
    '{"a": 01}',
]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {"pairs": [key for key, _ in pairs], **dict(pairs)}


def _streamed(text: str | bytes, chunk: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    data = text.encode() if isinstance(text, str) else text
    return jsonstream.load_object(io.BytesIO(data), _pairs, int)


def _same(left: Any, right: Any) -> bool:
    return json.dumps(left, allow_nan=True) == json.dumps(right, allow_nan=True)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("text", GOOD)
def test_the_object_is_what_json_loads_gives(
    text: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = json.loads(text, object_pairs_hook=_pairs, parse_int=int)
    assert _same(_streamed(text, chunk, monkeypatch), expected)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
@pytest.mark.parametrize("text", BAD)
def test_what_is_not_a_well_formed_object_is_none(
    text: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _streamed(text, chunk, monkeypatch) is None


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_bytes_that_are_not_utf8_are_none(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _streamed(b'{"a": "\xff"}', chunk, monkeypatch) is None


def test_a_number_cut_by_the_end_of_a_piece_is_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # '{"a": 12' is read first: 12 would be a whole value if the reader did not look further.
    assert _streamed('{"a": 123456}', 8, monkeypatch)["a"] == 123456


def test_the_hook_and_the_number_reader_are_those_given(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(digits: str) -> int:
        raise ValueError(digits)

    monkeypatch.setattr(jsonstream, "CHUNK", 4)
    data = io.BytesIO(b'{"a": {"b": 1}}')
    assert jsonstream.load_object(data, _pairs, refuse) is None
    data = io.BytesIO(b'{"a": {"b": [true]}}')
    assert jsonstream.load_object(data, _pairs, refuse) == {
        "pairs": ["a"],
        "a": {"pairs": ["b"], "b": [True]},
    }
