"""Saved plans (`plan --out FILE`): what apply will do, and the state it was computed from.

A saved plan records the target it was made for, the lockfile's lineage and serial, a digest of
the manifests, the options that shaped it (--prune, --refresh, --deep) and a digest of the plan
itself: the unredacted, canonical changes, so that what is shown (which depends on
`sensitive_properties`) plays no part. Apply refuses it for another target, or when the lockfile
or the manifests moved since, and otherwise makes the plan again in the same mode and refuses it
unless it is the same plan, so that what was reviewed is exactly what runs. The file holds the
names and actions of the changes, never their values.

The file is the user's: whatever it holds, reading it ends in a SavedPlan or in one sentence that
names no value from it (but the version number it was saved with).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.fsio import write_atomic
from reconciler.kinds import ARTIFACT
from reconciler.lockfile import SAVED_PLAN_KIND, Lockfile, bounded_int, is_integer
from reconciler.plan import Change, Plan
from reconciler.targets import ACCOUNT, NAME, REGION, TargetContext

#: 3: the target the plan was made for (`target`).
FORMAT_VERSION = 3
KIND = SAVED_PLAN_KIND


@dataclass(frozen=True)
class PlannedTarget:
    """The target of reconciler.yaml a plan was made for. A repository without `targets` has
    one implicit target, saved as null: its lockfile (lineage and serial) pins it."""

    name: str
    account: str
    region: str

    @classmethod
    def of(cls, target: TargetContext | None) -> PlannedTarget | None:
        return None if target is None else cls(target.name, target.account, target.region)

    def __str__(self) -> str:
        return f"target '{self.name}' (account {self.account} in {self.region})"


@dataclass(frozen=True)
class Mode:
    """The options that shaped a plan."""

    prune: bool = False
    #: Made from the service's state (apply reads it again, in the same way).
    refresh: bool = False
    #: With refresh: every artifact read fully, tags included.
    deep: bool = False

    def plan_command(self, path: Path | str, paths: tuple[str, ...] = ()) -> str:
        """The command that makes such a plan again (`paths`: the --manifests, --lockfile and
        --target flags it was made with, as given)."""
        flags = ["--prune"] * self.prune + ["--refresh"] * self.refresh + ["--deep"] * self.deep
        return " ".join(["reconciler plan", *map(_quoted, paths), *flags, "--out", str(path)])


def _quoted(word: str) -> str:
    return shlex.quote(word)


@dataclass(frozen=True)
class SavedPlan:
    target: PlannedTarget | None
    lineage: str | None
    serial: int
    manifests_digest: str
    mode: Mode
    plan_digest: str

    def target_refusal(self, target: PlannedTarget | None, path: Path, remake: str) -> str | None:
        """Why this plan cannot be applied to `target` (another target, or its own declared
        otherwise since), or None when it is the target it was made for. `remake`: the command
        that makes `target`'s plan."""
        made = self.target
        if target == made:
            return None
        if target is not None and made is not None and target.name != made.name:
            return (
                f"the saved plan {path} was made for {made}, not for {target}; apply it with "
                f"--target {made.name}, or make a plan for '{target.name}' with '{remake}'"
            )
        was = f"for {made}" if made is not None else "without targets"
        now = f"gives {target}" if target is not None else "declares no targets"
        return (
            f"the saved plan {path} is stale: it was made {was}, and reconciler.yaml now {now}; "
            f"run '{remake}' again"
        )

    def stale_reason(self, lockfile: Lockfile, manifests_digest: str) -> str | None:
        """Why this plan no longer applies, or None while it does."""
        if self.lineage is not None and lockfile.lineage != self.lineage:
            return "the lockfile was replaced by another one since the plan was made"
        if lockfile.serial != self.serial:
            return (
                f"the lockfile changed since the plan was made (serial {self.serial} → "
                f"{lockfile.serial})"
            )
        if manifests_digest != self.manifests_digest:
            return "the manifests changed since the plan was made"
        return None

    def differs_reason(self, plan: Plan) -> str | None:
        """Why `plan`, made again now from the same lockfile and manifests, is not this one."""
        if plan_digest(plan, self.mode) == self.plan_digest:
            return None
        if self.mode.refresh:
            return "the service changed since it was made"
        return (
            "the plan made now differs from the saved one although neither the lockfile nor the "
            "manifests moved (was it saved by another version of reconciler?)"
        )


def plan_digest(plan: Plan, mode: Mode) -> str:
    """A digest of the plan as apply would carry it out (unredacted, canonical), and its mode."""
    canonical = {
        "mode": {"prune": mode.prune, "refresh": mode.refresh, "deep": mode.deep},
        "unchanged": plan.unchanged,
        "changes": [_digested(change) for change in plan.changes],
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _digested(change: Change) -> dict[str, Any]:
    """What the digest covers of a change: every kind's identity, ARNs and specs. The kind and
    an edge's recorded ends are left out where they add nothing (an artifact's change), so a plan
    of artifacts has the digest it had before other kinds existed."""
    out: dict[str, Any] = {
        "name": change.name,
        "action": change.action.value,
        "arn": change.arn,
        "before": change.before,
        "after": change.after,
    }
    if change.kind != ARTIFACT.kind:
        out["kind"] = change.kind
    if change.ends is not None:
        out["ends"] = list(change.ends)
    return out


def save(
    path: Path,
    plan: Plan,
    lockfile: Lockfile,
    manifests_digest: str,
    mode: Mode,
    target: PlannedTarget | None = None,
) -> None:
    document = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "target": None if target is None else _target_document(target),
        "lockfile": {"lineage": lockfile.lineage, "serial": lockfile.serial},
        "manifests_digest": manifests_digest,
        "mode": {"prune": mode.prune, "refresh": mode.refresh, "deep": mode.deep},
        "plan_digest": plan_digest(plan, mode),
        "summary": plan.summary(),
        "changes": [_listed(c) for c in plan.changes],
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    write_atomic(path, text.encode())


def _target_document(target: PlannedTarget) -> dict[str, str]:
    return {"name": target.name, "account": target.account, "region": target.region}


def _listed(change: Change) -> dict[str, str]:
    """A change as a saved plan lists it: its name, action and kind (no values)."""
    return {"name": change.name, "action": change.action.value, "kind": change.kind}


def load(path: Path, paths: tuple[str, ...] = ()) -> SavedPlan:
    """The saved plan at `path`; `paths`: the --manifests, --lockfile and --target flags given,
    for the command that makes it again."""
    again = f"make it again with '{Mode().plan_command(path, paths)}'"
    try:
        raw = json.loads(path.read_bytes(), parse_int=bounded_int)
    except FileNotFoundError:
        raise ReconcilerError(
            f"the saved plan {path} does not exist; run '{Mode().plan_command(path, paths)}'"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ReconcilerError(f"cannot read the saved plan {path} ({exc}); {again}") from None
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise ReconcilerError(f"{path} is not a saved plan; make one with 'reconciler plan --out'")
    _check_version(path, raw.get("format_version"), again)
    try:
        lock, mode = raw["lockfile"], raw["mode"]
        if not is_integer(lock["serial"]) or lock["serial"] < 0:
            raise ValueError("not a serial")
        if not isinstance(lock["lineage"], (str, type(None))):
            raise TypeError
        return SavedPlan(
            target=_target(raw["target"]),
            lineage=lock["lineage"],
            serial=int(lock["serial"]),
            manifests_digest=_text(raw["manifests_digest"]),
            mode=Mode(*(_flag(mode[key]) for key in ("prune", "refresh", "deep"))),
            plan_digest=_text(raw["plan_digest"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ReconcilerError(f"the saved plan {path} is damaged; {again}") from None


def _check_version(path: Path, version: object, again: str) -> None:
    """Refuse a plan of another format, naming its version only when it is a small number."""
    if is_integer(version) and version == FORMAT_VERSION:
        return
    if not is_integer(version) or not 0 < version < 1000:
        raise ReconcilerError(
            f"the saved plan {path} is damaged (its format_version is not a version number); "
            f"{again}"
        )
    if version < FORMAT_VERSION:
        raise ReconcilerError(
            f"the saved plan {path} was made by an older reconciler (format {version}), which "
            f"did not record the target it was made for; {again}"
        )
    raise ReconcilerError(
        f"the saved plan {path} was made by a newer reconciler (format {version}; this one "
        f"reads {FORMAT_VERSION}); apply it with that version, or {again}"
    )


def _target(value: object) -> PlannedTarget | None:
    """A saved target: null (no targets) or a name, account and region as reconciler.yaml
    accepts them; anything else is damage."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"name", "account", "region"}:
        raise TypeError("not a target")
    name, account, region = (_text(value[key]) for key in ("name", "account", "region"))
    rules = ((NAME, name), (ACCOUNT, account), (REGION, region))
    if not all(rule.fullmatch(text) for rule, text in rules):
        raise ValueError("not a target")
    return PlannedTarget(name, account, region)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _flag(value: object) -> bool:
    """A mode flag: true or false, nothing else (a damaged file is not a prune)."""
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value
