"""The command line: a thin shell over the library. Each command reads, calls, renders, exits."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from reconciler import __version__, fsio, gitbase, lockfile, planfile
from reconciler.aws import Connection, endpoint_problem
from reconciler.config import Settings, resolve_targets
from reconciler.errors import Diagnostic, ManifestError, ReconcilerError
from reconciler.github import (
    DEFAULT_API_URL,
    DEFAULT_MARKER,
    GitHubApi,
    check_marker,
    commit_lockfile,
    pull_request_from_env,
    upsert_comment,
)
from reconciler.lockfile import Target
from reconciler.manifest import ParsedFiles
from reconciler.memory import paused_gc
from reconciler.multitarget import for_each
from reconciler.outcomes import ApplyResult, Outcome
from reconciler.placement import refuse_misplaced_out
from reconciler.plan import Plan
from reconciler.project import (
    ApplyRequest,
    ApplyRun,
    State,
    connect_for,
    load_desired,
    read_state,
    run_apply,
    run_forget,
    run_import,
)
from reconciler.redact import redact_fields, redact_plan, redact_report
from reconciler.render import jsondoc, markdown, text
from reconciler.render import targets as multi
from reconciler.render.annotations import error_annotation, warning_annotation
from reconciler.sandbox.lineage import DEFAULT_ACTION_QUOTA, DEFAULT_CONTEXT_QUOTA
from reconciler.sandbox.service import (
    DEFAULT_ACCOUNT,
    DEFAULT_ARTIFACT_QUOTA,
    DEFAULT_ASSOCIATION_QUOTA,
)
from reconciler.schema import SCHEMA_PATH, schema_text
from reconciler.targets import (
    TargetContext,
    github_matrix,
    implicit_matrix_entry,
    matrix_entry,
)
from reconciler.textsafe import safe_line, safe_lines, visible
from reconciler.words import counted

if TYPE_CHECKING:
    from reconciler.sandbox import SandboxConfig

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_CHANGES = 2


def _fail(message: str) -> NoReturn:
    _say(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _say(message: str, *, err: bool = False) -> None:
    """Print one line, whatever it quotes: every control character shown as an escape, and
    never the start of a CI workflow command."""
    click.echo(safe_line(message), err=err)


def handle_errors(command: F) -> F:
    """Turn every failure into a one-line message and exit 1: never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ManifestError as exc:
            echo_warnings(exc.warnings)
            for diagnostic in exc.diagnostics:
                _say(str(diagnostic), err=True)
            _fail(f"{counted(len(exc.diagnostics), 'problem')} found in {exc.what}")
        except ReconcilerError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _say("interrupted; every operation that finished is recorded", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("RECONCILER_DEBUG"):
                raise
            _fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in reconciler: "
                "please report it, with the output of the same command run with RECONCILER_DEBUG=1"
            )

    return wrapper  # type: ignore[return-value]


def _endpoint_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    problem = endpoint_problem(value) if value else None
    if problem is not None:
        raise click.BadParameter(problem)
    return value


def echo_warnings(warnings: Sequence[Diagnostic]) -> None:
    """Warnings go to stderr, and never change the exit code."""
    for warning in warnings:
        _say(f"{warning.location}: warning: {warning.message}", err=True)


def aws_options(command: F) -> F:
    command = click.option(
        "--endpoint-url",
        metavar="URL",
        callback=_endpoint_url,
        help="Another SageMaker and STS endpoint (the sandbox, say); AWS_ENDPOINT_URL works too.",
    )(command)
    command = click.option("--profile", help="A named AWS profile (else AWS_PROFILE, or default).")(
        command
    )
    command = click.option("--region", help="The AWS region (else AWS_REGION or the profile's).")(
        command
    )
    return command


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


def path_options(lockfile_too: bool = True, manifests_too: bool = True) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        if manifests_too:
            command = click.option(
                "--manifests",
                "manifests",
                metavar="DIR",
                help="Directory of manifests, read recursively. [default: manifests, or as set "
                "in reconciler.yaml]",
            )(command)
        if lockfile_too:
            command = click.option(
                "--lockfile",
                "lockfile_path",
                metavar="PATH",
                help="The lockfile. [default: artifacts.lock.json, or as set in reconciler.yaml]",
            )(command)
        return command

    return decorate


target_option = click.option(
    "--target",
    "target_names",
    multiple=True,
    metavar="NAME",
    help="A target of reconciler.yaml (repeatable). [default: every target]",
)
one_target_option = click.option(
    "--target",
    "target_names",
    multiple=True,
    metavar="NAME",
    help="The target of reconciler.yaml to work on (needed when it declares several).",
)


def _selected(
    target_names: tuple[str, ...],
    manifests: str | None = None,
    lockfile_path: str | None = None,
    region: str | None = None,
    *,
    cache: bool = True,
) -> list[Settings]:
    """The settings of every target chosen; without targets in reconciler.yaml, the one."""
    selected = resolve_targets(target_names, manifests, lockfile_path)
    if region is not None and _has_targets(selected):
        raise click.UsageError("--region cannot be used with targets: each target has its own")
    return [replace(settings, cache=cache) for settings in selected]


cache_option = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Parse every manifest file, ignoring and not writing the cache of validated files in "
    ".reconciler/cache/ beside the lockfile.",
)


def _has_targets(selected: list[Settings]) -> bool:
    return selected[0].target is not None


def _settings(
    manifests: str | None,
    lockfile_path: str | None = None,
    target_names: tuple[str, ...] = (),
    command: str = "this command",
) -> Settings:
    """The settings of the one target a command works on."""
    selected = _selected(target_names, manifests, lockfile_path)
    if len(selected) > 1:
        names = ", ".join(s.target.name for s in selected if s.target is not None)
        raise click.UsageError(
            f"{command} works on one target at a time; choose it with --target NAME ({names})"
        )
    return selected[0]


def _read_state(
    settings: Settings, live: Connection | None, deep: bool, cache: ParsedFiles | None = None
) -> State:
    """The manifests and the lockfile and, given a connection, the service's side too."""
    state = read_state(settings, cache)
    echo_warnings(state.desired.warnings)
    if live is None:
        return state
    service = connect_for(state.recorded, live, settings, read_only=True)
    return state.refresh(service, deep=deep)


def _render(
    value: Any,
    output_format: str,
    max_length: int,
    as_json: Callable[[Any], str],
    as_markdown: Callable[..., str],
    as_text: Callable[..., str],
) -> None:
    with paused_gc():
        if output_format == "json":
            _emit(as_json(value))
        elif output_format == "markdown":
            _emit(as_markdown(value, budget=max_length))
        else:
            _emit(as_text(value, color=_use_color()))


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _emit(output: str) -> None:
    """Print a rendering, whose user-controlled pieces the renderer has passed through
    `visible` (its own line breaks and colours stay)."""
    click.echo(safe_lines(output), nl=False, color=_use_color())


class _Group(click.Group):
    """click's usage errors quote the arguments given (an unknown option, a bad value): shown
    through `visible`, like every other message."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _quoting_safely():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _quoting_safely():
            return super().invoke(ctx)


@contextlib.contextmanager
def _quoting_safely() -> Iterator[None]:
    try:
        yield
    except click.ClickException as exc:
        # click declares the message final, but formats the error from it when shown.
        setattr(exc, "message", safe_line(exc.message))  # noqa: B010
        raise


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="reconciler")
def cli() -> None:
    """GitOps for Amazon SageMaker ML lineage artifacts.

    Declare artifacts as YAML manifests, review the plan on a pull request, apply it on merge;
    every ARN is written back to a lockfile committed beside the manifests.

    \b
    Example:
      reconciler validate && reconciler plan
    """


@cli.command()
@path_options(lockfile_too=False)
@target_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: also print ::error annotations, which GitHub Actions shows on the lines.",
)
@cache_option
@handle_errors
def validate(
    manifests: str | None, target_names: tuple[str, ...], output_format: str, no_cache: bool
) -> None:
    """Check the manifests; exit 0 when valid, 1 when not.

    Every problem is reported at once, as path:line:col: message.

    \b
    Example:
      reconciler validate --manifests manifests --format github
    """
    selected = _selected(target_names, manifests, cache=not no_cache)
    cache = ParsedFiles()
    try:
        loaded = for_each(selected, lambda settings: load_desired(settings, cache))
    except ManifestError as exc:
        if output_format == "github":
            for diagnostic in exc.warnings:
                click.echo(warning_annotation(diagnostic))
            for diagnostic in exc.diagnostics:
                click.echo(error_annotation(diagnostic))
        raise
    for settings, desired in loaded:
        if output_format == "github":
            for diagnostic in desired.warnings:
                click.echo(warning_annotation(diagnostic))
        echo_warnings(desired.warnings)
        target = settings.target
        where = settings.manifests if target is None else ", ".join(map(str, target.manifests))
        prefix = "" if target is None else f"{target.name}: "
        count = len(desired.artifacts)
        _say(
            f"{prefix}{counted(count, 'artifact')} in {counted(desired.files, 'file')} under "
            f"{where} {'is' if count == 1 else 'are'} valid."
        )


@cli.command()
@path_options()
@target_option
@report_format_option
@click.option("--prune", is_flag=True, help="Plan to delete artifacts no longer declared.")
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
    help="Read the live state of recorded artifacts first (needs credentials): drift shows as "
    "updates, artifacts deleted outside reconciler as creates.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="With --refresh: read every artifact fully, tags included (tag edits may not show "
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
    _deep_needs_refresh(deep, refresh)
    selected = _selected(target_names, manifests, lockfile_path, region, cache=not no_cache)
    if out is not None and len(selected) > 1:
        raise click.UsageError("--out saves the plan of one target; choose it with --target NAME")
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
    live = Connection(region, profile, endpoint_url) if refresh else None
    cache = ParsedFiles()
    states = for_each(selected, lambda settings: _read_state(settings, live, deep, cache))

    def base_of(settings: Settings) -> lockfile.Lockfile | None:
        if base_lockfile is not None:
            return lockfile.load(base_lockfile)
        if base_ref is not None:
            return gitbase.lockfile_at(base_ref, settings.lockfile)
        return None

    computed = [(s, state.plan(prune=prune, base=base_of(s))) for s, state in states]
    plans = [(s, redact_plan(c, s.sensitive)) for s, c in computed]
    if _has_targets(selected):
        shown = [(s.target, p) for s, p in plans if s.target is not None]
        several = (multi.render_plans_json, multi.render_plans_markdown, multi.render_plans_text)
        _render(shown, output_format, max_length, *several)
    else:
        renderers = (jsondoc.render_plan, markdown.render_plan, text.render_plan)
        _render(plans[0][1], output_format, max_length, *renderers)
    if out is not None:
        state = states[0][1]
        mode = planfile.Mode(prune, refresh, deep)
        planfile.save(out, computed[0][1], state.recorded, state.desired.digest, mode)
        again = "" if not _has_targets(selected) else f" --target {_target_name(selected[0])}"
        _say(f"Saved the plan to {out}; apply it with: reconciler apply {out}{again}", err=True)
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


@cli.command()
@path_options()
@target_option
@report_format_option
@click.option("--live", is_flag=True, help="Also compare with the service (needs credentials).")
@markdown_length_option
@click.option(
    "--deep",
    is_flag=True,
    help="With --live: read every artifact fully (DescribeArtifact and ListTags each).",
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
    artifacts missing on the service, drift (changed outside reconciler), ownership tag missing or
    naming another artifact, owned artifacts the lockfile does not know.

    \b
    Example:
      reconciler audit --format json
      reconciler audit --live --region eu-west-1
    """
    selected = _selected(target_names, manifests, lockfile_path, region, cache=not no_cache)
    connection = Connection(region, profile, endpoint_url) if live else None
    cache = ParsedFiles()
    states = for_each(selected, lambda settings: _read_state(settings, connection, deep, cache))
    reports = [(s, redact_report(state.audit(), s.sensitive)) for s, state in states]
    if _has_targets(selected):
        shown = [(s.target, r) for s, r in reports if s.target is not None]
        several = (
            multi.render_audits_json,
            multi.render_audits_markdown,
            multi.render_audits_text,
        )
        _render(shown, output_format, max_length, *several)
    else:
        renderers = (jsondoc.render_audit, markdown.render_audit, text.render_audit)
        _render(reports[0][1], output_format, max_length, *renderers)
    if not all(report.clean for _, report in reports):
        sys.exit(EXIT_CHANGES)


PARALLELISM = click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Operations in flight at once.",
)


@cli.command()
@click.argument(
    "planfile_path",
    metavar="[PLANFILE]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@path_options()
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@PARALLELISM
@click.option("--prune", is_flag=True, help="Delete owned artifacts no longer declared.")
@click.option("--allow-empty", is_flag=True, help="Let --prune delete every recorded artifact.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Read the live state first, so that drift and deletions outside reconciler are healed.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="With --refresh: read every artifact fully, tags included, so that tag drift is healed "
    "too.",
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
    """Create, update, replace (and with --prune delete) artifacts; write every ARN back.

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
    _deep_needs_refresh(deep, refresh)
    selected = _selected(target_names, manifests, lockfile_path, region, cache=not no_cache)
    if planfile_path is not None and len(selected) > 1:
        raise click.UsageError("a saved plan is one target's; choose it with --target NAME")
    shaping = [flag for flag, given in (("--prune", prune), ("--refresh", refresh)) if given]
    if planfile_path is not None and shaping:
        raise click.UsageError(
            f"{' and '.join(shaping)} cannot be given with a saved plan: the mode it was saved "
            "with applies (make the plan again with the options you want)"
        )
    given = _given_paths(manifests, lockfile_path, target_names)
    request = ApplyRequest(planfile_path, prune, allow_empty, refresh, parallelism, deep, given)
    connection = Connection(region, profile, endpoint_url, max_connections=parallelism + 2)
    asked = planfile_path is None and not auto_approve
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a cancelled CI job stops cleanly
    try:
        if not _has_targets(selected):
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
            _emit(text.render_plan(shown, color=_use_color()))
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
        _say(f"== {target} ==", err=as_json)
        run = _apply_target(settings, target, connection, request, asked, output_format)
        runs.append(run)
        if not run.ok:
            break
    rest = [s.target for s in selected[len(runs) :] if s.target is not None]
    if rest:
        names = ", ".join(t.name for t in rest)
        _say(f"Stopped before {counted(len(rest), 'more target')}: {names}.", err=True)
    if as_json:
        _emit(jsondoc.dumps(multi.applies_document(runs, rest)))
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
        _say(f"Skipped target '{target.name}': nothing was changed in it.")
        return multi.TargetApply(target, None, None, skipped=True)
    except ReconcilerError as exc:
        if isinstance(exc, ManifestError):
            for diagnostic in exc.diagnostics:
                _say(str(diagnostic), err=True)
            exc = ReconcilerError(f"{counted(len(exc.diagnostics), 'problem')} found in {exc.what}")
        _say(f"error: target '{target.name}': {exc}", err=True)
        return multi.TargetApply(target, None, None, str(exc))
    if output_format != "json":
        _apply_report(run, settings, output_format)
    return multi.TargetApply(target, run.result or ApplyResult(), run.lockfile)


class _Declined(Exception):
    """The user answered no at the apply prompt: not an error."""


def _deep_needs_refresh(deep: bool, refresh: bool) -> None:
    if deep and not refresh:
        raise click.UsageError("--deep reads the service, so it needs --refresh")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _apply_report(run: ApplyRun, settings: Settings, output_format: str) -> None:
    if output_format == "json":
        _emit(jsondoc.dumps(jsondoc.apply_document(run.result or ApplyResult(), run.lockfile)))
        return
    if run.result is None:
        _emit(text.render_plan(redact_plan(run.plan, settings.sensitive)))
        _say("Nothing to apply.")
        return
    _emit(text.apply_summary(run.result, settings.lockfile) + "\n")
    for error in run.result.errors:
        _say(f"error: {error}", err=True)


class Progress:
    """One line per finished operation; on a terminal, one line that keeps count."""

    def __init__(self, *, to_stderr: bool) -> None:
        self.total = 0
        self.done = 0
        self.to_stderr = to_stderr
        stream = sys.stderr if to_stderr else sys.stdout
        self.live = stream.isatty()
        self._lock = threading.Lock()

    def report(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.result.finishes_a_change:
                self.done += 1
            line = text.outcome_line(outcome)
            if self.live:
                click.echo(
                    f"\r\x1b[2K[{self.done}/{self.total}] {safe_line(line)}",
                    nl=False,
                    err=self.to_stderr,
                )
            else:
                _say(line, err=self.to_stderr)

    def expect(self, total: int) -> None:
        self.total = total

    def close(self) -> None:
        if self.live and self.done:
            click.echo("", err=self.to_stderr)


@cli.command("import")
@click.argument("name", required=False)
@click.argument("arn", required=False)
@click.option(
    "--all",
    "import_all",
    is_flag=True,
    help="Import every declared artifact missing from the lockfile whose whole Source the service "
    "already has.",
)
@click.option(
    "--from-lineage",
    metavar="ID",
    help="Also take over artifacts owned by the lockfile with this lineage id (a lost lockfile, "
    "or another repository's that hands them over).",
)
@PARALLELISM
@path_options()
@one_target_option
@aws_options
@handle_errors
def import_command(
    name: str | None,
    arn: str | None,
    import_all: bool,
    from_lineage: str | None,
    parallelism: int,
    manifests: str | None,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> None:
    """Bring an existing artifact under management as the declared NAME.

    Adds the ownership tag, records the artifact as it is, and shows how it differs from the
    manifest: the next apply reconciles it. Refuses an artifact owned by another name, or by
    another lockfile unless --from-lineage names that lockfile's lineage.

    \b
    Example:
      reconciler import churn-train-data arn:aws:sagemaker:eu-west-1:123456789012:artifact/0f1e...
      reconciler import --all
      reconciler import --all --from-lineage 5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11
    """
    if import_all == (name is not None) or (name is None) != (arn is None):
        raise click.UsageError("give either NAME and ARN, or --all")
    settings = _settings(manifests, lockfile_path, target_names, "import")
    _no_region_with(settings, region)
    connection = Connection(region, profile, endpoint_url, max_connections=parallelism + 2)
    progress = Progress(to_stderr=False)
    try:
        outcome = run_import(
            settings,
            connection,
            name,
            arn,
            from_lineage,
            parallelism=parallelism,
            expect=progress.expect,
            report=progress.report,
        )
    finally:
        progress.close()
    for item in outcome.imported:
        if item.pending is None:
            _say(f"{item.name}: it matches the manifest")
        else:
            _say(f"{item.name}: the next apply will {item.pending.action.value} it:")
            for field in redact_fields(item.pending.fields, settings.sensitive):
                _say(f"      {text.field_line(field)}")
    for note in outcome.notes:
        _say(f"  {note}")
    _say(f"{len(outcome.imported)} imported into {settings.lockfile}.")
    if outcome.refused:
        sys.exit(EXIT_ERROR)


@cli.command("forget")
@click.argument("name")
@path_options(manifests_too=False)
@one_target_option
@aws_options
@handle_errors
def forget_command(
    name: str,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> None:
    """Drop NAME from the lockfile and remove our ownership tag, leaving the artifact in place
    (to hand it over to another tool or team).

    \b
    Example:
      reconciler forget churn-raw-events
    """
    settings = _settings(None, lockfile_path, target_names, "forget")
    _no_region_with(settings, region)
    note = run_forget(settings, Connection(region, profile, endpoint_url), name)
    _say(f"Forgot '{name}': {note}.")
    declared = _declared_names(settings)
    if name in declared:
        _say(
            f"'{name}' is still declared: remove its manifest, or the next apply will find the "
            "artifact unowned and stop.",
            err=True,
        )


def _declared_names(settings: Settings) -> set[str]:
    try:
        return set(load_desired(settings).artifacts)
    except ReconcilerError:
        return set()


@cli.group()
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
    _say(f"{action} the plan comment on {pull.repository}#{pull.number}: {url}")


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
    default="reconciler: record applied artifacts",
    show_default=True,
    help="The commit message.",
)
@click.option("--remote", default="origin", show_default=True)
@click.option("--branch", default="main", show_default=True, help="The branch to push to.")
@handle_errors
def github_commit_lockfile(
    lockfile_path: str | None, target_names: tuple[str, ...], message: str, remote: str, branch: str
) -> None:
    """Commit the lockfile alone and push it, fetching and rebasing if the branch moved (with
    targets: the lockfile of each target chosen, or of every target, one commit each).

    A push with GITHUB_TOKEN does not start another workflow run.

    \b
    Example:
      reconciler github commit-lockfile --branch main
    """
    for settings in _selected(target_names, None, lockfile_path):
        outcome = commit_lockfile(settings.lockfile, message, remote=remote, branch=branch)
        if outcome == "unchanged":
            _say(f"{settings.lockfile} is unchanged; nothing to commit.")
        else:
            _say(f"Pushed {settings.lockfile} to {branch} in {outcome}.")


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
        _emit(multi.render_applies_markdown(document))
        return
    _emit(markdown.render_apply(document))


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


@cli.command("targets")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github-matrix"]),
    default="text",
    show_default=True,
    help="github-matrix: one line for a job's `strategy.matrix` (fromJSON), one entry per target.",
)
@target_option
@handle_errors
def targets_command(output_format: str, target_names: tuple[str, ...]) -> None:
    """List the targets of reconciler.yaml: name, account, region, role, lockfile.

    Without targets in reconciler.yaml there is one implicit target, listed with an empty name
    (and account, region and role left to the credentials), so that one workflow serves both.

    \b
    Example:
      echo "matrix=$(reconciler targets --format github-matrix)" >> "$GITHUB_OUTPUT"
    """
    selected = _selected(target_names)
    entries = [
        matrix_entry(s.target) if s.target is not None else implicit_matrix_entry(s.lockfile)
        for s in selected
    ]
    if output_format == "github-matrix":
        click.echo(github_matrix(entries))
    elif output_format == "json":
        click.echo(json.dumps({"targets": entries}, sort_keys=True))
    elif not _has_targets(selected):
        _say(f"No targets in reconciler.yaml: one target, lockfile {selected[0].lockfile}.")
    else:
        for s in selected:
            _say(f"{s.target}: lockfile {s.lockfile}")


def _no_region_with(settings: Settings, region: str | None) -> None:
    if region is not None and settings.target is not None:
        raise click.UsageError("--region cannot be used with targets: each target has its own")


@cli.command()
@click.option(
    "--path",
    "schema_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=SCHEMA_PATH,
    show_default=True,
    help="Where the schema is kept.",
)
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from the models.")
@handle_errors
def schema(schema_path: Path, check: bool) -> None:
    """Write the manifests' JSON Schema, generated from the models (editors use it).

    \b
    Example:
      reconciler schema --check
    """
    generated = schema_text()
    if check:
        try:
            current = schema_path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != generated:
            _fail(f"{schema_path} is out of date; run 'reconciler schema' and commit the result")
        _say(f"{schema_path} is up to date.")
        return
    fsio.write_atomic(schema_path, generated.encode())
    _say(f"Wrote {schema_path}.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the state in this file (an append-only log, reloaded on start).",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    default=[DEFAULT_ACCOUNT],
    show_default=True,
    help="An account to serve (repeatable). Keys that name no account reach the first; STS "
    "AssumeRole gives keys for a role's account.",
)
@click.option("--latency-ms", type=click.FloatRange(0), default=0, help="Delay every request.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(0, min_open=True),
    help="Requests per second; beyond it, ThrottlingException.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fraction of requests failing with 500 InternalFailure before any effect.",
)
@click.option(
    "--lost-response-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fraction of writes that take effect, then drop the connection.",
)
@click.option(
    "--list-lag-ms",
    type=click.FloatRange(0),
    default=0,
    help="A new artifact shows in ListArtifacts only this long after its creation.",
)
@click.option(
    "--write-lag-ms",
    type=click.FloatRange(0),
    default=0,
    help="Updates, tag changes and deletes show in reads only this long after they happen.",
)
@click.option(
    "--empty-page-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0,
    help="Fraction of list calls answered with an empty page and a NextToken.",
)
@click.option(
    "--delete-associated",
    type=click.Choice(["refuse", "cascade"]),
    default="refuse",
    show_default=True,
    help="DeleteArtifact of an artifact with associations: refuse it, or delete them too.",
)
@click.option(
    "--artifact-quota",
    type=click.IntRange(0),
    default=DEFAULT_ARTIFACT_QUOTA,
    show_default=True,
    help="Artifacts per account and region; beyond it, ResourceLimitExceeded.",
)
@click.option(
    "--context-quota",
    type=click.IntRange(0),
    default=DEFAULT_CONTEXT_QUOTA,
    show_default=True,
    help="Contexts per account and region.",
)
@click.option(
    "--action-quota",
    type=click.IntRange(0),
    default=DEFAULT_ACTION_QUOTA,
    show_default=True,
    help="Actions per account and region.",
)
@click.option(
    "--association-quota",
    type=click.IntRange(0),
    default=DEFAULT_ASSOCIATION_QUOTA,
    show_default=True,
    help="Associations per account and region.",
)
@click.option(
    "--preload",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A YAML or JSON list of entities SageMaker made (trial components, say), held "
    "from the start.",
)
@click.option("--seed", type=int, help="Seed the faults, so that a run can be repeated.")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0, min_open=True),
    default=60,
    show_default=True,
    help="Seconds before an idle or stalled connection is closed.",
)
@click.option(
    "--url-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the URL served to this file.",
)
@handle_errors
def sandbox(
    host: str,
    port: int,
    state: Path | None,
    accounts: tuple[str, ...],
    latency_ms: float,
    rate_limit: float | None,
    error_rate: float,
    lost_response_rate: float,
    list_lag_ms: float,
    write_lag_ms: float,
    empty_page_rate: float,
    delete_associated: str,
    artifact_quota: int,
    context_quota: int,
    action_quota: int,
    association_quota: int,
    preload: Path | None,
    seed: int | None,
    idle_timeout: float,
    url_file: Path | None,
) -> None:
    """Serve the SageMaker lineage API (and STS GetCallerIdentity, AssumeRole) locally.

    Point any boto3 client at the printed URL (endpoint_url=, or AWS_ENDPOINT_URL); any
    credentials are accepted. Stops on Ctrl-C or SIGTERM.

    \b
    Example:
      reconciler sandbox --port 0 --latency-ms 50 --rate-limit 40 --url-file .sandbox-url
    """
    for account in accounts:
        if not re.fullmatch(r"[0-9]{12}", account):
            raise ReconcilerError(f"--account {account!r} is not a 12-digit AWS account id")
    from reconciler.sandbox import SandboxConfig  # botocore loads only for this command

    config = SandboxConfig(
        host=host,
        port=port,
        state=state,
        account=accounts[0],
        more_accounts=accounts[1:],
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        error_rate=error_rate,
        lost_response_rate=lost_response_rate,
        list_lag_ms=list_lag_ms,
        write_lag_ms=write_lag_ms,
        empty_page_rate=empty_page_rate,
        delete_associated=delete_associated,
        artifact_quota=artifact_quota,
        context_quota=context_quota,
        action_quota=action_quota,
        association_quota=association_quota,
        preload=preload,
        seed=seed,
        idle_timeout=idle_timeout,
    )
    serve_until_signalled(config, url_file)


def serve_until_signalled(config: SandboxConfig, url_file: Path | None) -> None:
    from reconciler.sandbox import Sandbox

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        server = Sandbox(config).start()
    except ValueError as exc:  # an unreadable --state file
        raise ReconcilerError(str(exc)) from None
    except OSError as exc:
        raise ReconcilerError(
            f"cannot listen on {config.host}:{config.port} ({exc.strerror}); "
            "choose another --port, or 0 for a free one"
        ) from None
    try:
        if url_file is not None:
            fsio.write_atomic(url_file, (server.url + "\n").encode())
        click.echo(server.url)
        click.echo(f"reconciler sandbox serving on {server.url}; Ctrl-C to stop", err=True)
        while not stopping.wait(0.2):
            pass
    finally:
        server.stop()
    click.echo("reconciler sandbox stopped", err=True)


def main() -> None:
    cli(prog_name="reconciler")
