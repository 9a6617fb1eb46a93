"""The README's first command: the main job, end to end, on the bundled sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    ).stdout


def test_the_demo_applies_the_examples_and_modifies_nothing_tracked() -> None:
    before = git_status()
    result = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        env={**os.environ, "RECONCILER": f"{sys.executable} -m reconciler"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Apply complete: 9 created" in result.stdout
    assert "No changes: the lockfile matches the manifests (9 artifacts)." in result.stdout
    assert "Audit clean: 9 artifacts" in result.stdout
    assert git_status() == before
