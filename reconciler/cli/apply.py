"""reconciler apply: one target or several, with progress and a summary."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import NoReturn

import click

from reconciler import planfile
from reconciler.aws import Connection
from reconciler.cli.options import (
    EXIT_ERROR,
    aws_options,
    cache_option,
    deep_needs_refresh,
    emit,
    handle_errors,
    has_targets,
    parallelism_option,
    path_options,
    say,
    selected_settings,
    target_option,
    use_color,
)
from reconciler.config import Settings
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.lockfile import Target
from reconciler.outcomes import ApplyResult
from reconciler.plan import Plan
from reconciler.project import ApplyRequest, ApplyRun, run_apply
from reconciler.redact import redact_plan
from reconciler.render import jsondoc, text
from reconciler.render import targets as multi
from reconciler.render.text import Progress
from reconciler.targets import TargetContext
from reconciler.textsafe import safe_line, visible
from reconciler.words import counted


@click.command()
@click.argument(
    "planfile_path",
    metavar="[PLANFILE]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@path_options()
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@parallelism_option
@click.option("--prune", is_flag=True, help="Delete owned entities and edges no longer declared.")
@click.option("--allow-empty", is_flag=True, help="Let --prune delete all it records.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Read the live state first, so that drift and deletions outside reconciler are healed.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="With --refresh: read every entity fully, tags included, so that tag drift is healed too.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: a summary document on stdout; progress goes to stderr.",
)
@aws_options
@cache_option
@handle_errors
def apply(
    planfile_path: Path | None,
    manifests: str | None,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    auto_approve: bool,
    parallelism: int,
    prune: bool,
    allow_empty: bool,
    refresh: bool,
    deep: bool,
    output_format: str,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    no_cache: bool,
) -> None:
    """Create, update, replace (and with --prune delete) entities and edges; record every ARN.

    Without PLANFILE the plan is made now and, on a terminal, shown for confirmation; elsewhere
    --auto-approve is required. With PLANFILE (from 'plan --out') the plan is made again in the
    saved plan's mode and applied if it is the same plan and neither the lockfile nor the
    manifests moved since. Credentials come from the standard AWS
    chain; AWS_ENDPOINT_URL (or --endpoint-url) points at another endpoint, such as the sandbox.

    \b
    Example:
      reconciler plan --out plan.json && reconciler apply plan.json
      reconciler apply --auto-approve --region eu-west-1
    """
    if planfile_path is None and not auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation: there is no terminal to ask on; "
            "review 'reconciler plan' and pass --auto-approve, or apply a saved plan file"
        )
    deep_needs_refresh(deep, refresh)
    selected = selected_settings(target_names, manifests, lockfile_path, region, cache=not no_cache)
    given = _given_paths(manifests, lockfile_path, target_names)
    if planfile_path is not None and len(selected) > 1:
        _refuse_several_targets(planfile_path, given)
    shaping = [flag for flag, given in (("--prune", prune), ("--refresh", refresh)) if given]
    if planfile_path is not None and shaping:
        raise click.UsageError(
            f"{' and '.join(shaping)} cannot be given with a saved plan: the mode it was saved "
            "with applies (make the plan again with the options you want)"
        )
    request = ApplyRequest(planfile_path, prune, allow_empty, refresh, parallelism, deep, given)
    connection = Connection(region, profile, endpoint_url, max_connections=parallelism + 2)
    asked = planfile_path is None and not auto_approve
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job stops cleanly
    try:
        if not has_targets(selected):
            try:
                run = _apply_one(selected[0], connection, request, asked, output_format)
            except _Declined:
                click.echo("Apply cancelled; nothing was changed.")
                return
            _apply_report(run, selected[0], output_format)
            failed = run.result is not None and not run.result.ok
        else:
            failed = not _apply_targets(selected, connection, request, asked, output_format)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failed:
        sys.exit(EXIT_ERROR)


def _refuse_several_targets(path: Path, given: tuple[str, ...]) -> NoReturn:
    """A saved plan is one target's: name the one it was made for."""
    made = planfile.load(path, (*given, "--target", "NAME")).target
    choose = f"--target {made.name}" if made is not None else "--target NAME"
    raise click.UsageError(
        f"a saved plan is one target's, and several are chosen: apply {visible(str(path))} "
        f"with {choose}"
    )


def _given_paths(
    manifests: str | None, lockfile_path: str | None, target_names: tuple[str, ...]
) -> tuple[str, ...]:
    """The path and target flags as given, for a command to run again."""
    flags = [("--manifests", manifests), ("--lockfile", lockfile_path)]
    flags += [("--target", name) for name in target_names]
    return tuple(word for flag, value in flags if value is not None for word in (flag, value))


def _apply_one(
    settings: Settings,
    connection: Connection,
    request: ApplyRequest,
    asked: bool,
    output_format: str,
) -> ApplyRun:
    progress = Progress(to_stderr=output_format == "json")

    def confirm(plan: Plan, target: Target) -> None:
        progress.total = len(plan.actionable)
        if output_format == "text":
            shown = redact_plan(plan, settings.sensitive)
            emit(text.render_plan(shown, color=use_color()))
        question = safe_line(f"Apply these changes to {target}?")
        if asked and not click.confirm(question, default=False):
            raise _Declined

    try:
        return run_apply(settings, connection, request, confirm=confirm, report=progress.report)
    finally:
        progress.close()


def _apply_targets(
    selected: list[Settings],
    connection: Connection,
    request: ApplyRequest,
    asked: bool,
    output_format: str,
) -> bool:
    """Apply every target in order, stopping at the first that fails; True when all succeeded.
    Each target's lockfile records what was done in it, whatever happens to the next."""
    as_json = output_format == "json"
    runs: list[multi.TargetApply] = []
    for settings in selected:
        target = settings.target
        assert target is not None
        say(f"== {target} ==", err=as_json)
        run = _apply_target(settings, target, connection, request, asked, output_format)
        runs.append(run)
        if not run.ok:
            break
    rest = [s.target for s in selected[len(runs) :] if s.target is not None]
    if rest:
        names = ", ".join(t.name for t in rest)
        say(f"Stopped before {counted(len(rest), 'more target')}: {names}.", err=True)
    if as_json:
        emit(jsondoc.dumps(multi.applies_document(runs, rest)))
    return not rest and all(r.ok for r in runs)


def _apply_target(
    settings: Settings,
    target: TargetContext,
    connection: Connection,
    request: ApplyRequest,
    asked: bool,
    output_format: str,
) -> multi.TargetApply:
    try:
        run = _apply_one(settings, connection, request, asked, output_format)
    except _Declined:
        say(f"Skipped target '{target.name}': nothing was changed in it.")
        return multi.TargetApply(target, None, None, skipped=True)
    except ReconcilerError as exc:
        if isinstance(exc, ManifestError):
            for diagnostic in exc.diagnostics:
                say(str(diagnostic), err=True)
            exc = ReconcilerError(f"{counted(len(exc.diagnostics), 'problem')} found in {exc.what}")
        say(f"error: target '{target.name}': {exc}", err=True)
        return multi.TargetApply(target, None, None, str(exc))
    if output_format != "json":
        _apply_report(run, settings, output_format)
    return multi.TargetApply(target, run.result or ApplyResult(), run.lockfile)


class _Declined(Exception):
    """The user answered no at the apply prompt: not an error."""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _apply_report(run: ApplyRun, settings: Settings, output_format: str) -> None:
    if output_format == "json":
        emit(jsondoc.dumps(jsondoc.apply_document(run.result or ApplyResult(), run.lockfile)))
        return
    if run.result is None:
        emit(text.render_plan(redact_plan(run.plan, settings.sensitive)))
        say("Nothing to apply.")
        return
    emit(text.apply_summary(run.result, settings.lockfile) + "\n")
    for error in run.result.errors:
        say(f"error: {error}", err=True)
