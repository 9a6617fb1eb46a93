"""Files reconciler writes never destroy, or get read as, another input; a committed symbolic
link never makes it read a file outside the repository (attack findings 2, 6 and 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.kinds.artifact import canonical_artifact as canonical
from tests.helpers import manifest_doc, save_recorded, write_manifests
from tests.sandboxed import declare, reconciler

TARGETS = (
    "targets:\n"
    "  dev:\n"
    '    account: "123456789012"\n'
    "    region: eu-west-1\n"
    "    lockfile: {lockfile}\n"
    "    manifests: [manifests/common, manifests/dev]\n"
)


def _recorded(repo: Path, path: str = "artifacts.lock.json") -> bytes:
    declare(repo, manifest_doc("a"))
    save_recorded(repo / path, {"a": canonical("a", manifest_doc("a")["spec"])})
    return (repo / path).read_bytes()


@pytest.mark.parametrize(
    ("out", "what"),
    [
        ("artifacts.lock.json", "is the lockfile"),
        ("./sub/../artifacts.lock.json", "is the lockfile"),
        ("reconciler.yaml", "is reconciler.yaml"),
        ("manifests/artifacts.yaml", "inside the manifests directory"),
        ("manifests/plan.yaml", "inside the manifests directory"),
        ("README.md", "exists and is not a saved plan"),
    ],
)
def test_plan_out_onto_an_input_is_refused_before_writing(repo: Path, out: str, what: str) -> None:
    before = _recorded(repo)
    (repo / "sub").mkdir()
    (repo / "reconciler.yaml").write_text("manifests: manifests\n")
    (repo / "README.md").write_text("# ours\n")
    inputs = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    refused = reconciler("plan", "--out", out)
    assert refused.code == 2, refused.err
    assert what in refused.err
    assert refused.out == ""
    assert (repo / "artifacts.lock.json").read_bytes() == before
    assert _files_but_the_caches(repo) == inputs


def _files_but_the_caches(repo: Path) -> dict[Path, bytes]:
    """Every file, but what .reconciler/cache/ holds (reading reconciler.yaml keeps what it
    validated to there, before anything else is done)."""
    caches = repo / ".reconciler" / "cache"
    return {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and caches not in p.parents}


def test_plan_out_onto_a_lockfile_given_by_flag_is_refused(repo: Path) -> None:
    before = _recorded(repo, "A2.lock")
    refused = reconciler("plan", "--lockfile", "A2.lock", "--out", "A2.lock")
    assert refused.code == 2 and "is the lockfile" in refused.err
    assert (repo / "A2.lock").read_bytes() == before


def test_plan_out_of_a_target_onto_its_manifests_is_refused(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(TARGETS.format(lockfile="locks/dev.lock.json"))
    write_manifests(repo / "manifests" / "dev", manifest_doc("a"))
    write_manifests(repo / "manifests" / "common", manifest_doc("b"))
    refused = reconciler("plan", "--target", "dev", "--out", "manifests/dev/p.yml")
    assert refused.code == 2 and "inside the manifests directory" in refused.err
    assert not (repo / "manifests" / "dev" / "p.yml").exists()


def test_plan_out_may_replace_a_saved_plan_or_an_empty_file(repo: Path) -> None:
    _recorded(repo)
    assert reconciler("plan", "--out", "p.json").code == 0
    assert reconciler("plan", "--out", "p.json").code == 0
    (repo / "empty.json").write_bytes(b"")
    assert reconciler("plan", "--out", "empty.json").code == 0
    assert json.loads((repo / "empty.json").read_text())["kind"] == "reconciler-saved-plan"


def test_a_saved_plan_read_as_a_lockfile_is_named_as_such(repo: Path) -> None:
    _recorded(repo)
    assert reconciler("plan", "--out", "p.json").code == 0
    refused = reconciler("plan", "--lockfile", "p.json")
    assert refused.code == 1
    assert "p.json is a saved plan, not a lockfile" in refused.err
    assert "newer than this reconciler" not in refused.err


SECRET = "SECRET4"


def _outside_lockfile(repo: Path) -> Path:
    outside = repo.parent / f"{repo.name}-outside"
    outside.mkdir()
    document = {
        "format_version": 1,
        "lineage": "8a3f0b7e-1b2c-4d5e-8f90-123456789abc",
        "serial": 0,
        "artifacts": {},
        "target": {"account": SECRET},
    }
    (outside / "o.json").write_text(json.dumps(document))
    return outside / "o.json"


def test_a_default_lockfile_that_links_out_of_the_repository_is_refused(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    target = _outside_lockfile(repo)
    (repo / "artifacts.lock.json").symlink_to(target)
    refused = reconciler("plan")
    assert refused.code == 1
    assert "artifacts.lock.json is a symbolic link to" in refused.err
    assert "outside the repository" in refused.err
    assert SECRET not in refused.err + refused.out


def test_a_target_lockfile_that_links_out_of_the_repository_is_refused(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(TARGETS.format(lockfile="dev.lock.json"))
    write_manifests(repo / "manifests" / "dev", manifest_doc("a"))
    (repo / "dev.lock.json").symlink_to(_outside_lockfile(repo))
    refused = reconciler("plan")
    assert refused.code == 1
    assert "dev.lock.json is a symbolic link to" in refused.err
    assert SECRET not in refused.err + refused.out


def test_a_lockfile_flag_may_still_point_anywhere(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    target = _outside_lockfile(repo)
    shown = reconciler("plan", "--lockfile", str(target))
    assert "symbolic link" not in shown.err


@pytest.mark.parametrize("how", ["config", "flag"])
@pytest.mark.parametrize("name", ["manifests/lock.yaml", "manifests/sub/lock.YML"])
def test_a_lockfile_that_would_be_read_as_a_manifest_is_refused(
    repo: Path, how: str, name: str
) -> None:
    declare(repo, manifest_doc("a"))
    flags = ["--lockfile", name] if how == "flag" else []
    if how == "config":
        (repo / "reconciler.yaml").write_text(f"lockfile: {name}\n")
    refused = reconciler("apply", "--auto-approve", *flags)
    assert refused.code == 1
    assert "inside the manifests directory" in refused.err
    assert not (repo / name).exists()


def test_a_target_lockfile_among_its_manifests_is_refused(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(TARGETS.format(lockfile="manifests/common/dev.yaml"))
    write_manifests(repo / "manifests" / "dev", manifest_doc("a"))
    refused = reconciler("validate")
    assert refused.code == 1
    assert "manifests/common/dev.yaml is inside the manifests directory" in refused.err
