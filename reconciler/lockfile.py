"""The lockfile: what was applied, where, with which ARN.

One map per kind: `artifacts`, `contexts` and `actions` (entries: ARN and spec) and
`associations` (edges: both ends' ARNs and the spec). A metadata.name is in one map at most. The
maps other than `artifacts` are written only when they hold something, so a lockfile of artifacts
keeps its bytes.

Deterministic bytes (sorted keys, two-space indent, trailing newline), atomic replacement, and a
strict reading: a lockfile that cannot be read is an error, and nothing here ever overwrites it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from reconciler import jsonstream
from reconciler.errors import LockfileError
from reconciler.fsio import write_atomic
from reconciler.kinds import ARTIFACT, ENTITY_KINDS, EntityKind
from reconciler.kinds.association import ENTITY_ARN, ENTITY_ARN_MAX, is_arn
from reconciler.kinds.association import SECTION as ASSOCIATIONS
from reconciler.limits import NAME_MAX, NAME_PATTERN
from reconciler.models import ArtifactSpec, AssociationSpec
from reconciler.textsafe import quoted

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Target:
    """The account and region the lockfile's entities live in; unset until the first apply."""

    account: str | None = None
    region: str | None = None

    @property
    def is_set(self) -> bool:
        return self.account is not None and self.region is not None

    def __str__(self) -> str:
        return f"account {self.account or '?'} in {self.region or '?'}"


#: Entries are keyed by metadata.name; another key was not written by reconciler.
NAME_RULE = re.compile(NAME_PATTERN)


def _arn_rule(resource: str) -> re.Pattern[str]:
    return re.compile(
        r"^arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]*):"
        rf"(?P<account>[0-9]{{12}}):(?P<resource>{resource})/(?P<id>.+)$"
    )


ARTIFACT_ARN = _arn_rule("artifact")
#: By section: the ARNs an entry of that kind may record.
ENTITY_ARNS: dict[str, re.Pattern[str]] = {
    kind.section: _arn_rule(re.escape(kind.arn_resource)) for kind in ENTITY_KINDS.values()
}
#: Any SageMaker ARN, for its account and region.
_ANY_ARN = _arn_rule(r"[a-z\-]+")
#: The entity maps, in the order they are listed.
ENTITY_SECTIONS: tuple[str, ...] = tuple(kind.section for kind in ENTITY_KINDS.values())
SECTIONS: tuple[str, ...] = (*ENTITY_SECTIONS, ASSOCIATIONS)


@dataclass(frozen=True)
class Entry:
    """One applied entity (an artifact, a context, an action)."""

    arn: str
    spec: dict[str, Any]
    #: LastModifiedTime the service reported after our last write (ISO 8601), when known.
    last_modified_time: str | None = None
    #: True when a write to it was sent and its outcome never known (a lost response, a crash):
    #: the service may hold `spec` or what that write asked for. Read back before trusting it.
    uncertain: bool = False
    #: Fields `spec` holds that the manifest does not declare: the service kept them when the
    #: manifest dropped them, as UpdateX cannot clear them (an action's Status).
    kept: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"arn": self.arn, "spec": self.spec}
        if self.last_modified_time is not None:
            out["last_modified_time"] = self.last_modified_time
        if self.uncertain:
            out["uncertain"] = True
        kept = [field for field in self.kept if self.spec.get(field) is not None]
        if kept:
            out["kept"] = kept
        return out


@dataclass(frozen=True)
class Edge:
    """One applied association: the ARNs its ends had when it was added, and its spec (ends as
    declared: a metadata.name or an ARN)."""

    source_arn: str
    destination_arn: str
    spec: dict[str, Any]
    #: It existed when apply went to add it: ours to record, never ours to delete (removing it
    #: from the lockfile only forgets it).
    adopted: bool = False
    #: An add or delete of it was sent and its outcome never known.
    uncertain: bool = False

    @property
    def ends(self) -> tuple[str, str]:
        return (self.source_arn, self.destination_arn)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source_arn": self.source_arn,
            "destination_arn": self.destination_arn,
            "spec": self.spec,
        }
        if self.adopted:
            out["adopted"] = True
        if self.uncertain:
            out["uncertain"] = True
        return out


@dataclass(frozen=True)
class Detached:
    """Associations taken off an artifact being replaced, to put back on its successor.

    `arns` are the ARNs the artifact had before (any edge end among them means "this artifact");
    `associations` are the edges as they were (SourceArn, DestinationArn, AssociationType)."""

    arns: tuple[str, ...]
    associations: tuple[dict[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"arns": list(self.arns), "associations": list(self.associations)}

    def joined(self, arn: str, associations: list[dict[str, str]]) -> Detached:
        arns = self.arns if arn in self.arns else (*self.arns, arn)
        edges = self.associations + tuple(a for a in associations if a not in self.associations)
        return Detached(arns, edges)


@dataclass(frozen=True)
class Lockfile:
    lineage: str | None = None
    serial: int = 0
    target: Target = field(default_factory=Target)
    artifacts: dict[str, Entry] = field(default_factory=dict)
    #: Entries that could not be read (of every section), by name, with why; kept verbatim so
    #: nothing is lost.
    malformed: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: By name: associations of a replaced artifact not yet put back on the new one.
    detached: dict[str, Detached] = field(default_factory=dict)
    contexts: dict[str, Entry] = field(default_factory=dict)
    actions: dict[str, Entry] = field(default_factory=dict)
    associations: dict[str, Edge] = field(default_factory=dict)
    #: The section of each malformed entry that is not in `artifacts`.
    malformed_sections: dict[str, str] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.lineage is not None

    @property
    def uncertain(self) -> list[str]:
        """Artifacts whose last write has an unknown outcome (see `uncertain_names` for every
        kind)."""
        return sorted(name for name, entry in self.artifacts.items() if entry.uncertain)

    def uncertain_names(self) -> list[tuple[str, str]]:
        """(kind, name) of every entry and edge whose last write has an unknown outcome."""
        found = [
            (kind.kind, name)
            for kind in ENTITY_KINDS.values()
            for name, entry in self.entities(kind).items()
            if entry.uncertain
        ]
        found += [("Association", n) for n, edge in self.associations.items() if edge.uncertain]
        return sorted(found, key=lambda pair: pair[1])

    def entities(self, kind: EntityKind) -> dict[str, Entry]:
        """The entries of one entity kind."""
        entries: dict[str, Entry] = getattr(self, kind.section)
        return entries

    def kind_of(self, name: str) -> str | None:
        """The kind (manifest `kind`) `name` is recorded as, or None (malformed ones included)."""
        for kind in ENTITY_KINDS.values():
            if name in self.entities(kind):
                return kind.kind
        if name in self.associations:
            return "Association"
        if name in self.malformed:
            return _KIND_OF_SECTION[self.malformed_section(name)]
        return None

    def arn_of(self, name: str) -> str | None:
        """The ARN recorded for the entity `name`, of whichever kind, or None."""
        for kind in ENTITY_KINDS.values():
            entry = self.entities(kind).get(name)
            if entry is not None:
                return entry.arn
        return None

    def malformed_section(self, name: str) -> str:
        """The section a malformed entry was read from."""
        return self.malformed_sections.get(name, ARTIFACT.section)

    def with_entities(self, kind: EntityKind, entries: dict[str, Entry]) -> Lockfile:
        """This lockfile with the entries of `kind` replaced by `entries`."""
        changes: dict[str, Any] = {kind.section: entries}
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        """Records nothing at all (no entity, no edge, nothing unreadable)."""
        return not (
            self.malformed
            or self.associations
            or any(self.entities(kind) for kind in ENTITY_KINDS.values())
        )


_KIND_OF_SECTION = {kind.section: kind.kind for kind in ENTITY_KINDS.values()} | {
    ASSOCIATIONS: "Association"
}


class _SpecModel(ArtifactSpec):
    """An applied spec is canonical. ArtifactName is filled in for what reconciler created, and
    absent for an artifact imported as another tool made it, without a name."""


class _EdgeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    SourceArn: str
    DestinationArn: str
    AssociationType: str | None = None


class _DetachedModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    arns: list[str]
    associations: list[_EdgeModel]


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    arn: str
    spec: _SpecModel
    last_modified_time: str | None = None
    uncertain: bool = False
    kept: list[str] = []


def _entry_model(kind: EntityKind) -> type[BaseModel]:
    """An applied entry of `kind`: its spec is that kind's Create* request (canonical)."""
    if kind is ARTIFACT:
        return _EntryModel
    model: type[BaseModel] = create_model(
        f"{kind.kind}EntryModel",
        __config__=ConfigDict(extra="forbid", strict=True),
        arn=(str, ...),
        spec=(kind.spec_model, ...),
        last_modified_time=(str | None, None),
        uncertain=(bool, False),
        kept=(list[str], []),
    )
    return model


_ENTRY_MODELS = {kind.section: _entry_model(kind) for kind in ENTITY_KINDS.values()}


class _EdgeEntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    source_arn: str
    destination_arn: str
    spec: AssociationSpec
    adopted: bool = False
    uncertain: bool = False


def parse_arn(arn: str) -> dict[str, str] | None:
    """An artifact ARN's parts (partition, region, account, resource, id), or None."""
    match = ARTIFACT_ARN.match(arn)
    return match.groupdict() if match else None


def parse_entity_arn(arn: str) -> dict[str, str] | None:
    """A SageMaker ARN's parts (partition, region, account, resource, id), or None."""
    match = _ANY_ARN.match(arn)
    return match.groupdict() if match else None


def foreign_reason(entry: Entry, target: Target) -> str | None:
    """Why the entry's ARN does not belong to the lockfile's target, or None if it does."""
    return _arn_foreign_reason(entry.arn, target, "its ARN")


def edge_foreign_reason(edge: Edge, target: Target) -> str | None:
    """Why an edge does not belong to the target: an end that is one of our entities (named in
    its spec, not given as an ARN) recorded in another account or region. An end given as an
    ARN is whatever the manifest says it is."""
    for field_name, arn in (("Source", edge.source_arn), ("Destination", edge.destination_arn)):
        if is_arn(str(edge.spec.get(field_name, ""))):
            continue
        reason = _arn_foreign_reason(arn, target, f"its {field_name} ARN")
        if reason is not None:
            return reason
    return None


def _arn_foreign_reason(arn: str, target: Target, what: str) -> str | None:
    parts = parse_entity_arn(arn)
    if parts is None or not target.is_set:
        return None
    if parts["account"] != target.account:
        return f"{what} is in account {parts['account']}, but the lockfile targets {target.account}"
    if parts["region"] != target.region:
        return f"{what} is in region {parts['region']}, but the lockfile targets {target.region}"
    return None


#: The `kind` of a saved plan (planfile.py), told apart from a lockfile when one is read as such.
SAVED_PLAN_KIND = "reconciler-saved-plan"


def load(path: Path, declared: Mapping[str, dict[str, Any]] | None = None) -> Lockfile:
    """Read the lockfile at `path`; a missing file is an empty lockfile. `declared`: the
    manifests' validated specs, if known (see parse_entries)."""
    hook = _sharing(declared) if declared else _unique_keys
    try:
        with path.open("rb") as handle:
            # A piece at a time: the whole text and the bytes it is decoded from would be the
            # largest thing in memory during a plan.
            raw = jsonstream.load_object(handle, hook, bounded_int)
            if raw is None:  # not well-formed: read whole, to say exactly what is wrong
                handle.seek(0)
                data = handle.read()
    except FileNotFoundError:
        return Lockfile()
    except OSError as exc:
        raise LockfileError(f"cannot read the lockfile {path}: {exc.strerror}") from None
    if raw is not None:
        return _from_raw(raw, str(path), declared)
    text = _text(data, str(path))
    del data  # the bytes and the text of a large lockfile are not both kept while it is parsed
    return parse_text(text, str(path), declared)


def load_bytes(data: bytes, shown: str) -> Lockfile:
    """A lockfile read from elsewhere than a file (git's copy at a revision), named `shown`."""
    return parse_text(_text(data, shown), shown)


#: Git's conflict markers, each at the start of a line.
_CONFLICT_MARKER = re.compile(rb"^(<{7}|={7}|>{7})(?:[ \r\n]|$)", re.MULTILINE)
#: Longer integers than any serial could reach are refused before Python converts them (a
#: 5,000-digit number would exceed the interpreter's conversion limit).
_MAX_INTEGER_DIGITS = 20


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (json keeps the last one silently)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


def bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INTEGER_DIGITS:
        raise ValueError(f"a number of {len(digits):,} digits")
    return int(digits)


def is_integer(value: object) -> TypeGuard[int]:
    """A JSON integer: not true or false (True == 1 in Python), nor 1.0."""
    return type(value) is int


def parse(
    data: bytes, shown: str, declared: Mapping[str, dict[str, Any]] | None = None
) -> Lockfile:
    return parse_text(_text(data, shown), shown, declared)


def parse_text(
    text: str, shown: str, declared: Mapping[str, dict[str, Any]] | None = None
) -> Lockfile:
    raw = _decode(text, shown, _sharing(declared) if declared else _unique_keys)
    return _from_raw(raw, shown, declared)


def _from_raw(raw: Any, shown: str, declared: Mapping[str, dict[str, Any]] | None) -> Lockfile:
    """The lockfile of a decoded JSON document."""
    if not isinstance(raw, dict):
        raise LockfileError(_broken(shown, "its top level is not a JSON object"))
    if raw.get("kind") == SAVED_PLAN_KIND:
        raise LockfileError(
            f"{shown} is a saved plan, not a lockfile (was it overwritten by 'plan --out'?); "
            "restore the lockfile from git"
        )
    version = raw.get("format_version")
    if not is_integer(version) or version != FORMAT_VERSION:
        if is_integer(version) and version > FORMAT_VERSION:
            raise LockfileError(
                f"{shown} has format_version {version}, newer than this reconciler reads "
                f"({FORMAT_VERSION}); upgrade reconciler"
            )
        raise LockfileError(
            _broken(shown, f"its format_version is {quoted(version)}, expected {FORMAT_VERSION}")
        )
    known = {"format_version", "lineage", "serial", "target", "detached", *SECTIONS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise LockfileError(_broken(shown, f"it has unknown keys: {', '.join(unknown)}"))
    lineage = raw.get("lineage")
    if not isinstance(lineage, str) or not lineage:
        raise LockfileError(_broken(shown, "'lineage' is missing or not a string"))
    serial = raw.get("serial")
    if not is_integer(serial) or serial < 0:
        raise LockfileError(_broken(shown, "'serial' is missing or not a non-negative integer"))
    target = _parse_target(raw.get("target"), shown)
    artifacts_raw = raw.get("artifacts")
    if not isinstance(artifacts_raw, dict):
        raise LockfileError(_broken(shown, "'artifacts' is missing or not an object"))
    artifacts, malformed = parse_entries(artifacts_raw, declared)
    detached = _parse_detached(raw.get("detached", {}), shown)
    sections: dict[str, Any] = {}
    malformed_sections: dict[str, str] = {}
    for section in SECTIONS[1:]:
        section_raw = raw.get(section, {})
        if not isinstance(section_raw, dict):
            raise LockfileError(_broken(shown, f"'{section}' is not an object"))
        good: dict[str, Any]
        if section == ASSOCIATIONS:
            good, bad = parse_edges(section_raw)
        else:
            good, bad = parse_entries(section_raw, kind=_ENTITY_OF_SECTION[section])
        sections[section] = good
        malformed.update(bad)
        malformed_sections.update(dict.fromkeys(bad, section))
    _refuse_a_name_twice(raw, shown)
    return Lockfile(
        lineage,
        serial,
        target,
        artifacts,
        malformed,
        detached,
        malformed_sections=malformed_sections,
        **sections,
    )


_ENTITY_OF_SECTION = {kind.section: kind for kind in ENTITY_KINDS.values()}


def _refuse_a_name_twice(raw: dict[str, Any], shown: str) -> None:
    """A metadata.name is unique across kinds: one name in two maps is refused. The larger map
    (the artifacts, usually) is where names are looked up, never copied."""
    maps = sorted(
        ((section, raw[section]) for section in SECTIONS if raw.get(section)),
        key=lambda pair: -len(pair[1]),
    )
    if len(maps) < 2:
        return
    largest_section, largest = maps[0]
    seen: dict[str, str] = {}
    for section, entries in maps[1:]:
        for name in entries:
            other = largest_section if name in largest else seen.get(name)
            if other is not None:
                first, second = sorted((other, section), key=SECTIONS.index)
                raise LockfileError(
                    _broken(
                        shown,
                        f"the name {json.dumps(name)} is in both '{first}' and '{second}' "
                        "(a metadata.name names one entry)",
                    )
                )
            seen[name] = section


def _parse_detached(raw: Any, shown: str) -> dict[str, Detached]:
    if not isinstance(raw, dict):
        raise LockfileError(_broken(shown, "'detached' is not an object"))
    out: dict[str, Detached] = {}
    for name, value in raw.items():
        try:
            _DetachedModel.model_validate(value)
        except ValidationError:
            raise LockfileError(
                _broken(shown, f"detached.{name} is not a list of ARNs and associations")
            ) from None
        out[name] = detached_from_json(value)
    return out


def detached_from_json(value: dict[str, Any]) -> Detached:
    return Detached(tuple(value["arns"]), tuple(value["associations"]))


def _sharing(declared: Mapping[str, dict[str, Any]]) -> Callable[[list[tuple[str, Any]]], Any]:
    """_unique_keys, giving back the declared spec itself for an object equal to it: the copy
    read from the lockfile is dropped as soon as it is read, not once the whole file is."""
    by_source = {
        (spec["ArtifactName"], spec["Source"]["SourceUri"]): spec for spec in declared.values()
    }

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        document = _unique_keys(pairs)
        name, source = document.get("ArtifactName"), document.get("Source")
        if type(name) is str and type(source) is dict and type(source.get("SourceUri")) is str:
            spec = by_source.get((name, source["SourceUri"]))
            if spec is not None and spec == document:
                return spec
        return document

    return hook


def _text(data: bytes, shown: str) -> str:
    """The lockfile's text: refused when it holds a merge conflict or is not UTF-8."""
    conflict = _CONFLICT_MARKER.search(data)
    if conflict is not None:
        line = data.count(b"\n", 0, conflict.start()) + 1
        raise LockfileError(
            f"merge conflict in the lockfile {shown} (a git conflict marker at line {line}): "
            "two applies recorded artifacts on diverging branches; do not merge it by hand: take "
            "main's lockfile as it is (git checkout main -- <lockfile>), then re-run "
            "'reconciler apply' on the merged main, which adopts what the other side created "
            "(reconciler will not overwrite the conflicted file)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LockfileError(_broken(shown, "it is not UTF-8")) from None


def _decode(
    text: str, shown: str, object_hook: Callable[[list[tuple[str, Any]]], Any] = _unique_keys
) -> Any:
    """The lockfile's JSON document; every way it can fail is a LockfileError that says why."""
    try:
        return json.loads(text, object_pairs_hook=object_hook, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        why = f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except _DuplicateKey as exc:
        why = f"the key {json.dumps(exc.key)} appears twice in one object"
    except ValueError as exc:
        why = f"it holds {exc}, longer than any value a lockfile records"
    except RecursionError:
        why = "it is nested too deeply to read"
    raise LockfileError(_broken(shown, why))


def _parse_target(raw: Any, shown: str) -> Target:
    if not isinstance(raw, dict) or set(raw) - {"account", "region"}:
        raise LockfileError(_broken(shown, "'target' must be an object with account and region"))
    account, region = raw.get("account"), raw.get("region")
    if account is not None and not (
        isinstance(account, str) and re.fullmatch(r"[0-9]{12}", account)
    ):
        raise LockfileError(
            _broken(shown, f"target.account {quoted(account)} is not a 12-digit account")
        )
    if region is not None and not isinstance(region, str):
        raise LockfileError(_broken(shown, f"target.region {quoted(region)} is not a string"))
    return Target(account, region)


def parse_entries(
    raw: dict[str, Any],
    declared: Mapping[str, dict[str, Any]] | None = None,
    *,
    kind: EntityKind = ARTIFACT,
) -> tuple[dict[str, Entry], dict[str, tuple[str, Any]]]:
    """Entries of `kind` and, apart, those that cannot be read. An entry whose spec equals the
    validated, canonical spec `declared` under its name needs no validation of its own, and
    shares that dict (one copy in memory instead of two)."""
    entries: dict[str, Entry] = {}
    malformed: dict[str, tuple[str, Any]] = {}
    declared = declared or {}
    arn_rule = ENTITY_ARNS[kind.section]
    model = _ENTRY_MODELS[kind.section]
    for name, value in raw.items():
        spec = declared.get(name)
        if (
            spec is not None
            and _valid_as_declared(value, spec)
            and arn_rule.match(value["arn"])
            and _address_problem(kind, value["arn"], spec) is None
        ):
            entries[name] = Entry(value["arn"], spec, value.get("last_modified_time"))
            continue
        reason = _name_problem(name) or _model_problem(model, value)
        if reason is None and not arn_rule.match(value["arn"]):
            reason = f"arn {quoted(value['arn'])} is not a SageMaker {kind.arn_resource} ARN"
        if reason is None:
            reason = _address_problem(kind, value["arn"], value["spec"])
        if reason is None:
            reason = _kept_problem(kind, value)
        if reason is None:
            entries[name] = _entry(value)
        else:
            malformed[name] = (reason, value)
    return entries, malformed


def _address_problem(kind: EntityKind, arn: str, spec: dict[str, Any]) -> str | None:
    """For a kind addressed by name (contexts, actions: `context/<ContextName>`), a recorded
    name that is not the one its ARN holds. Ownership is checked on the ARN, but describe,
    update and delete name the entity: with another name they would act on another entity."""
    if kind.addressed_by != "name":
        return None
    named = arn.split("/", 1)[1]
    if named.lower() == str(spec.get(kind.name_field, "")).lower():
        return None
    return (
        f"spec.{kind.name_field} {quoted(spec.get(kind.name_field))} is not the name its arn "
        f"{quoted(arn)} holds; reconciler would act on another entity than the one it recorded"
    )


def _kept_problem(kind: EntityKind, value: dict[str, Any]) -> str | None:
    """A `kept` list naming what is not an update field its spec holds, or a name twice."""
    kept = value.get("kept", [])
    for field_name in kept:
        if field_name not in kind.update_fields or field_name in ("Properties", kind.name_field):
            return f"kept: {field_name!r} is not a field Update{kind.kind} sets"
        if value["spec"].get(field_name) is None:
            return f"kept: {field_name!r} is not in its spec"
    if len(set(kept)) != len(kept):
        return "kept: a field is named twice"
    return None


def parse_edges(
    raw: dict[str, Any],
) -> tuple[dict[str, Edge], dict[str, tuple[str, Any]]]:
    """Associations and, apart, those that cannot be read."""
    edges: dict[str, Edge] = {}
    malformed: dict[str, tuple[str, Any]] = {}
    for name, value in raw.items():
        reason = _name_problem(name) or _model_problem(_EdgeEntryModel, value)
        if reason is None:
            reason = _edge_problem(value)
        if reason is None:
            edges[name] = edge_from_json(value)
        else:
            malformed[name] = (reason, value)
    return edges, malformed


def edge_from_json(value: dict[str, Any]) -> Edge:
    """An edge from its (valid) JSON form."""
    return Edge(
        value["source_arn"],
        value["destination_arn"],
        value["spec"],
        value.get("adopted", False),
        value.get("uncertain", False),
    )


def _edge_problem(value: dict[str, Any]) -> str | None:
    """What is wrong with a well-shaped association entry: an end that is no lineage ARN, or
    one recorded otherwise than the ARN its spec gives."""
    for field_name, key in (("Source", "source_arn"), ("Destination", "destination_arn")):
        arn = value[key]
        if len(arn) > ENTITY_ARN_MAX or not ENTITY_ARN.match(arn):
            return f"{key} {quoted(arn)} is not the ARN of a SageMaker lineage entity"
        end = value["spec"][field_name]
        if is_arn(end) and end != arn:
            return f"{key} {quoted(arn)} is not spec.{field_name} {quoted(end)}"
    return None


def _name_problem(name: str) -> str | None:
    if len(name) > NAME_MAX or not NAME_RULE.fullmatch(name):
        return (
            f"the name {json.dumps(name)} is not a valid metadata.name "
            "(1-120 letters, digits and hyphens, starting and ending with a letter or digit)"
        )
    return None


def _model_problem(model: type[BaseModel], value: Any) -> str | None:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "entry"
        return f"{where}: {first['msg']}"
    return None


_ENTRY_KEYS = frozenset(("arn", "spec", "last_modified_time"))


def _valid_as_declared(value: Any, spec: dict[str, Any]) -> bool:
    """What _EntryModel checks, for an entry whose spec equals a validated declared spec."""
    if type(value) is not dict or not value.keys() <= _ENTRY_KEYS:
        return False
    modified = value.get("last_modified_time")
    return (
        type(value.get("arn")) is str
        and (modified is None or type(modified) is str)
        and value.get("spec") == spec
    )


def _entry(value: dict[str, Any]) -> Entry:
    return Entry(
        value["arn"],
        value["spec"],
        value.get("last_modified_time"),
        value.get("uncertain", False),
        tuple(value.get("kept", ())),
    )


def _broken(shown: str, why: str) -> str:
    return (
        f"cannot read the lockfile {shown}: {why}; restore it from git or fix it by hand "
        "(reconciler will not overwrite it)"
    )


def dump(lockfile: Lockfile) -> bytes:
    """The lockfile's bytes: the same state always gives the same bytes. The maps other than
    `artifacts` are written only when they hold something."""
    sections: dict[str, dict[str, Any]] = {
        kind.section: {name: e.to_json() for name, e in lockfile.entities(kind).items()}
        for kind in ENTITY_KINDS.values()
    }
    sections[ASSOCIATIONS] = {name: e.to_json() for name, e in lockfile.associations.items()}
    for name, (_, raw) in lockfile.malformed.items():
        sections[lockfile.malformed_section(name)][name] = raw
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "lineage": lockfile.lineage,
        "serial": lockfile.serial,
        "target": {"account": lockfile.target.account, "region": lockfile.target.region},
        "artifacts": sections.pop(ARTIFACT.section),
    }
    document.update({section: entries for section, entries in sections.items() if entries})
    if lockfile.detached:
        document["detached"] = {name: d.to_json() for name, d in lockfile.detached.items()}
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def new_lineage() -> str:
    return str(uuid.uuid4())


def save(path: Path, lockfile: Lockfile) -> Lockfile:
    """Write `lockfile` atomically (a first write gives it a lineage); return what was written."""
    if lockfile.lineage is None:
        lockfile = replace(lockfile, lineage=new_lineage())
    write_atomic(path, dump(lockfile))
    return lockfile
