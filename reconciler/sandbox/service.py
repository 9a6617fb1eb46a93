"""The sandbox's lineage service: artifacts, contexts, actions (and trial components SageMaker
made, preloaded), tags, associations and QueryLineage, with the service's rules.

Requests arrive here already validated against the service model (see validation.py); what is
left are the rules no model states: identity by the whole source, quotas, pagination, the
shape of the answers, and the service's eventual consistency. Thread-safe: one lock guards the
state. Every lookup a write needs is a dictionary access, so a write costs the same whatever
the number of artifacts held.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.sandbox import paging, query, statelog
from reconciler.sandbox.errors import ServiceError, access_denied, not_found, validation_error
from reconciler.sandbox.lineage import (
    ACTION,
    CONTEXT,
    DEFAULT_ACTION_QUOTA,
    DEFAULT_CONTEXT_QUOTA,
    EXPERIMENT_RESOURCES,
    KINDS,
    SERVED,
    Entity,
    Kind,
    account_of,
    region_of,
    resource_of,
)

__all__ = ["LineageService", "ServiceError", "artifact_arn"]

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_ARTIFACT_QUOTA = 6_000
DEFAULT_ASSOCIATION_QUOTA = 6_000
TAGS_PER_RESOURCE = 50
#: What a Delete does with an entity that still has associations (undocumented).
DELETE_ASSOCIATED = ("refuse", "cascade")
#: What UpdateContext and UpdateAction do with Description "" (the API does not say): clear it
#: (Describe leaves it out), store it (Describe answers ""), or ignore it (the description stays).
EMPTY_DESCRIPTION = ("clear", "store", "ignore")

#: What AddAssociation does with an end in another region than the request's (undocumented):
#: refuse it as an entity the regional service cannot see, or accept one it holds.
CROSS_REGION_ASSOCIATIONS = ("refuse", "accept")

#: Another account's entity, as the accounts' lineage shares let a caller see it: the entity,
#: None if that account holds none, or a ServiceError when it shares nothing with the caller.
SharedLookup = Callable[[str, str], "Artifact | Entity | None"]

WRITE_OPERATIONS = frozenset(
    {
        "CreateArtifact",
        "UpdateArtifact",
        "DeleteArtifact",
        "AddTags",
        "DeleteTags",
        "AddAssociation",
        "DeleteAssociation",
        *(f"{verb}{kind.name}" for kind in SERVED for verb in ("Create", "Update", "Delete")),
    }
)
LIST_OPERATIONS = frozenset(
    {
        "ListArtifacts",
        "ListTags",
        "ListAssociations",
        "QueryLineage",
        *(f"List{kind.name}s" for kind in SERVED),
    }
)

AssociationKey = tuple[str, str]


@dataclass
class Artifact:
    arn: str
    region: str
    source: dict[str, Any]
    artifact_type: str
    creation_time: float
    last_modified_time: float
    name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    metadata_properties: dict[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: Made by SageMaker (preloaded), not by a caller: outside the quota, as on the service.
    auto_created: bool = False

    lineage_type = "Artifact"

    @property
    def entity_type(self) -> str:
        return self.artifact_type

    def copy(self) -> Artifact:
        return replace(self, properties=dict(self.properties), tags=dict(self.tags))

    def describe(self, caller: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ArtifactArn": self.arn,
            "Source": self.source,
            "ArtifactType": self.artifact_type,
            "Properties": dict(self.properties),
            "CreationTime": self.creation_time,
            "CreatedBy": caller,
            "LastModifiedTime": self.last_modified_time,
            "LastModifiedBy": caller,
        }
        if self.name is not None:
            out["ArtifactName"] = self.name
        if self.metadata_properties:
            out["MetadataProperties"] = dict(self.metadata_properties)
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ArtifactArn": self.arn,
            "Source": self.source,
            "ArtifactType": self.artifact_type,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.name is not None:
            out["ArtifactName"] = self.name
        return out


@dataclass
class Association:
    source_arn: str
    destination_arn: str
    creation_time: float
    association_type: str | None = None

    @property
    def key(self) -> AssociationKey:
        return (self.source_arn, self.destination_arn)


def source_identity(source: dict[str, Any]) -> str:
    """The whole Source as one string: SourceUri and SourceTypes (in any order; none and an empty
    list are the same)."""
    types = sorted(
        (t.get("SourceIdType", ""), t.get("Value", "")) for t in source.get("SourceTypes") or []
    )
    return json.dumps([source["SourceUri"], types], ensure_ascii=False)


def artifact_arn(region: str, account: str, source: dict[str, Any]) -> str:
    """The ARN's id is a hash of the whole source, as the service's IAM ARN format says."""
    digest = hashlib.md5(source_identity(source).encode(), usedforsecurity=False).hexdigest()
    return f"arn:aws:sagemaker:{region}:{account}:artifact/{digest}"


class LineageService:
    def __init__(
        self,
        *,
        account: str = DEFAULT_ACCOUNT,
        artifact_quota: int = DEFAULT_ARTIFACT_QUOTA,
        context_quota: int = DEFAULT_CONTEXT_QUOTA,
        action_quota: int = DEFAULT_ACTION_QUOTA,
        association_quota: int = DEFAULT_ASSOCIATION_QUOTA,
        list_lag: float = 0.0,
        write_lag: float = 0.0,
        delete_associated: str = "refuse",
        empty_description: str = "clear",
        default_action_status: str | None = None,
        cross_region_associations: str = "refuse",
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if delete_associated not in DELETE_ASSOCIATED:
            raise ValueError(f"delete_associated must be one of {DELETE_ASSOCIATED}")
        if empty_description not in EMPTY_DESCRIPTION:
            raise ValueError(f"empty_description must be one of {EMPTY_DESCRIPTION}")
        if cross_region_associations not in CROSS_REGION_ASSOCIATIONS:
            raise ValueError(
                f"cross_region_associations must be one of {CROSS_REGION_ASSOCIATIONS}"
            )
        self.account = account
        self.cross_region_associations = cross_region_associations
        #: Looks up another account's entity for an edge's end (the sandbox sets it to what the
        #: accounts share); by default no account shares anything with this one.
        self.shared: SharedLookup = nothing_shared
        #: Entities a caller may make per region, by kind (SageMaker's own do not count).
        self.quotas = {
            "Artifact": artifact_quota,
            CONTEXT.name: context_quota,
            ACTION.name: action_quota,
            "Association": association_quota,
        }
        #: A new entity shows in its List call only this long after its creation.
        self.list_lag = list_lag
        #: Updates, tag changes and deletes show in reads only this long after they happen.
        self.write_lag = write_lag
        self.delete_associated = delete_associated
        self.empty_description = empty_description
        #: The Status CreateAction gives an action created without one (the API does not say).
        self.default_action_status = default_action_status
        self.state_path = state_path
        self.clock = clock
        self._lock = threading.RLock()
        self._artifacts: dict[str, Artifact] = {}
        self._by_region: dict[str, set[str]] = {}
        self._by_uri: dict[tuple[str, str], set[str]] = {}
        self._associations: dict[AssociationKey, Association] = {}
        self._edges: dict[str, set[AssociationKey]] = {}
        #: Contexts, actions and trial components by ARN; their ARNs by (kind, region).
        self._entities: dict[str, Entity] = {}
        self._entity_index: dict[tuple[str, str], set[str]] = {}
        #: (kind, region) -> entities callers made there (what the quotas count).
        self._made: dict[tuple[str, str], int] = {}
        #: arn -> [(when, what readers saw before that write)], oldest first (write_lag only).
        self._past: dict[str, list[tuple[float, Artifact | Entity | None]]] = {}
        self._past_after_sweep = 0
        self._counters: dict[str, int] = {}
        self._nonces = itertools.count()
        #: What the current write changed: logged to the state file when it succeeds.
        self._touched_artifacts: set[str] = set()
        self._touched_entities: set[str] = set()
        self._touched_associations: set[AssociationKey] = set()
        self._answer_empty = False
        self._log: statelog.StateLog | None = None
        if state_path is not None:
            self._open_state(state_path)

    @property
    def artifact_quota(self) -> int:
        return self.quotas["Artifact"]

    @artifact_quota.setter
    def artifact_quota(self, quota: int) -> None:
        self.quotas["Artifact"] = quota

    # --- dispatch ------------------------------------------------------------------------------

    def call(
        self, operation: str, params: dict[str, Any], region: str, *, empty_page: bool = False
    ) -> dict[str, Any]:
        """Run one operation. `empty_page` makes a list call answer an empty page with a
        NextToken (which continues where this page would have started)."""
        handler = getattr(self, f"_op_{operation}", None) or self._kind_handler(operation)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"Unknown operation {operation}")
        with self._lock:
            self._touched_artifacts.clear()
            self._touched_entities.clear()
            self._touched_associations.clear()
            self._answer_empty = empty_page and operation in LIST_OPERATIONS
            result: dict[str, Any] = handler(params, region)
            self._persist()
            return result

    def close(self) -> None:
        """Flush the state file to disk and stop its background sync."""
        if self._log is not None:
            self._log.close()

    def count(self, operation: str) -> None:
        with self._lock:
            self._counters[operation] = self._counters.get(operation, 0) + 1

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters)

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.clear()

    def caller(self) -> dict[str, Any]:
        return {
            "IamIdentity": {
                "Arn": f"arn:aws:iam::{self.account}:user/sandbox",
                "PrincipalId": "AIDASANDBOXSANDBOX01",
            }
        }

    # --- the store and its indexes -------------------------------------------------------------

    def _count(self, kind: str, region: str, delta: int) -> None:
        self._made[(kind, region)] = self._made.get((kind, region), 0) + delta

    def _within_quota(self, kind: str, region: str, plural: str) -> None:
        """ResourceLimitExceeded, in the service's words, when one more would pass the quota."""
        used, quota = self._made.get((kind, region), 0), self.quotas[kind]
        if used >= quota:
            raise ServiceError(
                "ResourceLimitExceeded",
                f"The account-level service limit 'Total number of {plural.lower()} allowed, "
                f"excluding those automatically created by SageMaker' is {quota} {plural}, "
                f"with current utilization of {used} {plural} and a request delta of "
                f"1 {plural}. Please use AWS Service Quotas to request an increase for this quota.",
            )

    def _store(self, artifact: Artifact) -> None:
        self._artifacts[artifact.arn] = artifact
        self._by_region.setdefault(artifact.region, set()).add(artifact.arn)
        uri_key = (artifact.region, artifact.source["SourceUri"])
        self._by_uri.setdefault(uri_key, set()).add(artifact.arn)
        if not artifact.auto_created:
            self._count("Artifact", artifact.region, 1)

    def _unstore(self, arn: str) -> None:
        artifact = self._artifacts.pop(arn, None)
        if artifact is None:
            return
        if not artifact.auto_created:
            self._count("Artifact", artifact.region, -1)
        self._by_region[artifact.region].discard(arn)
        uri_key = (artifact.region, artifact.source["SourceUri"])
        self._by_uri[uri_key].discard(arn)
        if not self._by_uri[uri_key]:
            del self._by_uri[uri_key]

    def _store_entity(self, entity: Entity) -> None:
        self._entities[entity.arn] = entity
        self._entity_index.setdefault((entity.kind, entity.region), set()).add(entity.arn)
        if not entity.auto_created:
            self._count(entity.kind, entity.region, 1)

    def _unstore_entity(self, arn: str) -> None:
        entity = self._entities.pop(arn, None)
        if entity is None:
            return
        if not entity.auto_created:
            self._count(entity.kind, entity.region, -1)
        self._entity_index[(entity.kind, entity.region)].discard(arn)

    def _link(self, association: Association) -> None:
        self._associations[association.key] = association
        self._count("Association", region_of(association.source_arn), 1)
        for end in association.key:
            self._edges.setdefault(end, set()).add(association.key)

    def _unlink(self, key: AssociationKey) -> None:
        if self._associations.pop(key, None) is None:
            return
        self._count("Association", region_of(key[0]), -1)
        for end in key:
            self._edges[end].discard(key)
            if not self._edges[end]:
                del self._edges[end]

    def _touch(self, arn: str) -> None:
        """Before an entity changes: log it, and keep what readers see for `write_lag`."""
        touched = (
            self._touched_artifacts if resource_of(arn) == "artifact" else self._touched_entities
        )
        if arn in touched:
            return
        touched.add(arn)
        if self.write_lag > 0:
            current = self._current(arn)
            before = current.copy() if current is not None else None
            self._past.setdefault(arn, []).append((self.clock(), before))
            if len(self._past) > 2 * self._past_after_sweep + 1_000:
                for remembered in list(self._past):
                    self._seen(remembered)  # forgets what every read shows anyway
                self._past_after_sweep = len(self._past)

    # --- reads, as eventual consistency shows them ---------------------------------------------

    def _current(self, arn: str) -> Artifact | Entity | None:
        return self._artifacts.get(arn) or self._entities.get(arn)

    def _seen(self, arn: str) -> Artifact | Entity | None:
        """The entity as reads show it: writes within the last `write_lag` seconds hidden."""
        history = self._past.get(arn)
        if history:
            visible_from = self.clock() - self.write_lag
            while history and history[0][0] <= visible_from:
                history.pop(0)
            if history:
                return history[0][1]
            del self._past[arn]
        return self._current(arn)

    def _seen_or_not_found(self, arn: str) -> Artifact:
        artifact = self._seen(arn)
        if not isinstance(artifact, Artifact):
            raise not_found(f"Artifact {arn} does not exist.")
        return artifact

    def _seen_any(self, arn: str) -> Artifact | Entity:
        entity = self._seen(arn)
        if entity is None:
            raise not_found(f"{_entity_noun(arn)} {arn} does not exist.")
        return entity

    def _listed_arns(self, region: str, uri: str | None) -> Iterator[str]:
        if uri is None:
            yield from self._by_region.get(region, ())
        else:
            yield from self._by_uri.get((region, uri), ())
        for arn in list(self._past):  # deleted, but still shown for a while
            if arn not in self._artifacts and resource_of(arn) == "artifact":
                yield arn

    # --- artifacts -----------------------------------------------------------------------------

    def _get(self, arn: str) -> Artifact:
        artifact = self._artifacts.get(arn)
        if artifact is None:
            raise not_found(f"Artifact {arn} does not exist.")
        return artifact

    def _op_CreateArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        source = params["Source"]
        arn = artifact_arn(region, self.account, source)
        if arn in self._artifacts:
            raise validation_error(
                f"An artifact with this Source (SourceUri '{source['SourceUri']}' and its "
                f"SourceTypes) already exists: {arn}"
            )
        self._within_quota("Artifact", region, "Artifacts")
        tags = params.get("Tags") or []
        if len(tags) > TAGS_PER_RESOURCE:
            raise validation_error(f"A resource can have at most {TAGS_PER_RESOURCE} tags.")
        now = self.clock()
        self._touched_artifacts.add(arn)
        self._past.pop(arn, None)  # a creation shows at once (ListArtifacts aside: list_lag)
        self._store(
            Artifact(
                arn=arn,
                region=region,
                source=source,
                artifact_type=params["ArtifactType"],
                creation_time=now,
                last_modified_time=now,
                name=params.get("ArtifactName"),
                properties=dict(params.get("Properties") or {}),
                metadata_properties=params.get("MetadataProperties") or None,
                tags={t["Key"]: t["Value"] for t in tags},
            )
        )
        return {"ArtifactArn": arn}

    def _op_DescribeArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        arn = params["ArtifactArn"]
        if account_of(arn) != self.account:
            return self._described_elsewhere(arn, "Artifact")
        return self._seen_or_not_found(arn).describe(self.caller())

    def _described_elsewhere(self, arn: str, noun: str) -> dict[str, Any]:
        """Describe of another account's entity by its ARN: answered when that account shares
        its lineage with this one (the developer guide's cross-account lineage tracking)."""
        entity = self.shared(self.account, arn)
        if entity is None or _entity_noun(arn) != noun:
            raise not_found(f"{noun} {arn} does not exist.")
        return entity.describe(self.caller())

    def _op_UpdateArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        # ArtifactName is not unique on the service (its SDK gives many artifacts one name), so
        # a rename never conflicts.
        artifact = self._get(params["ArtifactArn"])
        properties = dict(artifact.properties)
        if params.get("Properties") is not None:
            properties = dict(params["Properties"])  # "Overwrites the current property list"
        for key in params.get("PropertiesToRemove") or []:
            properties.pop(key, None)
        if len(properties) > 30:
            raise validation_error("An artifact can have at most 30 properties.")
        self._touch(artifact.arn)
        if params.get("ArtifactName") is not None:
            artifact.name = params["ArtifactName"]
        artifact.properties = properties
        artifact.last_modified_time = self.clock()
        return {"ArtifactArn": artifact.arn}

    def _op_DeleteArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if params.get("ArtifactArn"):
            artifact = self._get(params["ArtifactArn"])
        elif params.get("Source"):
            source = params["Source"]
            found = self._artifacts.get(artifact_arn(region, self.account, source))
            if found is None:
                raise not_found(
                    f"No artifact with this Source (SourceUri '{source['SourceUri']}' and its "
                    "SourceTypes) exists."
                )
            artifact = found
        else:
            raise validation_error("Either ArtifactArn or Source must be specified.")
        self._release_edges(artifact.arn, "artifact")
        self._touch(artifact.arn)
        self._unstore(artifact.arn)
        return {"ArtifactArn": artifact.arn}

    def _op_ListArtifacts(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        visible_before = self.clock() - self.list_lag
        after, before = params.get("CreatedAfter"), params.get("CreatedBefore")
        candidates = []
        for arn in self._listed_arns(region, params.get("SourceUri")):
            artifact = self._seen(arn)
            if (
                isinstance(artifact, Artifact)
                and artifact.region == region
                and artifact.creation_time <= visible_before
                and params.get("SourceUri") in (None, artifact.source["SourceUri"])
                and params.get("ArtifactType") in (None, artifact.artifact_type)
                and (after is None or artifact.creation_time >= after)
                and (before is None or artifact.creation_time <= before)
            ):
                candidates.append(artifact)
        how = paging.PageRequest(
            "ListArtifacts",
            lambda a: [a.creation_time, a.arn],
            (float, str),
            params.get("SortOrder", "Descending") == "Descending",
            default=10,
        )
        page, token = self._page(candidates, how, params)
        out: dict[str, Any] = {"ArtifactSummaries": [a.summary() for a in page]}
        if token:
            out["NextToken"] = token
        return out

    def _page(
        self, items: list[Any], how: paging.PageRequest, params: dict[str, Any]
    ) -> tuple[list[Any], str | None]:
        return paging.page(items, how, params, next(self._nonces), empty=self._answer_empty)

    # --- tags ----------------------------------------------------------------------------------

    def _taggable(self, arn: str) -> Artifact | Entity:
        entity = self._current(arn)
        if entity is None:
            raise not_found(f"{_entity_noun(arn)} {arn} does not exist.")
        return entity

    def _op_AddTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._taggable(params["ResourceArn"])
        merged = dict(artifact.tags)
        merged.update({t["Key"]: t["Value"] for t in params["Tags"]})
        if len(merged) > TAGS_PER_RESOURCE:
            raise validation_error(f"A resource can have at most {TAGS_PER_RESOURCE} tags.")
        self._touch(artifact.arn)
        artifact.tags = merged
        return {"Tags": params["Tags"]}

    def _op_DeleteTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._taggable(params["ResourceArn"])
        self._touch(artifact.arn)
        artifact.tags = {k: v for k, v in artifact.tags.items() if k not in params["TagKeys"]}
        return {}

    def _op_ListTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        tagged = self._seen_any(params["ResourceArn"])
        tags = [{"Key": k, "Value": v} for k, v in tagged.tags.items()]
        how = paging.PageRequest("ListTags", lambda t: [t["Key"]], (str,), False, default=50)
        page, token = self._page(tags, how, params)
        out: dict[str, Any] = {"Tags": page}
        if token:
            out["NextToken"] = token
        return out

    # --- associations --------------------------------------------------------------------------

    def _op_AddAssociation(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        source, destination = params["SourceArn"], params["DestinationArn"]
        for end in (source, destination):
            self._end_of_new_edge(end, region)
        if {resource_of(source), resource_of(destination)} <= EXPERIMENT_RESOURCES:
            raise validation_error(
                "An association cannot join two experiment entities (experiments, trials, "
                "trial components)."
            )
        # The key is the two ends, whatever the type: a second edge between them is a duplicate,
        # which the service answers with ValidationException (the SDK reads that code as
        # "Association already exists": sagemaker-lineage-api.md §6.2 and §9 "Errors").
        if (source, destination) in self._associations:
            raise validation_error(f"Association {source} -> {destination} already exists.")
        self._within_quota("Association", region_of(source), "Associations")
        association = Association(source, destination, self.clock(), params.get("AssociationType"))
        self._touched_associations.add(association.key)
        self._link(association)
        return {"SourceArn": source, "DestinationArn": destination}

    def _end_of_new_edge(self, arn: str, region: str) -> Artifact | Entity:
        """The entity an end names, as AddAssociation in `region` finds it: in another region
        only when cross-region associations are accepted, in another account only when that
        account shares its lineage with this one (the developer guide's cross-account lineage
        tracking: the caller needs AddAssociation on both ends)."""
        if region_of(arn) != region and self.cross_region_associations == "refuse":
            raise not_found(f"{_entity_noun(arn)} {arn} does not exist.")
        entity = self._current(arn)
        if account_of(arn) != self.account:
            entity = self.shared(self.account, arn)
        if entity is None:
            raise not_found(f"{_entity_noun(arn)} {arn} does not exist.")
        return entity

    def _op_DeleteAssociation(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        key = (params["SourceArn"], params["DestinationArn"])
        if key not in self._associations:
            raise not_found(f"Association {key[0]} -> {key[1]} does not exist.")
        self._touched_associations.add(key)
        self._unlink(key)
        return {"SourceArn": key[0], "DestinationArn": key[1]}

    def _op_ListAssociations(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if params.get("SourceArn") or params.get("DestinationArn"):
            end = params.get("SourceArn") or params.get("DestinationArn") or ""
            keys: Iterator[AssociationKey] | set[AssociationKey] = self._edges.get(end, set())
        else:
            keys = iter(self._associations)
        summaries = [self._association_summary(self._associations[k]) for k in keys]
        filters = (
            "SourceArn",
            "DestinationArn",
            "SourceType",
            "DestinationType",
            "AssociationType",
        )
        after, before = params.get("CreatedAfter"), params.get("CreatedBefore")
        summaries = [
            s
            for s in summaries
            if all(params.get(f) in (None, s.get(f)) for f in filters)
            and (after is None or s["CreationTime"] >= after)
            and (before is None or s["CreationTime"] <= before)
        ]
        sort_by = params.get("SortBy", "CreationTime")
        how = paging.PageRequest(
            "ListAssociations",
            lambda s: [s.get(sort_by) or "", s["SourceArn"], s["DestinationArn"]],
            (float if sort_by == "CreationTime" else str, str, str),
            params.get("SortOrder", "Descending") == "Descending",
            default=10,
        )
        page, token = self._page(summaries, how, params)
        out: dict[str, Any] = {"AssociationSummaries": page}
        if token:
            out["NextToken"] = token
        return out

    def _association_summary(self, association: Association) -> dict[str, Any]:
        source = self._entity_of(association.source_arn)
        destination = self._entity_of(association.destination_arn)
        out: dict[str, Any] = {
            "SourceArn": association.source_arn,
            "DestinationArn": association.destination_arn,
            "CreationTime": association.creation_time,
            "CreatedBy": self.caller(),
        }
        if association.association_type is not None:
            out["AssociationType"] = association.association_type
        for end, entity in (("Source", source), ("Destination", destination)):
            if entity is not None:  # another account's, no longer shared or deleted there
                out[f"{end}Type"] = entity.entity_type
                if entity.name is not None:
                    out[f"{end}Name"] = entity.name
        return out

    def _entity_of(self, arn: str) -> Artifact | Entity | None:
        entity = self._current(arn)
        if entity is None and account_of(arn) != self.account:
            try:
                return self.shared(self.account, arn)
            except ServiceError:
                return None
        assert entity is not None, f"an association to {arn}, which is not held"
        return entity

    def held(self, arn: str) -> Artifact | Entity | None:
        """The entity with this ARN, for another account's service (an end of its edge). Read
        without this service's lock: a dictionary read is atomic, and taking the lock from
        another account's request could deadlock with a request of this one."""
        return self._artifacts.get(arn) or self._entities.get(arn)

    def _release_edges(self, arn: str, noun: str) -> None:
        """Before an entity is deleted: its associations go too (`cascade`), or the delete is
        refused (`refuse`), as --delete-associated says."""
        edges = sorted(self._edges.get(arn, ()))
        if edges and self.delete_associated == "refuse":
            raise validation_error(
                f"{noun.capitalize()} {arn} has {len(edges)} associations; delete them before "
                f"deleting the {noun}."
            )
        for key in edges:
            self._touched_associations.add(key)
            self._unlink(key)

    # --- contexts and actions: one set of handlers over the kinds' table -----------------------

    def _kind_handler(
        self, operation: str
    ) -> Callable[[dict[str, Any], str], dict[str, Any]] | None:
        for kind in SERVED:
            handlers = {
                f"Create{kind.name}": self._create_entity,
                f"Describe{kind.name}": self._describe_entity,
                f"Update{kind.name}": self._update_entity,
                f"Delete{kind.name}": self._delete_entity,
                f"List{kind.name}s": self._list_entities,
            }
            handler = handlers.get(operation)
            if handler is not None:
                return functools.partial(handler, kind)
        return None

    def _named(self, kind: Kind, name_or_arn: str, region: str) -> Entity:
        arn = (
            name_or_arn
            if name_or_arn.startswith("arn:")
            else kind.arn(region, self.account, name_or_arn)
        )
        entity = self._entities.get(arn)
        if entity is None or entity.kind != kind.name:
            raise not_found(f"{kind.name} {name_or_arn} does not exist.")
        return entity

    def _create_entity(self, kind: Kind, params: dict[str, Any], region: str) -> dict[str, Any]:
        name = params[kind.member("Name")]
        arn = kind.arn(region, self.account, name)
        # Contexts and actions are unique by name per account and region; a duplicate create is
        # a ValidationException ("An error occurs if you try to create an entity that already
        # exists": sagemaker-lineage-api.md §6.1-2 and §9 "Errors").
        if arn in self._entities:
            raise validation_error(f"{kind.name} {name} already exists: {arn}")
        self._within_quota(kind.name, region, f"{kind.name}s")
        tags = params.get("Tags") or []
        if len(tags) > TAGS_PER_RESOURCE:
            raise validation_error(f"A resource can have at most {TAGS_PER_RESOURCE} tags.")
        now = self.clock()
        entity = Entity(
            kind=kind.name,
            arn=arn,
            region=region,
            name=name,
            entity_type=params[kind.member("Type")],
            source=params["Source"],
            creation_time=now,
            last_modified_time=now,
            properties=dict(params.get("Properties") or {}),
            tags={t["Key"]: t["Value"] for t in tags},
        )
        for member in kind.described:
            if params.get(member) is not None:
                entity.set_member(member, self._stored(member, params[member]))
        if kind is ACTION and entity.status is None:
            entity.status = self.default_action_status
        self._touched_entities.add(arn)
        self._past.pop(arn, None)
        self._store_entity(entity)
        return {kind.member("Arn"): arn}

    def _describe_entity(self, kind: Kind, params: dict[str, Any], region: str) -> dict[str, Any]:
        name = params[kind.member("Name")]
        arn = name if name.startswith("arn:") else kind.arn(region, self.account, name)
        if account_of(arn) != self.account:
            return self._described_elsewhere(arn, kind.name)
        entity = self._seen(arn)
        if not isinstance(entity, Entity) or entity.kind != kind.name:
            raise not_found(f"{kind.name} {name} does not exist.")
        return entity.describe(self.caller())

    def _update_entity(self, kind: Kind, params: dict[str, Any], region: str) -> dict[str, Any]:
        entity = self._named(kind, params[kind.member("Name")], region)
        properties = dict(entity.properties)
        if params.get("Properties") is not None:
            properties = dict(params["Properties"])  # as UpdateArtifact: it overwrites
        for key in params.get("PropertiesToRemove") or []:
            properties.pop(key, None)
        if len(properties) > 30:
            raise validation_error(f"A {kind.name.lower()} can have at most 30 properties.")
        self._touch(entity.arn)
        for member in kind.updatable:
            value = params.get(member)
            if value == "" and member == "Description" and self.empty_description == "ignore":
                continue
            if value is not None:
                entity.set_member(member, self._stored(member, value))
        entity.properties = properties
        entity.last_modified_time = self.clock()
        return {kind.member("Arn"): entity.arn}

    def _stored(self, member: str, value: Any) -> Any:
        """What a Description "" is kept as (--empty-description): none, or ""."""
        if value == "" and member == "Description" and self.empty_description != "store":
            return None
        return value

    def _delete_entity(self, kind: Kind, params: dict[str, Any], region: str) -> dict[str, Any]:
        entity = self._named(kind, params[kind.member("Name")], region)
        self._release_edges(entity.arn, kind.name.lower())
        self._touch(entity.arn)
        self._unstore_entity(entity.arn)
        return {kind.member("Arn"): entity.arn}

    def _list_entities(self, kind: Kind, params: dict[str, Any], region: str) -> dict[str, Any]:
        visible_before = self.clock() - self.list_lag
        after, before = params.get("CreatedAfter"), params.get("CreatedBefore")
        arns = set(self._entity_index.get((kind.name, region), ()))
        arns.update(
            a
            for a in self._past
            if a not in self._entities and a.startswith(kind.arn(region, self.account, ""))
        )
        chosen = []
        for arn in arns:
            entity = self._seen(arn)
            if (
                isinstance(entity, Entity)
                and entity.creation_time <= visible_before
                and params.get("SourceUri") in (None, entity.source["SourceUri"])
                and params.get(kind.member("Type")) in (None, entity.entity_type)
                and (after is None or entity.creation_time >= after)
                and (before is None or entity.creation_time <= before)
            ):
                chosen.append(entity)
        by_name = params.get("SortBy") == "Name"
        how = paging.PageRequest(
            f"List{kind.name}s:{'Name' if by_name else 'CreationTime'}",
            (lambda e: [e.name, e.arn]) if by_name else (lambda e: [e.creation_time, e.arn]),
            (str, str) if by_name else (float, str),
            params.get("SortOrder", "Descending") == "Descending",
            default=10,
        )
        page, token = self._page(chosen, how, params)
        out: dict[str, Any] = {kind.member("Summaries"): [e.summary() for e in page]}
        if token:
            out["NextToken"] = token
        return out

    # --- QueryLineage --------------------------------------------------------------------------

    def _vertex(self, arn: str) -> query.Vertex | None:
        entity = self._seen(arn)
        if entity is None:
            return None
        return query.Vertex(
            arn,
            entity.entity_type,
            entity.lineage_type,
            entity.creation_time,
            entity.last_modified_time,
            entity.properties,
        )

    def _edges_of(self, arn: str) -> tuple[list[query.Edge], list[query.Edge]]:
        outgoing: list[query.Edge] = []
        incoming: list[query.Edge] = []
        for key in self._edges.get(arn, ()):
            association = self._associations[key]
            edge = query.Edge(*key, association.association_type)
            (outgoing if key[0] == arn else incoming).append(edge)
        return outgoing, incoming

    def _op_QueryLineage(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        for start in params.get("StartArns") or []:
            if self._seen(start) is None:
                raise not_found(f"{_entity_noun(start)} {start} does not exist.")
        return query.query(
            params, self._vertex, self._edges_of, next(self._nonces), self._answer_empty
        )

    # --- entities SageMaker made ---------------------------------------------------------------

    def preload(self, entities: list[Artifact | Entity]) -> None:
        """Hold these entities as if SageMaker had made them (outside the quotas); one already
        held (from the state file) is left as it is."""
        with self._lock:
            self._touched_artifacts.clear()
            self._touched_entities.clear()
            self._touched_associations.clear()
            for entity in entities:
                if self._current(entity.arn) is not None:
                    continue
                if isinstance(entity, Artifact):
                    self._touched_artifacts.add(entity.arn)
                    self._store(entity)
                else:
                    self._touched_entities.add(entity.arn)
                    self._store_entity(entity)
            self._persist()

    # --- persistence ---------------------------------------------------------------------------

    # Records hold each dataclass's fields as they are (vars(), not asdict(), which copies
    # deeply and was most of a write's cost); they are serialised at once, under the lock.

    def _snapshot(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "artifacts": [vars(a) for a in self._artifacts.values()],
            "associations": [vars(a) for a in self._associations.values()],
            "entities": [vars(e) for e in self._entities.values()],
        }

    def _persist(self) -> None:
        """Log what the write just changed (before it is answered)."""
        touched = self._touched_artifacts or self._touched_entities or self._touched_associations
        if self._log is None or not touched:
            return
        change = {
            "artifacts": {
                arn: vars(a) if (a := self._artifacts.get(arn)) else None
                for arn in sorted(self._touched_artifacts)
            },
            "associations": [
                [*key, vars(link) if (link := self._associations.get(key)) else None]
                for key in sorted(self._touched_associations)
            ],
        }
        if self._touched_entities:
            change["entities"] = {
                arn: vars(e) if (e := self._entities.get(arn)) else None
                for arn in sorted(self._touched_entities)
            }
        entries = len(self._artifacts) + len(self._associations) + len(self._entities)
        self._log.append(change, entries, self._snapshot)

    def _open_state(self, path: Path) -> None:
        loaded = statelog.read(path)
        if loaded is not None:
            try:
                self._replay(loaded)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise statelog.StateError(
                    f"cannot read the sandbox state {path} ({type(exc).__name__}: {exc}); "
                    "move it away to start afresh"
                ) from None
        self._log = statelog.StateLog(path, self._lock)
        self._log.compact(self._snapshot())

    def _replay(self, loaded: statelog.Loaded) -> None:
        for document in loaded.snapshot["artifacts"]:
            self._store(Artifact(**document))
        for document in loaded.snapshot.get("entities", []):
            self._store_entity(Entity(**document))
        for document in loaded.snapshot["associations"]:
            self._link(Association(**document))
        for change in loaded.changes:
            for arn, document in change["artifacts"].items():
                self._unstore(arn)
                if document is not None:
                    self._store(Artifact(**document))
            for arn, document in change.get("entities", {}).items():
                self._unstore_entity(arn)
                if document is not None:
                    self._store_entity(Entity(**document))
            for source, destination, document in change["associations"]:
                self._unlink((source, destination))
                if document is not None:
                    self._link(Association(**document))


def nothing_shared(caller: str, arn: str) -> Artifact | Entity | None:
    raise access_denied(
        f"User: arn:aws:iam::{caller}:user/sandbox is not authorized to perform this operation "
        f"on resource: {arn}: account {account_of(arn)} shares no lineage with this one."
    )


def _entity_noun(arn: str) -> str:
    """What an ARN names, as a message says it: `Artifact`, `Context`, `Trial component`..."""
    resource = resource_of(arn)
    for kind in KINDS.values():
        if kind.resource == resource:
            return kind.name
    return resource.capitalize() if resource else "Resource"
