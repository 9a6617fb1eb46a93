"""Ownership is per lockfile: two repositories never take over each other's artifacts.

Each test runs the CLI in one or two repository checkouts against one sandbox. The tag names are
spelled out (not imported) because they are a contract with users.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler import apply as executor
from reconciler import lockfile
from reconciler.apply import ApplyOptions
from reconciler.aws import Connection, Lineage, connect
from reconciler.kinds.artifact import canonical_artifact as canonical
from reconciler.lockfile import Entry, Target
from reconciler.sandbox import Sandbox
from tests.helpers import arn_for, manifest_doc, save_recorded
from tests.sandboxed import (
    ACCOUNT,
    REGION,
    apply,
    declare,
    live,
    reconciler,
    recorded,
    sm,
    uri,
)

NAME_TAG = "reconciler:name"
LINEAGE_TAG = "reconciler:lineage"


def checkout(root: Path, name: str) -> Path:
    """Another repository checkout beside the test's own."""
    path = root / name
    (path / ".git").mkdir(parents=True)
    (path / "manifests").mkdir()
    return path


@contextmanager
def inside(path: Path) -> Iterator[Path]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(previous)


def tags_of(sandbox: Sandbox, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm(sandbox).list_tags(ResourceArn=arn)["Tags"]}


def lineage_of(repo: Path) -> str:
    value = recorded(repo).lineage
    assert value is not None
    return value


SHARED_A: dict[str, Any] = {"Properties": {"k": "a"}, "Tags": [{"Key": "team", "Value": "a"}]}
SHARED_B: dict[str, Any] = {"Properties": {"k": "b"}, "Tags": [{"Key": "team", "Value": "b"}]}


def two_repositories(tmp_path: Path) -> tuple[Path, Path]:
    """Two checkouts; the first has applied 'shared'."""
    first, second = checkout(tmp_path, "team-a"), checkout(tmp_path, "team-b")
    with inside(first):
        declare(first, manifest_doc("shared", **SHARED_A))
        assert apply().code == 0
    return first, second


def test_every_created_artifact_names_its_lockfile(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "x"}]))
    assert apply().code == 0
    arn = recorded(repo).artifacts["a"].arn
    assert tags_of(sandbox, arn) == {"team": "x", NAME_TAG: "a", LINEAGE_TAG: lineage_of(repo)}
    assert reconciler("plan", "--detailed-exitcode").code == 0


def test_a_second_repository_declaring_the_same_artifact_cannot_take_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    first, second = two_repositories(tmp_path)
    arn = recorded(first).artifacts["shared"].arn
    with inside(second):
        declare(second, manifest_doc("shared", **SHARED_B))
        result = apply()
    assert result.code == 1
    assert arn in result.err
    assert f"lineage {lineage_of(first)}" in result.err
    assert "reconciler forget shared' in the repository that owns it" in result.err
    assert f"'reconciler import shared {arn}' here" in result.err
    state = live(sandbox)[uri("shared")]
    assert state["Properties"] == {"k": "a"}
    assert state["Tags"] == {"team": "a", NAME_TAG: "shared", LINEAGE_TAG: lineage_of(first)}
    assert "shared" not in recorded(second).artifacts


def test_an_artifact_is_handed_over_with_forget_there_and_import_here(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    first, second = two_repositories(tmp_path)
    with inside(first):
        forgot = reconciler("forget", "shared")
        assert forgot.code == 0, forgot.err
    arn = recorded(first).artifacts.get("shared")
    assert arn is None
    arn = live(sandbox)[uri("shared")]["ArtifactArn"]
    assert tags_of(sandbox, arn) == {"team": "a"}
    with inside(second):
        declare(second, manifest_doc("shared", **SHARED_B))
        imported = reconciler("import", "shared", arn)
        assert imported.code == 0, imported.err
        applied = apply()
        assert applied.code == 0, applied.err
        assert "1 updated" in applied.out
    state = live(sandbox)[uri("shared")]
    assert state["Properties"] == {"k": "b"}
    assert state["Tags"] == {"team": "b", NAME_TAG: "shared", LINEAGE_TAG: lineage_of(second)}


def test_import_takes_another_lockfiles_artifact_only_when_its_lineage_is_named(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    first, second = two_repositories(tmp_path)
    arn = recorded(first).artifacts["shared"].arn
    theirs = lineage_of(first)
    with inside(second):
        declare(second, manifest_doc("shared", **SHARED_B))
        refused = reconciler("import", "shared", arn)
        assert refused.code == 1
        assert f"lineage {theirs}" in refused.err
        assert f"--from-lineage {theirs}" in refused.err
        assert not (second / "artifacts.lock.json").exists()
        taken = reconciler("import", "shared", arn, "--from-lineage", theirs)
        assert taken.code == 0, taken.err
    assert tags_of(sandbox, arn)[LINEAGE_TAG] == lineage_of(second)
    # The first repository still records it, and may no longer change or refresh it.
    with inside(first):
        declare(first, manifest_doc("shared", Properties={"k": "changed"}))
        refused_update = apply()
        assert refused_update.code == 1
        assert f"refusing to change {arn}, recorded as 'shared'" in refused_update.err
        assert f"lineage {lineage_of(second)}" in refused_update.err
        refreshed = reconciler("plan", "--refresh", "--deep")
        assert refreshed.code == 1
        assert "records entities that are not its own" in refreshed.err
        declare(first)
        refused_delete = apply("--prune", "--allow-empty")
        assert refused_delete.code == 1
    assert live(sandbox)[uri("shared")]["Properties"] == {"k": "a"}


def test_a_lost_lockfile_is_recovered_only_by_naming_its_lineage(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    assert apply().code == 0
    arns = {n: e.arn for n, e in recorded(repo).artifacts.items()}
    lost = lineage_of(repo)
    (repo / "artifacts.lock.json").unlink()

    plain = reconciler("import", "--all")
    assert plain.code == 1, plain.err  # it refused both
    assert "0 imported" in plain.out
    assert f"--from-lineage {lost}" in plain.out
    again = apply()
    assert again.code == 1
    assert f"lineage {lost}" in again.err
    assert recorded(repo).artifacts == {}

    recovered = reconciler("import", "--all", "--from-lineage", lost)
    assert recovered.code == 0, recovered.err
    assert "2 imported" in recovered.out
    assert {n: e.arn for n, e in recorded(repo).artifacts.items()} == arns
    assert {tags_of(sandbox, arn)[LINEAGE_TAG] for arn in arns.values()} == {lineage_of(repo)}
    assert reconciler("plan", "--detailed-exitcode").code == 0


def test_an_artifact_made_before_lineage_tags_is_upgraded_when_apply_writes_it(
    repo: Path, sandbox: Sandbox
) -> None:
    arn = sm(sandbox).create_artifact(
        ArtifactName="old",
        Source={"SourceUri": uri("old")},
        ArtifactType="DataSet",
        Properties={"k": "1"},
        Tags=[{"Key": NAME_TAG, "Value": "old"}],
    )["ArtifactArn"]
    spec = {
        "ArtifactName": "old",
        "ArtifactType": "DataSet",
        "Source": {"SourceUri": uri("old")},
        "Properties": {"k": "1"},
    }
    written = lockfile.save(
        repo / "artifacts.lock.json",
        lockfile.Lockfile(target=Target(ACCOUNT, REGION), artifacts={"old": Entry(arn, spec)}),
    )
    declare(repo, manifest_doc("old", Properties={"k": "2"}))
    result = apply()
    assert result.code == 0, result.err
    assert tags_of(sandbox, arn) == {NAME_TAG: "old", LINEAGE_TAG: written.lineage}
    assert live(sandbox)[uri("old")]["Properties"] == {"k": "2"}


def etagged(name: str, etag: str) -> dict[str, Any]:
    return {"SourceUri": uri(name), "SourceTypes": [{"SourceIdType": "S3ETag", "Value": etag}]}


def test_import_all_matches_the_whole_source(repo: Path, sandbox: Sandbox) -> None:
    other = sm(sandbox).create_artifact(
        Source=etagged("a", "111"),
        ArtifactType="DataSet",
    )["ArtifactArn"]
    declare(
        repo,
        manifest_doc(
            "a",
            Source=etagged("a", "222"),
        ),
    )
    result = reconciler("import", "--all")
    assert result.code == 0, result.err
    assert "0 imported" in result.out
    assert "nothing on the service has its Source" in result.out
    assert tags_of(sandbox, other) == {}


def test_adoption_never_takes_an_artifact_with_another_source(
    repo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ours by its tags, same SourceUri, other SourceTypes: not the declared artifact.

    On a service keyed by SourceUri alone the create is refused and nothing is adopted; keyed
    by the whole Source, the create succeeds. Either way the other artifact is left alone."""
    monkeypatch.setattr(
        executor, "ApplyOptions", functools.partial(ApplyOptions, lookup_timeout=0.5)
    )
    declare(
        repo,
        manifest_doc(
            "a",
            Source=etagged("a", "222"),
        ),
    )
    lineage = "5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11"
    lockfile.save(repo / "artifacts.lock.json", lockfile.Lockfile(lineage=lineage))
    other = sm(sandbox).create_artifact(
        Source=etagged("a", "111"),
        ArtifactName="a",
        ArtifactType="DataSet",
        Properties={"keep": "me"},
        Tags=[{"Key": NAME_TAG, "Value": "a"}, {"Key": LINEAGE_TAG, "Value": lineage}],
    )["ArtifactArn"]
    apply()
    assert other not in (repo / "artifacts.lock.json").read_text()
    described = sm(sandbox).describe_artifact(ArtifactArn=other)
    assert described["Properties"] == {"keep": "me"}
    assert described["Source"]["SourceTypes"] == [{"SourceIdType": "S3ETag", "Value": "111"}]


def test_tags_of_an_arn_the_service_calls_invalid_are_those_of_a_missing_artifact(
    sandbox: Sandbox,
) -> None:
    service: Lineage = connect(Connection())
    # The tagging API checks ARNs generically; the sandbox, like the service, answers
    # ValidationException for one it cannot parse.
    too_long = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:artifact/{'0' * 300}"
    assert service.tags(too_long) is None


def test_a_plan_against_the_base_lockfile_shows_an_edited_arn(repo: Path) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    specs = {name: canonical(name, manifest_doc(name)["spec"]) for name in ("a", "b")}
    base = save_recorded(repo / "base.json", specs)
    victim = arn_for("someone-else")
    edited = replace(
        base, artifacts={**base.artifacts, "a": replace(base.artifacts["a"], arn=victim)}
    )
    lockfile.save(repo / "artifacts.lock.json", edited)
    assert reconciler("plan", "--detailed-exitcode").code == 0  # the lockfile alone cannot tell

    shown = reconciler("plan", "--base-lockfile", "base.json", "--detailed-exitcode")
    assert shown.code == 2, shown.err
    assert base.artifacts["a"].arn in shown.out and victim in shown.out
    assert "another ARN for it than the base lockfile" in shown.out
    document = json.loads(
        reconciler("plan", "--base-lockfile", "base.json", "--format", "json").out
    )
    assert [(c["name"], c["fields"][0]) for c in document["changes"]] == [
        ("a", {"path": "arn", "before": base.artifacts["a"].arn, "after": victim})
    ]

    lockfile.save(repo / "artifacts.lock.json", replace(base, lineage="someone-elses-lineage"))
    refused = reconciler("plan", "--base-lockfile", "base.json")
    assert refused.code == 1
    assert "a lockfile's lineage never changes" in refused.err


def test_apply_refresh_deep_gives_every_recorded_artifact_its_lineage_tag(
    repo: Path, sandbox: Sandbox
) -> None:
    client = sm(sandbox)
    arns = {
        name: client.create_artifact(
            ArtifactName=name,
            Source={"SourceUri": uri(name)},
            ArtifactType="DataSet",
            Tags=[{"Key": NAME_TAG, "Value": name}],
        )["ArtifactArn"]
        for name in ("a", "b")
    }
    specs = {name: canonical(name, manifest_doc(name)["spec"]) for name in arns}
    written = lockfile.save(
        repo / "artifacts.lock.json",
        lockfile.Lockfile(
            target=Target(ACCOUNT, REGION),
            artifacts={name: Entry(arn, specs[name]) for name, arn in arns.items()},
        ),
    )
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    sandbox.reset_counters()
    assert "Nothing to apply." in apply().out
    assert sandbox.counters() == {}  # a plain apply with nothing to do makes no call
    upgraded = apply("--refresh", "--deep")
    assert upgraded.code == 0, upgraded.err
    assert upgraded.out.count("lineage tag added") == 2
    for arn in arns.values():
        assert tags_of(sandbox, arn)[LINEAGE_TAG] == written.lineage
    assert "Nothing to apply." in apply("--refresh", "--deep").out
