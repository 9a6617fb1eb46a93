"""plan → executor → service, outcomes → lockfile.

Each finished operation goes to the journal before it is reported, so a crash loses nothing that
completed. A create whose outcome is unknown, or that the service says already exists, is
resolved by looking the artifact up by its whole Source and adopting it if its ownership tags name
it and this lockfile, never by creating blindly. Nothing owned by another lockfile, or by no one,
is ever updated, deleted or adopted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from reconciler.associations import edge, reattach_requests
from reconciler.aws import (
    Lineage,
    OutcomeUnknown,
    ServiceCallError,
    create_request,
    live_spec,
    timestamp_text,
)
from reconciler.errors import ReconcilerError
from reconciler.journal import Journal
from reconciler.kinds import ARTIFACT
from reconciler.lockfile import Detached, Entry, Lockfile
from reconciler.models import LINEAGE_TAG_KEY
from reconciler.outcomes import ApplyResult, Outcome, OutcomeKind
from reconciler.ownership import Claim, Owner, not_ours
from reconciler.plan import Action, Change, Plan, compare
from reconciler.requests import tag_changes, update_request

#: How long to keep looking for an artifact the service says exists (ListArtifacts may lag).
DEFAULT_LOOKUP_TIMEOUT = 30.0
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 8
    lookup_timeout: float = DEFAULT_LOOKUP_TIMEOUT


class NotOwned(ReconcilerError):
    pass


class Recorder:
    """The entries as they stand now; every change goes to the journal first."""

    def __init__(self, journal: Journal, base: Lockfile) -> None:
        self._journal = journal
        #: Held for every change of `entries` and `detached` (reentrant: readers may hold it).
        self.lock = threading.RLock()
        self.entries: dict[str, Entry] = dict(base.artifacts)
        self.detached: dict[str, Detached] = dict(base.detached)

    def detach(self, name: str, arn: str, associations: list[dict[str, str]]) -> None:
        with self.lock:
            self._journal.detach(name, arn, associations)
            start = self.detached.get(name, Detached((), ()))
            self.detached[name] = start.joined(arn, associations)

    def reattached(self, name: str) -> None:
        with self.lock:
            self._journal.reattached(name)
            self.detached.pop(name, None)

    def put(self, name: str, entry: Entry) -> None:
        with self.lock:
            self._journal.put(name, entry)
            self.entries[name] = entry

    def remove(self, name: str) -> None:
        with self.lock:
            self._journal.remove(name)
            self.entries.pop(name, None)

    def intend(self, name: str) -> None:
        """Before a write whose outcome may never be known: until the next put or remove,
        the entry counts as uncertain (see journal.replay)."""
        with self.lock:
            self._journal.intend(name)


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
        #: The owning lockfile's lineage id: what our artifacts' lineage tag says.
        self.lineage = lineage
        self.options = options
        self._report = report
        self.stopping = threading.Event()
        self.result = ApplyResult(stats=service.stats)
        self._lock = threading.Lock()
        #: Artifacts this run deleted to replace them, whose successor is not created yet.
        self._half_replaced: dict[str, str] = {}

    # --- running -------------------------------------------------------------------------------

    def run(self, plan: Plan, legacy: list[str] | None = None) -> ApplyResult:
        changes = plan.actionable
        touched = {change.name for change in changes}
        upgrades = [Change(name, Action.UPDATE) for name in legacy or [] if name not in touched]
        self._run_phase(upgrades, self._add_lineage_tag)
        first = [c for c in changes if c.action in (Action.DELETE, Action.REPLACE)]
        then = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE)]
        # Deletes (of pruned and replaced artifacts) go first: their sources and names may be
        # what the creates are about to use.
        self._run_phase(first, self._first_step)
        self._run_phase(then, self._second_step)
        if not self.stopping.is_set():
            # What earlier runs detached and could not put back yet.
            for name in sorted(set(self.recorder.detached) & set(self.recorder.entries)):
                self._guarded(self._reattach_step, Change(name, Action.UPDATE))
        for name, arn in sorted(self._half_replaced.items()):
            self._deleted_half(name, arn)
        return self.result

    def _add_lineage_tag(self, change: Change) -> None:
        """Upgrade an artifact made before lineage tags (its name tag only) in place."""
        arn = self.recorder.entries[change.name].arn
        if self._owned_tags(change.name, arn) is None:  # refuses what is no longer ours
            return
        self.service.add_tags(arn, [{"Key": LINEAGE_TAG_KEY, "Value": self.lineage}])
        self._report(Outcome(change.name, OutcomeKind.LINEAGE_TAG_ADDED, arn, self.lineage))

    def _reattach_step(self, change: Change) -> None:
        self._reattach(change.name)

    def _deleted_half(self, name: str, arn: str) -> None:
        """Report the delete half of a replace that did not finish."""
        outcome = Outcome(
            name,
            OutcomeKind.DELETED,
            arn,
            "to replace it; its new artifact was not created: the next apply creates it and "
            "puts its associations back",
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
                self.result.skipped += 1
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

    def _first_step(self, change: Change) -> Outcome | None:
        assert change.arn is not None
        if change.action is Action.DELETE:
            return self._delete(change.name, change.arn)
        assert change.before is not None and change.after is not None
        self._refuse_a_taken_source(change.name, change.before, change.after)
        if self._take_down(change.name, change.arn, detach=True) is not None:
            with self._lock:
                self._half_replaced[change.name] = change.arn
        self.recorder.remove(change.name)
        return None

    def _refuse_a_taken_source(
        self, name: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """Before deleting anything: the new Source must be free, or held by our own artifact
        (which the create then adopts)."""
        if before["Source"] == after["Source"]:
            return
        for summary in self.service.artifacts_with_source(after["Source"]):
            tags = self.service.tags(summary["ArtifactArn"])
            owner = Owner.of(tags or {})
            if tags is not None and owner.claim(name, self.lineage) is not Claim.OURS:
                raise NotOwned(
                    f"cannot replace it, so nothing was deleted: its new Source (SourceUri "
                    f"{after['Source']['SourceUri']}) is taken: "
                    + not_ours(summary["ArtifactArn"], name, owner, self.lineage)
                )

    def _second_step(self, change: Change) -> Outcome:
        assert change.after is not None
        if change.action is Action.CREATE:
            return self._create(change.name, change.after)
        if change.action is Action.REPLACE:
            outcome = self._create(change.name, change.after)
            with self._lock:
                self._half_replaced.pop(change.name, None)
            self._reattach(change.name)
            return Outcome(
                change.name, OutcomeKind.REPLACED, outcome.arn, ", ".join(change.replace_because)
            )
        assert change.arn is not None and change.before is not None
        return self._update(change.name, change.arn, change.before, change.after)

    # --- create --------------------------------------------------------------------------------

    def _create(self, name: str, spec: dict[str, Any]) -> Outcome:
        for _ in range(CREATE_ATTEMPTS):
            try:
                request = create_request(spec, name, self.lineage)
                response = self.service.call("create_artifact", **request)
            except ServiceCallError as exc:
                if (
                    exc.code == "ValidationException"
                    and "already exists" not in exc.service_message
                ):
                    # The real service's wording for a duplicate is not documented: one look
                    # tells a duplicate from a request it refuses for another reason.
                    adopted = self._adopt(name, spec, patience=0.0)
                    if adopted is not None:
                        return adopted
                    raise
                if exc.code == "ValidationException":
                    adopted = self._adopt(name, spec, patience=self.options.lookup_timeout)
                    if adopted is not None:
                        return adopted
                    raise ReconcilerError(
                        f"the service says an artifact with this source or name already exists, "
                        f"but none with this whole Source (SourceUri "
                        f"{spec['Source']['SourceUri']} and its SourceTypes) appeared in "
                        f"ListArtifacts within {self.options.lookup_timeout:g} s "
                        f"({exc.service_message})"
                    ) from None
                if exc.code == "ResourceLimitExceeded":
                    raise ReconcilerError(
                        f"the account's artifact quota is reached: {exc.service_message}"
                    ) from None
                raise
            except OutcomeUnknown as exc:
                # A 5xx answer almost always means nothing happened: one look is enough. No answer
                # at all may hide a create that worked: look for as long as the list may lag.
                patience = 0.0 if exc.answered else self.options.lookup_timeout
                adopted = self._adopt(name, spec, patience=patience)
                if adopted is not None:
                    return adopted
                continue
            arn: str = response["ArtifactArn"]
            self.recorder.put(name, Entry(arn, spec))
            return Outcome(name, OutcomeKind.CREATED, arn)
        raise ReconcilerError(f"CreateArtifact did not succeed after {CREATE_ATTEMPTS} attempts")

    def _adopt(self, name: str, spec: dict[str, Any], *, patience: float) -> Outcome | None:
        """Find our artifact by its whole Source; adopt it (and converge it) or say whose it
        is."""
        deadline = time.monotonic() + patience
        delay = 0.1
        while True:
            foreign: list[str] = []
            for summary in self.service.artifacts_with_source(spec["Source"]):
                arn = summary["ArtifactArn"]
                tags = self.service.tags(arn)
                if tags is None:
                    continue
                owner = Owner.of(tags)
                if owner.claim(name, self.lineage) is Claim.OURS:
                    return self._converge_adopted(name, arn, spec, tags)
                foreign.append(not_ours(arn, name, owner, self.lineage))
            if foreign:
                raise NotOwned(
                    f"an artifact with this Source (SourceUri {spec['Source']['SourceUri']}) "
                    f"already exists and is not this one's: {'; '.join(foreign)}"
                )
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)

    def _converge_adopted(
        self, name: str, arn: str, spec: dict[str, Any], tags: dict[str, str]
    ) -> Outcome:
        described = self.service.describe(arn)
        if described is None:
            raise ReconcilerError(f"{arn} vanished while it was being adopted; run apply again")
        live = Entry(
            arn, live_spec(described, tags), timestamp_text(described.get("LastModifiedTime"))
        )
        self.recorder.put(name, live)
        change = compare(name, live, spec)
        if change is None:
            return Outcome(name, OutcomeKind.ADOPTED, arn, "created by an earlier run")
        if change.action is Action.UPDATE:
            self._update(name, arn, live.spec, spec)
            return Outcome(
                name, OutcomeKind.ADOPTED, arn, "created by an earlier run, then updated"
            )
        raise ReconcilerError(
            f"{arn}, created by an earlier run, differs in {', '.join(change.replace_because)}, "
            "which cannot change in place; run apply again to replace it"
        )

    # --- update --------------------------------------------------------------------------------

    def _update(
        self, name: str, arn: str, before: dict[str, Any], after: dict[str, Any]
    ) -> Outcome:
        tags = self._owned_tags(name, arn)
        if tags is None:
            outcome = self._create(name, after)
            return Outcome(
                name, OutcomeKind.RECREATED, outcome.arn, "it had been deleted outside reconciler"
            )
        self.recorder.intend(name)  # until the put below, the outcome is unknown
        request = update_request(ARTIFACT, before, after)
        if request:
            self.service.call("update_artifact", ArtifactArn=arn, **request)
        self._sync_tags(arn, tags, after)
        # Recording when we last wrote it lets a live audit skip it while nobody else does.
        if request:
            described = self.service.describe_showing(arn, request)
            modified = timestamp_text(described.get("LastModifiedTime")) if described else None
        else:
            previous = self.recorder.entries.get(name)
            modified = previous.last_modified_time if previous else None
        self.recorder.put(name, Entry(arn, after, modified))
        return Outcome(name, OutcomeKind.UPDATED, arn)

    def _sync_tags(self, arn: str, live: dict[str, str], spec: dict[str, Any]) -> None:
        """Make the live tags those declared, leaving the ownership tags alone (and adding the
        lineage tag to an artifact made before there was one)."""
        changes = tag_changes(live, spec, self.lineage)
        if changes.add:
            self.service.add_tags(arn, changes.add)
        if changes.remove:
            self.service.delete_tags(arn, changes.remove)

    def _owned_tags(self, name: str, arn: str) -> dict[str, str] | None:
        """The artifact's tags if it is ours; None if it is gone; NotOwned otherwise.

        One made before lineage tags (its name tag only) is ours here, where the lockfile
        records it; the next write adds the lineage tag."""
        tags = self.service.tags(arn)
        if tags is None:
            return None
        owner = Owner.of(tags)
        if owner.claim(name, self.lineage) not in (Claim.OURS, Claim.LEGACY):
            raise NotOwned(
                f"refusing to change {arn}, recorded as '{name}': "
                f"{not_ours(arn, name, owner, self.lineage)}. If the lockfile entry was edited, "
                "restore the lockfile from git ('reconciler audit --live' shows what differs)"
            )
        return tags

    # --- delete and replace --------------------------------------------------------------------

    def _delete(self, name: str, arn: str) -> Outcome:
        if self._take_down(name, arn) is None:
            self.recorder.remove(name)
            return Outcome(name, OutcomeKind.GONE, arn, "it had already been deleted")
        self.recorder.remove(name)
        return Outcome(name, OutcomeKind.DELETED, arn)

    def _take_down(
        self, name: str, arn: str, *, detach: bool = False
    ) -> list[dict[str, Any]] | None:
        """Delete an owned artifact and its associations; the associations it had, or None if
        it was already gone. With `detach`, the associations are journaled first, to be put
        back on its successor."""
        if self._owned_tags(name, arn) is None:
            return None
        edges = self.service.associations(arn)
        if detach and edges:
            self.recorder.detach(name, arn, [edge(e) for e in edges])
        for edge_summary in edges:
            self._report(
                Outcome(
                    name,
                    OutcomeKind.ASSOCIATION_REMOVED,
                    arn,
                    f"{edge_summary['SourceArn']} -> {edge_summary['DestinationArn']}",
                )
            )
            try:
                self.service.call(
                    "delete_association",
                    SourceArn=edge_summary["SourceArn"],
                    DestinationArn=edge_summary["DestinationArn"],
                )
            except ServiceCallError as exc:
                if exc.code != "ResourceNotFound":
                    raise
        try:
            self.service.delete_artifact(arn)
        except ServiceCallError as exc:
            if exc.code != "ResourceNotFound":
                raise
        return edges

    def _reattach(self, name: str) -> None:
        """Put back the associations detached from `name`'s predecessors, once every end
        exists; then forget them."""
        with self.recorder.lock:
            if name not in self.recorder.detached:
                return
            requests = reattach_requests(name, self.recorder.detached, self.recorder.entries)
        if requests is None:
            return  # another end's successor is not created yet: a later step or run does it
        for request in requests:
            try:
                self.service.call("add_association", **request)
            except ServiceCallError as exc:
                if exc.code == "ResourceNotFound":  # the other end is gone too
                    continue
                if exc.code != "ValidationException":  # "already exists" is what we want
                    raise
            self._report(
                Outcome(
                    name,
                    OutcomeKind.ASSOCIATION_RESTORED,
                    self.recorder.entries[name].arn,
                    f"{request['SourceArn']} -> {request['DestinationArn']}",
                )
            )
        self.recorder.reattached(name)


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
