"""What the user reads: counts in good English, explanations that are true, documented defaults."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.sandbox import Sandbox
from reconciler.sensitive import DEFAULT_PATTERN
from reconciler.words import counted
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare, on_a_terminal, reconciler, recorded, sm, uri

ROOT = Path(__file__).parent.parent


def test_counted_takes_the_number_of_its_count() -> None:
    assert counted(0, "finding") == "0 findings"
    assert counted(1, "finding") == "1 finding"
    assert counted(2, "API call") == "2 API calls"
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"


def test_one_of_everything_is_said_in_the_singular(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    assert reconciler("validate").out == "1 artifact in 1 file under manifests is valid.\n"
    applied = apply()
    assert applied.code == 0, applied.err
    assert "Apply complete: 1 created, " in applied.out
    assert "; 1 API call, 0 throttled and retried." in applied.out
    plan = reconciler("plan")
    assert plan.out == "No changes: the lockfile matches the manifests (1 artifact).\n"
    markdown = reconciler("plan", "--format", "markdown")
    assert "(1 artifact)." in markdown.out
    audit = reconciler("audit", "--live")
    assert audit.code == 0, audit.err
    assert audit.out.startswith("Audit clean: 1 artifact, nothing to report.\n")
    assert "(1 ListArtifacts call, 1 artifact listed, 1 of ours)" in audit.out
    assert ": 1 API call.\n" in audit.out
    assert "**Audit clean.** 1 artifact, " in reconciler("audit", "--format", "markdown").out


def test_one_finding_is_one_finding(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    assert apply().code == 0
    declare(repo, manifest_doc("a", ArtifactType="Model"))
    audit = reconciler("audit")
    assert audit.code == 2
    assert "Audit: 1 finding in 1 artifact (" in audit.out
    markdown = reconciler("audit", "--format", "markdown")
    assert "**1 finding in 1 artifact**" in markdown.out


def test_on_a_small_account_the_live_audit_explains_itself_truly(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"))
    assert apply().code == 0
    sm(sandbox).delete_artifact(ArtifactArn=recorded(repo).artifacts["a"].arn)
    result = reconciler("audit", "--live", "--format", "json")
    assert result.code == 2
    strategy = str(json.loads(result.out)["strategy"])
    assert "not ours" not in strategy and "many" not in strategy
    assert strategy == (
        "list pages (1 ListArtifacts call, 0 artifacts listed, 0 of ours), "
        "then per-artifact reads of 1 recorded artifact not listed"
    )


def test_the_readme_says_what_sensitive_properties_is_by_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("# reconciler.yaml\n", 1)[1].split("```", 1)[0]
    assert "The default, when the key is absent, is the pattern below" in block
    assert f"sensitive_properties: {DEFAULT_PATTERN}\n" in block


class InFlight:
    """Counts the sandbox's requests in progress at once; each is held a little, unlocked, so
    that requests sent together overlap."""

    def __init__(self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()
        original = sandbox.service.call

        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            try:
                time.sleep(0.02)
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        monkeypatch.setattr(sandbox.service, "call", call)


def _unrecorded_artifacts(repo: Path, sandbox: Sandbox, count: int) -> list[str]:
    client = sm(sandbox)
    names = [f"a{i:02d}" for i in range(count)]
    for name in names:
        client.create_artifact(
            Source={"SourceUri": uri(name)}, ArtifactType="DataSet", ArtifactName=name
        )
    declare(repo, *(manifest_doc(name) for name in names))
    return names


@pytest.mark.parametrize("parallelism", [1, 4])
def test_import_all_adopts_in_parallel_with_apply_progress(
    repo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, parallelism: int
) -> None:
    names = _unrecorded_artifacts(repo, sandbox, 12)
    in_flight = InFlight(sandbox, monkeypatch)
    result = reconciler("import", "--all", "--parallelism", str(parallelism))
    assert result.code == 0, result.err
    lock = recorded(repo)
    assert sorted(lock.artifacts) == names, result.out
    progress = [line for line in result.out.splitlines() if ": imported arn:" in line]
    assert sorted(progress) == sorted(
        f"  = {name}: imported {lock.artifacts[name].arn}" for name in names
    )
    assert result.out.endswith("12 imported into artifacts.lock.json.\n")
    if parallelism == 1:
        assert in_flight.peak == 1
    else:
        assert 1 < in_flight.peak <= parallelism
    assert reconciler("plan", "--detailed-exitcode").code == 0


def test_import_all_counts_on_a_terminal(repo: Path, sandbox: Sandbox) -> None:
    _unrecorded_artifacts(repo, sandbox, 3)
    code, text = on_a_terminal(repo, sandbox, "import", "--all")
    assert code == 0
    assert "\r\x1b[2K[3/3]   = " in text
    assert "3 imported into artifacts.lock.json." in text


def test_forget_of_an_artifact_with_one_ownership_tag_says_tag(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"))
    assert apply().code == 0
    arn = recorded(repo).artifacts["a"].arn
    sm(sandbox).delete_tags(ResourceArn=arn, TagKeys=[LINEAGE_TAG_KEY])  # as an old reconciler
    result = reconciler("forget", "a")
    assert result.code == 0, result.err
    assert f"{arn} is left in place, without the {OWNERSHIP_TAG_KEY} tag.\n" in result.out


def test_the_apply_job_summary_counts_one_as_one(tmp_path: Path) -> None:
    summary = {"created": 1, "throttled": 1, "not_started": 1}
    document = {"ok": False, "summary": summary, "outcomes": [], "errors": ["b: quota"]}
    path = tmp_path / "apply.json"
    path.write_text(json.dumps(document))
    result = reconciler("github", "apply-summary", "--file", str(path))
    assert result.code == 0
    assert "; 1 throttled call retried." in result.out
    assert "1 operation was not started." in result.out
    summary.update(throttled=2, not_started=3)
    path.write_text(json.dumps(document))
    result = reconciler("github", "apply-summary", "--file", str(path))
    assert "; 2 throttled calls retried." in result.out
    assert "3 operations were not started." in result.out
