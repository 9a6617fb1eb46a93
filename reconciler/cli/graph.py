"""reconciler graph: the declared lineage graph as Mermaid, Graphviz DOT or JSON."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import click

from reconciler.cli.options import (
    aws_options,
    cache_option,
    emit,
    handle_errors,
    one_target_option,
    path_options,
    selected_settings,
    state_of,
)
from reconciler.config import Settings
from reconciler.desired import load_desired
from reconciler.drawing import Drawing, from_declared
from reconciler.kinds import ENTITY_KINDS
from reconciler.render import dot, graphjson, mermaid
from reconciler.textsafe import visible

RENDERERS = {"mermaid": mermaid.render, "dot": dot.render, "json": graphjson.render}


@click.command("graph")
@path_options()
@one_target_option
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
    help="With --around or --live: how many edges away to draw.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Draw what the service holds around the entities the lockfile records (or --around "
    "one), read with QueryLineage, at most 10 edges away (needs credentials).",
)
@aws_options
@cache_option
@handle_errors
def graph_command(
    manifests: str | None,
    lockfile_path: str | None,
    target_names: tuple[str, ...],
    output_format: str,
    around: str | None,
    depth: int,
    live: bool,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    no_cache: bool,
) -> None:
    """Draw the declared lineage graph: every declared entity (by kind: artifact rectangle,
    context hexagon, action stadium) and association (labelled with its type), and the entities
    edges reach that reconciler does not manage (faded). Offline: reads the manifests only.

    With --live, what the service holds instead, around the entities the lockfile records (or
    --around one of them): QueryLineage from each, both ways, --depth edges away (one walk per
    entity, so drawing a large lockfile whole takes as many calls at least).

    \b
    Example:
      reconciler graph > lineage.mmd
      reconciler graph --format dot --around churn-model --depth 2 | dot -Tsvg > lineage.svg
      reconciler graph --live --around churn-model --depth 3
    """
    selected = selected_settings(target_names, manifests, lockfile_path, region, cache=not no_cache)
    if len(selected) > 1:
        raise click.UsageError("graph draws one target's graph: choose it with --target NAME")
    if live:
        drawing = _live(selected[0], around, depth, (region, profile, endpoint_url))
    else:
        desired = load_desired(selected[0]).by_kind()
        if around is not None:
            _refuse_unknown(around, desired)
        drawing = from_declared(desired, around, depth)
    emit(RENDERERS[output_format](drawing))


def _live(
    settings: Settings, around: str | None, depth: int, given: tuple[str | None, ...]
) -> Drawing:
    # Imported here: drawing the declared graph needs neither boto3 nor the service's side.
    from reconciler.aws import Connection
    from reconciler.livegraph import MAX_DEPTH, live_drawing
    from reconciler.project import connect_for

    if depth > MAX_DEPTH:
        raise click.UsageError(
            f"--live reads at most {MAX_DEPTH} edges away (QueryLineage's MaxDepth): "
            f"give --depth {MAX_DEPTH} or less"
        )
    recorded = state_of(settings, None, False).recorded
    names = [n for kind in ENTITY_KINDS.values() for n in recorded.entities(kind)]
    if around is not None:
        _refuse_unknown(around, {"recorded": dict.fromkeys(names)}, "recorded in the lockfile")
    region, profile, endpoint_url = given
    service = connect_for(
        recorded, Connection(region, profile, endpoint_url), settings, read_only=True
    )
    return live_drawing(service, recorded, [around] if around else names, depth)


def _refuse_unknown(
    around: str, desired: Mapping[str, Mapping[str, Any]], what: str = "a declared entity"
) -> None:
    names = [name for kind, specs in desired.items() if kind != "Association" for name in specs]
    if around in names:
        return
    edge = desired.get("Association", {}).get(around)
    if edge is not None:
        raise click.BadParameter(
            f"'{visible(around)}' is an Association, an edge: draw around one of its ends, "
            f"'{visible(edge['Source'])}' or '{visible(edge['Destination'])}'",
            param_hint="'--around'",
        )
    close = difflib.get_close_matches(around, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise click.BadParameter(f"'{visible(around)}' is not {what}{hint}", param_hint="'--around'")
