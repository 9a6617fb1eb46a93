"""plan → executor → service, outcomes → lockfile.

The plan runs in the four levels of `graph.levels`: edges removed, entities removed, entities
written, edges added; the changes of one level in parallel. Each finished operation goes to the
journal before it is reported, so a crash loses nothing that completed. A create whose outcome is
unknown, or that the service says already exists, is resolved by looking the entity up (an
artifact by its whole Source, a context or an action by its name, unique on the service) and
adopting it if its ownership tags name it and this lockfile, never by creating blindly. Nothing
owned by another lockfile, or by no one, is ever updated, deleted or adopted. Edges: see edges.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from reconciler import graph
from reconciler.associations import edge, reattach_requests
from reconciler.aws import Lineage, OutcomeUnknown, ServiceCallError, already_exists, timestamp_text
from reconciler.edges import EdgeSteps
from reconciler.errors import ReconcilerError
from reconciler.journal import Journal
from reconciler.kinds import ARTIFACT, EntityKind, entity_kind
from reconciler.limits import LINEAGE_TAG_KEY
from reconciler.lockfile import Entry, Lockfile
from reconciler.outcomes import ApplyResult, Outcome, OutcomeKind
from reconciler.ownership import Claim, Owner, not_ours
from reconciler.plan import Action, Change, Plan, compare, stays_text
from reconciler.recorder import Recorder
from reconciler.requests import (
    create_request,
    live_spec_of,
    not_cleared,
    tag_changes,
    update_request,
)

#: How long to keep looking for an entity the service says exists (reads may lag).
DEFAULT_LOOKUP_TIMEOUT = 30.0
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 8
    lookup_timeout: float = DEFAULT_LOOKUP_TIMEOUT


class NotOwned(ReconcilerError):
    pass


__all__ = ["ApplyOptions", "Executor", "NotOwned", "Recorder", "execute"]


class Executor:
    def __init__(
        self,
        service: Lineage,
        recorder: Recorder,
        options: ApplyOptions,
        report: Callable[[Outcome], None],
        lineage: str,
    ) -> None:
        self.service = service
        self.recorder = recorder
        #: The owning lockfile's lineage id: what our entities' lineage tag says.
        self.lineage = lineage
        self.options = options
        self._report = report
        self.stopping = threading.Event()
        self.result = ApplyResult(stats=service.stats)
        self._lock = threading.Lock()
        self.edges = EdgeSteps(service, recorder, options.lookup_timeout)
        #: Entities this run deleted to replace them, whose successor is not created yet:
        #: name -> (kind, ARN).
        self._half_replaced: dict[str, tuple[EntityKind, str]] = {}
        self._not_started: set[tuple[str, str]] = set()

    # --- running -------------------------------------------------------------------------------

    def run(self, plan: Plan, legacy: list[str] | None = None) -> ApplyResult:
        # Before any write: an edge to another account's entity that these credentials cannot
        # read would be refused half-way through the run; it stops the run here instead.
        shared = [c for c in plan.actionable if self.edges.adds_a_shared_end(c)]
        self._run_phase(shared, self.edges.check_shared)
        touched = {change.name for change in plan.actionable}
        upgrades = [Change(name, Action.UPDATE) for name in legacy or [] if name not in touched]
        self._run_phase(upgrades, self._add_lineage_tag)
        # Before any write: a replacement whose new identity is taken stops the run here, so
        # that none of its edges is removed for nothing.
        replaced = [c for c in plan.actionable if c.action is Action.REPLACE and not c.is_edge]
        self._run_phase(replaced, self._check_replaceable)
        # Edges go before the entities they touch, entities before the edges that need them;
        # deletions before creations (their names and sources may be what creations use).
        steps: tuple[Callable[[Change], Outcome | None], ...] = (
            self.edges.remove,
            self._remove_entity,
            self._write_entity,
            self.edges.add,
        )
        for changes, step in zip(graph.levels(plan), steps, strict=True):
            self._run_phase(changes, step)
        if not self.stopping.is_set():
            # What earlier runs detached and could not put back yet.
            for name in sorted(set(self.recorder.detached) & set(self.recorder.every_entry())):
                self._guarded(self._reattach_step, Change(name, Action.UPDATE))
        for name, (kind, arn) in sorted(self._half_replaced.items()):
            self._deleted_half(kind, name, arn)
        return self.result

    def _add_lineage_tag(self, change: Change) -> None:
        """Upgrade an artifact made before lineage tags (its name tag only) in place."""
        arn = self.recorder.entries[change.name].arn
        if self._owned_tags(ARTIFACT, change.name, arn) is None:  # refuses what is not ours
            return
        self.service.add_tags(arn, [{"Key": LINEAGE_TAG_KEY, "Value": self.lineage}])
        self._report(Outcome(change.name, OutcomeKind.LINEAGE_TAG_ADDED, arn, self.lineage))

    def _reattach_step(self, change: Change) -> None:
        self._reattach(change.name)

    def _deleted_half(self, kind: EntityKind, name: str, arn: str) -> None:
        """Report the delete half of a replace that did not finish."""
        noun = kind.kind.lower()
        outcome = Outcome(
            name,
            OutcomeKind.DELETED,
            arn,
            f"to replace it; its new {noun} was not created: the next apply creates it and "
            "puts its associations back",
            kind=kind.kind,
        )
        with self._lock:
            self.result.outcomes.append(outcome)
        self._report(outcome)

    def _run_phase(self, changes: list[Change], step: Callable[[Change], Outcome | None]) -> None:
        if not changes:
            return
        with ThreadPoolExecutor(max_workers=self.options.parallelism) as pool:
            futures = [pool.submit(self._guarded, step, change) for change in changes]
            try:
                wait(futures)
            except KeyboardInterrupt:
                # Interrupted (Ctrl-C, or SIGTERM from a cancelled CI job): start nothing new,
                # let the calls in flight finish and be recorded.
                self.stopping.set()
                raise

    def _guarded(self, step: Callable[[Change], Outcome | None], change: Change) -> None:
        if self.stopping.is_set():
            with self._lock:
                # A replacement takes part in two levels: it counts once.
                self._not_started.add((change.kind, change.name))
                self.result.skipped = len(self._not_started)
            return
        try:
            outcome = step(change)
        except Exception as exc:
            self._fail(change.name, exc)
            return
        if outcome is not None:
            with self._lock:
                self.result.outcomes.append(outcome)
            self._report(outcome)

    def _fail(self, name: str, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, ReconcilerError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OutcomeUnknown):
            message = f"the service did not answer ({exc.cause}); run apply again to resolve it"
        with self._lock:
            self.result.errors.append(f"{name}: {message}")
        self.stopping.set()

    # --- the two entity levels -----------------------------------------------------------------

    def _remove_entity(self, change: Change) -> Outcome | None:
        """A deletion, or the first half of a replacement (the entity and its edges go; the
        edges reconciler did not add are kept in the journal, to put back on the successor)."""
        kind = entity_kind(change.kind)
        assert change.arn is not None and change.before is not None
        if change.action is Action.DELETE:
            return self._delete(kind, change.name, change.arn, change.before)
        taken = self._take_down(kind, change.name, change.arn, change.before, detach=True)
        if taken is not None:
            with self._lock:
                self._half_replaced[change.name] = (kind, change.arn)
        self.recorder.remove(change.name, kind.kind)
        return None

    def _write_entity(self, change: Change) -> Outcome:
        """A creation, an update, or the second half of a replacement."""
        kind = entity_kind(change.kind)
        assert change.after is not None
        if change.action is Action.CREATE:
            return self._create(kind, change.name, change.after)
        if change.action is Action.REPLACE:
            outcome = self._create(kind, change.name, change.after)
            with self._lock:
                self._half_replaced.pop(change.name, None)
            self._reattach(change.name)
            because = ", ".join(change.replace_because)
            return Outcome(change.name, OutcomeKind.REPLACED, outcome.arn, because, kind.kind)
        assert change.arn is not None and change.before is not None
        return self._update(kind, change.name, change.arn, change.before, change.after, change.kept)

    def _check_replaceable(self, change: Change) -> None:
        """What names the new entity on the service (an artifact's Source, a context's or an
        action's name) must be free, or held by our own entity (which the create then adopts)."""
        assert change.before is not None and change.after is not None
        kind, name = entity_kind(change.kind), change.name
        before, after = change.before, change.after
        if kind is ARTIFACT:
            if before["Source"] == after["Source"]:
                return
            taken = f"its new Source (SourceUri {after['Source']['SourceUri']}) is taken"
        else:
            if before[kind.name_field] == after[kind.name_field]:
                return
            taken = f"its new {kind.name_field} {after[kind.name_field]} is taken"
        for arn in self._holders(kind, after):
            tags = self.service.tags(arn)
            owner = Owner.of(tags or {})
            if tags is not None and owner.claim(name, self.lineage) is not Claim.OURS:
                raise NotOwned(
                    f"cannot replace it, so nothing was deleted: {taken}: "
                    + not_ours(arn, name, owner, self.lineage)
                )

    def _holders(self, kind: EntityKind, spec: dict[str, Any]) -> list[str]:
        """The ARNs of what the service holds under the identity `spec` gives (for an artifact,
        its whole Source; otherwise its name)."""
        if kind is ARTIFACT:
            return [s["ArtifactArn"] for s in self.service.artifacts_with_source(spec["Source"])]
        found = self.service.find_by_name(kind, spec[kind.name_field])
        return [str(found[kind.arn_field])] if found is not None else []

    # --- create --------------------------------------------------------------------------------

    def _create(self, kind: EntityKind, name: str, spec: dict[str, Any]) -> Outcome:
        for _ in range(CREATE_ATTEMPTS):
            try:
                arn = self.service.create(kind, create_request(kind, spec, name, self.lineage))
            except ServiceCallError as exc:
                if exc.code == "ValidationException":
                    # The real service's wording for a duplicate is not documented: one look
                    # tells a duplicate from a request it refuses for another reason.
                    duplicate = already_exists(exc)
                    patience = self.options.lookup_timeout if duplicate else 0.0
                    adopted = self._adopt(kind, name, spec, patience=patience)
                    if adopted is not None:
                        return adopted
                    if not duplicate:
                        raise
                    raise ReconcilerError(self._not_found(kind, spec, exc)) from None
                if exc.code == "ResourceLimitExceeded":
                    raise ReconcilerError(
                        f"the account's {kind.kind.lower()} quota is reached: {exc.service_message}"
                    ) from None
                raise
            except OutcomeUnknown as exc:
                # A 5xx answer almost always means nothing happened: one look is enough. No answer
                # at all may hide a create that worked: look for as long as reads may lag.
                patience = 0.0 if exc.answered else self.options.lookup_timeout
                adopted = self._adopt(kind, name, spec, patience=patience)
                if adopted is not None:
                    return adopted
                continue
            self.recorder.put(name, Entry(arn, spec), kind.kind)
            detail = self._record_filled_in(kind, name, arn, spec)
            return Outcome(name, OutcomeKind.CREATED, arn, detail, kind.kind)
        raise ReconcilerError(f"Create{kind.kind} did not succeed after {CREATE_ATTEMPTS} attempts")

    def _record_filled_in(self, kind: EntityKind, name: str, arn: str, spec: dict[str, Any]) -> str:
        """After a create that left out a field UpdateX cannot clear (an action's Status), what
        the service filled in of it, recorded as kept (one Describe; the API does not say
        whether CreateAction gives an action a Status of its own), so that the lockfile holds
        what the service does. What the progress line says of it ("" when nothing)."""
        unset = [field for field in kind.unclearable if spec.get(field) is None]
        if not unset:
            return ""
        described = self.service.describe(kind, arn) or {}
        filled = kind.kept_fields(described, spec, unset)
        if not filled:
            return ""
        held = kind.with_kept(described, spec, filled)
        self.recorder.put(name, Entry(arn, held, kept=filled), kind.kind)
        shown = ", ".join(f"{f} {json.dumps(held[f], ensure_ascii=False)}" for f in filled)
        return f"the service gave it {shown}, which Update{kind.kind} cannot clear"

    def _not_found(self, kind: EntityKind, spec: dict[str, Any], exc: ServiceCallError) -> str:
        within = f"within {self.options.lookup_timeout:g} s ({exc.service_message})"
        if kind is ARTIFACT:
            return (
                f"the service says an artifact with this source or name already exists, but "
                f"none with this whole Source (SourceUri {spec['Source']['SourceUri']} and its "
                f"SourceTypes) appeared in ListArtifacts {within}"
            )
        return (
            f"the service says a {kind.kind.lower()} named {spec[kind.name_field]} already "
            f"exists, but Describe{kind.kind} did not find it {within}"
        )

    def _adopt(
        self, kind: EntityKind, name: str, spec: dict[str, Any], *, patience: float
    ) -> Outcome | None:
        """Find our entity by what identifies it on the service; adopt it (and converge it) or
        say whose it is."""
        deadline = time.monotonic() + patience
        delay = 0.1
        while True:
            foreign: list[str] = []
            for arn in self._holders(kind, spec):
                tags = self.service.tags(arn)
                if tags is None:
                    continue
                owner = Owner.of(tags)
                if owner.claim(name, self.lineage) is Claim.OURS:
                    return self._converge_adopted(kind, name, arn, spec, tags)
                foreign.append(not_ours(arn, name, owner, self.lineage))
            if foreign:
                raise NotOwned(
                    f"{_identity(kind, spec)} already exists and is not this one's: "
                    + "; ".join(foreign)
                )
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)

    def _converge_adopted(
        self, kind: EntityKind, name: str, arn: str, spec: dict[str, Any], tags: dict[str, str]
    ) -> Outcome:
        described = self.service.describe(kind, arn)
        if described is None:
            raise ReconcilerError(f"{arn} vanished while it was being adopted; run apply again")
        live = Entry(
            arn,
            live_spec_of(kind, described, tags),
            timestamp_text(described.get("LastModifiedTime")),
        )
        self.recorder.put(name, live, kind.kind)
        change = compare(name, live, spec, kind)
        if change is None:
            return Outcome(name, OutcomeKind.ADOPTED, arn, "created by an earlier run", kind.kind)
        if change.action is Action.UPDATE:
            assert change.after is not None
            self._update(kind, name, arn, live.spec, change.after, change.kept)
            return Outcome(
                name,
                OutcomeKind.ADOPTED,
                arn,
                "created by an earlier run, then updated",
                kind.kind,
            )
        raise ReconcilerError(
            f"{arn}, created by an earlier run, differs in {', '.join(change.replace_because)}, "
            "which cannot change in place; run apply again to replace it"
        )

    # --- update --------------------------------------------------------------------------------

    def _update(
        self,
        kind: EntityKind,
        name: str,
        arn: str,
        before: dict[str, Any],
        after: dict[str, Any],
        kept: tuple[str, ...] = (),
    ) -> Outcome:
        """Make the entity `after`; `kept`: the fields `after` holds only because the service
        keeps them (the manifest dropped them; UpdateX cannot clear them)."""
        tags = self._owned_tags(kind, name, arn)
        declared = {k: v for k, v in after.items() if k not in kept}
        if tags is None:
            # What the old entity kept is gone with it: the new one is made as declared.
            outcome = self._create(kind, name, declared)
            return Outcome(
                name,
                OutcomeKind.RECREATED,
                outcome.arn,
                "it had been deleted outside reconciler",
                kind.kind,
            )
        previous = self.recorder.entities[kind.kind].get(name)
        if previous is not None and previous.uncertain:
            # The last write's outcome is unknown: change what the service holds.
            described = self.service.describe(kind, arn)
            if described is not None:
                before = live_spec_of(kind, described, tags)
                # What the service keeps is what it holds now, not what the lockfile said.
                kept = kind.kept_fields(before, declared, kept)
                after = kind.with_kept(before, declared, kept)
        self.recorder.intend(name, kind.kind)  # until the put below, the outcome is unknown
        request = update_request(kind, before, after)
        since = previous.last_modified_time if previous is not None else None
        described = self.service.update(kind, arn, before, request, since) if request else None
        refused = not_cleared(request, described)
        if refused:  # the service kept what "" asked it to clear: record what it holds
            after = kind.with_kept(described or {}, after, refused)
            kept = (*kept, *refused)
        self._sync_tags(arn, tags, after)
        # Recording when we last wrote it lets a live audit skip it while nobody else does.
        if request:
            modified = timestamp_text(described.get("LastModifiedTime")) if described else None
        else:
            modified = previous.last_modified_time if previous else None
        self.recorder.put(name, Entry(arn, after, modified, kept=kept), kind.kind)
        known = previous.kept if previous is not None else ()
        detail = stays_text(kind.kind, after, [f for f in kept if f not in known])
        return Outcome(name, OutcomeKind.UPDATED, arn, detail, kind.kind)

    def _sync_tags(self, arn: str, live: dict[str, str], spec: dict[str, Any]) -> None:
        """Make the live tags those declared, leaving the ownership tags alone (and adding the
        lineage tag to an entity made before there was one)."""
        changes = tag_changes(live, spec, self.lineage)
        if changes.add:
            self.service.add_tags(arn, changes.add)
        if changes.remove:
            self.service.delete_tags(arn, changes.remove)

    def _owned_tags(self, kind: EntityKind, name: str, arn: str) -> dict[str, str] | None:
        """The entity's tags if it is ours; None if it is gone; NotOwned otherwise.

        One made before lineage tags (its name tag only) is ours here, where the lockfile
        records it; the next write adds the lineage tag."""
        tags = self.service.tags(arn)
        if tags is None:
            return None
        owner = Owner.of(tags)
        if owner.claim(name, self.lineage) not in (Claim.OURS, Claim.LEGACY):
            raise NotOwned(
                f"refusing to change {arn}, recorded as {_noun(kind)}'{name}': "
                f"{not_ours(arn, name, owner, self.lineage)}. If the lockfile entry was edited, "
                "restore the lockfile from git ('reconciler audit --live' shows what differs)"
            )
        return tags

    # --- delete and replace --------------------------------------------------------------------

    def _delete(self, kind: EntityKind, name: str, arn: str, spec: dict[str, Any]) -> Outcome:
        if self._take_down(kind, name, arn, spec) is None:
            self.recorder.remove(name, kind.kind)
            return Outcome(name, OutcomeKind.GONE, arn, "it had already been deleted", kind.kind)
        self.recorder.remove(name, kind.kind)
        return Outcome(name, OutcomeKind.DELETED, arn, kind=kind.kind)

    def _take_down(
        self,
        kind: EntityKind,
        name: str,
        arn: str,
        spec: dict[str, Any],
        *,
        detach: bool = False,
    ) -> list[dict[str, Any]] | None:
        """Delete an owned entity and its associations; the associations it had, or None if
        it was already gone. With `detach`, the associations are journaled first, to be put
        back on its successor."""
        if self._owned_tags(kind, name, arn) is None:
            return None
        edges = self.service.associations(arn)
        if detach and edges:
            self.recorder.detach(name, arn, [edge(e) for e in edges])
        for summary in edges:
            shown = f"{summary['SourceArn']} -> {summary['DestinationArn']}"
            removed = Outcome(name, OutcomeKind.ASSOCIATION_REMOVED, arn, shown, kind.kind)
            self._report(removed)
            self.service.delete_association(summary["SourceArn"], summary["DestinationArn"])
        self.service.delete(kind, arn, spec)
        return edges

    def _reattach(self, name: str) -> None:
        """Put back the associations detached from `name`'s predecessors, once every end
        exists; then forget them."""
        with self.recorder.lock:
            if name not in self.recorder.detached:
                return
            entries = self.recorder.every_entry()
            originals = self.recorder.detached[name].associations
            requests = reattach_requests(name, self.recorder.detached, entries)
        if requests is None:
            return  # another end's successor is not created yet: a later step or run does it
        kind = self.recorder.kind_of(name)
        for original, request in zip(originals, requests, strict=True):
            try:
                self.service.add_association(request)
            except ServiceCallError as exc:
                if exc.code == "ResourceNotFound":  # the other end is gone too
                    continue
                if exc.code != "ValidationException":  # "already exists" is what we want
                    raise
            # An edge of ours left undeclared (an orphan) now joins the successor.
            self.recorder.move_edges(
                (original["SourceArn"], original["DestinationArn"]),
                (request["SourceArn"], request["DestinationArn"]),
            )
            restored = f"{request['SourceArn']} -> {request['DestinationArn']}"
            self._report(
                Outcome(name, OutcomeKind.ASSOCIATION_RESTORED, entries[name].arn, restored, kind)
            )
        self.recorder.reattached(name)


def _identity(kind: EntityKind, spec: dict[str, Any]) -> str:
    """What names an entity on the service, in words."""
    if kind is ARTIFACT:
        return f"an artifact with this Source (SourceUri {spec['Source']['SourceUri']})"
    return f"a {kind.kind.lower()} named {spec[kind.name_field]}"


def _noun(kind: EntityKind) -> str:
    """How an error names the kind of a recorded name: artifacts alone, as always."""
    return "" if kind is ARTIFACT else f"{kind.kind.lower()} "


def execute(
    plan: Plan,
    recorded: Lockfile,
    service: Lineage,
    journal: Journal,
    options: ApplyOptions,
    report: Callable[[Outcome], None],
    legacy: list[str] | None = None,
) -> ApplyResult:
    """Carry the plan out; every success is in the journal when this returns (or raises).

    `legacy` names recorded artifacts that carry only the name tag: they get the lineage tag."""
    if not recorded.target.is_set:
        journal.target(service.target)
    lineage = recorded.lineage or journal.lineage
    executor = Executor(service, Recorder(journal, recorded), options, report, lineage)
    return executor.run(plan, legacy or [])
