"""reconciler plan and audit: what apply would change; where the state's three sides differ."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler import gitbase, lockfile, planfile
from reconciler.cli.options import (
    EXIT_CHANGES,
    aws_options,
    cache_option,
    deep_needs_refresh,
    emit,
    handle_errors,
    has_targets,
    path_options,
    say,
    selected_settings,
    states_of,
    target_option,
    use_color,
)
from reconciler.config import Settings
from reconciler.drawing import from_plan
from reconciler.errors import ReconcilerError
from reconciler.memory import paused_gc
from reconciler.placement import refuse_misplaced_out
from reconciler.redact import redact_plan, redact_report
from reconciler.render import jsondoc, markdown, text
from reconciler.render import targets as multi

if TYPE_CHECKING:
    from reconciler.aws import Connection

report_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)


markdown_length_option = click.option(
    "--max-length",
    type=click.IntRange(1_000),
    default=markdown.DEFAULT_BUDGET,
    show_default=True,
    help="markdown: summarise beyond this many characters (GitHub comments hold 65,536; a job "
    "summary, 1 MiB).",
)


def _connection(region: str | None, profile: str | None, endpoint_url: str | None) -> Connection:
    from reconciler.aws import Connection  # botocore loads only when the service is read

    return Connection(region, profile, endpoint_url)


def render(
    value: Any,
    output_format: str,
    max_length: int,
    as_json: Callable[[Any], Iterable[str]],
    as_markdown: Callable[..., str],
    as_text: Callable[..., str],
) -> None:
    with paused_gc():
        if output_format == "json":
            emit(as_json(value))
        elif output_format == "markdown":
            emit(as_markdown(value, budget=max_length))
        else:
            emit(as_text(value, color=use_color()))


@click.command()
@path_options()
@target_option
@report_format_option
@click.option("--prune", is_flag=True, help="Plan to delete what is owned and no longer declared.")
@markdown_length_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Save the plan for 'reconciler apply FILE', which refuses it once stale.",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Read the live state of recorded entities and edges first (needs credentials): drift "
    "shows as updates, what was deleted outside reconciler as creates.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="With --refresh: read every entity fully, tags included (tag edits may not show "
    "otherwise).",
)
@click.option(
    "--base-lockfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The lockfile as the target branch has it (in a pull request: git show "
    "origin/main:artifacts.lock.json > base.json); entries whose ARN the change edited show as "
    "changes, and a changed lineage is refused.",
)
@click.option(
    "--base-ref",
    metavar="REF",
    help="As --base-lockfile, for every target at once: each target's lockfile as git revision "
    "REF has it (in a pull request, the fetched base branch); one missing there is empty.",
)
@aws_options
@cache_option
@handle_errors
def plan(
    manifests: str | None,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    output_format: str,
    prune: bool,
    max_length: int,
    detailed_exitcode: bool,
    out: Path | None,
    refresh: bool,
    deep: bool,
    base_lockfile: Path | None,
    base_ref: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    no_cache: bool,
) -> None:
    """Show what apply would change: manifests against the lockfile, offline (no credentials)
    unless --refresh.

    \b
    Example:
      reconciler plan --format markdown --detailed-exitcode --out plan.json
      reconciler plan --refresh --region eu-west-1
    """
    deep_needs_refresh(deep, refresh)
    selected = selected_settings(target_names, manifests, lockfile_path, region, cache=not no_cache)
    if out is not None and len(selected) > 1:
        names = ", ".join(_target_name(settings) for settings in selected)
        raise click.UsageError(
            f"--out saves one target's plan, and {len(selected)} targets are chosen ({names}); "
            "save one plan per target: reconciler plan --target NAME --out FILE"
        )
    if out is not None:
        _refuse_misplaced_out(out, selected[0])
    if base_lockfile is not None and base_ref is not None:
        raise click.UsageError("give --base-lockfile or --base-ref, not both")
    based = "--base-lockfile" if base_lockfile is not None else "--base-ref"
    if (base_lockfile is not None or base_ref is not None) and out is not None:
        raise click.UsageError(
            f"{based} is for reviewing a change; a plan saved with --out is compared "
            "with what apply plans, which never has a base: drop one of them"
        )
    if base_lockfile is not None and len(selected) > 1:
        raise click.UsageError(
            "--base-lockfile is one target's lockfile; choose the target with --target NAME, "
            "or give --base-ref REF to compare every target's lockfile with git's at REF"
        )
    live = _connection(region, profile, endpoint_url) if refresh else None
    states = states_of(selected, live, deep)

    def base_of(settings: Settings) -> lockfile.Lockfile | None:
        if base_lockfile is not None:
            return lockfile.load(base_lockfile)
        if base_ref is not None:
            return gitbase.lockfile_at(base_ref, settings.lockfile)
        return None

    computed = [(s, state.plan(prune=prune, base=base_of(s))) for s, state in states]
    plans = [(s, redact_plan(c, s.sensitive)) for s, c in computed]
    # The markdown plan draws what changes (the other formats list it).
    drawings = [
        from_plan(p, state.desired.by_kind(), state.baseline)
        if output_format == "markdown"
        else None
        for (_, p), (_, state) in zip(plans, states, strict=True)
    ]
    if has_targets(selected):
        shown = [(s.target, p) for s, p in plans if s.target is not None]
        by_target = {
            s.target.name: d for (s, _), d in zip(plans, drawings, strict=True) if s.target and d
        }
        as_markdown = functools.partial(multi.render_plans_markdown, drawings=by_target)
        several = (multi.plans_json_pieces, as_markdown, multi.render_plans_text)
        render(shown, output_format, max_length, *several)
    else:
        one = functools.partial(markdown.render_plan, drawing=drawings[0])
        render(plans[0][1], output_format, max_length, jsondoc.plan_pieces, one, text.render_plan)
    if out is not None:
        state = states[0][1]
        mode = planfile.Mode(prune, refresh, deep)
        target = planfile.PlannedTarget.of(selected[0].target)
        planfile.save(out, computed[0][1], state.recorded, state.desired.digest, mode, target)
        again = "" if not has_targets(selected) else f" --target {_target_name(selected[0])}"
        say(f"Saved the plan to {out}; apply it with: reconciler apply {out}{again}", err=True)
    if detailed_exitcode and any(result.has_changes for _, result in plans):
        sys.exit(EXIT_CHANGES)


def _refuse_misplaced_out(out: Path, settings: Settings) -> None:
    target = settings.target
    manifests = [settings.manifests] if target is None else list(target.manifests)
    try:
        refuse_misplaced_out(out, settings.lockfile, manifests, settings.config_path)
    except ReconcilerError as exc:
        raise click.UsageError(str(exc)) from None


def _target_name(settings: Settings) -> str:
    return settings.target.name if settings.target is not None else ""


@click.command()
@path_options()
@target_option
@report_format_option
@click.option("--live", is_flag=True, help="Also compare with the service (needs credentials).")
@markdown_length_option
@click.option(
    "--deep",
    is_flag=True,
    help="With --live: read every entity fully (Describe and ListTags each).",
)
@aws_options
@cache_option
@handle_errors
def audit(
    manifests: str | None,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    output_format: str,
    live: bool,
    max_length: int,
    deep: bool,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    no_cache: bool,
) -> None:
    """Report where the manifests, the lockfile and (with --live) the service disagree; exit 0
    clean, 2 findings, 1 error.

    Offline: declared but not applied, applied but no longer declared, applied spec differing
    from the manifest, lockfile entries malformed or of another account or region. Live: recorded
    entities and edges missing on the service, drift (changed outside reconciler), ownership tags
    missing or naming another entity, owned entities the lockfile does not know.

    \b
    Example:
      reconciler audit --format json
      reconciler audit --live --region eu-west-1
    """
    selected = selected_settings(target_names, manifests, lockfile_path, region, cache=not no_cache)
    connection = _connection(region, profile, endpoint_url) if live else None
    states = states_of(selected, connection, deep)
    reports = [(s, redact_report(state.audit(), s.sensitive)) for s, state in states]
    if has_targets(selected):
        shown = [(s.target, r) for s, r in reports if s.target is not None]
        several = (
            multi.audits_json_pieces,
            multi.render_audits_markdown,
            multi.render_audits_text,
        )
        render(shown, output_format, max_length, *several)
    else:
        renderers = (jsondoc.audit_pieces, markdown.render_audit, text.render_audit)
        render(reports[0][1], output_format, max_length, *renderers)
    if not all(report.clean for _, report in reports):
        sys.exit(EXIT_CHANGES)
