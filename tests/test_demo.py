"""The README's first command: the main job, end to end, on the bundled sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[subprocess.CompletedProcess[str], str, str]]:
    """One run of the demo for every test here (it takes a while): its result, and `git status`
    before and after."""
    before = git_status()
    result = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        env={**os.environ, "RECONCILER": f"{sys.executable} -m reconciler"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    yield result, before, git_status()


def test_the_demo_applies_the_examples_and_modifies_nothing_tracked(
    demo: tuple[subprocess.CompletedProcess[str], str, str],
) -> None:
    result, before, after = demo
    assert result.returncode == 0, result.stderr
    assert "Apply complete: 23 created" in result.stdout
    counts = "9 artifacts, 1 context, 1 action, 12 associations"
    assert f"No changes: the lockfile matches the manifests ({counts})." in result.stdout
    assert f"Audit clean: {counts}" in result.stdout
    # The edge from the training job, which SageMaker created (the sandbox preloads it).
    assert "association training-job-to-model: created" in result.stdout
    assert after == before


def test_the_demo_draws_the_lineage_it_applied(
    demo: tuple[subprocess.CompletedProcess[str], str, str],
) -> None:
    result, _, _ = demo
    drawing = result.stdout.split("== reconciler graph --around churn-model-approval")[1]
    assert drawing.splitlines()[1] == "flowchart LR"
    assert '"churn-model-approval"' in drawing and '"churn-endpoint"' in drawing
    assert 'n0 -->|"ContributedTo"| n3' in drawing


def test_the_demo_plans_and_applies_two_targets_in_two_accounts(
    demo: tuple[subprocess.CompletedProcess[str], str, str],
) -> None:
    result = demo[0]
    assert result.returncode == 0, result.stderr
    several = result.stdout.split("== several targets")[1]
    applied = several.split("== reconciler apply")[1].split("== reconciler plan")[0]
    assert applied.count("Apply complete: ") == 2
    assert "Apply complete: 2 created" in applied.split("== target 'prod'")[0]
    prod = applied.split("== target 'prod' (account 210987654321 in eu-west-1) ==")[1]
    assert "Apply complete: 3 created" in prod
    assert prod.count(":210987654321:artifact/") == 3
    assert "No changes: the lockfile matches the manifests (3 artifacts)." in several
    assert "s3://acme-ml-data-prod/churn/monitoring/baseline.json" in several
