"""reconciler validate: the manifests checked."""

from __future__ import annotations

from collections.abc import Sequence

import click

from reconciler.cli.options import (
    cache_option,
    echo_warnings,
    handle_errors,
    path_options,
    say,
    selected_settings,
    shared_parsing,
    target_option,
)
from reconciler.desired import load_desired
from reconciler.errors import Diagnostic, ManifestError
from reconciler.multitarget import for_each
from reconciler.words import counted


@click.command()
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
    selected = selected_settings(target_names, manifests, cache=not no_cache)
    cache = shared_parsing(selected)
    try:
        loaded = for_each(selected, lambda settings: load_desired(settings, cache))
    except ManifestError as exc:
        if output_format == "github":
            _annotate(exc.diagnostics, exc.warnings)
        raise
    for settings, desired in loaded:
        if output_format == "github":
            _annotate((), desired.warnings)
        echo_warnings(desired.warnings)
        target = settings.target
        where = settings.manifests if target is None else ", ".join(map(str, target.manifests))
        prefix = "" if target is None else f"{target.name}: "
        count = desired.total()
        say(
            f"{prefix}{desired.phrase()} in {counted(desired.files, 'file')} under "
            f"{where} {'is' if count == 1 else 'are'} valid."
        )


def _annotate(errors: Sequence[Diagnostic], warnings: Sequence[Diagnostic]) -> None:
    """GitHub's ::warning and ::error lines. Imported here: the renderers' package loads the plan's
    modules, which validating does not need."""
    from reconciler.render.annotations import error_annotation, warning_annotation

    for diagnostic in warnings:
        click.echo(warning_annotation(diagnostic))
    for diagnostic in errors:
        click.echo(error_annotation(diagnostic))
