"""The manifest cache: an unchanged file is not parsed again, and the cache is never trusted."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler import cache, config, manifest, validation
from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.yamlio import load_documents
from tests.helpers import (
    action_doc,
    association_doc,
    context_doc,
    manifest_doc,
    save_recorded,
    write_manifests,
)

CORPUS = Path(__file__).parent / "corpus" / "bad"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _cache_files(repo: Path) -> list[Path]:
    return sorted((repo / ".reconciler" / "cache").glob("manifests-*.json"))


def _declare(repo: Path, count: int = 12) -> None:
    for group in range(3):
        documents = [manifest_doc(f"a{group}-{i}") for i in range(count // 3)]
        write_manifests(repo / "manifests", *documents, filename=f"group-{group}.yaml")


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> list[object]:
        raise AssertionError("a manifest file was parsed")

    monkeypatch.setattr(validation, "load_documents", refuse)


def test_a_second_plan_parses_nothing_and_plans_the_same(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare(repo)
    recorded = {"ArtifactName": "a0-0", "ArtifactType": "Model", "Source": {"SourceUri": "s3://x"}}
    save_recorded(repo / "artifacts.lock.json", {"a0-0": recorded})
    cold = _run("plan", "--format", "json")
    assert cold.exit_code == 0, cold.output
    assert len(_cache_files(repo)) == 1
    _no_parsing(monkeypatch)
    warm = _run("plan", "--format", "json")
    assert warm.exit_code == 0, warm.output
    assert warm.stdout == cold.stdout
    summary = json.loads(warm.stdout)["summary"]
    assert (summary["create"], summary["replace"]) == (11, 1)


@pytest.mark.parametrize("command", ["plan", "validate", "audit"])
def test_no_cache_parses_every_file_and_writes_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    _declare(repo)
    assert _run("validate").exit_code == 0  # fills the cache
    shutil.rmtree(repo / ".reconciler")
    assert _run(command, "--no-cache").exit_code in (0, 2)  # audit: findings
    assert _cache_files(repo) == []
    assert _run("validate").exit_code == 0
    _no_parsing(monkeypatch)
    result = _run(command, "--no-cache")
    assert result.exit_code == 1
    assert "a manifest file was parsed" in result.output


def test_a_changed_file_is_read_again(repo: Path) -> None:
    _declare(repo)
    assert _run("validate").exit_code == 0
    changed = manifest_doc("a1-0", Properties={"stage": "raw"})
    write_manifests(repo / "manifests", changed, filename="group-1.yaml")
    result = _run("plan", "--format", "json")
    changes = json.loads(result.stdout)["changes"]
    assert {c["name"]: c["after"].get("Properties") for c in changes}["a1-0"] == {"stage": "raw"}
    assert "a1-1" not in {c["name"] for c in changes}


def test_flipped_bytes_anywhere_in_the_cache_never_change_the_plan(repo: Path) -> None:
    _declare(repo)
    expected = _run("plan", "--format", "json", "--no-cache").stdout
    assert _run("validate").exit_code == 0
    (path,) = _cache_files(repo)
    original = path.read_bytes()
    positions = sorted({*range(0, len(original), max(1, len(original) // 60)), len(original) - 1})
    for position in positions:
        for flip in (0x01, 0x20, 0x80):
            damaged = bytearray(original)
            damaged[position] ^= flip
            path.write_bytes(bytes(damaged))
            result = _run("plan", "--format", "json")
            assert result.exit_code == 0, (position, result.output)
            assert result.stdout == expected, position
            assert path.read_bytes() == original  # ignored, then rebuilt as it was


@pytest.mark.parametrize("cut", [0, 1, 10, -1, -10])
def test_a_truncated_or_foreign_cache_is_ignored(repo: Path, cut: int) -> None:
    _declare(repo)
    expected = _run("plan", "--format", "json", "--no-cache").stdout
    assert _run("validate").exit_code == 0
    (path,) = _cache_files(repo)
    path.write_bytes(path.read_bytes()[:cut])
    assert _run("plan", "--format", "json").stdout == expected


@pytest.mark.parametrize(
    "row",
    [
        [0, "evil", "not a bool", {}],
        [0, "evil", False, {}],  # the kind is missing (a cache of the first format)
        [0, "evil", False, {"Source": "a"}, "Pipeline"],  # a kind reconciler does not know
    ],
)
def test_a_cache_with_a_valid_checksum_but_another_shape_is_ignored(
    repo: Path, row: list[object]
) -> None:
    _declare(repo)
    expected = _run("plan", "--format", "json", "--no-cache").stdout
    assert _run("validate").exit_code == 0
    (path,) = _cache_files(repo)
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    entries = json.loads(path.read_bytes().partition(b"\n")[2])
    forged = {key: [row] for key in entries}
    body = json.dumps(forged).encode()
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    assert _run("plan", "--format", "json").stdout == expected


def test_a_cache_of_another_version_of_the_tool_is_ignored(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare(repo)
    assert _run("validate").exit_code == 0
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    parsed: list[str] = []
    real = load_documents

    def counting(text: str) -> list[object]:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(validation, "load_documents", counting)
    assert _run("validate").exit_code == 0
    assert len(parsed) == 3


def test_diagnostics_are_the_same_cold_warm_and_without_cache(repo: Path) -> None:
    """Files with problems are never cached; a duplicate's first place may come from the cache."""
    write_manifests(repo / "manifests", manifest_doc("churn-data"), filename="00-first.yaml")
    for case in sorted(CORPUS.glob("*.yaml")):
        shutil.copy(case, repo / "manifests" / case.name)
    runs = [_run("validate"), _run("validate"), _run("validate", "--no-cache")]
    assert all(run.exit_code == 1 for run in runs)
    assert "first declared at manifests/00-first.yaml" in runs[0].stderr
    assert runs[0].stderr == runs[1].stderr == runs[2].stderr
    (path,) = _cache_files(repo)
    cached = set(json.loads(path.read_bytes().partition(b"\n")[2]))
    by_hash = {
        hashlib.sha256(file.read_bytes()).hexdigest(): file.name
        for file in (repo / "manifests").iterdir()
    }
    # Only files valid on their own: the first declaration, and the cross-file duplicates.
    names = sorted(by_hash[key] for key in cached)
    assert names[0] == "00-first.yaml"
    assert all(name.startswith("duplicate-") for name in names[1:])
    assert "duplicate-yaml-key.yaml" not in names


def _lineage_files(directory: Path) -> None:
    write_manifests(
        directory,
        manifest_doc("data"),
        manifest_doc("model", ArtifactType="Model"),
        filename="artifacts.yaml",
    )
    write_manifests(
        directory,
        context_doc("endpoint", Properties={"stage": "prod"}),
        action_doc("approval", Status="Completed"),
        filename="entities.yaml",
    )
    write_manifests(
        directory,
        association_doc("data-to-model", "data", "model"),
        association_doc("model-to-approval", "model", "approval"),
        association_doc("approval-to-endpoint", "approval", "endpoint"),
        filename="edges.yaml",
    )


def test_documents_of_every_kind_are_cached_and_served_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lineage_files(tmp_path / "manifests")
    path = tmp_path / "cache.json"
    cold = manifest.load_manifests(tmp_path / "manifests", cache.ManifestCache.open(path))
    _no_parsing(monkeypatch)
    warm = manifest.load_manifests(tmp_path / "manifests", cache.ManifestCache.open(path))
    assert warm.by_kind() == cold.by_kind()
    assert warm.declared == cold.declared  # kinds, places and spelt names too
    assert warm.counts() == {"Artifact": 2, "Context": 1, "Action": 1, "Association": 3}


def test_edges_read_from_the_cache_are_still_checked_against_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = tmp_path / "manifests"
    _lineage_files(manifests)
    path = tmp_path / "cache.json"
    manifest.load_manifests(manifests, cache.ManifestCache.open(path))
    write_manifests(manifests, context_doc("endpoint"), filename="entities.yaml")  # no approval
    with pytest.raises(ManifestError) as info:
        manifest.load_manifests(manifests, cache.ManifestCache.open(path))
    shown = manifests.as_posix()
    assert [str(d) for d in info.value.diagnostics] == [
        f"{shown}/edges.yaml:17:16: Destination 'approval' is not declared; declare an Artifact, "
        "a Context or an Action named 'approval', or give the ARN of an entity reconciler does "
        "not manage",
        f"{shown}/edges.yaml:25:11: Source 'approval' is not declared; declare an Artifact, a "
        "Context or an Action named 'approval', or give the ARN of an entity reconciler does not "
        "manage",
    ]


def test_the_tool_key_follows_the_libraries_installed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The libraries are found, not imported; another version (other files, sizes or times)
    gives another key, so a cache written with one is not read with the other."""
    package = tmp_path / "fakelib"
    package.mkdir()
    (package / "__init__.py").write_text("VERSION = '1.0'\n")
    (package / "core.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cache, "_LIBRARIES", (*cache._LIBRARIES, "fakelib"))
    first = cache.tool_key()
    assert first is not None and cache.tool_key() == first
    (package / "__init__.py").write_text("VERSION = '1.1'\n")  # another version, same size
    os.utime(package / "__init__.py", ns=(1, 1))
    assert cache.tool_key() == first  # read once per process: not installed again mid-run
    cache._installed.cache_clear()  # as the next process would
    second = cache.tool_key()
    assert second not in (None, first)
    (package / "extra.py").write_text("")
    cache._installed.cache_clear()
    assert cache.tool_key() not in (None, first, second)
    assert "fakelib" not in sys.modules


def test_without_a_library_to_key_on_nothing_is_cached(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_LIBRARIES", (*cache._LIBRARIES, "no_such_library_here"))
    assert cache.tool_key() is None
    _declare(repo)
    assert _run("validate").exit_code == 0
    assert _cache_files(repo) == []


#: Modules that only word or place problems: a file with a problem is never cached.
_ONLY_FOR_PROBLEMS = {"diagnostics", "errors", "placing", "problems", "textsafe", "words"}


def _reconciler_imports(module: str) -> set[str]:
    """The reconciler modules `reconciler/<module>.py` imports, at the top or in a function, as
    file names relative to the package (`kinds/association.py`)."""
    package = Path(cache.__file__).parent
    found = set()
    for node in ast.walk(ast.parse((package / module).read_text())):
        imported = node.module if isinstance(node, ast.ImportFrom) else None
        if imported is not None and imported.startswith("reconciler."):
            name = imported.removeprefix("reconciler.").replace(".", "/")
            found.add(f"{name}/__init__.py" if (package / name).is_dir() else f"{name}.py")
    return found


@pytest.mark.parametrize(
    ("decider", "keyed"),
    [
        ("validation.py", (*cache._DECIDING_MODULES, "kinds/")),
        ("models.py", (*cache._DECIDING_MODULES, "kinds/")),
        ("configfile.py", config._DECIDING_MODULES),
    ],
)
def test_every_module_that_decides_what_is_cached_is_in_the_key(
    decider: str, keyed: tuple[str, ...]
) -> None:
    """A change to any of them (an editable install, a patched copy) makes the cache stale."""
    assert decider in keyed
    deciding = {
        name
        for name in _reconciler_imports(decider)
        if name.removesuffix(".py") not in _ONLY_FOR_PROBLEMS
    }
    unkeyed = [name for name in sorted(deciding) if not name.startswith(keyed)]
    assert unkeyed == []
