"""A repository's workflows as a library: what the CLI runs, usable on its own.

state = read_state(resolve_settings(None, None))
print(state.plan().summary())
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import journal, lockfile, planfile
from reconciler.audit import AuditReport, audit_live, audit_offline
from reconciler.config import Settings
from reconciler.desired import load_desired
from reconciler.errors import ReconcilerError
from reconciler.foreign import Where
from reconciler.guards import check_target, refuse_emptying
from reconciler.kinds import ENTITY_KINDS, EntityKind
from reconciler.kinds.association import KIND as ASSOCIATION
from reconciler.lockfile import Entry, Lockfile, Target, new_lineage
from reconciler.manifest import (
    DesiredState,
    ParsedFiles,
)
from reconciler.memory import paused_gc
from reconciler.outcomes import ApplyResult, Outcome, OutcomeKind
from reconciler.ownership import Claim
from reconciler.plan import Plan, compute_plan
from reconciler.planfile import Mode
from reconciler.runlock import ApplyLock
from reconciler.words import counted

if TYPE_CHECKING:
    from reconciler.adoption import Imported
    from reconciler.aws import Connection, Lineage
    from reconciler.live import LiveState

# What reads or writes the service (boto3, the executor, live reading, adoption) is imported in
# the functions that use it: validate and an offline plan or audit never load it.


@dataclass(frozen=True)
class State:
    """What the manifests declare, what the lockfile records and, once read, what the service
    holds."""

    desired: DesiredState
    recorded: Lockfile
    live: LiveState | None = None
    #: The account and region the manifests are applied to, once known: a target's, the
    #: lockfile's, or those the credentials reach.
    where: Where | None = None

    @property
    def baseline(self) -> Lockfile:
        """What a plan starts from: the lockfile, or the service's state once refreshed."""
        if self.live is None:
            return self.recorded
        from reconciler.live import refreshed

        return refreshed(self.recorded, self.live)

    def plan(self, *, prune: bool = False, base: Lockfile | None = None) -> Plan:
        """The plan; with `base` (the target branch's lockfile), ARNs edited since show."""
        with paused_gc():
            return compute_plan(
                self.desired.by_kind(), self.baseline, prune=prune, base=base, where=self.where
            )

    def audit(self) -> AuditReport:
        with paused_gc():
            if self.live is None:
                return audit_offline(self.desired.by_kind(), self.recorded)
            return audit_live(self.desired.by_kind(), self.recorded, self.live)

    def refresh(self, service: Lineage, *, deep: bool = False) -> State:
        from reconciler.live import LiveReader

        state = self.reaching(service)
        live = LiveReader(service, state.recorded, state.desired.by_kind()).read(deep=deep)
        return replace(state, live=live)

    def reaching(self, service: Lineage) -> State:
        """The state applied where `service` reaches, when nothing said where before (no target,
        a lockfile never applied): its edges' ARN ends checked there."""
        if self.where is not None:
            return self
        where = Where.reached(service.target.account, service.target.region)
        if where is None:
            return self
        return replace(self, desired=self.desired.against(where), where=where)

    def legacy(self) -> list[str]:
        """Recorded artifacts whose tags were read and carry only the name tag (made before
        lineage tags): apply adds the lineage tag."""
        if self.live is None:
            return []
        lineage = self.recorded.lineage
        return sorted(
            name
            for name, artifact in self.live.recorded.items()
            if artifact is not None and artifact.claim(name, lineage) is Claim.LEGACY
        )

    def read_back(self, service: Lineage) -> State:
        """Only the entries whose last write has an unknown outcome, read from the service."""
        from reconciler.live import LiveReader

        live = LiveReader(service, self.recorded, self.desired.by_kind()).read_back()
        return replace(self, live=live)


def read_state(settings: Settings, cache: ParsedFiles | None = None) -> State:
    """Validate the manifests and read the lockfile (with a crashed apply's journal replayed)."""
    with paused_gc():
        desired = load_desired(settings, cache)
        recorded = journal.load_with_journal(settings.lockfile, desired.specs())
    return bound_state(settings, desired, recorded)


def bound_state(settings: Settings, desired: DesiredState, recorded: Lockfile) -> State:
    """The state, applied to the settings' target or else to the lockfile's (once applied):
    without a target of reconciler.yaml, the edges' ARN ends are checked here, against the
    lockfile's account and region (a ManifestError for an end the service cannot add)."""
    if settings.target is not None:  # checked as the manifests were loaded
        return State(desired, recorded, where=Where.of_target(settings.target))
    where = Where.recorded(recorded.target.account, recorded.target.region)
    if where is None:
        return State(desired, recorded)
    return State(desired.against(where), recorded, where=where)


def connection_for(settings: Settings, given: Connection, *, read_only: bool = False) -> Connection:
    """How to reach the settings' target: its region and its profile or role (its audit_role,
    when given, for a run that only reads); a --profile given on the command line wins over the
    target's profile (and is what its role is assumed from)."""
    target = settings.target
    if target is None:
        return given
    return replace(
        given,
        region=target.region,
        profile=given.profile or target.profile,
        role=(target.audit_role or target.role) if read_only else target.role,
        session_name=f"reconciler-{target.name}"[:64],
    )


def connect_for(
    recorded: Lockfile,
    connection: Connection,
    settings: Settings | None = None,
    *,
    read_only: bool = False,
) -> Lineage:
    """A client for the lockfile's target (and the settings' target, if any); refused if the
    credentials reach another account or region. `read_only`: the run never writes, so a
    target's audit_role serves."""
    from reconciler.aws import connect

    bound = settings.target if settings is not None else None
    chosen = (
        connection
        if settings is None
        else connection_for(settings, connection, read_only=read_only)
    )
    service = connect(chosen, default_region=recorded.target.region)
    if bound is not None:
        reached = service.target
        if (reached.account, reached.region) != (bound.account, bound.region):
            raise ReconcilerError(
                f"{bound} is not what these credentials reach ({reached}); give the target the "
                "role or profile of its own account"
            )
    check_target(recorded, service)
    return service


# --- apply ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyRequest:
    planfile: Path | None = None
    prune: bool = False
    allow_empty: bool = False
    refresh: bool = False
    parallelism: int = 8
    #: With refresh: read every artifact fully, tags included (heals tag drift).
    deep: bool = False
    #: The --manifests/--lockfile/--target flags given, for the command a stale plan names.
    paths: tuple[str, ...] = ()

    def mode(self) -> Mode:
        return Mode(self.prune, self.refresh, self.deep)


@dataclass(frozen=True)
class ApplyRun:
    plan: Plan
    result: ApplyResult | None
    lockfile: Lockfile


def run_apply(
    settings: Settings,
    connection: Connection,
    request: ApplyRequest,
    *,
    confirm: Callable[[Plan, Target], None],
    report: Callable[[Outcome], None],
) -> ApplyRun:
    """Plan and carry out, holding the apply lock. `confirm` may raise to cancel."""
    from reconciler.apply import ApplyOptions, execute

    saved = _saved_plan(settings, request)
    with ApplyLock(settings.lockfile):
        recorded = journal.fold(settings.lockfile)  # finish what a crashed apply recorded
        state = bound_state(settings, load_desired(settings), recorded)
        mode = saved.mode if saved else request.mode()
        if saved is not None:
            moved = saved.stale_reason(recorded, state.desired.digest)
            _refuse_stale(saved, request, moved)
        uncertain = bool(recorded.uncertain_names())
        service = connect_for(recorded, connection, settings) if mode.refresh or uncertain else None
        if service is not None:
            if mode.refresh:
                state = state.refresh(service, deep=mode.deep)
            else:
                state = state.read_back(service)
        if uncertain:
            state = replace(state, recorded=_settle(settings.lockfile, state))
            recorded = state.recorded
        plan = state.plan(prune=mode.prune)
        if saved is not None:
            _refuse_stale(saved, request, saved.differs_reason(plan))
        refuse_emptying(plan, recorded, request.allow_empty)
        legacy = state.legacy()
        # Associations a replace detached go back, and artifacts read with a name tag only get
        # the lineage tag, even when nothing else needs doing.
        reattach = {name for name in recorded.detached if recorded.arn_of(name) is not None}
        if not plan.has_changes and not reattach and not legacy:
            return ApplyRun(plan, None, recorded)
        service = service or connect_for(recorded, connection, settings)
        if state.where is None:  # the first apply: where the credentials reach says it
            state = state.reaching(service)
            plan = state.plan(prune=mode.prune)
        confirm(plan, service.target)
        log = journal.Journal(
            journal.journal_path(settings.lockfile), recorded.lineage or new_lineage()
        )
        try:
            options = ApplyOptions(parallelism=request.parallelism)
            result = execute(plan, state.baseline, service, log, options, report, legacy)
        finally:
            log.close()
            final = journal.fold(settings.lockfile)
    return ApplyRun(plan, result, final)


def _settle(path: Path, state: State) -> Lockfile:
    """Record what the service said about the entries whose last write had an unknown outcome,
    so the mark goes even when nothing else needs doing."""
    baseline = state.baseline
    assert state.recorded.lineage is not None
    log = journal.Journal(journal.journal_path(path), state.recorded.lineage)
    try:
        for kind, name in state.recorded.uncertain_names():
            if kind == ASSOCIATION:
                edge = baseline.associations.get(name)
                if edge is None:
                    log.remove_edge(name)
                else:
                    log.put_edge(name, edge)
                continue
            entry = baseline.entities(ENTITY_KINDS[kind]).get(name)
            if entry is None:
                log.remove(name, kind)
            else:
                log.put(name, entry, kind)
    finally:
        log.close()
    return journal.fold(path)


def _saved_plan(settings: Settings, request: ApplyRequest) -> planfile.SavedPlan | None:
    """The saved plan to apply, if any, refused at once when it is another target's."""
    if request.planfile is None:
        return None
    saved = planfile.load(request.planfile, request.paths)
    remake = saved.mode.plan_command(request.planfile, request.paths)
    target = planfile.PlannedTarget.of(settings.target)
    refusal = saved.target_refusal(target, request.planfile, remake)
    if refusal is not None:
        raise ReconcilerError(refusal)
    return saved


def _refuse_stale(saved: planfile.SavedPlan, request: ApplyRequest, reason: str | None) -> None:
    """Refuse the saved plan for `reason`, naming the command that makes it again."""
    path = request.planfile
    if reason is not None:
        again = saved.mode.plan_command(path or "FILE", request.paths)
        raise ReconcilerError(f"the saved plan {path} is stale: {reason}; run '{again}' again")


# --- import and forget ---------------------------------------------------------------------------


def _write(settings: Settings, before: Lockfile, after: Lockfile, service: Lineage) -> Lockfile:
    if not after.target.is_set:
        after = replace(after, target=service.target)
    return lockfile.save(settings.lockfile, replace(after, serial=before.serial + 1))


@dataclass(frozen=True)
class ImportReport:
    imported: list[Imported]
    #: Why declared artifacts were not imported, one sentence each.
    notes: list[str]
    #: How many were found but refused (owned by another lockfile, for instance).
    refused: int = 0


def run_import(
    settings: Settings,
    connection: Connection,
    name: str | None,
    arn: str | None,
    from_lineage: str | None = None,
    *,
    parallelism: int = 8,
    expect: Callable[[int], None] = lambda total: None,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> ImportReport:
    """Import one artifact (name and ARN) or, with neither, every importable declared one,
    `parallelism` at a time. `expect` hears how many may be imported, `report` each import as it
    finishes (from worker threads).

    `from_lineage` allows taking over artifacts owned by the lockfile with that lineage (a lost
    lockfile, or one handing artifacts over)."""
    from reconciler.adoption import import_entity

    with ApplyLock(settings.lockfile):
        recorded = journal.fold(settings.lockfile)
        if recorded.lineage is None:  # the tags must name the lineage the lockfile will have
            recorded = replace(recorded, lineage=new_lineage())
        declared = load_desired(settings).by_kind()
        service = connect_for(recorded, connection, settings)
        if name is not None and arn is not None:
            expect(1)
            after, imported = import_entity(service, recorded, declared, name, arn, from_lineage)
            report(Outcome(name, OutcomeKind.IMPORTED, arn))
            _write(settings, recorded, after, service)
            return ImportReport([imported], [])
        return _import_all(
            settings, service, recorded, declared, from_lineage, parallelism, expect, report
        )


def _import_all(
    settings: Settings,
    service: Lineage,
    recorded: Lockfile,
    declared: dict[str, dict[str, dict[str, Any]]],
    from_lineage: str | None,
    parallelism: int,
    expect: Callable[[int], None],
    report: Callable[[Outcome], None],
) -> ImportReport:
    """Every unrecorded declared entity that the service already has (an artifact by its whole
    Source, a context or an action by its name), imported in parallel; each import is
    independent of the others, so their entries merge at the end. Edges are not imported: apply
    records those that exist as adopted."""
    from reconciler.adoption import import_entity, match_existing, unrecorded

    refused: set[str] = set()

    def existing(kind: EntityKind, name: str) -> tuple[Imported | None, Entry | None, str]:
        arn, why_not = match_existing(service, kind, name, declared[kind.kind][name])
        if arn is None:
            return None, None, why_not
        try:
            after, imported = import_entity(service, recorded, declared, name, arn, from_lineage)
        except ReconcilerError as exc:
            refused.add(name)
            return None, None, f"{name}: not imported: {exc}"
        report(Outcome(name, OutcomeKind.IMPORTED, arn))
        return imported, after.entities(kind)[name], ""

    wanted = unrecorded(recorded, declared)
    expect(len(wanted))
    done: dict[str, tuple[Imported, Entry]] = {}
    notes: dict[str, str] = {}
    pool = ThreadPoolExecutor(max_workers=parallelism)
    try:
        futures = {pool.submit(existing, ENTITY_KINDS[kind], name): name for kind, name in wanted}
        for future in as_completed(futures):
            name = futures[future]
            imported, entry, note = future.result()
            if imported is None or entry is None:
                notes[name] = note
            else:
                done[name] = (imported, entry)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: let those running finish
        if done:
            _write(settings, recorded, _with_imported(recorded, done), service)
    edges = [n for n in declared.get("Association", {}) if n not in recorded.associations]
    if edges:
        notes[""] = (
            f"{counted(len(edges), 'declared association')} not recorded: associations are not "
            "imported; apply records those that already exist as adopted"
        )
    return ImportReport(
        [done[n][0] for n in sorted(done)], [notes[n] for n in sorted(notes)], len(refused)
    )


def _with_imported(recorded: Lockfile, done: dict[str, tuple[Imported, Entry]]) -> Lockfile:
    out = recorded
    for kind in ENTITY_KINDS.values():
        entries = {name: entry for name, (item, entry) in done.items() if item.kind == kind.kind}
        if entries:
            out = out.with_entities(kind, {**out.entities(kind), **entries})
    return out


def run_forget(settings: Settings, connection: Connection, name: str) -> str:
    from reconciler.adoption import forget

    with ApplyLock(settings.lockfile):
        recorded = journal.fold(settings.lockfile)
        if recorded.kind_of(name) is None or name in recorded.malformed:
            raise ReconcilerError(
                f"'{name}' is not in the lockfile {settings.lockfile}; nothing to forget "
                "('reconciler audit' lists what it records)"
            )
        service = connect_for(recorded, connection, settings)
        after, note = forget(service, recorded, name)
        _write(settings, recorded, after, service)
    return note
