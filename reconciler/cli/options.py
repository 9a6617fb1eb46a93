"""Shared by every command: options, settings, output, errors and exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from reconciler.config import Settings, resolve_targets
from reconciler.errors import Diagnostic, ManifestError, ReconcilerError
from reconciler.multitarget import for_each
from reconciler.textsafe import safe_line, safe_lines
from reconciler.words import counted

if TYPE_CHECKING:
    from reconciler.aws import Connection
    from reconciler.manifest import ParsedFiles
    from reconciler.project import State

F = TypeVar("F", bound=Callable[..., Any])


EXIT_ERROR = 1
EXIT_CHANGES = 2


def fail(message: str) -> NoReturn:
    say(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def say(message: str, *, err: bool = False) -> None:
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
                say(str(diagnostic), err=True)
            fail(f"{counted(len(exc.diagnostics), 'problem')} found in {exc.what}")
        except ReconcilerError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            say("interrupted; every operation that finished is recorded", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("RECONCILER_DEBUG"):
                raise
            fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in reconciler: "
                "please report it, with the output of the same command run with RECONCILER_DEBUG=1"
            )

    return wrapper  # type: ignore[return-value]


def _endpoint_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return value
    from reconciler.aws import endpoint_problem  # botocore loads only when AWS is called

    problem = endpoint_problem(value)
    if problem is not None:
        raise click.BadParameter(safe_line(problem))  # click prints it as it is
    return value


def echo_warnings(warnings: Sequence[Diagnostic]) -> None:
    """Warnings go to stderr, and never change the exit code."""
    for warning in warnings:
        say(f"{warning.location}: warning: {warning.message}", err=True)


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


def selected_settings(
    target_names: tuple[str, ...],
    manifests: str | None = None,
    lockfile_path: str | None = None,
    region: str | None = None,
    *,
    cache: bool = True,
) -> list[Settings]:
    """The settings of every target chosen; without targets in reconciler.yaml, the one."""
    selected = resolve_targets(target_names, manifests, lockfile_path, cache=cache)
    if region is not None and has_targets(selected):
        raise click.UsageError("--region cannot be used with targets: each target has its own")
    return selected


cache_option = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Parse every manifest file and reconciler.yaml, ignoring and not writing the cache of "
    "validated files in .reconciler/cache/ (beside the lockfile, and beside reconciler.yaml).",
)


def has_targets(selected: list[Settings]) -> bool:
    return selected[0].target is not None


def one_settings(
    manifests: str | None,
    lockfile_path: str | None = None,
    target_names: tuple[str, ...] = (),
    command: str = "this command",
) -> Settings:
    """The settings of the one target a command works on."""
    selected = selected_settings(target_names, manifests, lockfile_path)
    if len(selected) > 1:
        names = ", ".join(s.target.name for s in selected if s.target is not None)
        raise click.UsageError(
            f"{command} works on one target at a time; choose it with --target NAME ({names})"
        )
    return selected[0]


def state_of(
    settings: Settings, live: Connection | None, deep: bool, cache: ParsedFiles | None = None
) -> State:
    """The manifests and the lockfile and, given a connection, the service's side too."""
    from reconciler.project import connect_for, read_state  # what validate does not need

    state = read_state(settings, cache)
    echo_warnings(state.desired.warnings)
    if live is None:
        return state
    service = connect_for(state.recorded, live, settings, read_only=True)
    refreshed = state.refresh(service, deep=deep)
    # Where the credentials reach may tell more of the edges' ends (a lockfile never applied).
    echo_warnings([w for w in refreshed.desired.warnings if w not in state.desired.warnings])
    return refreshed


def states_of(
    selected: list[Settings], live: Connection | None, deep: bool
) -> list[tuple[Settings, State]]:
    """Every target's state, their manifest problems reported together; a file that several
    targets read is parsed once, and let go with the rest of the parsing once all are read."""
    cache = shared_parsing(selected)
    return for_each(selected, lambda settings: state_of(settings, live, deep, cache))


def shared_parsing(selected: list[Settings]) -> ParsedFiles:
    """Where the targets' loads keep the files more than one of them reads (and only those)."""
    from reconciler.manifest import ParsedFiles

    return ParsedFiles.between(
        [s.target.manifests if s.target is not None else (s.manifests,) for s in selected]
    )


def use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def emit(output: str | Iterable[str]) -> None:
    """Print a rendering, whose user-controlled pieces the renderer has passed through
    `visible` (its own line breaks and colours stay); or its pieces one after another, so that a
    large one is never held whole (each piece starts a line, or cannot start one with `::`)."""
    color = use_color()
    for piece in [output] if isinstance(output, str) else output:
        click.echo(safe_lines(piece), nl=False, color=color)


parallelism_option = click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Operations in flight at once.",
)


def deep_needs_refresh(deep: bool, refresh: bool) -> None:
    if deep and not refresh:
        raise click.UsageError("--deep reads the service, so it needs --refresh")


def no_region_with(settings: Settings, region: str | None) -> None:
    if region is not None and settings.target is not None:
        raise click.UsageError("--region cannot be used with targets: each target has its own")
