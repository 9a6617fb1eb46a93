"""Every output format of every command, fed the hostile corpus: names, property keys and values,
tag keys and values, lockfile entry names, file names, service answers, CLI arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.limits import OWNERSHIP_TAG_KEY
from reconciler.sandbox import Sandbox
from reconciler.textsafe import json_safe, safe_lines, visible
from tests.fake_github import pull_request_run
from tests.helpers import arn_for, manifest_doc, save_recorded, write_manifests
from tests.hostile import (
    HOSTILE,
    SINGLE_LINE,
    TAG_VALUES,
    assert_safe_json,
    assert_safe_markdown,
    assert_safe_text,
    strings_in,
)
from tests.sandboxed import sm, uri

# --- the escaping functions themselves ----------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_visible_leaves_nothing_a_terminal_or_a_log_would_obey(text: str) -> None:
    shown = safe_lines(visible(text))
    assert_safe_text(shown)
    assert "\n" not in shown


def test_visible_spells_each_character_as_an_escape() -> None:
    assert visible("a\rb\nc\td\x1b[2J\x85\x9b\u2028\u2029\u202e\x7f\x00") == (
        "a\\rb\\nc\\td\\x1b[2J\\x85\\x9b\\u2028\\u2029\\u202e\\x7f\\x00"
    )
    assert visible("##[error]x") == "#\\x23[error]x"
    assert (
        visible("plain text, unicode é チーム, \\ and ::")
        == "plain text, unicode é チーム, \\ and ::"
    )


def test_no_line_starts_with_a_command_but_ours() -> None:
    assert safe_lines("::error::x\n  ::warning::y\nok ::z\n\u00a0::n") == (
        "\\x3a:error::x\n  \\x3a:warning::y\nok ::z\n\u00a0\\x3a:n"
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_json_stays_the_same_value(text: str) -> None:
    document = json.dumps({text: [text]}, ensure_ascii=False)
    safe = json_safe(document)
    assert json.loads(safe) == {text: [text]}
    assert_safe_text(safe)


# --- validate -----------------------------------------------------------------------------------


def _invalid_manifests(directory: Path) -> None:
    """Manifests whose errors quote hostile keys and values, in files with hostile names."""
    write_manifests(
        directory,
        manifest_doc("a", **{text: "x" for text in HOSTILE}),
        filename="::error file=a,line=1::forged\x1b[2J\u2028.yaml",
    )
    write_manifests(
        directory,
        manifest_doc(
            "b",
            Properties={text: text for text in HOSTILE},
            Tags=[{"Key": text, "Value": text} for text in HOSTILE[:10]],
        ),
        manifest_doc("c", Tags=[{"Key": value, "Value": "v"} for value in TAG_VALUES * 2]),
        filename="\n::add-mask::name\r##[error]x.yaml",
    )


def invoke(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("where", ["manifests", "."])
def test_validate_text_and_github(repo: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    _invalid_manifests(repo / "manifests")
    if where == ".":  # paths then start the line: manifests/ does not come first
        monkeypatch.chdir(repo / "manifests")
    for output_format in ("text", "github"):
        result = invoke("validate", "--manifests", where, "--format", output_format)
        assert result.exit_code == 1
        assert_safe_text(result.stdout, annotations=output_format == "github")
        assert_safe_text(result.stderr)
        diagnostics = result.stderr.splitlines()[:-1]
        assert len(diagnostics) > 2 * len(HOSTILE)
        if output_format == "github":
            assert len(result.stdout.splitlines()) == len(diagnostics)
    assert "unknown field 'Tgs\\r::warning file=README.md,line=1::x' in spec" in result.stderr


def test_validate_warnings_in_a_hostile_file(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_manifests(
        repo / "manifests",
        manifest_doc("a", ArtifactName="shared"),
        manifest_doc("b", ArtifactName="shared"),
        filename="::warning::x\x1b[2J\r.yaml",
    )
    monkeypatch.chdir(repo / "manifests")
    for output_format in ("text", "github"):
        result = invoke("validate", "--manifests", ".", "--format", output_format)
        assert result.exit_code == 0, result.output
        assert "warning" in result.stderr
        assert_safe_text(result.stdout, annotations=output_format == "github")
        assert_safe_text(result.stderr)


# --- plan and audit, offline --------------------------------------------------------------------


def _hostile_spec(name: str, values: tuple[str, ...], artifact_type: str) -> dict[str, Any]:
    return {
        "ArtifactName": name,
        "ArtifactType": artifact_type,  # String256 has no pattern: anything goes
        "Source": {
            "SourceUri": f"s3://acme/{name}/" + SINGLE_LINE[0],
            "SourceTypes": [{"SourceIdType": "Custom", "Value": HOSTILE[1]}],
        },
        "Properties": dict(zip(SINGLE_LINE, values, strict=True)),
        "MetadataProperties": {"CommitId": SINGLE_LINE[1]},
        "Tags": sorted(
            ({"Key": f"t{i}", "Value": value} for i, value in enumerate(TAG_VALUES)),
            key=lambda tag: tag["Key"],
        ),
    }


def _declared(spec: dict[str, Any]) -> dict[str, Any]:
    return manifest_doc(
        spec["ArtifactName"], **{k: v for k, v in spec.items() if k != "ArtifactName"}
    )


def _hostile_state(repo: Path) -> None:
    """Declared: one artifact per hostile string, carrying hostile text everywhere it may, each
    recorded with other hostile values (a replacement: ArtifactType changes); one not yet applied
    (a create). Recorded but no longer declared: one more (an orphan, or a delete)."""
    reverse = tuple(reversed(SINGLE_LINE))
    declared = [_hostile_spec(f"hostile-{i}", SINGLE_LINE, "T" + h) for i, h in enumerate(HOSTILE)]
    new = _hostile_spec("hostile-new", reverse, "N" + HOSTILE[0])
    write_manifests(repo / "manifests", *(_declared(spec) for spec in [*declared, new]))
    recorded = {
        f"hostile-{i}": _hostile_spec(f"hostile-{i}", reverse, "U" + h)
        for i, h in enumerate(HOSTILE)
    }
    recorded["hostile-gone"] = _hostile_spec("hostile-gone", SINGLE_LINE, "G" + HOSTILE[1])
    save_recorded(repo / "artifacts.lock.json", recorded)


@pytest.mark.parametrize("command", ["plan", "plan --prune", "audit"])
def test_plan_and_audit_in_every_format(repo: Path, command: str) -> None:
    _hostile_state(repo)
    for output_format in ("text", "markdown", "json"):
        result = invoke(*command.split(), "--format", output_format)
        assert result.exit_code in (0, 2), result.output
        assert_safe_text(result.stderr)
        if output_format == "text":
            assert_safe_text(result.stdout)
            assert visible(json.dumps("T" + HOSTILE[3], ensure_ascii=False)) in result.stdout
        elif output_format == "markdown":
            assert_safe_markdown(result.stdout)
        else:
            strings = strings_in(assert_safe_json(result.stdout))
            assert {"U" + h for h in HOSTILE} <= strings  # from the lockfile, exactly
            if command.startswith("plan"):  # a plan has whole specs; an audit, differences
                assert set(SINGLE_LINE) <= strings


def test_a_plan_overflowing_markdown_stays_safe(repo: Path) -> None:
    _hostile_state(repo)
    result = invoke("plan", "--prune", "--format", "markdown", "--max-length", "1000")
    assert_safe_markdown(result.stdout)
    assert len(result.stdout) <= 1000


def test_a_saved_plan_to_a_hostile_file_name(repo: Path) -> None:
    _hostile_state(repo)
    result = invoke("plan", "--out", "plan\x1b[2J\r::error::x.json")
    assert result.exit_code == 0, result.output
    assert_safe_text(result.stderr)
    assert "Saved the plan to plan\\x1b[2J\\r::error::x.json" in result.stderr


def test_unplannable_lockfile_entries_are_quoted_safely(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    broken = {text: {"arn": text, "spec": {"ArtifactType": text}} for text in HOSTILE}
    document = {
        "artifacts": broken,
        "format_version": 1,
        "lineage": "5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11",
        "serial": 1,
        "target": {"account": "123456789012", "region": "eu-west-1"},
    }
    (repo / "artifacts.lock.json").write_text(json.dumps(document), encoding="utf-8")
    plan = invoke("plan")
    assert plan.exit_code == 1
    assert_safe_text(plan.stderr)
    for output_format in ("text", "markdown", "json"):
        audit = invoke("audit", "--format", output_format)
        assert audit.exit_code == 2
        {"text": assert_safe_text, "markdown": assert_safe_markdown, "json": assert_safe_json}[
            output_format
        ](audit.stdout)


# --- against the sandbox: apply, live audit, import, forget -------------------------------------


def test_apply_text_and_json(repo: Path, sandbox: Sandbox) -> None:
    for output_format in ("text", "json"):
        _hostile_state(repo)  # recorded ARNs that do not exist: apply creates them again
        result = invoke("apply", "--auto-approve", "--prune", "--format", output_format)
        assert_safe_text(result.stderr)
        if output_format == "text":
            assert_safe_text(result.stdout)
            assert visible(json.dumps("T" + HOSTILE[3], ensure_ascii=False)) in result.stdout
        else:
            assert_safe_json(result.stdout)
        assert "hostile-new" in result.stdout + result.stderr


def test_hostile_paths_in_every_command(repo: Path, sandbox: Sandbox) -> None:
    """The manifests directory and the lockfile path are the user's too: every message that
    names them (summaries, errors, the apply summary) shows them escaped."""
    manifests = "m\x1b[2J\u2028::error::dir"
    lock = "lock\r::add-mask::x\x9b.json"
    write_manifests(repo / manifests, manifest_doc("a"))
    paths = ("--manifests", manifests, "--lockfile", lock)
    runs = [
        invoke("validate", "--manifests", manifests),
        invoke("plan", *paths, "--out", "plan\x1b]8;;x\x1b\\.json"),
        invoke("apply", *paths, "--auto-approve"),
        invoke("apply", *paths, "--auto-approve"),  # nothing to do
        invoke("audit", *paths, "--live"),
        invoke("forget", "a", "--lockfile", lock),
        invoke("plan", "--manifests", manifests + "-missing"),
        invoke("github", "commit-lockfile", "--lockfile", lock),
    ]
    assert [run.exit_code for run in runs[:6]] == [0, 0, 0, 0, 0, 0], [r.output for r in runs]
    assert visible(lock) in runs[2].stdout  # "ARNs are in ..."
    for run in runs:
        assert_safe_text(run.stdout)
        assert_safe_text(run.stderr)


def test_a_live_audit_quotes_service_tags_safely(repo: Path, sandbox: Sandbox) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    assert invoke("apply", "--auto-approve").exit_code == 0
    client = sm(sandbox)
    for index, value in enumerate(TAG_VALUES):
        client.create_artifact(
            Source={"SourceUri": f"s3://elsewhere/{index}"},
            ArtifactType="DataSet",
            Properties={SINGLE_LINE[index]: SINGLE_LINE[-1 - index]},
            Tags=[{"Key": OWNERSHIP_TAG_KEY, "Value": value}],
        )
    for output_format in ("text", "markdown", "json"):
        result = invoke("audit", "--live", "--deep", "--format", output_format)
        assert result.exit_code == 2, result.output
        {"text": assert_safe_text, "markdown": assert_safe_markdown, "json": assert_safe_json}[
            output_format
        ](result.stdout)
        assert_safe_text(result.stderr)


def test_import_shows_what_the_service_holds_safely(repo: Path, sandbox: Sandbox) -> None:
    """An artifact made outside reconciler, with hostile values, imported: the differences
    from the manifest quote the service's values."""
    write_manifests(repo / "manifests", manifest_doc("a"), manifest_doc("b"))
    client = sm(sandbox)
    for name in ("a", "b"):
        client.create_artifact(
            Source={"SourceUri": uri(name)},
            ArtifactType="DataSet",
            Properties={text: text for text in SINGLE_LINE},
            Tags=[{"Key": f"t{i}", "Value": value} for i, value in enumerate(TAG_VALUES)],
        )
    one = invoke(
        "import",
        "a",
        client.list_artifacts(SourceUri=uri("a"))["ArtifactSummaries"][0]["ArtifactArn"],
    )
    every = invoke("import", "--all")
    for result in (one, every):
        assert result.exit_code == 0, result.output
        assert_safe_text(result.stdout)
        assert_safe_text(result.stderr)
        assert "the next apply will update it" in result.stdout
        assert visible(json.dumps(HOSTILE[4], ensure_ascii=False)) in result.stdout


@pytest.mark.parametrize("text", HOSTILE)
def test_import_and_forget_quote_their_arguments_safely(
    repo: Path, sandbox: Sandbox, text: str
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    for args in (("import", text, arn_for("a")), ("import", "a", text), ("forget", text)):
        result = invoke(args[0], "--", *args[1:])
        assert result.exit_code == 1
        assert_safe_text(result.stdout)
        assert_safe_text(result.stderr)


# --- github -------------------------------------------------------------------------------------


def test_github_apply_summary_of_a_hostile_document(tmp_path: Path) -> None:
    document = {
        "ok": False,
        "summary": {"created": HOSTILE[0], "not_started": 1},
        "errors": list(HOSTILE),
        "outcomes": [{"name": text, "result": text, "arn": text} for text in HOSTILE],
    }
    path = tmp_path / "apply.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = invoke("github", "apply-summary", "--file", str(path))
    assert result.exit_code == 0, result.output
    assert_safe_markdown(result.stdout)
    assert visible(HOSTILE[3]) in result.stdout


def test_github_comment_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pull_request_run(tmp_path, monkeypatch):
        for text in HOSTILE:
            monkeypatch.setenv("GITHUB_REPOSITORY", "acme/" + text.replace("\x00", ""))  # no NUL
            result = invoke("github", "comment", input="plan\n")
            assert_safe_text(result.stdout)
            assert_safe_text(result.stderr)


# --- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_usage_errors_quote_the_arguments_safely(repo: Path, text: str) -> None:
    for args in (
        ("plan", "--format", text),
        ("validate", f"--{text}"),
        ("plan", text),
        ("github", "comment", "--marker", text),
        ("apply", "--parallelism", text),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Usage: ")
        assert_safe_text(result.stdout)
        assert_safe_text(result.stderr)
