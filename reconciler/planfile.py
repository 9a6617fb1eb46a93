"""Saved plans (`plan --out FILE`): what apply will do, and the state it was computed from.

A saved plan records the lockfile's lineage and serial and a digest of the manifests. Apply refuses
it when either has moved since, so that what was reviewed is exactly what runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.lockfile import Lockfile, write_atomic
from reconciler.plan import Plan
from reconciler.render.jsondoc import plan_document

FORMAT_VERSION = 1
KIND = "reconciler-saved-plan"


@dataclass(frozen=True)
class SavedPlan:
    lineage: str | None
    serial: int
    manifests_digest: str
    prune: bool
    document: dict[str, Any]
    #: Made with --refresh: apply reads the service again and refuses the plan if it changed.
    refresh: bool = False

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


def save(
    path: Path, plan: Plan, lockfile: Lockfile, manifests_digest: str, *, refresh: bool = False
) -> None:
    document = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "lockfile": {"lineage": lockfile.lineage, "serial": lockfile.serial},
        "manifests_digest": manifests_digest,
        "prune": plan.prune,
        "refresh": refresh,
        "plan": plan_document(plan),
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode())


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
    if raw.get("format_version") != FORMAT_VERSION:
        raise ReconcilerError(
            f"{path} was saved by another version of reconciler (format "
            f"{raw.get('format_version')!r}); make the plan again"
        )
    try:
        lock = raw["lockfile"]
        return SavedPlan(
            lineage=lock["lineage"],
            serial=int(lock["serial"]),
            manifests_digest=str(raw["manifests_digest"]),
            prune=bool(raw["prune"]),
            document=raw["plan"],
            refresh=bool(raw.get("refresh", False)),
        )
    except (KeyError, TypeError, ValueError):
        raise ReconcilerError(f"the saved plan {path} is damaged; make it again") from None
