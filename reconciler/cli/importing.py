"""reconciler import and forget: taking entities under management, and handing them over."""

from __future__ import annotations

import sys

import click

from reconciler.aws import Connection
from reconciler.cli.options import (
    EXIT_ERROR,
    aws_options,
    handle_errors,
    no_region_with,
    one_settings,
    one_target_option,
    parallelism_option,
    path_options,
    say,
)
from reconciler.config import Settings
from reconciler.desired import load_desired
from reconciler.errors import ReconcilerError
from reconciler.project import run_forget, run_import
from reconciler.redact import redact_fields
from reconciler.render import text
from reconciler.render.text import Progress


@click.command("import")
@click.argument("name", required=False)
@click.argument("arn", required=False)
@click.option(
    "--all",
    "import_all",
    is_flag=True,
    help="Import every declared entity missing from the lockfile that the service already has "
    "(artifacts by their whole Source, contexts and actions by name).",
)
@click.option(
    "--from-lineage",
    metavar="ID",
    help="Also take over entities owned by the lockfile with this lineage id (a lost lockfile, "
    "or another repository's that hands them over).",
)
@parallelism_option
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
    """Bring an existing artifact, context or action (the kind is the ARN's) under management
    as the declared NAME.

    Adds the ownership tags, records the entity as it is, and shows how it differs from the
    manifest: the next apply reconciles it. Refuses an entity owned by another name, or by
    another lockfile unless --from-lineage names that lockfile's lineage. With --all: every
    declared artifact the service has by its whole Source, and every declared context and
    action it has by name. Associations are not imported: apply records the existing ones as
    adopted.

    \b
    Example:
      reconciler import churn-train-data arn:aws:sagemaker:eu-west-1:123456789012:artifact/0f1e...
      reconciler import --all
      reconciler import --all --from-lineage 5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11
    """
    if import_all == (name is not None) or (name is None) != (arn is None):
        raise click.UsageError("give either NAME and ARN, or --all")
    settings = one_settings(manifests, lockfile_path, target_names, "import")
    no_region_with(settings, region)
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
        label = item.name if item.kind == "Artifact" else f"{item.kind.lower()} {item.name}"
        if item.pending is None:
            say(f"{label}: it matches the manifest")
        else:
            say(f"{label}: the next apply will {item.pending.action.value} it:")
            for field in redact_fields(item.pending.fields, settings.sensitive):
                say(f"      {text.field_line(field)}")
    for note in outcome.notes:
        say(f"  {note}")
    say(f"{len(outcome.imported)} imported into {settings.lockfile}.")
    if outcome.refused:
        sys.exit(EXIT_ERROR)


@click.command("forget")
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
    """Drop NAME from the lockfile and remove our ownership tags, leaving the entity in place
    (to hand it over to another tool or team). The recorded associations with NAME as an end
    are forgotten with it; NAME may also be an association (it is left in place: edges carry no
    tags).

    \b
    Example:
      reconciler forget churn-raw-events
    """
    settings = one_settings(None, lockfile_path, target_names, "forget")
    no_region_with(settings, region)
    note = run_forget(settings, Connection(region, profile, endpoint_url), name)
    say(f"Forgot '{name}': {note}.")
    kind = _declared_kind(settings, name)
    if kind == "Association":
        say(
            f"'{name}' is still declared: the next apply finds the edge and records it again, "
            "as adopted; remove its manifest to stop managing it.",
            err=True,
        )
    elif kind is not None:
        say(
            f"'{name}' is still declared: remove its manifest, or the next apply will find the "
            f"{kind.lower()} unowned and stop.",
            err=True,
        )


def _declared_kind(settings: Settings, name: str) -> str | None:
    """The kind `name` is declared as, or None (not declared, or the manifests do not load)."""
    try:
        declared = load_desired(settings).named(name)
    except ReconcilerError:
        return None
    return None if declared is None else declared.kind
