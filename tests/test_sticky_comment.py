"""The sticky plan comment is ours alone: only a comment written by the token's own identity, with
the marker at the start of its body, is updated; anyone else's is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_github import BOT, USER, USER_TOKEN, FakeGitHub, pull_request_run
from tests.test_github import comment

MARKER = "<!-- reconciler:plan -->"


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with pull_request_run(tmp_path, monkeypatch) as fake:
        yield fake


def bodies(github: FakeGitHub) -> list[tuple[str, str]]:
    return [(c["user"]["login"], c["body"]) for c in github.comments[7]]


def test_a_commenter_who_pastes_the_marker_does_not_capture_the_plan_comment(
    github: FakeGitHub,
) -> None:
    pasted = f"{MARKER}\nI pasted your marker: now your plan comment is frozen"
    github.seed(7, [pasted], author="mallory")
    first = comment("plan one\n")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("created the plan comment")
    second = comment("plan two\n")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("updated the plan comment")
    assert bodies(github) == [("mallory", pasted), (BOT, f"{MARKER}\nplan two\n")]


def test_only_a_body_that_starts_with_the_marker_is_ours(github: FakeGitHub) -> None:
    quoted = f"> {MARKER}\n> plan\n\nwhy does it do this?"
    github.seed(7, [quoted, f"a note\n{MARKER}\n"])  # our identity, but not our comment
    result = comment("plan\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created the plan comment")
    assert bodies(github)[:2] == [(BOT, quoted), (BOT, f"a note\n{MARKER}\n")]
    assert bodies(github)[2] == (BOT, f"{MARKER}\nplan\n")


def test_a_longer_marker_is_another_comment(github: FakeGitHub) -> None:
    github.seed(7, ["<!-- reconciler:plan:team-b -->\nteam b"])
    assert comment("team a\n").stdout.startswith("created")
    assert len(github.comments[7]) == 2


def test_a_user_token_matches_its_own_login(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", USER_TOKEN)
    github.seed(7, [f"{MARKER}\nfrom the workflow's token"], author=BOT)
    github.seed(7, [f"{MARKER}\nold"], author=USER)
    result = comment("new\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("updated")
    assert bodies(github) == [
        (BOT, f"{MARKER}\nfrom the workflow's token"),
        (USER, f"{MARKER}\nnew\n"),
    ]


def test_an_app_token_names_its_bot_with_author(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installation token of another GitHub App cannot ask GET /user who it is."""
    app_token = "ghs_appinstallation"
    github.identities[app_token] = ("acme-lineage[bot]", False)
    monkeypatch.setenv("GITHUB_TOKEN", app_token)
    github.seed(7, [f"{MARKER}\nby github-actions"], author=BOT)
    github.seed(7, [f"{MARKER}\nold"], author="acme-lineage[bot]")
    result = comment("new\n", "--author", "acme-lineage[bot]")
    assert result.exit_code == 0, result.output
    assert bodies(github)[1] == ("acme-lineage[bot]", f"{MARKER}\nnew\n")
    monkeypatch.setenv("RECONCILER_COMMENT_AUTHOR", "acme-lineage[bot]")
    assert comment("newer\n").stdout.startswith("updated")
    assert bodies(github) == [
        (BOT, f"{MARKER}\nby github-actions"),
        ("acme-lineage[bot]", f"{MARKER}\nnewer\n"),
    ]


def test_a_marker_that_could_end_the_html_comment_is_refused(github: FakeGitHub) -> None:
    result = comment("x\n", "--marker", "plan --> <b>hi</b>")
    assert result.exit_code == 2
    assert "--marker" in result.stderr
    assert 7 not in github.comments
