"""The command line's options, paths and settings when they are wrong or unusual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import lockfile
from reconciler.sandbox import Sandbox
from tests.helpers import REGION, manifest_doc, save_recorded, write_manifests
from tests.sandboxed import apply, declare
from tests.sandboxed import reconciler as run

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def offline_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.parametrize("command", [["plan", "--refresh"], ["audit", "--live"]])
def test_an_endpoint_url_without_a_scheme_is_a_usage_error(
    repo: Path, offline_credentials: None, command: list[str]
) -> None:
    result = run(*command, "--endpoint-url", "localhost:8080")
    assert result.code == 2
    assert "Invalid value for '--endpoint-url': 'localhost:8080' is not an http(s) URL" in (
        result.err
    )
    assert "e.g. http://localhost:8080" in result.err
    assert "internal error" not in result.err


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"])
def test_an_endpoint_variable_without_a_scheme_is_one_clear_sentence(
    repo: Path, offline_credentials: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    monkeypatch.setenv(variable, "localhost:8080")
    result = run("apply", "--auto-approve")
    assert result.code == 1
    assert result.err == (
        f"error: {variable}: 'localhost:8080' is not an http(s) URL; write it with its "
        "scheme, e.g. http://localhost:8080\n"
    )


def test_a_backtracking_sensitive_pattern_matches_long_keys_in_linear_time(repo: Path) -> None:
    """(a+)+$ backtracks for centuries in Python's engines on a long key that ends in '!'; RE2
    answers at once, the same way on a busy machine as on an idle one."""
    (repo / "reconciler.yaml").write_text("sensitive_properties: '(a+)+$'\n")
    properties = {"a" * 2400 + "!": "shown", "b" + "a" * 2400: "hidden"}
    write_manifests(repo / "manifests", manifest_doc("a", Properties=properties))
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (change,) = json.loads(result.stdout)["changes"]
    assert sorted(change["after"]["Properties"].values()) == ["(sensitive)", "shown"]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("(a)\\1", "invalid escape sequence: \\1"), ("secret(?=x)", "invalid perl operator: (?=")],
)
def test_a_sensitive_pattern_that_needs_backtracking_is_refused(
    repo: Path, pattern: str, reason: str
) -> None:
    (repo / "reconciler.yaml").write_text(f"sensitive_properties: '{pattern}'\n")
    write_manifests(repo / "manifests", manifest_doc("a"))
    result = run("plan")
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert first == (
        f"reconciler.yaml:1:23: sensitive_properties: '{pattern}' is not a pattern reconciler "
        f"can match ({reason}); it must be a regular expression in RE2 syntax, which matches in "
        "linear time and so has no backreferences or lookaround"
    )


def test_a_sensitive_pattern_still_masks_matching_keys(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text("sensitive_properties: '^DB-'\n")
    write_manifests(repo / "manifests", manifest_doc("a", Properties={"db-pass": "hunter2"}))
    result = run("plan", "--format", "json")
    assert result.code == 0
    (change,) = json.loads(result.out)["changes"]
    assert change["after"]["Properties"] == {"db-pass": "(sensitive)"}


def test_default_paths_resolve_against_the_repository_root_from_a_subdirectory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    (repo / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(repo / "deep" / "er")
    validated = run("validate")
    assert validated.code == 0
    assert validated.out == "1 artifact in 1 file under ../../manifests is valid.\n"
    planned = run("plan", "--format", "json")
    assert json.loads(planned.out)["summary"]["create"] == 1


def test_forget_of_an_unknown_name_says_so_before_asking_for_a_region(
    repo: Path, offline_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    save_recorded(repo / "artifacts.lock.json", {})
    result = run("forget", "nobody")
    assert result.code == 1
    assert result.err == (
        "error: 'nobody' is not in the lockfile artifacts.lock.json; nothing to forget "
        "('reconciler audit' lists what it records)\n"
    )


def test_apply_takes_the_region_from_the_lockfile_when_none_is_set(
    repo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(repo, manifest_doc("a"))
    assert apply().code == 0
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    result = apply()
    assert result.code == 0, result.err
    recorded = lockfile.load(repo / "artifacts.lock.json")
    assert sorted(recorded.artifacts) == ["a", "b"]
    assert recorded.artifacts["b"].arn.startswith(f"arn:aws:sagemaker:{REGION}:")


@pytest.mark.parametrize("key", ["manifests", "lockfile"])
def test_settings_may_not_lead_out_of_the_repository(repo: Path, key: str) -> None:
    outside = repo.parent / f"{repo.name}-elsewhere"
    write_manifests(outside, manifest_doc("theirs"))
    (repo / "reconciler.yaml").write_text(f"{key}: ../{outside.name}\n")
    result = run("plan")
    assert result.code == 1
    assert result.err == (
        f"error: reconciler.yaml: '{key}' leads outside the repository ({outside}); keep the "
        f"manifests and the lockfile inside it, or pass --{key} to use another place\n"
    )


def test_a_flag_may_point_anywhere(repo: Path) -> None:
    outside = repo.parent / f"{repo.name}-elsewhere"
    write_manifests(outside, manifest_doc("theirs"))
    (repo / "reconciler.yaml").write_text("manifests: manifests\n")
    result = run("validate", "--manifests", str(outside))
    assert result.code == 0, result.err
