"""The command line: a thin shell over the library. Each command reads, calls, renders, exits."""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from reconciler import __version__, journal, lockfile
from reconciler import planfile as planfile_module
from reconciler.apply import (
    ApplyOptions,
    ApplyResult,
    Outcome,
    check_target,
    execute,
    refuse_emptying,
)
from reconciler.aws import Connection, connect
from reconciler.config import Settings, resolve_settings
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.lockfile import new_lineage
from reconciler.manifest import load_manifests
from reconciler.memory import paused_gc
from reconciler.plan import Plan, compute_plan
from reconciler.project import read_state
from reconciler.render import jsondoc, markdown, text
from reconciler.render.annotations import error_annotation
from reconciler.runlock import ApplyLock
from reconciler.sandbox.service import DEFAULT_ACCOUNT, DEFAULT_ARTIFACT_QUOTA
from reconciler.schema import SCHEMA_PATH, schema_text

if TYPE_CHECKING:
    from reconciler.sandbox import SandboxConfig

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def handle_errors(command: F) -> F:
    """Turn every failure into a one-line message and exit 1: never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ManifestError as exc:
            for diagnostic in exc.diagnostics:
                click.echo(str(diagnostic), err=True)
            count = len(exc.diagnostics)
            _fail(f"{count} problem{'s' if count != 1 else ''} found in the manifests")
        except ReconcilerError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
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


def aws_options(command: F) -> F:
    command = click.option(
        "--endpoint-url",
        metavar="URL",
        help="Another SageMaker and STS endpoint (the sandbox, say); AWS_ENDPOINT_URL works too.",
    )(command)
    command = click.option("--profile", help="A named AWS profile (else AWS_PROFILE, or default).")(
        command
    )
    command = click.option("--region", help="The AWS region (else AWS_REGION or the profile's).")(
        command
    )
    return command


def path_options(lockfile_too: bool = True) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        command = click.option(
            "--manifests",
            "manifests",
            metavar="DIR",
            help="Directory of manifests, read recursively. [default: manifests, or as set in "
            "reconciler.yaml]",
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


def _settings(manifests: str | None, lockfile_path: str | None = None) -> Settings:
    return resolve_settings(manifests, lockfile_path)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _emit(output: str) -> None:
    click.echo(output, nl=False, color=_use_color())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: also print ::error annotations, which GitHub Actions shows on the lines.",
)
@handle_errors
def validate(manifests: str | None, output_format: str) -> None:
    """Check the manifests; exit 0 when valid, 1 when not.

    Every problem is reported at once, as path:line:col: message.

    \b
    Example:
      reconciler validate --manifests manifests --format github
    """
    settings = _settings(manifests)
    try:
        with paused_gc():
            desired = load_manifests(settings.manifests)
    except ManifestError as exc:
        if output_format == "github":
            for diagnostic in exc.diagnostics:
                click.echo(error_annotation(diagnostic))
        raise
    click.echo(
        f"{len(desired.artifacts)} artifacts in {desired.files} files under "
        f"{settings.manifests} are valid."
    )


@cli.command()
@path_options()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option("--prune", is_flag=True, help="Plan to delete artifacts no longer declared.")
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
@handle_errors
def plan(
    manifests: str | None,
    lockfile_path: str | None,
    output_format: str,
    prune: bool,
    detailed_exitcode: bool,
    out: Path | None,
) -> None:
    """Show what apply would change: manifests against the lockfile. Needs no credentials.

    \b
    Example:
      reconciler plan --format markdown --detailed-exitcode --out plan.json
    """
    state = read_state(_settings(manifests, lockfile_path))
    result = state.plan(prune=prune)
    with paused_gc():
        if output_format == "json":
            _emit(jsondoc.render_plan(result))
        elif output_format == "markdown":
            _emit(markdown.render_plan(result))
        else:
            _emit(text.render_plan(result, color=_use_color()))
    if out is not None:
        planfile_module.save(out, result, state.recorded, state.desired.digest)
        click.echo(f"Saved the plan to {out}; apply it with: reconciler apply {out}", err=True)
    if detailed_exitcode and result.has_changes:
        sys.exit(EXIT_CHANGES)


@cli.command()
@path_options()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@handle_errors
def audit(manifests: str | None, lockfile_path: str | None, output_format: str) -> None:
    """Report where the manifests and the lockfile disagree; exit 0 clean, 2 findings, 1 error.

    Findings: declared but not applied, applied but no longer declared, applied spec differing
    from the manifest, lockfile entries that are malformed or belong to another account or region.

    \b
    Example:
      reconciler audit --format json
    """
    report = read_state(_settings(manifests, lockfile_path)).audit()
    if output_format == "json":
        _emit(jsondoc.render_audit(report))
    elif output_format == "markdown":
        _emit(markdown.render_audit(report))
    else:
        _emit(text.render_audit(report, color=_use_color()))
    if not report.clean:
        sys.exit(EXIT_CHANGES)


@cli.command()
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@path_options()
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Operations in flight at once.",
)
@click.option("--prune", is_flag=True, help="Delete owned artifacts no longer declared.")
@click.option("--allow-empty", is_flag=True, help="Let --prune delete every recorded artifact.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: a summary document on stdout; progress goes to stderr.",
)
@aws_options
@handle_errors
def apply(
    planfile: Path | None,
    manifests: str | None,
    lockfile_path: str | None,
    auto_approve: bool,
    parallelism: int,
    prune: bool,
    allow_empty: bool,
    output_format: str,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> None:
    """Create, update, replace (and with --prune delete) artifacts; write every ARN back.

    Without PLANFILE the plan is made now and, on a terminal, shown for confirmation; elsewhere
    --auto-approve is required. With PLANFILE (from 'plan --out') the saved plan is applied if
    neither the lockfile nor the manifests moved since. Credentials come from the standard AWS
    chain; AWS_ENDPOINT_URL (or --endpoint-url) points at another endpoint, such as the sandbox.

    \b
    Example:
      reconciler plan --out plan.json && reconciler apply plan.json
      reconciler apply --auto-approve --region eu-west-1
    """
    settings = _settings(manifests, lockfile_path)
    with ApplyLock(settings.lockfile):
        recorded = journal.fold(settings.lockfile)  # finish what a crashed apply recorded
        desired = load_manifests(settings.manifests)
        if planfile is not None:
            saved = planfile_module.load(planfile)
            stale = saved.stale_reason(recorded, desired.digest)
            if stale is not None:
                raise ReconcilerError(
                    f"the saved plan {planfile} is stale: {stale}; "
                    f"run 'reconciler plan --out {planfile}' again"
                )
            prune = saved.prune
        plan = compute_plan(desired.specs(), recorded, prune=prune)
        refuse_emptying(plan, recorded, allow_empty)
        if not plan.has_changes:
            _apply_report_nothing(plan, output_format)
            return
        if planfile is None and not auto_approve and not sys.stdin.isatty():
            raise ReconcilerError(
                "refusing to apply without confirmation: there is no terminal to ask on; "
                "review 'reconciler plan' and pass --auto-approve, or apply a saved plan file"
            )
        service = connect(
            Connection(region, profile, endpoint_url, max_connections=parallelism + 2)
        )
        check_target(recorded, service)
        if output_format == "text":
            click.echo(text.render_plan(plan, color=_use_color()), nl=False)
        asked = planfile is None and not auto_approve
        if asked and not click.confirm(f"Apply these changes to {service.target}?", default=False):
            raise ReconcilerError("apply cancelled; nothing was changed")
        progress = Progress(len(plan.actionable), to_stderr=output_format == "json")
        log = journal.Journal(
            journal.journal_path(settings.lockfile), recorded.lineage or new_lineage()
        )
        try:
            result = execute(
                plan, recorded, service, log, ApplyOptions(parallelism=parallelism), progress.report
            )
        finally:
            log.close()
            final = journal.fold(settings.lockfile)
            progress.close()
    _apply_report(result, final, settings.lockfile, output_format)
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _apply_report_nothing(plan: Plan, output_format: str) -> None:
    if output_format == "json":
        _emit(jsondoc.dumps(jsondoc.apply_document(ApplyResult(), None)))
    else:
        click.echo(text.render_plan(plan), nl=False)
        click.echo("Nothing to apply.")


def _apply_report(
    result: ApplyResult, final: lockfile.Lockfile, path: Path, output_format: str
) -> None:
    if output_format == "json":
        _emit(jsondoc.dumps(jsondoc.apply_document(result, final)))
        return
    click.echo(text.apply_summary(result, path))
    for error in result.errors:
        click.echo(f"error: {error}", err=True)


class Progress:
    """One line per finished operation; on a terminal, one line that keeps count."""

    def __init__(self, total: int, *, to_stderr: bool) -> None:
        self.total = total
        self.done = 0
        self.to_stderr = to_stderr
        stream = sys.stderr if to_stderr else sys.stdout
        self.live = stream.isatty()
        self._lock = threading.Lock()

    def report(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.result in (
                "created",
                "adopted",
                "recreated",
                "updated",
                "replaced",
                "deleted",
                "gone",
            ):
                self.done += 1
            line = text.outcome_line(outcome)
            if self.live:
                click.echo(
                    f"\r\x1b[2K[{self.done}/{self.total}] {line}", nl=False, err=self.to_stderr
                )
            else:
                click.echo(line, err=self.to_stderr)

    def close(self) -> None:
        if self.live:
            click.echo("", err=self.to_stderr)


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
        click.echo(f"{schema_path} is up to date.")
        return
    lockfile.write_atomic(schema_path, generated.encode())
    click.echo(f"Wrote {schema_path}.")


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
    help="Keep the state in this file (written after every write, reloaded on start).",
)
@click.option("--account", default=DEFAULT_ACCOUNT, show_default=True, help="The account id.")
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
    "--artifact-quota",
    type=click.IntRange(0),
    default=DEFAULT_ARTIFACT_QUOTA,
    show_default=True,
    help="Artifacts per account and region; beyond it, ResourceLimitExceeded.",
)
@click.option("--seed", type=int, help="Seed the faults, so that a run can be repeated.")
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
    account: str,
    latency_ms: float,
    rate_limit: float | None,
    error_rate: float,
    lost_response_rate: float,
    list_lag_ms: float,
    artifact_quota: int,
    seed: int | None,
    url_file: Path | None,
) -> None:
    """Serve the SageMaker lineage API (and STS GetCallerIdentity) locally, for boto3.

    Point any boto3 client at the printed URL (endpoint_url=, or AWS_ENDPOINT_URL); any
    credentials are accepted. Stops on Ctrl-C or SIGTERM.

    \b
    Example:
      reconciler sandbox --port 0 --latency-ms 50 --rate-limit 40 --url-file .sandbox-url
    """
    if not re.fullmatch(r"[0-9]{12}", account):
        raise ReconcilerError(f"--account {account!r} is not a 12-digit AWS account id")
    from reconciler.sandbox import SandboxConfig  # botocore loads only for this command

    config = SandboxConfig(
        host=host,
        port=port,
        state=state,
        account=account,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        error_rate=error_rate,
        lost_response_rate=lost_response_rate,
        list_lag_ms=list_lag_ms,
        artifact_quota=artifact_quota,
        seed=seed,
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
            lockfile.write_atomic(url_file, (server.url + "\n").encode())
        click.echo(server.url)
        click.echo(f"reconciler sandbox serving on {server.url}; Ctrl-C to stop", err=True)
        while not stopping.wait(0.2):
            pass
    finally:
        server.stop()
    click.echo("reconciler sandbox stopped", err=True)


def main() -> None:
    cli(prog_name="reconciler")
