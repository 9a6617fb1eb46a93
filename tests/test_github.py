"""The GitHub side: sticky comments against a fake REST API, the lockfile commit, workflows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler.cli import cli
from reconciler.lockfile import Lockfile
from reconciler.plan import compute_plan
from reconciler.render import markdown
from tests.fake_github import COMMENT_LIMIT, FakeGitHub, pull_request_run
from tests.test_plan import spec

ROOT = Path(__file__).parent.parent
MARKER = "<!-- reconciler:plan -->"


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with pull_request_run(tmp_path, monkeypatch) as fake:
        yield fake


def comment(body: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["github", "comment", *args], input=body)


def test_the_first_run_creates_the_comment_and_later_runs_update_it(github: FakeGitHub) -> None:
    first = comment("**Plan:** 1 to create\n")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(
        "created the plan comment on acme/ml-lineage#7: https://github.test/c/"
    )
    (only,) = github.comments[7]
    assert only["body"] == f"{MARKER}\n**Plan:** 1 to create\n"
    second = comment("**No changes.**\n")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("updated the plan comment")
    assert [c["body"] for c in github.comments[7]] == [f"{MARKER}\n**No changes.**\n"]
    assert [m for m, _ in github.requests].count("POST") == 1


def test_the_marker_is_found_past_the_first_page_of_comments(github: FakeGitHub) -> None:
    github.seed(
        7,
        [f"comment {i}" for i in range(130)]
        + [f"{MARKER}\nold plan"]
        + [f"later {i}" for i in range(40)],
    )
    result = comment("new plan\n")
    assert result.exit_code == 0, result.output
    assert "updated" in result.stdout
    assert len(github.comments[7]) == 171
    assert github.comments[7][130]["body"] == f"{MARKER}\nnew plan\n"
    pages = [path for method, path in github.requests if method == "GET" and "/comments" in path]
    assert len(pages) == 2 and "page=2" in pages[1]


def test_another_marker_keeps_its_own_comment(github: FakeGitHub) -> None:
    assert comment("team a\n").exit_code == 0
    assert comment("team b\n", "--marker", "reconciler:plan:team-b").exit_code == 0
    assert len(github.comments[7]) == 2


def test_a_6000_change_plan_stays_under_the_comment_limit(github: FakeGitHub) -> None:
    desired = {f"artifact-{i:05d}": spec(f"artifact-{i:05d}") for i in range(6000)}
    body = markdown.render_plan(compute_plan(desired, Lockfile()))
    result = comment(body)
    assert result.exit_code == 0, result.output
    posted = github.comments[7][0]["body"]
    assert len(posted) <= COMMENT_LIMIT
    assert posted.count("<details>") == posted.count("</details>")
    assert len(re.findall(r"^```", posted, flags=re.MULTILINE)) % 2 == 0
    assert "Plan: 6000 to create" in posted


def test_a_body_over_the_limit_is_replaced_not_cut(github: FakeGitHub) -> None:
    body = "<details>\n\n```diff\n" + "+ x\n" * 20_000 + "```\n</details>\n"
    result = comment(body)
    assert result.exit_code == 0, result.output
    posted = github.comments[7][0]["body"]
    assert len(posted) <= COMMENT_LIMIT
    assert "too long for a pull-request comment" in posted
    assert "```" not in posted


@pytest.mark.parametrize("status", [403, 500])
def test_an_api_failure_is_a_non_zero_exit(github: FakeGitHub, status: int) -> None:
    github.fail_with = status
    result = comment("plan\n")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: GitHub API GET /repos/acme/ml-lineage/issues/7/comments?per_page=100 failed: "
        f"{status} Resource not accessible by integration\n"
    )


def test_a_bad_token_and_a_missing_token_are_clear_errors(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    assert "401 Bad credentials" in comment("x").stderr
    monkeypatch.delenv("GITHUB_TOKEN")
    missing = comment("x")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: no GitHub token: set GITHUB_TOKEN")


def test_the_pull_request_comes_from_the_event_or_the_ref(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/12/merge")
    assert comment("x").exit_code == 0
    assert 12 in github.comments
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    result = comment("x")
    assert result.exit_code == 1
    assert "this run is not for a pull request" in result.stderr
    assert comment("x", "--pr", "3").exit_code == 0
    assert 3 in github.comments


# --- committing the lockfile back ---------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    git("clone", str(remote), str(first), cwd=tmp_path)
    for clone in (first,):
        git("config", "user.email", "dev@example.com", cwd=clone)
        git("config", "user.name", "Dev", cwd=clone)
    (first / "artifacts.lock.json").write_text("{}\n")
    (first / "README.md").write_text("hello\n")
    git("add", ".", cwd=first)
    git("commit", "-m", "start", cwd=first)
    git("push", "origin", "HEAD:main", cwd=first)
    git("clone", str(remote), str(second), cwd=tmp_path)
    git("config", "user.email", "other@example.com", cwd=second)
    git("config", "user.name", "Other", cwd=second)
    return remote, first, second


def commit_lockfile(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(cli, ["github", "commit-lockfile"])


def test_the_lockfile_is_committed_alone_and_rebased_when_main_moved(
    clones: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, first, second = clones
    (second / "README.md").write_text("changed on main meanwhile\n")
    git("commit", "-am", "someone merged", cwd=second)
    git("push", "origin", "HEAD:main", cwd=second)
    (first / "artifacts.lock.json").write_text('{"serial": 1}\n')
    (first / "README.md").write_text("a local edit that must not be committed\n")
    result = commit_lockfile(first, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Pushed artifacts.lock.json to main in ")
    log = git("log", "--format=%s", "main", cwd=remote).splitlines()
    assert log == ["reconciler: record applied lineage", "someone merged", "start"]
    assert git("show", "--name-only", "--format=", "main", cwd=remote) == "artifacts.lock.json"
    assert git("show", "main:README.md", cwd=remote) == "changed on main meanwhile"
    unchanged = commit_lockfile(first, monkeypatch)
    assert unchanged.stdout == "artifacts.lock.json is unchanged; nothing to commit.\n"


def test_the_default_message_names_each_target(
    clones: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lockfile records every kind (not only artifacts): the message says lineage, and the
    target whose lockfile it is."""
    remote, first, _ = clones
    config = "targets:\n"
    for name, account in (("dev", "111111111111"), ("prod", "222222222222")):
        config += (
            f"  {name}:\n    account: '{account}'\n    region: eu-west-1\n"
            f"    lockfile: locks/{name}.lock.json\n    manifests: [manifests/{name}]\n"
        )
        (first / "locks").mkdir(exist_ok=True)
        (first / "locks" / f"{name}.lock.json").write_text(f'{{"serial": "{name}"}}\n')
    (first / "reconciler.yaml").write_text(config)
    result = commit_lockfile(first, monkeypatch)
    assert result.exit_code == 0, result.output
    assert git("log", "--format=%s", "main", cwd=remote).splitlines() == [
        "reconciler: record applied lineage of target prod",
        "reconciler: record applied lineage of target dev",
        "start",
    ]


def test_a_lockfile_changed_on_both_sides_is_a_clear_error(
    clones: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first, second = clones
    (second / "artifacts.lock.json").write_text('{"serial": 9}\n')
    git("commit", "-am", "hand edit", cwd=second)
    git("push", "origin", "HEAD:main", cwd=second)
    (first / "artifacts.lock.json").write_text('{"serial": 1}\n')
    result = commit_lockfile(first, monkeypatch)
    assert result.exit_code == 1
    assert "main changed artifacts.lock.json while this run was applying" in result.stderr
    assert "run the workflow again" in result.stderr


def test_without_an_identity_the_commit_is_the_actions_bot(
    clones: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, first, _ = clones
    git("config", "--unset", "user.email", cwd=first)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    (first / "artifacts.lock.json").write_text('{"serial": 2}\n')
    assert commit_lockfile(first, monkeypatch).exit_code == 0
    assert git("log", "-1", "--format=%an <%ae>", "main", cwd=remote) == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    )


# --- summaries ----------------------------------------------------------------------------------


def test_the_apply_summary_says_how_to_retry(tmp_path: Path) -> None:
    document = {
        "ok": False,
        "summary": {
            "created": 3,
            "adopted": 0,
            "updated": 0,
            "replaced": 0,
            "deleted": 0,
            "throttled": 4,
            "not_started": 5,
        },
        "outcomes": [
            {
                "name": "a",
                "result": "created",
                "arn": "arn:aws:sagemaker:eu-west-1:123456789012:artifact/x",
            }
        ],
        "errors": ["b: the account's artifact quota is reached"],
    }
    path = tmp_path / "apply.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["github", "apply-summary", "--file", str(path)])
    assert result.exit_code == 0
    assert "**Apply stopped:** 3 created, 0 adopted" in result.stdout
    assert "```\nb: the account's artifact quota is reached\n```" in result.stdout
    assert "5 operations were not started" in result.stdout
    assert "run the workflow again" in result.stdout
    assert "created a  arn:aws:sagemaker:eu-west-1:123456789012:artifact/x" in result.stdout
    path.write_text("")
    crashed = CliRunner().invoke(cli, ["github", "apply-summary", "--file", str(path)])
    assert "**Apply did not finish**" in crashed.stdout


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"ok": True, "outcomes": [{}]}, "'outcomes[0].name' is not a string"),
        ({"ok": False, "summary": []}, "'summary' is not an object"),
        ({"ok": True, "outcomes": "abc"}, "'outcomes' is not a list"),
        ({"ok": True, "outcomes": [1]}, "'outcomes[0]' is not a JSON object"),
        ({"ok": "yes"}, "'ok' is not true or false"),
        ({"ok": False, "errors": {"a": 1}}, "'errors' is not a list"),
        (
            {"ok": True, "outcomes": [{"name": "a", "result": "created", "arn": 5}]},
            "'outcomes[0].arn' is not a string",
        ),
        (
            {"kind": "reconciler-target-applies", "targets": [{"apply": {"outcomes": [3]}}]},
            "'targets[0].apply.outcomes[0]' is not a JSON object",
        ),
    ],
)
def test_an_apply_summary_of_an_unexpected_shape_is_one_sentence(
    tmp_path: Path, document: dict[str, object], problem: str
) -> None:
    path = tmp_path / "apply.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["github", "apply-summary", "--file", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path} is not an apply result ({problem}); give --file what "
        "'reconciler apply --format json' printed\n"
    )


# --- workflows, action and hooks ----------------------------------------------------------------


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(found).exists(), "actionlint is part of the test extra"
    return found


def test_workflows_and_the_action_pass_actionlint() -> None:
    # The self-test workflow uses the action as `uses: ./`, so actionlint checks action.yml's
    # inputs against it too.
    result = subprocess.run([actionlint(), "-no-color"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_catch_mistakes(tmp_path: Path) -> None:
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    selftest = tmp_path / ".github/workflows/action-selftest.yml"
    selftest.write_text(
        selftest.read_text().replace(
            "command: validate", "command: validate\n          comand: typo"
        )
    )
    result = subprocess.run(
        [actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert 'input "comand" is not defined in action "reconciler"' in result.stdout


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def test_apply_is_serialised_never_cancelled_and_commits_even_after_failure() -> None:
    workflow = load_yaml(ROOT / ".github/workflows/apply.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["permissions"] == {"contents": "write", "id-token": "write"}
    steps = {step.get("name"): step for step in workflow["jobs"]["apply"]["steps"]}
    assert steps["Commit the lockfile"]["if"] == "always()"
    assert steps["Summary"]["if"] == "always()"
    checkout = workflow["jobs"]["apply"]["steps"][0]
    assert checkout["with"]["ref"] == "main"  # the head of main, not the triggering commit


def test_the_plan_workflow_needs_no_aws_credentials() -> None:
    text = (ROOT / ".github/workflows/plan.yml").read_text()
    assert "configure-aws-credentials" not in text
    assert "id-token" not in text
    assert "reconciler validate --format github" in text


def test_the_pre_commit_hook_runs_validate() -> None:
    (hook,) = load_yaml(ROOT / ".pre-commit-hooks.yaml")
    assert hook["id"] == "reconciler-validate"
    assert hook["entry"] == "reconciler validate"
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "manifests/churn/model.yaml")
