"""The fast loader reads exactly what ruamel's `YAML(typ="safe")` on the C parser reads."""

from __future__ import annotations

import gc
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler.yamlio import YamlSyntaxError, load_documents

CORPUS = Path(__file__).parent / "corpus" / "bad"

SCALARS = [
    "a: 1\nb: -0x1F\nc: 0o17\nd: 017\ne: 0b101\nf: 1_000\ng: +12\n",
    "a: 1.5\nb: 1e3\nc: 1.0e+3\nd: .inf\ne: -.Inf\nf: .nan\ng: 6.8523015e+5\nh: 190:20:30.15\n",
    "a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: TRUE\nh: y\n",
    "a: ~\nb: null\nc: Null\nd:\ne: ''\nf: 'null'\n",
    "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 1:20\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "a: !!binary aGVsbG8=\nb: !!str 12\nc: !!int '7'\nd: !!float '1'\ne: !!set {x, y}\n",
    "- !!omap [a: 1, b: 2]\n- !!pairs [a: 1, a: 2]\n",
    "%YAML 1.1\n---\na: 010\nb: yes\n",
    "a: 1\n---\nb: [1, 2, {c: d}]\n--- \n...\n---\nplain\n",
    "k: |\n  literal\n  text\nm: >\n  folded\n  text\n",
    "'quoted key': \"value \\u00e9\\t\"\n",
    "a: &x [1, {b: c}]\nb: *x\nc: [*x]\n",
    "1: a\nfalse: b\n1.5: c\n~: d\n'2': e\n",
    "a: " + "[" * 60 + "]" * 60 + "\n",
    "a: {b: [c, {d: !!str 1, e: !!int '2', f: !!null ''}]}\n",
    "",
    "# only a comment\n",
]

BROKEN = [
    "a: 1\na: 2\n",
    "a: !!python/object:os.system x\n",
    "a: [1, 2\n",
    "a:\n\t- b\n",
    "a: *missing\n",
    "key: value\n bad indentation: here\n",
    "a: =\n",
    "a:\n  b: [1]\n  b: 2\n",
    "a: {1: x, 1: y}\n",
    "a: &x {b: 1}\nc: *x\nd: {e: !!python/name:os.system ''}\n",
]


def _reference(text: str) -> list[Any]:
    yaml = YAML(typ="safe", pure=False)
    yaml.allow_duplicate_keys = False
    return list(yaml.load_all(text))


def _same(left: Any, right: Any, seen: set[tuple[int, int]] | None = None) -> bool:
    """Equal, with NaN equal to itself and types compared too (1 is not 1.0, nor True).

    Shared values (aliases) are compared once, so an alias bomb is compared in linear time.
    """
    seen = set() if seen is None else seen
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    if not isinstance(left, (dict, list, tuple)):
        return bool(left == right)
    if (id(left), id(right)) in seen:
        return True
    seen.add((id(left), id(right)))
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k], seen) for k in left)
    return len(left) == len(right) and all(
        _same(a, b, seen) for a, b in zip(left, right, strict=True)
    )


@pytest.mark.parametrize("text", SCALARS)
def test_values_and_types_are_those_of_the_reference_loader(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 1.1-only "mantissa without a dot" warning, say
        ours = load_documents(text)
    assert _same(ours, _reference(text))


@pytest.mark.parametrize("text", BROKEN)
def test_errors_are_those_of_the_reference_loader(text: str) -> None:
    with pytest.raises(YAMLError) as reference:
        _reference(text)
    with pytest.raises(YamlSyntaxError) as ours:
        load_documents(text)
    mark = getattr(reference.value, "problem_mark", None) or getattr(
        reference.value, "context_mark", None
    )
    if mark is not None:
        assert (ours.value.line, ours.value.col) == (mark.line + 1, mark.column + 1)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.name)
def test_the_bad_manifest_corpus_reads_the_same(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        expected: list[Any] | str = _reference(text)
    except (YAMLError, RecursionError) as exc:
        expected = type(exc).__name__
    try:
        ours: list[Any] | str = load_documents(text)
    except YamlSyntaxError:
        ours = "YAMLError" if isinstance(expected, str) else "no error expected"
    if isinstance(expected, str):
        assert ours in ("YAMLError", "RecursionError")
    else:
        assert _same(ours, expected)


def test_of_two_unreadable_values_the_one_reported_is_the_reference_loaders_first() -> None:
    """ruamel builds nested collections last: the value of b fails before the list of a."""
    with pytest.raises(YamlSyntaxError) as error:
        load_documents("a: [x, !!int y]\nb: !!float z\n")
    assert (error.value.line, error.value.col) == (2, 4)


def test_an_alias_shares_its_value_as_with_the_reference_loader() -> None:
    (ours,) = load_documents("a: &x [1, {b: c}]\nb: *x\nc: [*x]\n")
    assert ours["a"] is ours["b"] is ours["c"][0]


def test_loading_leaves_nothing_for_the_cyclic_collector() -> None:
    """Manifests are loaded with the collector paused: a loader left in a reference cycle would
    stay in memory for the rest of the run, once per file."""
    text = "a: 1\n---\nb: [1, {c: d}]\n"
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            load_documents(text)
        garbage = gc.collect()
    finally:
        gc.enable()
    assert garbage == 0
