"""Reading the live state of recorded artifacts, cheaply.

The cheap strategy reads ListArtifacts pages (100 artifacts a call, filtered by ArtifactType) and
describes only the artifacts whose list entry shows a change: LastModifiedTime later than when
reconciler last wrote it. When the account holds far more artifacts than ours, listing would cost
more than asking for ours one by one, so the reader switches to per-artifact reads part way.
`deep` reads every recorded artifact fully (DescribeArtifact and ListTags) and lists the tags of
every other artifact too, to find owned ones the lockfile lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from reconciler.aws import Lineage, live_spec, timestamp_text
from reconciler.errors import ReconcilerError
from reconciler.lockfile import Entry, Lockfile, foreign_reason
from reconciler.ownership import Claim, Owner, not_ours
from reconciler.words import counted

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class LiveArtifact:
    """What was read of one artifact. `spec` and `tags` are None when only its list entry was."""

    arn: str
    summary: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    #: Its LastModifiedTime (ISO 8601), when it was read fully.
    modified: str | None = None

    @property
    def owner(self) -> str | None:
        """The name its ownership tag gives it."""
        return None if self.tags is None else Owner.of(self.tags).name

    def claim(self, name: str, lineage: str | None) -> Claim | None:
        """Whose it is, when its tags were read."""
        return None if self.tags is None else Owner.of(self.tags).claim(name, lineage)


@dataclass
class LiveState:
    """The service's side of an audit or a refresh."""

    strategy: str
    #: By recorded name: what the service holds under the recorded ARN; None if it is gone.
    recorded: dict[str, LiveArtifact | None] = field(default_factory=dict)
    #: Artifacts on the service owned by this lockfile (or carrying only a name tag, from before
    #: lineage tags) that the lockfile does not know.
    unrecorded: dict[str, LiveArtifact] = field(default_factory=dict)
    calls: int = 0
    #: Read deep: every artifact fully, tags included.
    deep: bool = False


def _unchanged_since_written(summary: dict[str, Any], entry: Entry) -> bool:
    """True when the list entry shows no write since reconciler's own last one."""
    modified = summary.get("LastModifiedTime")
    if modified is None:
        return False
    if entry.last_modified_time is not None:
        return bool(modified <= dt.datetime.fromisoformat(entry.last_modified_time))
    # Never updated by us since it was created: the service sets both times at creation.
    return bool(modified == summary.get("CreationTime"))


def _summary_agrees(summary: dict[str, Any], spec: dict[str, Any]) -> bool:
    return bool(
        summary.get("ArtifactName") == spec["ArtifactName"]
        and summary.get("ArtifactType") == spec["ArtifactType"]
        and summary["Source"]["SourceUri"] == spec["Source"]["SourceUri"]
    )


def _parallel(function: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


class LiveReader:
    def __init__(
        self, service: Lineage, recorded: Lockfile, declared: dict[str, dict[str, Any]]
    ) -> None:
        self.service = service
        self.lockfile = recorded
        self.declared = declared
        # Entries that belong elsewhere are reported offline; they are not read here.
        self.entries = {
            name: entry
            for name, entry in recorded.artifacts.items()
            if foreign_reason(entry, service.target) is None
        }

    def read(self, *, deep: bool = False) -> LiveState:
        before = self.service.stats.total
        state = self._deep() if deep else self._cheap()
        state.calls = self.service.stats.total - before
        return state

    def _full(self, arn: str) -> LiveArtifact | None:
        described = self.service.describe(arn)
        if described is None:
            return None
        tags = self.service.tags(arn)
        if tags is None:
            return None
        modified = timestamp_text(described.get("LastModifiedTime"))
        return LiveArtifact(arn, None, live_spec(described, tags), tags, modified)

    def read_back(self) -> LiveState:
        """Only the entries whose last write has an unknown outcome, fully."""
        names = [name for name in self.lockfile.uncertain if name in self.entries]
        before = self.service.stats.total
        read = _parallel(lambda name: self._full(self.entries[name].arn), names)
        state = LiveState("read back: DescribeArtifact and ListTags for uncertain entries")
        state.recorded = dict(zip(names, read, strict=True))
        state.calls = self.service.stats.total - before
        return state

    # --- deep ----------------------------------------------------------------------------------

    def _deep(self) -> LiveState:
        names = list(self.entries)
        read = _parallel(lambda name: self._full(self.entries[name].arn), names)
        state = LiveState("deep: DescribeArtifact and ListTags for every artifact", deep=True)
        state.recorded = dict(zip(names, read, strict=True))
        ours = {entry.arn for entry in self.entries.values()}
        others = [s for s in self.service.list_all() if s["ArtifactArn"] not in ours]
        state.unrecorded = self._owned_among(others)
        return state

    # --- cheap ---------------------------------------------------------------------------------

    def _cheap(self) -> LiveState:
        by_arn = {entry.arn: name for name, entry in self.entries.items()}
        wanted_uris = {
            spec["Source"]["SourceUri"]: name
            for name, spec in self.declared.items()
            if name not in self.lockfile.artifacts
        }
        types = sorted(
            {e.spec["ArtifactType"] for e in self.entries.values()}
            | {self.declared[n]["ArtifactType"] for n in wanted_uris.values()}
        )
        seen: dict[str, dict[str, Any]] = {}
        candidates: list[dict[str, Any]] = []
        pages = listed = 0
        switched = False
        for artifact_type in types:
            for page in self.service.list_pages(ArtifactType=artifact_type):
                pages += 1
                listed += len(page)
                for summary in page:
                    arn = summary["ArtifactArn"]
                    if arn in by_arn:
                        seen[by_arn[arn]] = summary
                    elif summary["Source"]["SourceUri"] in wanted_uris:
                        candidates.append(summary)
                # Listing on costs a call a page; reading the rest of ours costs one each.
                if pages >= len(self.entries) - len(seen) and len(self.entries) > len(seen):
                    switched = True
                    break
            if switched:
                break
        listing = f"list pages ({counted(pages, 'ListArtifacts call')}"
        listing += f", {counted(listed, 'artifact')} listed, {len(seen)} of ours)"
        unseen = counted(len(self.entries) - len(seen), "recorded artifact")
        state = LiveState(
            f"{listing}, then per-artifact reads of {unseen} not listed"
            if switched
            else f"{listing}; describing only what changed"
        )
        state.recorded = self._resolve(seen)
        state.unrecorded = self._owned_among(candidates)
        return state

    def _resolve(self, seen: dict[str, dict[str, Any]]) -> dict[str, LiveArtifact | None]:
        out: dict[str, LiveArtifact | None] = {}
        to_read: list[str] = []
        for name, entry in self.entries.items():
            summary = seen.get(name)
            if (
                summary is not None
                and not entry.uncertain  # its last write may not be what the lockfile says
                and _unchanged_since_written(summary, entry)
                and _summary_agrees(summary, entry.spec)
            ):
                out[name] = LiveArtifact(entry.arn, summary)
            else:
                to_read.append(name)  # changed, or not seen (gone, or beyond the pages read)
        read = _parallel(lambda name: self._full(self.entries[name].arn), to_read)
        out.update(zip(to_read, read, strict=True))
        return out

    def _owned_among(self, summaries: list[dict[str, Any]]) -> dict[str, LiveArtifact]:
        tags = _parallel(lambda s: self.service.tags(s["ArtifactArn"]), summaries)
        found: dict[str, LiveArtifact] = {}
        for summary, artifact_tags in zip(summaries, tags, strict=True):
            owner = Owner.of(artifact_tags or {})
            if owner.name is not None and owner.lineage in (None, self.lockfile.lineage):
                found[summary["ArtifactArn"]] = LiveArtifact(
                    summary["ArtifactArn"], summary, None, artifact_tags
                )
        return found


def refreshed(recorded: Lockfile, live: LiveState) -> Lockfile:
    """The lockfile as the service has it: entries of vanished artifacts dropped, drifted ones
    holding the live spec, so that a plan against it heals the drift.

    Refuses when a recorded artifact that was read is owned by another lockfile or by no one:
    a plan must not make healing someone else's artifact look like ours."""
    foreign = [
        f"'{name}': {not_ours(artifact.arn, name, Owner.of(artifact.tags), recorded.lineage)}"
        for name, artifact in sorted(live.recorded.items())
        if artifact is not None
        and artifact.tags is not None
        and artifact.claim(name, recorded.lineage) not in (Claim.OURS, Claim.LEGACY)
    ]
    if foreign:
        raise ReconcilerError(
            "the lockfile records artifacts that are not its own, so it cannot be refreshed: "
            + "; ".join(foreign)
            + ". If the lockfile was edited, restore it from git"
        )
    artifacts = dict(recorded.artifacts)
    for name, artifact in live.recorded.items():
        if artifact is None:
            del artifacts[name]
        elif artifact.spec is not None and artifacts[name].uncertain:
            # Read back: now known, and known as of this modification time.
            artifacts[name] = Entry(artifact.arn, artifact.spec, artifact.modified)
        elif artifact.spec is not None and artifact.spec != artifacts[name].spec:
            artifacts[name] = replace(artifacts[name], spec=artifact.spec)
    return replace(recorded, artifacts=artifacts)
