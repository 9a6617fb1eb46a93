"""Running one command for several targets: every target's manifest problems reported together,
each saying which targets it concerns; any other error names its target."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reconciler.config import Settings
from reconciler.errors import Diagnostic, ManifestError, ReconcilerError

T = TypeVar("T")


def for_each(selected: list[Settings], work: Callable[[Settings], T]) -> list[tuple[Settings, T]]:
    """`work` for every target, in order. Manifest problems do not stop the others from being
    checked; they are raised together at the end. Without targets, `work` runs once, as is."""
    if len(selected) == 1 and selected[0].target is None:
        return [(selected[0], work(selected[0]))]
    done: list[tuple[Settings, T]] = []
    failed: dict[str, list[Diagnostic]] = {}
    for settings in selected:
        name = target_name(settings)
        try:
            done.append((settings, work(settings)))
        except ManifestError as exc:
            failed[name] = exc.diagnostics
        except ReconcilerError as exc:
            raise ReconcilerError(f"target '{name}': {exc}") from None
    if failed:
        raise merged(failed, len(selected))
    return done


def target_name(settings: Settings) -> str:
    assert settings.target is not None
    return settings.target.name


def merged(failed: dict[str, list[Diagnostic]], selected: int) -> ManifestError:
    """One error for the problems of several targets: a problem found in several (a shared
    manifest, say) is reported once, naming them."""
    targets_of: dict[Diagnostic, list[str]] = {}
    for name, diagnostics in failed.items():
        for diagnostic in diagnostics:
            targets_of.setdefault(diagnostic, []).append(name)
    diagnostics = [
        Diagnostic(d.location, f"{d.message} ({_which(names, selected)})")
        for d, names in targets_of.items()
    ]
    if len(failed) == 1:
        what = f"the manifests of target '{next(iter(failed))}'"
    else:
        what = f"the manifests of {len(failed)} targets ({', '.join(failed)})"
    return ManifestError(diagnostics, what=what)


def _which(names: list[str], selected: int) -> str:
    if len(names) == selected and selected > 1:
        return "every target"
    if len(names) == 1:
        return f"target {names[0]}"
    return f"targets {', '.join(names)}"
