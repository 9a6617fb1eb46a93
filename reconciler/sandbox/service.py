"""The sandbox's lineage service: artifacts, tags and associations, with the service's rules.

Requests arrive here already validated against the service model (see validation.py); what is
left are the rules no model states: identity by source, uniqueness, quotas, pagination, the
shape of the answers. Thread-safe: one lock guards the state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.lockfile import write_atomic

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_ARTIFACT_QUOTA = 6_000
ASSOCIATION_QUOTA = 6_000
TAGS_PER_RESOURCE = 50

WRITE_OPERATIONS = frozenset(
    {
        "CreateArtifact",
        "UpdateArtifact",
        "DeleteArtifact",
        "AddTags",
        "DeleteTags",
        "AddAssociation",
        "DeleteAssociation",
    }
)


class ServiceError(Exception):
    """An error answer: its code becomes `__type`, botocore's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFound", message)


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


def artifact_arn(region: str, account: str, source_uri: str) -> str:
    """The ARN's id is derived from the source, as the service's IAM ARN format says."""
    digest = hashlib.md5(source_uri.encode(), usedforsecurity=False).hexdigest()
    return f"arn:aws:sagemaker:{region}:{account}:artifact/{digest}"


#: The types of a sort key's parts, so that a token's key compares with the items' keys.
KeyTypes = tuple[type, ...]


def _bad_token() -> ServiceError:
    return validation_error("Invalid pagination token: NextToken is not one this API gave.")


def _encode_token(operation: str, after: list[Any] | None, nonce: int) -> str:
    document = {"o": operation, "a": after, "n": nonce}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _decode_token(token: str, operation: str, types: KeyTypes) -> list[Any] | None:
    """The sort key a token continues after (None: from the start). Anything else, be it from
    another list or made up, is a ValidationException, as the service answers."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad_token() from None
    if not isinstance(document, dict) or set(document) != {"o", "a", "n"}:
        raise _bad_token()
    after = document["a"]
    if document["o"] != operation or not isinstance(document["n"], int):
        raise _bad_token()
    if after is None:
        return None
    if (
        not isinstance(after, list)
        or len(after) != len(types)
        or not all(_fits(v, t) for v, t in zip(after, types, strict=True))
    ):
        raise _bad_token()
    return after


@dataclass(frozen=True)
class PageRequest:
    """How a list call pages: its name (tokens are not interchangeable), the sort key of its
    items and the key's types, the order, and the default page size."""

    operation: str
    sort_key: Callable[[Any], list[Any]]
    types: KeyTypes
    descending: bool
    default: int


def _page(
    items: Iterable[Any], how: PageRequest, params: dict[str, Any], nonce: int, empty: bool
) -> tuple[list[Any], str | None]:
    """Keyset pagination: a token holds the sort key of the last item returned. `empty` answers
    an empty page with a token that continues where this one would have started, as the service
    sometimes does."""
    token = params.get("NextToken")
    after = _decode_token(token, how.operation, how.types) if token else None
    if empty:
        return [], _encode_token(how.operation, after, nonce)
    key = how.sort_key
    ordered = sorted(items, key=key, reverse=how.descending)
    if after is not None:
        ordered = [i for i in ordered if (key(i) < after if how.descending else key(i) > after)]
    limit = params.get("MaxResults") or how.default
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    return page, _encode_token(how.operation, key(page[-1]), nonce)


class LineageService:
    def __init__(
        self,
        *,
        account: str = DEFAULT_ACCOUNT,
        artifact_quota: int = DEFAULT_ARTIFACT_QUOTA,
        list_lag: float = 0.0,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.artifact_quota = artifact_quota
        self.list_lag = list_lag
        self.state_path = state_path
        self.clock = clock
        self._lock = threading.RLock()
        self._artifacts: dict[str, Artifact] = {}
        self._associations: dict[tuple[str, str], Association] = {}
        self._counters: dict[str, int] = {}
        self._nonces = itertools.count()
        if state_path is not None and state_path.exists():
            self._load(state_path)

    # --- dispatch ------------------------------------------------------------------------------

    def call(self, operation: str, params: dict[str, Any], region: str) -> dict[str, Any]:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"Unknown operation {operation}")
        with self._lock:
            result: dict[str, Any] = handler(params, region)
            if operation in WRITE_OPERATIONS and self.state_path is not None:
                self._save(self.state_path)
            return result

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

    # --- artifacts -----------------------------------------------------------------------------

    def _get(self, arn: str) -> Artifact:
        artifact = self._artifacts.get(arn)
        if artifact is None:
            raise not_found(f"Artifact {arn} does not exist.")
        return artifact

    def _op_CreateArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        source = params["Source"]
        uri = source["SourceUri"]
        name = params.get("ArtifactName")
        in_region = [a for a in self._artifacts.values() if a.region == region]
        for existing in in_region:
            if existing.source["SourceUri"] == uri:
                raise validation_error(
                    f"An artifact with SourceUri '{uri}' already exists: {existing.arn}"
                )
            if name is not None and existing.name == name:
                raise validation_error(
                    f"An artifact with ArtifactName '{name}' already exists: {existing.arn}"
                )
        if len(in_region) >= self.artifact_quota:
            raise ServiceError(
                "ResourceLimitExceeded",
                "The account-level service limit 'Total number of artifacts allowed, excluding "
                f"those automatically created by SageMaker' is {self.artifact_quota} Artifacts, "
                f"with current utilization of {len(in_region)} Artifacts and a request delta of "
                "1 Artifacts. Please use AWS Service Quotas to request an increase for this quota.",
            )
        tags = params.get("Tags") or []
        if len(tags) > TAGS_PER_RESOURCE:
            raise validation_error(f"A resource can have at most {TAGS_PER_RESOURCE} tags.")
        now = self.clock()
        arn = artifact_arn(region, self.account, uri)
        self._artifacts[arn] = Artifact(
            arn=arn,
            region=region,
            source=source,
            artifact_type=params["ArtifactType"],
            creation_time=now,
            last_modified_time=now,
            name=name,
            properties=dict(params.get("Properties") or {}),
            metadata_properties=params.get("MetadataProperties") or None,
            tags={t["Key"]: t["Value"] for t in tags},
        )
        return {"ArtifactArn": arn}

    def _op_DescribeArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        return self._get(params["ArtifactArn"]).describe(self.caller())

    def _op_UpdateArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._get(params["ArtifactArn"])
        name = params.get("ArtifactName")
        if name is not None:
            for other in self._artifacts.values():
                if other is not artifact and other.region == artifact.region and other.name == name:
                    # UpdateArtifact models ConflictException: "a conflict when you attempted to
                    # modify a SageMaker entity such as an Experiment or Artifact".
                    raise ServiceError(
                        "ConflictException",
                        f"Cannot rename {artifact.arn} to '{name}': {other.arn} has that name.",
                    )
        properties = dict(artifact.properties)
        if params.get("Properties") is not None:
            properties = dict(params["Properties"])  # "Overwrites the current property list"
        for key in params.get("PropertiesToRemove") or []:
            properties.pop(key, None)
        if len(properties) > 30:
            raise validation_error("An artifact can have at most 30 properties.")
        if name is not None:
            artifact.name = name
        artifact.properties = properties
        artifact.last_modified_time = self.clock()
        return {"ArtifactArn": artifact.arn}

    def _op_DeleteArtifact(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if params.get("ArtifactArn"):
            artifact = self._get(params["ArtifactArn"])
        elif params.get("Source"):
            uri = params["Source"]["SourceUri"]
            matches = [
                a
                for a in self._artifacts.values()
                if a.region == region and a.source["SourceUri"] == uri
            ]
            if not matches:
                raise not_found(f"No artifact with SourceUri '{uri}' exists.")
            artifact = matches[0]
        else:
            raise validation_error("Either ArtifactArn or Source must be specified.")
        edges = [k for k in self._associations if artifact.arn in k]
        if edges:
            raise validation_error(
                f"Artifact {artifact.arn} has {len(edges)} associations; delete them before "
                "deleting the artifact."
            )
        del self._artifacts[artifact.arn]
        return {"ArtifactArn": artifact.arn}

    def _op_ListArtifacts(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        visible_before = self.clock() - self.list_lag
        candidates = [
            a
            for a in self._artifacts.values()
            if a.region == region
            and a.creation_time <= visible_before
            and params.get("SourceUri") in (None, a.source["SourceUri"])
            and params.get("ArtifactType") in (None, a.artifact_type)
            and (params.get("CreatedAfter") is None or a.creation_time >= params["CreatedAfter"])
            and (params.get("CreatedBefore") is None or a.creation_time <= params["CreatedBefore"])
        ]
        how = PageRequest(
            "ListArtifacts",
            lambda a: [a.creation_time, a.arn],
            (float, str),
            params.get("SortOrder", "Descending") == "Descending",
            default=10,
        )
        page, token = _page(candidates, how, params, next(self._nonces), empty=False)
        out: dict[str, Any] = {"ArtifactSummaries": [a.summary() for a in page]}
        if token:
            out["NextToken"] = token
        return out

    # --- tags ----------------------------------------------------------------------------------

    def _op_AddTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._get(params["ResourceArn"])
        merged = dict(artifact.tags)
        merged.update({t["Key"]: t["Value"] for t in params["Tags"]})
        if len(merged) > TAGS_PER_RESOURCE:
            raise validation_error(f"A resource can have at most {TAGS_PER_RESOURCE} tags.")
        artifact.tags = merged
        return {"Tags": params["Tags"]}

    def _op_DeleteTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._get(params["ResourceArn"])
        for key in params["TagKeys"]:
            artifact.tags.pop(key, None)
        return {}

    def _op_ListTags(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        artifact = self._get(params["ResourceArn"])
        tags = [{"Key": k, "Value": v} for k, v in artifact.tags.items()]
        how = PageRequest("ListTags", lambda t: [t["Key"]], (str,), False, default=50)
        page, token = _page(tags, how, params, next(self._nonces), empty=False)
        out: dict[str, Any] = {"Tags": page}
        if token:
            out["NextToken"] = token
        return out

    # --- associations --------------------------------------------------------------------------

    def _op_AddAssociation(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        source, destination = params["SourceArn"], params["DestinationArn"]
        self._get(source)
        self._get(destination)
        if (source, destination) in self._associations:
            raise validation_error(f"Association {source} -> {destination} already exists.")
        if len(self._associations) >= ASSOCIATION_QUOTA:
            raise ServiceError(
                "ResourceLimitExceeded",
                "The account-level service limit 'Total number of associations allowed' is "
                f"{ASSOCIATION_QUOTA} Associations.",
            )
        self._associations[(source, destination)] = Association(
            source, destination, self.clock(), params.get("AssociationType")
        )
        return {"SourceArn": source, "DestinationArn": destination}

    def _op_DeleteAssociation(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        key = (params["SourceArn"], params["DestinationArn"])
        if key not in self._associations:
            raise not_found(f"Association {key[0]} -> {key[1]} does not exist.")
        del self._associations[key]
        return {"SourceArn": key[0], "DestinationArn": key[1]}

    def _op_ListAssociations(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        summaries = [self._association_summary(a) for a in self._associations.values()]
        filters = (
            "SourceArn",
            "DestinationArn",
            "SourceType",
            "DestinationType",
            "AssociationType",
        )
        summaries = [
            s
            for s in summaries
            if all(params.get(f) in (None, s.get(f)) for f in filters)
            and (params.get("CreatedAfter") is None or s["CreationTime"] >= params["CreatedAfter"])
            and (
                params.get("CreatedBefore") is None or s["CreationTime"] <= params["CreatedBefore"]
            )
        ]
        sort_by = params.get("SortBy", "CreationTime")
        how = PageRequest(
            "ListAssociations",
            lambda s: [s.get(sort_by) or "", s["SourceArn"], s["DestinationArn"]],
            (float if sort_by == "CreationTime" else str, str, str),
            params.get("SortOrder", "Descending") == "Descending",
            default=10,
        )
        page, token = _page(summaries, how, params, next(self._nonces), empty=False)
        out: dict[str, Any] = {"AssociationSummaries": page}
        if token:
            out["NextToken"] = token
        return out

    def _association_summary(self, association: Association) -> dict[str, Any]:
        source = self._artifacts[association.source_arn]
        destination = self._artifacts[association.destination_arn]
        out: dict[str, Any] = {
            "SourceArn": source.arn,
            "DestinationArn": destination.arn,
            "SourceType": source.artifact_type,
            "DestinationType": destination.artifact_type,
            "CreationTime": association.creation_time,
            "CreatedBy": self.caller(),
        }
        if association.association_type is not None:
            out["AssociationType"] = association.association_type
        if source.name is not None:
            out["SourceName"] = source.name
        if destination.name is not None:
            out["DestinationName"] = destination.name
        return out

    # --- persistence ---------------------------------------------------------------------------

    def _save(self, path: Path) -> None:
        document = {
            "format_version": 1,
            "account": self.account,
            "artifacts": [asdict(a) for a in self._artifacts.values()],
            "associations": [asdict(a) for a in self._associations.values()],
        }
        write_atomic(path, (json.dumps(document, sort_keys=True) + "\n").encode())

    def _load(self, path: Path) -> None:
        try:
            document = json.loads(path.read_bytes())
            artifacts = [Artifact(**a) for a in document["artifacts"]]
            associations = [Association(**a) for a in document["associations"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"cannot read the sandbox state {path} ({exc}); move it away to start afresh"
            ) from None
        self._artifacts = {a.arn: a for a in artifacts}
        self._associations = {(a.source_arn, a.destination_arn): a for a in associations}
