"""reconciler targets: the targets of reconciler.yaml, for people and CI."""

from __future__ import annotations

import json

import click

from reconciler.cli.options import handle_errors, has_targets, say, selected_settings, target_option
from reconciler.targets import github_matrix, implicit_matrix_entry, matrix_entry


@click.command("targets")
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
    selected = selected_settings(target_names)
    entries = [
        matrix_entry(s.target) if s.target is not None else implicit_matrix_entry(s.lockfile)
        for s in selected
    ]
    if output_format == "github-matrix":
        click.echo(github_matrix(entries))
    elif output_format == "json":
        click.echo(json.dumps({"targets": entries}, sort_keys=True))
    elif not has_targets(selected):
        say(f"No targets in reconciler.yaml: one target, lockfile {selected[0].lockfile}.")
    else:
        for s in selected:
            say(f"{s.target}: lockfile {s.lockfile}")
