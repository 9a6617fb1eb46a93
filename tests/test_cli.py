from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler import __version__, lockfile
from reconciler.cli import cli
from reconciler.manifest import load_manifests
from tests.helpers import manifest_doc, save_recorded, write_manifests
from tests.sandboxed import reconciler as run

EXAMPLES = Path(__file__).parent.parent / "manifests"


@pytest.fixture
def example_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(EXAMPLES, repo / "manifests")
    return repo


@pytest.fixture
def example_artifacts_repo(repo: Path) -> Path:
    """The examples' artifacts without the lineage around them (save_recorded records artifacts)."""
    shutil.rmtree(repo / "manifests")
    shutil.copytree(EXAMPLES, repo / "manifests", ignore=shutil.ignore_patterns("lineage"))
    return repo


def test_version_and_help_with_examples() -> None:
    assert run("--version").out.strip() == f"reconciler, version {__version__}"
    commands = [
        ["validate"],
        ["plan"],
        ["audit"],
        ["apply"],
        ["import"],
        ["forget"],
        ["schema"],
        ["sandbox"],
        ["targets"],
        ["graph"],
        ["github", "comment"],
        ["github", "commit-lockfile"],
        ["github", "apply-summary"],
    ]
    context = click.Context(cli)
    github = cli.get_command(context, "github")
    assert isinstance(github, click.Group)
    listed = set(cli.list_commands(context)) | {f"github {name}" for name in github.commands}
    assert {" ".join(c) for c in commands} | {"github"} == listed
    for command in commands:
        result = run(*command, "--help")
        assert result.code == 0
        assert "Example:" in result.out and f"reconciler {' '.join(command)}" in result.out


def test_validate_accepts_the_examples(example_repo: Path) -> None:
    result = run("validate")
    assert result.code == 0
    assert result.out == (
        "9 artifacts, 1 context, 1 action and 12 associations in 7 files under manifests are "
        "valid.\n"
    )


def test_validate_for_github_prints_annotations_and_plain_lines(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a", Properties={"rows": 100}))
    result = run("validate", "--format", "github")
    assert result.code == 1
    annotation = (
        "::error file=manifests/artifacts.yaml,line=11,col=11,title=reconciler validate::"
        'spec.Properties.rows must be a string, not a number; quote it: rows: "100"'
    )
    assert result.out.splitlines() == [annotation]
    assert result.err.splitlines()[0] == (
        "manifests/artifacts.yaml:11:11: spec.Properties.rows must be a string, not a number; "
        'quote it: rows: "100"'
    )


def test_plan_without_lockfile_creates_everything_and_exits_2(example_repo: Path) -> None:
    result = run("plan", "--format", "json", "--detailed-exitcode")
    assert result.code == 2
    document = json.loads(result.out)
    assert document["summary"]["create"] == 23
    assert {c["action"] for c in document["changes"]} == {"create"}
    kinds = [c["kind"] for c in document["changes"]]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "Artifact": 9,
        "Context": 1,
        "Action": 1,
        "Association": 12,
    }


def test_plan_with_a_matching_lockfile_has_nothing_to_do(example_artifacts_repo: Path) -> None:
    save_recorded(
        example_artifacts_repo / "artifacts.lock.json", load_manifests(Path("manifests")).specs()
    )
    result = run("plan", "--format", "json", "--detailed-exitcode")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["changes"] == []
    assert document["summary"]["unchanged"] == 9
    assert run("plan").out == "No changes: the lockfile matches the manifests (9 artifacts).\n"


def test_plan_without_detailed_exitcode_exits_0_on_changes(example_repo: Path) -> None:
    assert run("plan").code == 0


def test_plan_out_saves_what_apply_needs(example_repo: Path) -> None:
    lock = save_recorded(example_repo / "artifacts.lock.json", {}, serial=4)
    result = run("plan", "--out", "plan.json", "--prune")
    assert result.code == 0
    assert "apply it with: reconciler apply plan.json" in result.err
    saved = json.loads(Path("plan.json").read_text())
    assert saved["lockfile"] == {"lineage": lock.lineage, "serial": 4}
    assert saved["manifests_digest"] == load_manifests(Path("manifests")).digest
    assert saved["mode"] == {"prune": True, "refresh": False, "deep": False}
    assert saved["summary"]["create"] == 23
    assert len(saved["plan_digest"]) == 64


def test_audit_exit_codes(example_artifacts_repo: Path) -> None:
    assert run("audit").code == 2
    save_recorded(
        example_artifacts_repo / "artifacts.lock.json", load_manifests(Path("manifests")).specs()
    )
    clean = run("audit", "--format", "json")
    assert clean.code == 0
    assert json.loads(clean.out)["clean"] is True


def test_a_broken_lockfile_is_an_error_and_is_left_alone(example_repo: Path) -> None:
    path = example_repo / "artifacts.lock.json"
    path.write_text('{"format_version": 1, "artifacts": ')
    for command in ("plan", "audit"):
        result = run(command)
        assert result.code == 1
        assert result.err.startswith(
            "error: cannot read the lockfile artifacts.lock.json: it is not valid JSON"
        )
    assert path.read_text() == '{"format_version": 1, "artifacts": '


def test_invalid_manifests_fail_plan_with_positions(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a", Tgas=[]))
    result = run("plan")
    assert result.code == 1
    assert result.err.splitlines() == [
        "manifests/artifacts.yaml:10:3: unknown field 'Tgas' in spec (did you mean 'Tags'?)",
        "error: 1 problem found in the manifests",
    ]


def test_config_file_sets_paths_and_flags_win(repo: Path) -> None:
    write_manifests(repo / "declared", manifest_doc("a"))
    (repo / "reconciler.yaml").write_text("manifests: declared\nlockfile: state/lock.json\n")
    save_recorded(repo / "state" / "lock.json", {})
    (repo / "sub").mkdir()
    result = CliRunner().invoke(cli, ["plan", "--format", "json"], catch_exceptions=False)
    assert json.loads(result.stdout)["summary"]["create"] == 1
    flagged = run("plan", "--manifests", "manifests", "--format", "json")
    assert json.loads(flagged.out)["summary"]["create"] == 0


def test_config_file_errors_are_positioned(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text("manifests: declared\nlockfiel: x.json\n")
    result = run("plan")
    assert result.code == 1
    assert result.err.splitlines()[0].endswith(
        "reconciler.yaml:2:1: unknown field 'lockfiel' (did you mean 'lockfile'?)"
    )


def test_config_is_found_from_a_subdirectory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_manifests(repo / "declared", manifest_doc("a"))
    (repo / "reconciler.yaml").write_text("manifests: declared\n")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    result = run("validate")
    assert result.code == 0
    assert "under ../declared is valid" in result.out


def test_schema_check(repo: Path) -> None:
    assert run("schema").code == 0
    assert run("schema", "--check").code == 0
    path = repo / "schemas" / "manifest.schema.json"
    path.write_text(path.read_text().replace('"maxLength": 120', '"maxLength": 121'))
    stale = run("schema", "--check")
    assert stale.code == 1
    assert stale.err == (
        "error: schemas/manifest.schema.json is out of date; "
        "run 'reconciler schema' and commit the result\n"
    )


def test_committed_schema_is_current() -> None:
    root = Path(__file__).parent.parent
    result = CliRunner().invoke(
        cli, ["schema", "--check", "--path", str(root / "schemas/manifest.schema.json")]
    )
    assert result.exit_code == 0, result.output


def test_internal_errors_are_one_line_without_a_traceback(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(lockfile, "load", boom)
    result = run("plan")
    assert result.code == 1
    assert result.err.startswith("error: internal error (RuntimeError: kaboom); this is a bug")
    assert len(result.err.splitlines()) == 1


def test_the_cli_as_a_subprocess(example_repo: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"], capture_output=True, text=True
    )
    assert (ok.returncode, ok.stderr) == (0, "")
    plan = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert plan.returncode == 2
    assert "\x1b[" not in plan.stdout
    (example_repo / "manifests" / "bad.yaml").write_bytes(b"\xff")
    bad = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "manifests/bad.yaml:1:1: invalid UTF-8 (byte 0xff); save the file as UTF-8" in bad.stderr
    assert "Traceback" not in bad.stderr
