"""A repository's state, read from disk: the library entry point the CLI and scripts share."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.audit import AuditReport, audit_offline
from reconciler.config import Settings
from reconciler.journal import load_with_journal
from reconciler.lockfile import Lockfile
from reconciler.manifest import DesiredState, load_manifests
from reconciler.memory import paused_gc
from reconciler.plan import Plan, compute_plan


@dataclass(frozen=True)
class State:
    """What the manifests declare and what the lockfile records."""

    desired: DesiredState
    recorded: Lockfile

    def plan(self, *, prune: bool = False) -> Plan:
        with paused_gc():
            return compute_plan(self.desired.specs(), self.recorded, prune=prune)

    def audit(self) -> AuditReport:
        with paused_gc():
            return audit_offline(self.desired.specs(), self.recorded)


def read_state(settings: Settings) -> State:
    """Validate the manifests and read the lockfile; raises ManifestError or LockfileError."""
    with paused_gc():
        desired = load_manifests(settings.manifests)
        recorded = load_with_journal(settings.lockfile)
    return State(desired, recorded)
