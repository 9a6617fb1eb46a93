"""Refusals checked before any write: another account or region, a plan that empties everything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.kinds import ENTITY_KINDS
from reconciler.lockfile import Lockfile
from reconciler.plan import Action, Plan

if TYPE_CHECKING:
    from reconciler.aws import Lineage


def refuse_emptying(plan: Plan, recorded: Lockfile, allow_empty: bool) -> None:
    deletes = sum(1 for c in plan.changes if c.action is Action.DELETE)
    recorded_count = len(recorded.associations) + sum(
        len(recorded.entities(kind)) for kind in ENTITY_KINDS.values()
    )
    what = "artifact" if recorded_count == len(recorded.artifacts) else "entity and association"
    if deletes and deletes == recorded_count and not allow_empty:
        raise ReconcilerError(
            f"refusing to delete every recorded {what} ({deletes}): the manifests declare none "
            "of them, which is more often a mistake (a wrong --manifests, an emptied folder) than "
            "the intent; pass --allow-empty if it is"
        )


def check_target(recorded: Lockfile, service: Lineage) -> None:
    """Refuse, before any write, to apply a lockfile to another account or region."""
    wanted, actual = recorded.target, service.target
    if wanted.is_set and (wanted.account, wanted.region) != (actual.account, actual.region):
        raise ReconcilerError(
            f"the lockfile targets {wanted}, but these credentials and settings reach {actual}; "
            "use the matching profile or --region (each account and region needs its own lockfile)"
        )
