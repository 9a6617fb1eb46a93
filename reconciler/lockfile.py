"""The lockfile: what was applied, where, with which ARN.

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

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.errors import LockfileError
from reconciler.fsio import write_atomic
from reconciler.models import NAME_MAX, NAME_PATTERN, ArtifactSpec
from reconciler.models import Target as Target  # re-exported: callers import it from here

FORMAT_VERSION = 1

#: Entries are keyed by metadata.name; another key was not written by reconciler.
NAME_RULE = re.compile(NAME_PATTERN)

ARTIFACT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]*):"
    r"(?P<account>[0-9]{12}):artifact/(?P<id>.+)$"
)


@dataclass(frozen=True)
class Entry:
    """One applied artifact."""

    arn: str
    spec: dict[str, Any]
    #: LastModifiedTime the service reported after our last write (ISO 8601), when known.
    last_modified_time: str | None = None
    #: True when a write to it was sent and its outcome never known (a lost response, a crash):
    #: the service may hold `spec` or what that write asked for. Read back before trusting it.
    uncertain: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"arn": self.arn, "spec": self.spec}
        if self.last_modified_time is not None:
            out["last_modified_time"] = self.last_modified_time
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
    #: Entries that could not be read, by name, with why; kept verbatim so nothing is lost.
    malformed: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: By name: associations of a replaced artifact not yet put back on the new one.
    detached: dict[str, Detached] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.lineage is not None

    @property
    def uncertain(self) -> list[str]:
        """Entries whose last write has an unknown outcome."""
        return sorted(name for name, entry in self.artifacts.items() if entry.uncertain)


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


def parse_arn(arn: str) -> dict[str, str] | None:
    match = ARTIFACT_ARN.match(arn)
    return match.groupdict() if match else None


def foreign_reason(entry: Entry, target: Target) -> str | None:
    """Why the entry's ARN does not belong to the lockfile's target, or None if it does."""
    parts = parse_arn(entry.arn)
    if parts is None or not target.is_set:
        return None
    if parts["account"] != target.account:
        return (
            f"its ARN is in account {parts['account']}, but the lockfile targets {target.account}"
        )
    if parts["region"] != target.region:
        return f"its ARN is in region {parts['region']}, but the lockfile targets {target.region}"
    return None


#: The `kind` of a saved plan (planfile.py), told apart from a lockfile when one is read as such.
SAVED_PLAN_KIND = "reconciler-saved-plan"


def load(path: Path, declared: Mapping[str, dict[str, Any]] | None = None) -> Lockfile:
    """Read the lockfile at `path`; a missing file is an empty lockfile. `declared`: the
    manifests' validated specs, if known (see parse_entries)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Lockfile()
    except OSError as exc:
        raise LockfileError(f"cannot read the lockfile {path}: {exc.strerror}") from None
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


def _bounded_int(digits: str) -> int:
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
            _broken(shown, f"its format_version is {version!r}, expected {FORMAT_VERSION}")
        )
    known = {"format_version", "lineage", "serial", "target", "artifacts", "detached"}
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
    return Lockfile(lineage, serial, target, artifacts, malformed, detached)


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
        return json.loads(text, object_pairs_hook=object_hook, parse_int=_bounded_int)
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
        raise LockfileError(_broken(shown, f"target.account {account!r} is not a 12-digit account"))
    if region is not None and not isinstance(region, str):
        raise LockfileError(_broken(shown, f"target.region {region!r} is not a string"))
    return Target(account, region)


def parse_entries(
    raw: dict[str, Any], declared: Mapping[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Entry], dict[str, tuple[str, Any]]]:
    """Entries and, apart, those that cannot be read. An entry whose spec equals the validated,
    canonical spec `declared` under its name needs no validation of its own, and shares that
    dict (one copy in memory instead of two)."""
    artifacts: dict[str, Entry] = {}
    malformed: dict[str, tuple[str, Any]] = {}
    declared = declared or {}
    for name, value in raw.items():
        spec = declared.get(name)
        if (
            spec is not None
            and _valid_as_declared(value, spec)
            and ARTIFACT_ARN.match(value["arn"])
        ):
            artifacts[name] = Entry(value["arn"], spec, value.get("last_modified_time"))
            continue
        if len(name) > NAME_MAX or not NAME_RULE.fullmatch(name):
            malformed[name] = (
                f"the name {json.dumps(name)} is not a valid metadata.name "
                "(1-120 letters, digits and hyphens, starting and ending with a letter or digit)",
                value,
            )
            continue
        try:
            _EntryModel.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            malformed[name] = (f"{where}: {first['msg']}", value)
            continue
        if ARTIFACT_ARN.match(value["arn"]):
            artifacts[name] = _entry(value)
        else:
            malformed[name] = (f"arn {value['arn']!r} is not a SageMaker artifact ARN", value)
    return artifacts, malformed


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
        value["arn"], value["spec"], value.get("last_modified_time"), value.get("uncertain", False)
    )


def _broken(shown: str, why: str) -> str:
    return (
        f"cannot read the lockfile {shown}: {why}; restore it from git or fix it by hand "
        "(reconciler will not overwrite it)"
    )


def dump(lockfile: Lockfile) -> bytes:
    """The lockfile's bytes: the same state always gives the same bytes."""
    artifacts: dict[str, Any] = {name: e.to_json() for name, e in lockfile.artifacts.items()}
    for name, (_, raw) in lockfile.malformed.items():
        artifacts[name] = raw
    document = {
        "format_version": FORMAT_VERSION,
        "lineage": lockfile.lineage,
        "serial": lockfile.serial,
        "target": {"account": lockfile.target.account, "region": lockfile.target.region},
        "artifacts": artifacts,
    }
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
