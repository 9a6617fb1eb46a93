"""A replace that cannot finish loses nothing: the new Source is checked before anything is
deleted, associations are journaled before they are removed and put back by the next apply, and
the delete half of an unfinished replace is reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.journal import journal_path
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import manifest_doc
from tests.sandboxed import (
    apply,
    declare,
    default_signals,
    env_for,
    linked,
    reconciler,
    recorded,
    sm,
    use,
)

NEW_SOURCE = "s3://acme-ml/model/v2.tar.gz"


def move_the_model(repo: Path) -> None:
    declare(
        repo,
        manifest_doc("data"),
        manifest_doc("model", Source={"SourceUri": NEW_SOURCE}),
        manifest_doc("report"),
    )


def edges(sandbox: Sandbox) -> set[tuple[str, str, str | None]]:
    summaries = sm(sandbox).list_associations()["AssociationSummaries"]
    return {(a["SourceArn"], a["DestinationArn"], a.get("AssociationType")) for a in summaries}


def around(arns: dict[str, str], model: str) -> set[tuple[str, str, str | None]]:
    return {(arns["data"], model, "ContributedTo"), (model, arns["report"], None)}


def test_a_replace_onto_a_taken_source_deletes_nothing(repo: Path, sandbox: Sandbox) -> None:
    arns = linked(repo, sandbox)
    squatter = sm(sandbox).create_artifact(Source={"SourceUri": NEW_SOURCE}, ArtifactType="Model")[
        "ArtifactArn"
    ]
    move_the_model(repo)
    result = apply()
    assert result.code == 1
    assert "cannot replace it, so nothing was deleted" in result.err
    assert squatter in result.err
    assert sm(sandbox).describe_artifact(ArtifactArn=arns["model"])["ArtifactArn"] == arns["model"]
    assert edges(sandbox) == around(arns, arns["model"])
    assert recorded(repo).artifacts["model"].arn == arns["model"]


def test_a_replace_whose_create_fails_is_reported_and_finished_by_the_next_apply(
    repo: Path, sandbox: Sandbox
) -> None:
    arns = linked(repo, sandbox)
    move_the_model(repo)
    sandbox.service.artifact_quota = 2  # full once the old model is gone: the create fails
    failed = apply()
    assert failed.code == 1
    assert "quota" in failed.err
    assert "0 replaced, 1 deleted" in failed.out
    assert edges(sandbox) == set()
    lock = recorded(repo)
    assert "model" not in lock.artifacts
    assert set(lock.detached) == {"model"}
    assert "puts back the associations the lockfile kept" in reconciler("plan").out
    audit = json.loads(reconciler("audit", "--format", "json").out)
    assert ("model", "detached") in {(f["name"], f["kind"]) for f in audit["findings"]}

    sandbox.service.artifact_quota = 6000
    finished = apply()
    assert finished.code == 0, finished.err
    new_model = recorded(repo).artifacts["model"].arn
    assert new_model != arns["model"]
    assert edges(sandbox) == around(arns, new_model)
    assert recorded(repo).detached == {}
    assert reconciler("plan", "--detailed-exitcode").code == 0


def _journal_shows(path: Path, text: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return True
        time.sleep(0.005)
    return False


def test_a_replace_killed_between_delete_and_create_loses_no_association(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(SandboxConfig(latency_ms=150)) as slow:
        use(slow, monkeypatch)
        arns = linked(repo, slow)
        move_the_model(repo)
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
            cwd=repo,
            env={**os.environ, **env_for(slow), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=default_signals,
        )
        try:
            # The old model is deleted and its entry removed; the create takes 150 ms more.
            removed = '"name": "model", "op": "remove"'
            assert _journal_shows(journal_path(repo / "artifacts.lock.json"), removed)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=30)

        again = apply()
        assert again.code == 0, again.err
        new_model = recorded(repo).artifacts["model"].arn
        assert new_model != arns["model"]
        assert edges(slow) == around(arns, new_model)
        assert reconciler("plan", "--detailed-exitcode").code == 0
