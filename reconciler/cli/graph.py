"""reconciler graph: the declared lineage graph as Mermaid, Graphviz DOT or JSON."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import click

from reconciler.cli.options import (
    cache_option,
    emit,
    handle_errors,
    path_options,
    selected_settings,
    target_option,
)
from reconciler.drawing import from_declared
from reconciler.project import load_desired
from reconciler.render import dot, graphjson, mermaid
from reconciler.textsafe import visible

RENDERERS = {"mermaid": mermaid.render, "dot": dot.render, "json": graphjson.render}


@click.command("graph")
@path_options(lockfile_too=False)
@target_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(RENDERERS)),
    default="mermaid",
    show_default=True,
    help="mermaid: a flowchart (within Mermaid's limits: 50,000 characters, 500 edges; past "
    "them it says what it left out); dot: Graphviz (dot -Tsvg); json: nodes and links.",
)
@click.option(
    "--around",
    metavar="NAME",
    help="Only what is at most --depth edges from this declared entity, either way.",
)
@click.option(
    "--depth",
    type=click.IntRange(0, 1_000),
    default=1,
    show_default=True,
    help="With --around: how many edges away to draw.",
)
@cache_option
@handle_errors
def graph_command(
    manifests: str | None,
    target_names: tuple[str, ...],
    output_format: str,
    around: str | None,
    depth: int,
    no_cache: bool,
) -> None:
    """Draw the declared lineage graph: every declared entity (by kind: artifact rectangle,
    context hexagon, action stadium) and association (labelled with its type), and the entities
    edges reach that reconciler does not manage (faded). Offline: reads the manifests only.

    \b
    Example:
      reconciler graph > lineage.mmd
      reconciler graph --format dot --around churn-model --depth 2 | dot -Tsvg > lineage.svg
    """
    selected = selected_settings(target_names, manifests, cache=not no_cache)
    if len(selected) > 1:
        raise click.UsageError("graph draws one target's manifests: choose it with --target NAME")
    desired = load_desired(selected[0]).by_kind()
    if around is not None:
        _refuse_unknown(around, desired)
    drawing = from_declared(desired, around, depth)
    emit(RENDERERS[output_format](drawing))


def _refuse_unknown(around: str, desired: Mapping[str, Mapping[str, Any]]) -> None:
    names = [name for kind, specs in desired.items() if kind != "Association" for name in specs]
    if around in names:
        return
    close = difflib.get_close_matches(around, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise click.BadParameter(
        f"'{visible(around)}' is not a declared entity{hint}", param_hint="'--around'"
    )
