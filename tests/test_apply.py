"""reconciler apply against the sandbox, over HTTP, as users run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler import lockfile
from reconciler.journal import journal_path
from reconciler.limits import OWNERSHIP_TAG_KEY
from reconciler.lockfile import Entry, Target
from reconciler.runlock import ApplyLock
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import manifest_doc
from tests.sandboxed import (
    ACCOUNT,
    REGION,
    apply,
    declare,
    default_signals,
    env_for,
    linked,
    live,
    on_a_terminal,
    read_until,
    reconciler,
    recorded,
    sigint_ignored,
    sm,
    uri,
    use,
)

# --- the lifecycle ------------------------------------------------------------------------------


def test_full_lifecycle_create_noop_update_replace_prune(repo: Path, sandbox: Sandbox) -> None:
    declare(
        repo,
        manifest_doc(
            "raw",
            Properties={"stage": "raw", "rows": "10"},
            Tags=[{"Key": "team", "Value": "churn"}],
        ),
        manifest_doc("model"),
    )
    first = apply()
    assert first.code == 0, first.err
    assert "Apply complete: 2 created" in first.out
    state = live(sandbox)
    assert set(state) == {uri("raw"), uri("model")}
    lock = recorded(repo)
    assert state[uri("raw")]["Tags"] == {
        "team": "churn",
        OWNERSHIP_TAG_KEY: "raw",
        "reconciler:lineage": lock.lineage,
    }
    assert lock.target == Target(ACCOUNT, REGION)
    assert {n: e.arn for n, e in lock.artifacts.items()} == {
        "raw": state[uri("raw")]["ArtifactArn"],
        "model": state[uri("model")]["ArtifactArn"],
    }
    assert not journal_path(repo / "artifacts.lock.json").exists()

    before = (repo / "artifacts.lock.json").read_bytes()
    sandbox.reset_counters()
    again = apply()
    assert again.code == 0
    assert "Nothing to apply." in again.out
    assert (repo / "artifacts.lock.json").read_bytes() == before
    assert sandbox.counters() == {}  # no change needs no credentials and no calls

    declare(
        repo,
        manifest_doc(
            "raw",
            ArtifactName="raw-v2",
            Properties={"stage": "processed"},
            Tags=[{"Key": "owner", "Value": "ml"}],
        ),
        manifest_doc("model"),
    )
    updated = apply()
    assert updated.code == 0, updated.err
    assert "1 updated" in updated.out
    raw = live(sandbox)[uri("raw")]
    assert raw["ArtifactName"] == "raw-v2"
    assert raw["Properties"] == {"stage": "processed"}
    assert raw["Tags"] == {
        "owner": "ml",
        OWNERSHIP_TAG_KEY: "raw",
        "reconciler:lineage": lock.lineage,
    }
    assert recorded(repo).serial == lock.serial + 1

    declare(
        repo,
        manifest_doc(
            "raw",
            ArtifactName="raw-v2",
            Properties={"stage": "processed"},
            Tags=[{"Key": "owner", "Value": "ml"}],
        ),
        manifest_doc(
            "model", ArtifactType="Model", Source={"SourceUri": "s3://acme-ml/model/v2.tar.gz"}
        ),
    )
    replaced = apply()
    assert replaced.code == 0, replaced.err
    assert "1 replaced" in replaced.out
    state = live(sandbox)
    assert set(state) == {uri("raw"), "s3://acme-ml/model/v2.tar.gz"}
    assert state["s3://acme-ml/model/v2.tar.gz"]["ArtifactType"] == "Model"
    assert (
        recorded(repo).artifacts["model"].arn
        == state["s3://acme-ml/model/v2.tar.gz"]["ArtifactArn"]
    )

    declare(
        repo,
        manifest_doc(
            "model", ArtifactType="Model", Source={"SourceUri": "s3://acme-ml/model/v2.tar.gz"}
        ),
    )
    orphaned = apply()
    assert orphaned.code == 0
    assert "Nothing to apply." in orphaned.out and "orphan" in orphaned.out
    assert uri("raw") in live(sandbox)
    pruned = apply("--prune")
    assert pruned.code == 0, pruned.err
    assert "1 deleted" in pruned.out
    assert set(live(sandbox)) == {"s3://acme-ml/model/v2.tar.gz"}
    assert list(recorded(repo).artifacts) == ["model"]
    assert reconciler("plan", "--detailed-exitcode", "--prune").code == 0


@pytest.mark.parametrize("delete_associated", ["refuse", "cascade"])
def test_prune_removes_associations_first_and_replace_restores_them(
    repo: Path, monkeypatch: pytest.MonkeyPatch, delete_associated: str
) -> None:
    """Whether the service refuses to delete an artifact that has associations or deletes them
    with it is not documented; apply removes them first and puts them back after a replace."""
    with Sandbox(SandboxConfig(delete_associated=delete_associated)) as sandbox:
        use(sandbox, monkeypatch)
        check_associations_survive_replace_and_prune(repo, sandbox)


def check_associations_survive_replace_and_prune(repo: Path, sandbox: Sandbox) -> None:
    arns = linked(repo, sandbox)
    client = sm(sandbox)

    declare(
        repo,
        manifest_doc("data"),
        manifest_doc("model", ArtifactType="Model"),
        manifest_doc("report"),
    )
    replaced = apply()
    assert replaced.code == 0, replaced.err
    new_model = recorded(repo).artifacts["model"].arn
    edges = {
        (a["SourceArn"], a["DestinationArn"], a.get("AssociationType"))
        for a in client.list_associations()["AssociationSummaries"]
    }
    assert edges == {(arns["data"], new_model, "ContributedTo"), (new_model, arns["report"], None)}
    assert "association restored" in replaced.out

    declare(repo, manifest_doc("data"), manifest_doc("report"))
    pruned = apply("--prune")
    assert pruned.code == 0, pruned.err
    assert pruned.out.count("association removed") == 2
    assert client.list_associations()["AssociationSummaries"] == []
    assert set(live(sandbox)) == {uri("data"), uri("report")}


def test_an_artifact_deleted_outside_is_created_again_on_update(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a", Properties={"k": "1"}))
    assert apply().code == 0
    sm(sandbox).delete_artifact(ArtifactArn=recorded(repo).artifacts["a"].arn)
    declare(repo, manifest_doc("a", Properties={"k": "2"}))
    result = apply()
    assert result.code == 0, result.err
    assert "recreated" in result.out
    assert live(sandbox)[uri("a")]["Properties"] == {"k": "2"}


# --- lost responses, crashes, faults ------------------------------------------------------------


def test_every_create_losing_its_response_is_adopted(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, *(manifest_doc(f"a{i}") for i in range(6)))
    with Sandbox(SandboxConfig(lost_response_rate=1.0)) as lossy:
        use(lossy, monkeypatch)
        result = apply()
        assert result.code == 0, result.err
        assert "6 adopted" in result.out
        state = live(lossy)
        assert len(state) == 6
        assert {n: e.arn for n, e in recorded(repo).artifacts.items()} == {
            f"a{i}": state[uri(f"a{i}")]["ArtifactArn"] for i in range(6)
        }


def test_adoption_waits_for_a_lagging_list(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    declare(repo, manifest_doc("a"))
    with Sandbox(SandboxConfig(lost_response_rate=1.0, list_lag_ms=700)) as lagging:
        use(lagging, monkeypatch)
        result = apply()
        assert result.code == 0, result.err
        assert "1 adopted" in result.out
        assert len(live(lagging)) == 1


def test_convergence_under_a_low_rate_limit_and_server_errors(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, *(manifest_doc(f"a{i:02d}", Properties={"i": str(i)}) for i in range(40)))
    with Sandbox(SandboxConfig(rate_limit=20, error_rate=0.1, seed=3)) as hostile:
        use(hostile, monkeypatch)
        result = reconciler("apply", "--auto-approve", "--format", "json")
        assert result.code == 0, result.err
        document = json.loads(result.out)
        assert document["ok"] is True
        assert document["summary"]["created"] + document["summary"]["adopted"] == 40
        assert document["summary"]["throttled"] == hostile.stats()["throttled"] > 0
        assert hostile.stats()["server_errors"] > 0
        state = live(hostile)
        assert len(state) == 40
        assert {e.arn for e in recorded(repo).artifacts.values()} == {
            a["ArtifactArn"] for a in state.values()
        }
        assert reconciler("plan", "--detailed-exitcode").code == 0


def _apply_process(repo: Path, sandbox: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", *args],
        cwd=repo,
        env={**os.environ, **env_for(sandbox), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )


def _kill_after(process: subprocess.Popen[str], created_lines: int) -> None:
    """SIGKILL the apply once it has reported `created_lines` finished creates (0: at once)."""
    read_until(process, ": created arn:", created_lines)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.parametrize(
    "created_before_kill", [0, 1, 12, 24], ids=["before", "first", "during", "late"]
)
def test_sigkill_then_apply_again_ends_with_each_artifact_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch, created_before_kill: int
) -> None:
    declare(repo, *(manifest_doc(f"a{i:02d}") for i in range(24)))
    with Sandbox(SandboxConfig(latency_ms=40)) as slow:
        process = _apply_process(repo, slow, "--parallelism", "3")
        _kill_after(process, created_before_kill)
        # After the last create the run may finish before the signal lands; either way the
        # second apply must end in the same state.
        finished = created_before_kill == 24 and process.returncode == 0
        assert process.returncode == -signal.SIGKILL or finished
        use(slow, monkeypatch)
        second = apply()
        assert second.code == 0, second.err
        state = live(slow)
        assert set(state) == {uri(f"a{i:02d}") for i in range(24)}
        lock = recorded(repo)
        assert {n: e.arn for n, e in lock.artifacts.items()} == {
            f"a{i:02d}": state[uri(f"a{i:02d}")]["ArtifactArn"] for i in range(24)
        }
        assert not journal_path(repo / "artifacts.lock.json").exists()
        assert reconciler("plan", "--detailed-exitcode").code == 0


def test_a_crashed_apply_is_visible_to_plan_before_it_is_folded(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, *(manifest_doc(f"a{i:02d}") for i in range(10)))
    slow_sandbox = Sandbox(SandboxConfig(latency_ms=40)).start()
    try:
        process = _apply_process(repo, slow_sandbox, "--parallelism", "1")
        _kill_after(process, 3)
    finally:
        slow_sandbox.stop()
    assert journal_path(repo / "artifacts.lock.json").exists()
    document = json.loads(reconciler("plan", "--format", "json").out)
    assert 3 <= document["summary"]["unchanged"] < 10


# --- limits and refusals ------------------------------------------------------------------------


def test_the_quota_stops_the_run_and_the_next_apply_continues(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, *(manifest_doc(f"a{i}") for i in range(9)))
    state = tmp_path / "sandbox.json"
    with Sandbox(SandboxConfig(artifact_quota=5, state=state)) as small:
        use(small, monkeypatch)
        result = apply("--parallelism", "2")
        assert result.code == 1
        assert "quota" in result.err and "is 5 Artifacts" in result.err
        assert "Apply stopped: 5 created" in result.out
        assert len(recorded(repo).artifacts) == 5
        assert len(live(small)) == 5
    with Sandbox(SandboxConfig(artifact_quota=6000, state=state)) as raised:
        use(raised, monkeypatch)
        again = apply()
        assert again.code == 0, again.err
        assert "4 created" in again.out
        assert len(live(raised)) == 9
        assert len(recorded(repo).artifacts) == 9


def test_another_account_is_refused_before_any_write(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, manifest_doc("a"))
    lockfile.save(
        repo / "artifacts.lock.json", lockfile.Lockfile(target=Target("999999999999", REGION))
    )
    with Sandbox() as other:
        use(other, monkeypatch)
        result = apply()
        assert result.code == 1
        assert (
            "the lockfile targets account 999999999999 in eu-west-1, but these credentials and settings reach account 123456789012 in eu-west-1"
            in result.err
        )
        assert "CreateArtifact" not in other.counters()


def test_a_tampered_lockfile_cannot_touch_an_artifact_we_do_not_own(
    repo: Path, sandbox: Sandbox
) -> None:
    client = sm(sandbox)
    theirs = client.create_artifact(
        Source={"SourceUri": uri("theirs")}, ArtifactType="DataSet", Properties={"keep": "me"}
    )["ArtifactArn"]
    spec = {
        "ArtifactName": "victim",
        "ArtifactType": "DataSet",
        "Source": {"SourceUri": uri("theirs")},
        "Properties": {"keep": "me"},
    }
    lockfile.save(
        repo / "artifacts.lock.json",
        lockfile.Lockfile(
            target=Target(ACCOUNT, REGION), artifacts={"victim": Entry(theirs, spec)}
        ),
    )
    declare(
        repo,
        manifest_doc("victim", Source={"SourceUri": uri("theirs")}, Properties={"changed": "yes"}),
    )
    updated = apply()
    assert updated.code == 1
    assert f"refusing to change {theirs}, recorded as 'victim'" in updated.err
    assert "it is not managed by reconciler (it has no reconciler tags)" in updated.err
    declare(repo, manifest_doc("other"))
    pruned = apply("--prune", "--allow-empty")
    assert pruned.code == 1
    assert "refusing to change" in pruned.err
    described = client.describe_artifact(ArtifactArn=theirs)
    assert described["Properties"] == {"keep": "me"}
    assert client.list_tags(ResourceArn=theirs)["Tags"] == []


def test_an_existing_foreign_artifact_is_not_adopted(repo: Path, sandbox: Sandbox) -> None:
    arn = sm(sandbox).create_artifact(Source={"SourceUri": uri("a")}, ArtifactType="DataSet")[
        "ArtifactArn"
    ]
    declare(repo, manifest_doc("a"))
    result = apply()
    assert result.code == 1
    assert "is not managed by reconciler" in result.err
    assert f"reconciler import a {arn}" in result.err
    assert recorded(repo).artifacts == {}


def test_a_stale_saved_plan_is_refused(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    assert reconciler("plan", "--out", "plan.json").code == 0
    assert reconciler("plan", "--out", "second.json").code == 0
    assert reconciler("apply", "plan.json").code == 0  # a saved plan needs no --auto-approve
    stale = reconciler("apply", "second.json")
    assert stale.code == 1
    assert (
        "the saved plan second.json is stale: the lockfile changed since the plan was made"
        in stale.err
    )
    assert "run 'reconciler plan --out second.json' again" in stale.err
    assert reconciler("plan", "--out", "third.json").code == 0
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    changed = reconciler("apply", "third.json")
    assert changed.code == 1
    assert "the manifests changed since the plan was made" in changed.err


def test_a_saved_plan_keeps_its_prune_choice(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    assert apply().code == 0
    declare(repo, manifest_doc("a"))
    assert reconciler("plan", "--prune", "--out", "plan.json").code == 0
    result = reconciler("apply", "plan.json")
    assert result.code == 0, result.err
    assert set(live(sandbox)) == {uri("a")}


def test_two_concurrent_applies(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    with ApplyLock(repo / "artifacts.lock.json"):
        second = apply()
        assert second.code == 1
        assert second.err.startswith(
            f"error: another apply is running on artifacts.lock.json (pid {os.getpid()} on "
        )
    assert apply().code == 0


def test_two_concurrent_apply_processes(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, *(manifest_doc(f"a{i}") for i in range(20)))
    with Sandbox(SandboxConfig(latency_ms=100)) as slow:
        first = _apply_process(repo, slow, "--parallelism", "1")
        assert read_until(first, ": created arn:") == 1, first.stderr
        # Held still while holding the lock, so a loaded machine cannot let it finish first.
        first.send_signal(signal.SIGSTOP)
        try:
            second = subprocess.run(
                [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
                cwd=repo,
                env={**os.environ, **env_for(slow)},
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            first.send_signal(signal.SIGCONT)
        assert second.returncode == 1
        assert (
            f"another apply is running on artifacts.lock.json (pid {first.pid} on " in second.stderr
        )
        assert first.wait(timeout=60) == 0
        assert len(live(slow)) == 20


def test_without_a_terminal_apply_needs_auto_approve(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    result = reconciler("apply")
    assert result.code == 1
    assert result.err == (
        "error: refusing to apply without confirmation: there is no terminal to ask on; "
        "review 'reconciler plan' and pass --auto-approve, or apply a saved plan file\n"
    )
    assert sandbox.counters() == {}


def test_pruning_everything_needs_allow_empty(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    assert apply().code == 0
    declare(repo)
    refused = apply("--prune")
    assert refused.code == 1
    assert "refusing to delete every recorded artifact (2)" in refused.err
    assert len(live(sandbox)) == 2
    allowed = apply("--prune", "--allow-empty")
    assert allowed.code == 0, allowed.err
    assert live(sandbox) == {}


def test_missing_region_and_credentials_are_one_line_errors(
    repo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, manifest_doc("a"))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert (
        apply().err
        == "error: no AWS region is set; pass --region, set AWS_REGION, or give the profile a region\n"
    )
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = apply()
    assert result.code == 1
    assert result.err.startswith("error: no AWS credentials found")


def test_json_summary_and_progress_on_stderr(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    result = reconciler("apply", "--auto-approve", "--format", "json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["summary"]["created"] == 2
    assert document["api_calls"] == {"create_artifact": 2}
    assert [o["name"] for o in document["outcomes"]] == ["a", "b"]
    assert document["lockfile"]["serial"] == recorded(repo).serial
    assert result.err.count(": created arn:") == 2


def test_one_call_per_new_artifact(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, *(manifest_doc(f"a{i}", Tags=[{"Key": "t", "Value": "v"}]) for i in range(15)))
    sandbox.reset_counters()
    assert apply().code == 0
    assert sandbox.counters() == {"sts:GetCallerIdentity": 1, "CreateArtifact": 15}


def test_progress_is_one_line_per_operation_when_not_a_terminal(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    out = apply().out
    assert out.count("\n  + ") >= 2
    assert "\r" not in out


def test_on_a_terminal_progress_is_one_counting_line(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"), manifest_doc("c"))
    code, text = on_a_terminal(repo, sandbox, "apply", "--auto-approve")
    assert code == 0
    assert "\r\x1b[2K[3/3] " in text
    assert text.count(": created arn:") == 3
    assert "Apply complete: 3 created" in text


def test_a_duplicate_worded_otherwise_is_still_adopted(
    repo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real service's message for a duplicate is undocumented: apply must not depend on it.
    from reconciler.sandbox import service as sandbox_service

    def reworded(message: str) -> sandbox_service.ServiceError:
        return sandbox_service.ServiceError(
            "ValidationException", message.replace("already exists", "is taken")
        )

    declare(repo, manifest_doc("a"), manifest_doc("b"))
    assert apply().code == 0
    # Entries lost (an older lockfile restored): the creates will meet duplicates.
    lockfile.save(repo / "artifacts.lock.json", replace(recorded(repo), artifacts={}))
    monkeypatch.setattr(sandbox_service, "validation_error", reworded)
    result = apply()
    assert result.code == 0, result.err
    assert "2 adopted" in result.out
    sm(sandbox).create_artifact(Source={"SourceUri": uri("c")}, ArtifactType="DataSet")
    declare(repo, manifest_doc("a"), manifest_doc("b"), manifest_doc("c"))
    refused = apply()
    assert refused.code == 1
    assert "is not managed by reconciler" in refused.err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_apply_stops_early_and_records_what_finished(
    repo: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    declare(repo, *(manifest_doc(f"a{i:02d}") for i in range(30)))
    with Sandbox(SandboxConfig(latency_ms=60)) as slow:
        # As when the suite runs in the background from a script: the apply must still stop.
        with sigint_ignored():
            process = _apply_process(repo, slow, "--parallelism", "2")
        assert process.stderr is not None
        assert read_until(process, ": created arn:", 3) == 3
        process.send_signal(signum)
        assert process.wait(timeout=30) == 130
        assert "interrupted; every operation that finished is recorded" in process.stderr.read()
        assert not journal_path(repo / "artifacts.lock.json").exists()  # folded on the way out
        lock = recorded(repo)
        state = live(slow)
        assert 3 <= len(lock.artifacts) < 30  # it stopped early
        assert {e.arn for e in lock.artifacts.values()} == {
            a["ArtifactArn"] for a in state.values()
        }
        use(slow, monkeypatch)
        assert apply().code == 0
        assert len(live(slow)) == 30


def _apply_on_a_terminal(repo: Path, sandbox: Sandbox, answer: bytes) -> tuple[int, str]:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply"],
        cwd=repo,
        env={**os.environ, **env_for(sandbox), "NO_COLOR": "1"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    answered = False
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if (
            not answered
            and b"Apply these changes to account 123456789012 in eu-west-1? [y/N]" in output
        ):
            os.write(leader, answer)
            answered = True
    os.close(leader)
    return process.wait(timeout=60), output.decode()


def test_on_a_terminal_apply_shows_the_plan_and_asks(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    code, output = _apply_on_a_terminal(repo, sandbox, b"n\n")
    assert code == 0  # a choice, not an error
    assert "+ artifact a  (create)" in output
    assert "Apply cancelled; nothing was changed." in output
    assert "error" not in output
    assert live(sandbox) == {}
    code, output = _apply_on_a_terminal(repo, sandbox, b"y\n")
    assert code == 0, output
    assert "Apply complete: 1 created" in output
    assert set(live(sandbox)) == {uri("a")}
