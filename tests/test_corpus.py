"""The mistakes users really make: each bad manifest gives its exact location and message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

CORPUS = Path(__file__).parent / "corpus" / "bad"


def _expected() -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for line in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        expected.setdefault(line.split(":", 1)[0].removeprefix("manifests/"), []).append(line)
    return expected


EXPECTED = _expected()
CASES = sorted(path.name for path in CORPUS.glob("*.yaml"))


def test_the_corpus_is_large_and_every_case_has_an_expectation() -> None:
    assert len(CASES) >= 25
    assert sorted(EXPECTED) == CASES


@pytest.mark.parametrize("case", CASES)
def test_bad_manifest_is_reported_at_its_place(case: str, repo: Path) -> None:
    shutil.copy(CORPUS / case, repo / "manifests" / case)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    diagnostics = [line for line in lines if not line.startswith("error:")]
    assert diagnostics == EXPECTED[case]
    assert lines[-1].startswith("error: ")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_all_bad_manifests_at_once_are_reported_together(repo: Path) -> None:
    for case in CASES:
        shutil.copy(CORPUS / case, repo / "manifests" / case)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    expected = [line for case in CASES for line in EXPECTED[case]]
    diagnostics = [line for line in result.stderr.splitlines() if not line.startswith("error:")]
    # Duplicates are checked across files too: the three duplicate cases each declare
    # 'churn-data' with s3://acme/churn/data.csv, as do most other cases, so more is reported
    # at once than file by file; every single-file diagnostic must still be there.
    for line in expected:
        if "duplicate" not in line:
            assert line in diagnostics
    assert result.stderr.rstrip().endswith("found in the manifests")
