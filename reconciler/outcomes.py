"""What an apply (or an import) did: one `Outcome` per finished step, and the run's `ApplyResult`.

Plain data, so that renderers read results without importing the executor or the service client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum


class OutcomeKind(StrEnum):
    """What happened to one declared name; the value is the word shown to users and in JSON."""

    CREATED = "created"
    ADOPTED = "adopted"
    RECREATED = "recreated"
    UPDATED = "updated"
    REPLACED = "replaced"
    DELETED = "deleted"
    GONE = "gone"
    #: An edge that existed before reconciler recorded it, dropped from the lockfile and left on
    #: the service (reconciler deletes only the edges it added).
    FORGOTTEN = "forgotten"
    IMPORTED = "imported"
    ASSOCIATION_REMOVED = "association removed"
    ASSOCIATION_RESTORED = "association restored"
    LINEAGE_TAG_ADDED = "lineage tag added"

    @property
    def finishes_a_change(self) -> bool:
        """True for the outcomes that complete one planned change (progress counts them)."""
        return self in _FINISHING


_FINISHING = frozenset(
    {
        OutcomeKind.CREATED,
        OutcomeKind.ADOPTED,
        OutcomeKind.IMPORTED,
        OutcomeKind.RECREATED,
        OutcomeKind.UPDATED,
        OutcomeKind.REPLACED,
        OutcomeKind.DELETED,
        OutcomeKind.GONE,
        OutcomeKind.FORGOTTEN,
    }
)

#: The counts every apply summary shows, in order.
SUMMARY_KEYS = ("created", "adopted", "updated", "replaced", "deleted")
#: Outcomes counted under another summary key.
_COUNTED_AS = {OutcomeKind.RECREATED: "created", OutcomeKind.GONE: "deleted"}


@dataclass(frozen=True)
class Outcome:
    name: str
    result: OutcomeKind
    arn: str | None = None
    detail: str = ""
    #: The manifest kind of `name`: "Artifact", "Context", "Action" or "Association".
    kind: str = "Artifact"


@dataclass
class CallStats:
    calls: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    retried_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1

    def throttle(self) -> None:
        with self._lock:
            self.throttled += 1

    def error(self) -> None:
        with self._lock:
            self.retried_errors += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    stats: CallStats = field(default_factory=CallStats)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        counts = {key: 0 for key in SUMMARY_KEYS}
        for outcome in self.outcomes:
            key = _COUNTED_AS.get(outcome.result, outcome.result.value)
            counts[key] = counts.get(key, 0) + 1
        counts["throttled"] = self.stats.throttled
        counts["errors_retried"] = self.stats.retried_errors
        counts["failed"] = len(self.errors)
        counts["not_started"] = self.skipped
        return counts
