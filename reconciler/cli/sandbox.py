"""reconciler sandbox: serve the lineage API locally."""

from __future__ import annotations

import re
from pathlib import Path

import click

from reconciler.cli.options import handle_errors
from reconciler.errors import ReconcilerError
from reconciler.sandbox.lineage import DEFAULT_ACTION_QUOTA, DEFAULT_CONTEXT_QUOTA
from reconciler.sandbox.service import (
    DEFAULT_ACCOUNT,
    DEFAULT_ARTIFACT_QUOTA,
    DEFAULT_ASSOCIATION_QUOTA,
)
from reconciler.textsafe import quoted


@click.command()
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
    "--empty-description",
    type=click.Choice(["clear", "store", "ignore"]),
    default="clear",
    show_default=True,
    help='UpdateContext/UpdateAction with Description "" (the API does not say): clear it, '
    'store it as "", or ignore it.',
)
@click.option(
    "--default-action-status",
    type=click.Choice(["Unknown", "InProgress", "Completed", "Failed", "Stopping", "Stopped"]),
    default=None,
    help="The Status CreateAction gives an action created without one (the API does not say; "
    "by default it has none).",
)
@click.option(
    "--cross-region-associations",
    type=click.Choice(["refuse", "accept"]),
    default="refuse",
    show_default=True,
    help="AddAssociation with an end in another region than the request's (the service "
    "documents neither): refuse it as not found, or accept it.",
)
@click.option(
    "--share-lineage",
    "lineage_shares",
    multiple=True,
    metavar="OWNER:CONSUMER",
    help="Account OWNER shares its lineage with account CONSUMER (repeatable): CONSUMER may add "
    "edges to OWNER's entities; without a share, AccessDeniedException.",
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
    empty_description: str,
    default_action_status: str | None,
    cross_region_associations: str,
    lineage_shares: tuple[str, ...],
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
            raise ReconcilerError(f"--account {quoted(account)} is not a 12-digit AWS account id")
    shares = tuple(_share(share) for share in lineage_shares)
    # botocore loads only for this command
    from reconciler.sandbox.server import SandboxConfig, serve_until_signalled

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
        empty_description=empty_description,
        default_action_status=default_action_status,
        cross_region_associations=cross_region_associations,
        lineage_shares=shares,
        artifact_quota=artifact_quota,
        context_quota=context_quota,
        action_quota=action_quota,
        association_quota=association_quota,
        preload=preload,
        seed=seed,
        idle_timeout=idle_timeout,
    )
    serve_until_signalled(config, url_file)


def _share(given: str) -> tuple[str, str]:
    """OWNER:CONSUMER, two account ids."""
    match = re.fullmatch(r"([0-9]{12}):([0-9]{12})", given)
    if match is None:
        raise ReconcilerError(
            f"--share-lineage {quoted(given)} is not OWNER:CONSUMER, two 12-digit account ids "
            "(123456789012:210987654321: the first shares its lineage with the second)"
        )
    return match.group(1), match.group(2)
