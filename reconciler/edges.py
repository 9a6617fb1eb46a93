"""Apply for associations (the graph's edges): added once both ends exist, removed before the
entities they touch, never deleted unless reconciler added them.

An edge cannot be tagged, so whether it is ours is what the lockfile says: one reconciler added is
recorded plainly; one that already existed when apply went to add it is recorded `adopted` (ours
to record, never ours to delete: dropping it only forgets it). Before an add is sent, the edge is
journalled as adopted and uncertain, so a crash that loses the answer can only ever make
reconciler forget an edge, never delete one it did not add.
"""

from __future__ import annotations

import time
from dataclasses import replace

from reconciler.aws import Lineage, OutcomeUnknown, ServiceCallError, already_exists
from reconciler.errors import ReconcilerError
from reconciler.foreign import ACROSS_ACCOUNTS, Where
from reconciler.foreign import finding as foreign_finding
from reconciler.kinds import EntityKind, kind_of_arn
from reconciler.kinds.association import KIND, is_arn
from reconciler.lockfile import Edge
from reconciler.outcomes import Outcome, OutcomeKind
from reconciler.plan import Action, Change
from reconciler.recorder import Recorder
from reconciler.requests import association_request
from reconciler.textsafe import quoted

ADD_ATTEMPTS = 3
ENDS = ("Source", "Destination")
ADOPTED_DETAIL = "it existed already: recorded as adopted, never deleted by reconciler"


class EdgeSteps:
    def __init__(self, service: Lineage, recorder: Recorder, lookup_timeout: float) -> None:
        self.service = service
        self.recorder = recorder
        self.lookup_timeout = lookup_timeout

    # --- removing (deletions, and the first half of a replacement) -----------------------------

    def remove(self, change: Change) -> Outcome | None:
        """Delete the recorded edge if reconciler added it, then drop it from the lockfile; the
        outcome for a deletion, None for the first half of a replacement."""
        name = change.name
        recorded = self.recorder.edges.get(name)
        ends = recorded.ends if recorded is not None else change.ends
        assert ends is not None, f"a recorded edge without ends: {name}"
        shown = arrow(*ends)
        if recorded is not None and recorded.adopted:
            self.recorder.remove_edge(name)
            if change.action is Action.DELETE:
                return self._outcome(name, OutcomeKind.FORGOTTEN, f"{shown}; {ADOPTED_LEFT}")
            return None
        self.recorder.intend_edge(name)
        deleted = self.service.delete_association(*ends)
        self.recorder.remove_edge(name)
        if change.action is not Action.DELETE:
            return None
        if not deleted:
            return self._outcome(name, OutcomeKind.GONE, f"{shown}; it had already been deleted")
        return self._outcome(name, OutcomeKind.DELETED, shown)

    # --- adding (creations, and the second half of a replacement) ------------------------------

    def add(self, change: Change) -> Outcome:
        name, spec = change.name, change.after
        assert spec is not None
        source = self._resolve(name, "Source", spec["Source"])
        destination = self._resolve(name, "Destination", spec["Destination"])
        request = association_request(spec, source, destination)
        shown = arrow(source, destination)
        # Until the answer is known it is recorded as not ours to delete (see the docstring).
        self.recorder.put_edge(name, Edge(source, destination, spec, adopted=True, uncertain=True))
        for _ in range(ADD_ATTEMPTS):
            try:
                self.service.add_association(request)
            except ServiceCallError as exc:
                if already_exists(exc):
                    return self._adopt(change, source, destination, patience=self.lookup_timeout)
                self.recorder.remove_edge(name)  # nothing was added
                raise self._refusal(exc, spec, source, destination) from None
            except OutcomeUnknown:
                if self.service.association(source, destination) is None:
                    continue  # nothing was added: send it again
                self.recorder.put_edge(name, Edge(source, destination, spec, adopted=True))
                return self._outcome(
                    name,
                    OutcomeKind.ADOPTED,
                    f"{shown}; the service did not answer and the edge is there, but whether this "
                    "run added it cannot be told: recorded as adopted, never deleted by reconciler",
                )
            self.recorder.put_edge(name, Edge(source, destination, spec))
            done = OutcomeKind.REPLACED if change.action is Action.REPLACE else OutcomeKind.CREATED
            return self._outcome(name, done, shown)
        self.recorder.remove_edge(name)
        raise ReconcilerError(f"AddAssociation did not succeed after {ADD_ATTEMPTS} attempts")

    def _refusal(
        self, exc: ServiceCallError, spec: dict[str, str], source: str, destination: str
    ) -> ReconcilerError:
        """Why the service refused the edge, with what an end in another account or region
        than the credentials reach may have to do with it."""
        refusal = _refusal(exc, spec)
        where = Where.reached(self.service.target.account, self.service.target.region)
        if where is None:
            return refusal
        found = [
            f"its {end} {finding.text}"
            for end, arn in (("Source", source), ("Destination", destination))
            if (finding := foreign_finding(arn, where)) is not None
        ]
        return ReconcilerError("; ".join([str(refusal), *found])) if found else refusal

    def check_shared(self, change: Change) -> None:
        """Before any write: each end of an edge to add that is another account's entity can be
        read from here, or the service would refuse the edge (an account that shares its
        lineage shares Describe and AddAssociation together; the developer guide's cross-account
        lineage tracking). A ReconcilerError that stops the run, having changed nothing."""
        reached = self.service.target
        for end, arn, kind in self._shared_ends(change):
            account = arn.split(":", 5)[4]
            try:
                found = self.service.describe(kind, arn)
            except ServiceCallError as exc:
                found, why = None, f"{exc.code}: {exc.service_message}"
            else:
                why = f"{kind.kind.lower()} not found there"
            if found is None:
                raise ReconcilerError(
                    f"cannot add it: its {end} {arn} is an entity of account {account}, which "
                    f"the credentials of account {reached.account} cannot read ({why}); "
                    f"{ACROSS_ACCOUNTS}: nothing was changed"
                )

    def adds_a_shared_end(self, change: Change) -> bool:
        """Whether `change` adds an edge with an end in another account (see check_shared)."""
        return bool(self._shared_ends(change))

    def _shared_ends(self, change: Change) -> list[tuple[str, str, EntityKind]]:
        """(end, ARN, kind) of each end of an edge to add that is an artifact, a context or an
        action of another account than the credentials reach."""
        if not change.is_edge or change.action is Action.DELETE or change.after is None:
            return []
        found = []
        for end in ENDS:
            arn = change.after[end]
            kind = kind_of_arn(arn)
            if kind is not None and arn.split(":", 5)[4] != self.service.target.account:
                found.append((end, arn, kind))
        return found

    def _resolve(self, name: str, end: str, reference: str) -> str:
        """An end's ARN: an ARN as written, or the ARN recorded for the entity it names."""
        if is_arn(reference):
            return reference
        arn = self.recorder.arn_of(reference)
        if arn is None:
            raise ReconcilerError(
                f"cannot add it: its {end} '{reference}' does not exist (it was not created); "
                "run apply again once it is"
            )
        return arn

    def _adopt(self, change: Change, source: str, destination: str, *, patience: float) -> Outcome:
        """The service says an edge joins these ends already: record it as adopted if it is the
        declared one (its type too); refuse otherwise."""
        name, spec = change.name, change.after
        assert spec is not None
        found = self._look_up(source, destination, patience)
        wanted = spec.get("AssociationType")
        if found is not None and found.get("AssociationType") != wanted:
            self.recorder.remove_edge(name)
            live = found.get("AssociationType")
            fix = f"declare AssociationType: {live}" if live else "remove its AssociationType"
            raise ReconcilerError(
                f"an association {arrow(source, destination)} already exists with "
                f"{f'type {live}' if live else 'no type'}, not {wanted or 'without one'}; "
                "reconciler did not add it, so it will not delete it: delete it by hand or "
                f"{fix}"
            )
        previous = self._ours_under_another_name(name, source, destination)
        if previous is not None:
            return self._take_over(change, previous, source, destination)
        self.recorder.put_edge(name, Edge(source, destination, spec, adopted=True))
        return self._outcome(
            name, OutcomeKind.ADOPTED, f"{arrow(source, destination)}; {ADOPTED_DETAIL}"
        )

    def _ours_under_another_name(self, name: str, source: str, destination: str) -> str | None:
        """The name under which the lockfile records, as added by reconciler, the edge between
        these ends (an edge renamed without --prune, whose old name is an orphan), or None."""
        with self.recorder.lock:
            for other, edge in self.recorder.edges.items():
                if other != name and edge.ends == (source, destination) and not edge.adopted:
                    return other
        return None

    def _take_over(self, change: Change, previous: str, source: str, destination: str) -> Outcome:
        """The edge is the one reconciler added as `previous`: it stays ours under this name, and
        `previous` is recorded as adopted (dropping it only forgets it). The old record is
        marked first, so a crash in between leaves both adopted: forgotten, never deleted."""
        assert change.after is not None
        with self.recorder.lock:
            self.recorder.put_edge(previous, replace(self.recorder.edges[previous], adopted=True))
            self.recorder.put_edge(change.name, Edge(source, destination, change.after))
        done = OutcomeKind.REPLACED if change.action is Action.REPLACE else OutcomeKind.CREATED
        return self._outcome(
            change.name,
            done,
            f"{arrow(source, destination)}; reconciler added it as '{previous}': it is now this "
            f"one's, and '{previous}' only forgets it",
        )

    def _look_up(self, source: str, destination: str, patience: float) -> dict[str, str] | None:
        """The edge between the two ends, waiting up to `patience` for lists to show it."""
        deadline = time.monotonic() + patience
        delay = 0.1
        while True:
            found = self.service.association(source, destination)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)

    @staticmethod
    def _outcome(name: str, result: OutcomeKind, detail: str) -> Outcome:
        return Outcome(name, result, None, detail, kind=KIND)


ADOPTED_LEFT = "it existed before reconciler recorded it, so it is left in place"


def arrow(source: str, destination: str) -> str:
    return f"{source} -> {destination}"


def _refusal(exc: ServiceCallError, spec: dict[str, str]) -> ReconcilerError:
    if exc.code == "ResourceLimitExceeded":
        return ReconcilerError(f"the account's association quota is reached: {exc.service_message}")
    if exc.code == "ResourceNotFound":
        return ReconcilerError(
            f"cannot add it: an end does not exist ({exc.service_message}); check its Source "
            f"{quoted(spec['Source'])} and Destination {quoted(spec['Destination'])}"
        )
    return exc
