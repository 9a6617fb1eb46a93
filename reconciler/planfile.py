"""Saved plans (`plan --out FILE`): what apply will do, and the state it was computed from.

A saved plan records the lockfile's lineage and serial, a digest of the manifests, the options
that shaped it (--prune, --refresh, --deep) and a digest of the plan itself: the unredacted,
canonical changes, so that what is shown (which depends on `sensitive_properties`) plays no part.
Apply refuses it when the lockfile or the manifests moved since, and otherwise makes the plan
again in the same mode and refuses it unless it is the same plan, so that what was reviewed is
exactly what runs. The file holds the names and actions of the changes, never their values.
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
from reconciler.lockfile import SAVED_PLAN_KIND, Lockfile, is_integer
from reconciler.plan import Change, Plan

FORMAT_VERSION = 2
KIND = SAVED_PLAN_KIND


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
    lineage: str | None
    serial: int
    manifests_digest: str
    mode: Mode
    plan_digest: str

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


def save(path: Path, plan: Plan, lockfile: Lockfile, manifests_digest: str, mode: Mode) -> None:
    document = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "lockfile": {"lineage": lockfile.lineage, "serial": lockfile.serial},
        "manifests_digest": manifests_digest,
        "mode": {"prune": mode.prune, "refresh": mode.refresh, "deep": mode.deep},
        "plan_digest": plan_digest(plan, mode),
        "summary": plan.summary(),
        "changes": [_listed(c) for c in plan.changes],
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    write_atomic(path, text.encode())


def _listed(change: Change) -> dict[str, str]:
    """A change as a saved plan lists it: its name, action and kind (no values)."""
    return {"name": change.name, "action": change.action.value, "kind": change.kind}


def load(path: Path) -> SavedPlan:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ReconcilerError(
            f"the saved plan {path} does not exist; run 'reconciler plan --out {path}'"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ReconcilerError(
            f"cannot read the saved plan {path} ({exc}); make it again with 'reconciler plan --out'"
        ) from None
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise ReconcilerError(f"{path} is not a saved plan; make one with 'reconciler plan --out'")
    if not is_integer(raw.get("format_version")) or raw["format_version"] != FORMAT_VERSION:
        raise ReconcilerError(
            f"{path} was saved by another version of reconciler (format "
            f"{raw.get('format_version')!r}); make the plan again"
        )
    try:
        lock, mode = raw["lockfile"], raw["mode"]
        if not is_integer(lock["serial"]):
            raise TypeError
        return SavedPlan(
            lineage=lock["lineage"],
            serial=int(lock["serial"]),
            manifests_digest=str(raw["manifests_digest"]),
            mode=Mode(*(_flag(mode[key]) for key in ("prune", "refresh", "deep"))),
            plan_digest=str(raw["plan_digest"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ReconcilerError(f"the saved plan {path} is damaged; make it again") from None


def _flag(value: object) -> bool:
    """A mode flag: true or false, nothing else (a damaged file is not a prune)."""
    if not isinstance(value, bool):
        raise TypeError(f"not a boolean: {value!r}")
    return value
