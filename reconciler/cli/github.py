"""reconciler github: the plan comment, the lockfile commit and the apply summary in CI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.options import (
    emit,
    handle_errors,
    path_options,
    say,
    selected_settings,
    target_option,
)
from reconciler.errors import ReconcilerError
from reconciler.github import (
    DEFAULT_API_URL,
    DEFAULT_MARKER,
    GitHubApi,
    check_marker,
    commit_lockfile,
    pull_request_from_env,
    upsert_comment,
)
from reconciler.render import markdown
from reconciler.render import targets as multi
from reconciler.textsafe import visible

if TYPE_CHECKING:
    from reconciler.targets import TargetContext

#: A commit of the lockfile: it records the entities and edges apply made, of every kind.
DEFAULT_MESSAGE = "reconciler: record applied lineage"


@click.group()
def github() -> None:
    """Helpers for GitHub Actions: the sticky plan comment, the lockfile commit, summaries."""


@github.command("comment")
@click.option(
    "--file",
    "body_file",
    type=click.File("r", encoding="utf-8"),
    default="-",
    show_default=True,
    help="The comment's markdown (from 'reconciler plan --format markdown'); - reads stdin.",
)
@click.option(
    "--marker",
    default=DEFAULT_MARKER,
    show_default=True,
    callback=lambda _ctx, _param, value: _checked_marker(value),
    help="The hidden marker that identifies the comment (one per manifests folder, say).",
)
@click.option("--pr", "number", type=int, help="The pull request. [default: from the event]")
@click.option(
    "--author",
    envvar="RECONCILER_COMMENT_AUTHOR",
    metavar="LOGIN",
    help="The login the token comments as; only its comments are updated. [default: asked of "
    "GET /user; github-actions[bot] for a workflow's GITHUB_TOKEN] Give it for another GitHub "
    "App's token (its-app[bot]).",
)
@handle_errors
def github_comment(body_file: Any, marker: str, number: int | None, author: str | None) -> None:
    """Create or update the pull request's one reconciler comment.

    Only a comment written by the token's own identity, starting with the marker, is updated;
    anyone else's is left alone. Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH and
    GITHUB_API_URL as set in GitHub Actions. Exits 1 if the comment cannot be posted.

    \b
    Example:
      reconciler plan --format markdown | reconciler github comment
    """
    pull = pull_request_from_env(os.environ, number)
    token = os.environ.get("GITHUB_TOKEN", "")
    api = GitHubApi(token, os.environ.get("GITHUB_API_URL", DEFAULT_API_URL))
    action, url = upsert_comment(api, pull, body_file.read(), marker, author)
    say(f"{action} the plan comment on {pull.repository}#{pull.number}: {url}")


def _checked_marker(value: str) -> str:
    try:
        return check_marker(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@github.command("commit-lockfile")
@path_options(manifests_too=False)
@target_option
@click.option(
    "--message",
    help=f"The commit message. [default: '{DEFAULT_MESSAGE}', with targets "
    f"'{DEFAULT_MESSAGE} of target NAME']",
)
@click.option("--remote", default="origin", show_default=True)
@click.option("--branch", default="main", show_default=True, help="The branch to push to.")
@handle_errors
def github_commit_lockfile(
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    message: str | None,
    remote: str,
    branch: str,
) -> None:
    """Commit the lockfile alone and push it, fetching and rebasing if the branch moved (with
    targets: the lockfile of each target chosen, or of every target, one commit each).

    A push with GITHUB_TOKEN does not start another workflow run.

    \b
    Example:
      reconciler github commit-lockfile --branch main
    """
    for settings in selected_settings(target_names, None, lockfile_path):
        subject = message or _default_message(settings.target)
        outcome = commit_lockfile(settings.lockfile, subject, remote=remote, branch=branch)
        if outcome == "unchanged":
            say(f"{settings.lockfile} is unchanged; nothing to commit.")
        else:
            say(f"Pushed {settings.lockfile} to {branch} in {outcome}.")


def _default_message(target: TargetContext | None) -> str:
    """What the commit records: the lineage applied, of every kind, to the target named."""
    return DEFAULT_MESSAGE if target is None else f"{DEFAULT_MESSAGE} of target {target.name}"


@github.command("apply-summary")
@click.option(
    "--file",
    "document_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="What 'reconciler apply --format json' printed.",
)
@handle_errors
def github_apply_summary(document_file: Path) -> None:
    """Print an apply's markdown job summary (for $GITHUB_STEP_SUMMARY).

    \b
    Example:
      reconciler github apply-summary --file apply.json >> "$GITHUB_STEP_SUMMARY"
    """
    try:
        document = json.loads(document_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        document = None
    if not isinstance(document, (dict, type(None))):
        document = None  # an apply that printed something else did not finish
    problem = None if document is None else _apply_result_problem(document)
    if problem is not None:
        raise ReconcilerError(
            f"{visible(str(document_file))} is not an apply result ({problem}); give --file "
            "what 'reconciler apply --format json' printed"
        )
    if document is not None and document.get("kind") == multi.APPLY_KIND:
        emit(multi.render_applies_markdown(document))
        return
    emit(markdown.render_apply(document))


def _apply_result_problem(document: dict[str, Any]) -> str | None:
    """What makes an apply's JSON document (of one target or of several) unreadable, if anything."""
    if document.get("kind") != multi.APPLY_KIND:
        return markdown.apply_document_problem(document)
    entries = document.get("targets") or []
    if not isinstance(entries, list):
        return "'targets' is not a list"
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("apply"), dict):
            problem = markdown.apply_document_problem(entry["apply"], f"targets[{index}].apply.")
            if problem is not None:
                return problem
    return None
