"""Several targets in one run: a file that more than one target reads is parsed once and kept for
the others, and only such a file is kept; the JSON of every target's plan or audit, written a
piece at a time, is byte for byte what each target's own run prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cli.options import shared_parsing
from reconciler.config import resolve_targets
from reconciler.desired import load_desired
from reconciler.render import jsondoc
from reconciler.textsafe import json_safe
from tests.helpers import manifest_doc, write_manifests
from tests.sandboxed import reconciler

ACCOUNT = "123456789012"
#: More artifacts than the JSON writes in one batch, so that target's changes span batches.
MANY = jsondoc.BATCH + 44


def target(name: str, *manifests: str) -> str:
    return (
        f"  {name}:\n"
        f'    account: "{ACCOUNT}"\n'
        "    region: eu-west-1\n"
        f"    lockfile: locks/{name}.lock.json\n"
        f"    manifests: [{', '.join(manifests)}]\n"
        f"    vars: {{bucket: bucket-{name}}}\n"
    )


@pytest.fixture
def layouts(repo: Path) -> Path:
    """Targets a and b share manifests/common (one file with variables, one without) and each
    read a directory of their own; c reads only manifests/a/extra, which a reads too."""
    (repo / "reconciler.yaml").write_text(
        "targets:\n"
        + target("a", "manifests/common", "manifests/a")
        + target("b", "manifests/common", "manifests/b")
        + target("c", "manifests/a/extra")
    )
    common = repo / "manifests" / "common"
    templated = manifest_doc("shared", Source={"SourceUri": "s3://${vars.bucket}/shared.csv"})
    write_manifests(common, templated, filename="templated.yaml")
    # Characters a log or a terminal would obey, which the JSON writes as escapes.
    hostile = {"note": "##[error] \u202ereversed"}
    write_manifests(common, manifest_doc("plain", Properties=hostile), filename="plain.yaml")
    own = [manifest_doc(f"a-{i}") for i in range(MANY)]
    write_manifests(repo / "manifests" / "a", *own, filename="own.yaml")
    write_manifests(repo / "manifests" / "a" / "extra", manifest_doc("extra"))
    write_manifests(repo / "manifests" / "b", manifest_doc("b-own"))
    return repo


def test_only_files_read_by_more_than_one_target_are_kept(layouts: Path) -> None:
    selected = resolve_targets((), None, None, cache=False)
    cache = shared_parsing(selected)
    for each in selected:
        load_desired(each, cache)
    kept = {
        "manifests/common/templated.yaml",
        "manifests/common/plain.yaml",
        "manifests/a/extra/artifacts.yaml",
    }
    assert {shown for shown, _ in cache.parsed} == kept
    # Validated once for every target: the file without variables.
    assert {shown for shown, _ in cache.checked} == {
        "manifests/common/plain.yaml",
        "manifests/a/extra/artifacts.yaml",
    }


@pytest.mark.parametrize("command", ["plan", "audit"])
def test_the_json_of_several_targets_is_each_targets_own_byte_for_byte(
    layouts: Path, command: str
) -> None:
    # Exit 2: a plan with changes (when asked), an audit with findings.
    args = [command, "--format", "json", *(["--detailed-exitcode"] if command == "plan" else [])]
    every = reconciler(*args)
    assert every.code == 2, every.err
    alone = [reconciler(*args, "--target", name) for name in "abc"]
    assert [run.code for run in alone] == [2, 2, 2]
    # Each run alone prints the same document with its one target: the whole run's document is
    # their sections, in order, within the same head and tail.
    marker = '"targets":['
    opening = every.out[: every.out.index(marker) + len(marker)]
    assert opening.startswith('{"') and opening.count(",") == 3
    assert all(run.out.startswith(opening) for run in alone)
    assert all(run.out.endswith("]}\n") for run in alone)
    sections = [run.out[len(opening) : -len("]}\n")] for run in alone]
    assert every.out == opening + ",".join(sections) + "]}\n"
    document = json.loads(every.out)
    assert [t["target"]["name"] for t in document["targets"]] == ["a", "b", "c"]
    if command == "plan":
        changes = document["targets"][0]["plan"]["changes"]
        assert len(changes) == MANY + 3  # own.yaml, extra/, templated.yaml and plain.yaml
        assert "\\u202e" in every.out and "#\\u0023[error]" in every.out
        assert "\u202e" not in every.out and "##[" not in every.out


# --- the JSON written in pieces ------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(), max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


#: Lengths of a Lazy list: empty, one, around a batch, and over two.
LENGTHS = [0, 1, jsondoc.BATCH - 1, jsondoc.BATCH, 2 * jsondoc.BATCH + 3]


@st.composite
def streamed(draw: st.DrawFn, depth: int = 0) -> jsondoc.Streamed:
    """A document with Lazy lists of plain items or of further Streamed documents, some longer
    than a batch."""
    members: dict[str, Any] = draw(st.dictionaries(st.text(max_size=4), values, max_size=3))
    for key in draw(st.lists(st.text(max_size=4), max_size=2, unique=True)):
        if depth < 2 and draw(st.booleans()):
            items = draw(st.lists(streamed(depth + 1), max_size=3))
            members[key] = jsondoc.Lazy(items, lambda item: item)
        else:
            count = draw(st.sampled_from(LENGTHS))
            item = draw(values)
            members[key] = jsondoc.Lazy(range(count), numbered(item))
    return jsondoc.Streamed(members)


def numbered(item: Any) -> Callable[[int], list[Any]]:
    return lambda n: [n, item]


def plain(value: Any) -> Any:
    """The same document with every Lazy list made and every Streamed one a dict."""
    if isinstance(value, jsondoc.Lazy):
        return [plain(value.make(item)) for item in value.items]
    if isinstance(value, dict):
        return {key: plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [plain(member) for member in value]
    return value


@settings(max_examples=60, deadline=None)
@given(streamed())
def test_pieces_are_the_documents_json(document: jsondoc.Streamed) -> None:
    text = json.dumps(plain(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    pieces = list(jsondoc.pieces(document))
    assert "".join(pieces) == json_safe(text) + "\n"
    assert all(pieces)
