"""The order a plan is carried out in: entities before the edges that need them, edges removed
before the entities they touch. Pure functions of a plan.

Four levels, always in this order; the changes of one level are independent of each other and
may run in parallel:

0. EDGES_REMOVED: edges deleted, and the delete half of edges replaced;
1. ENTITIES_REMOVED: entities deleted, and the delete half of entities replaced (every kind);
2. ENTITIES_WRITTEN: entities created and updated, and the create half of entities replaced;
3. EDGES_ADDED: edges created, and the add half of edges replaced.

A replacement is in two levels (its two halves); an orphan in none (apply leaves it alone).

This module reads a change's `action` and `kind` only, and imports no other of reconciler's at
run time: plan.py lists its changes in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from reconciler.kinds import ENTITY_KINDS

if TYPE_CHECKING:
    from reconciler.plan import Change, Plan

EDGES_REMOVED, ENTITIES_REMOVED, ENTITIES_WRITTEN, EDGES_ADDED = range(4)
LEVEL_NAMES = ("edges removed", "entities removed", "entities written", "edges added")

#: The manifest kind of an edge; every other kind is an entity.
_EDGE = "Association"
#: The order kinds are listed in within a level (others after, by name).
_KIND_ORDER = (*ENTITY_KINDS, _EDGE)
#: Within a level, the order of actions (as plan.ACTION_ORDER).
_ACTION_ORDER = ("replace", "delete", "create", "update", "orphan")

_ENTITY_LEVELS = {
    "delete": (ENTITIES_REMOVED,),
    "replace": (ENTITIES_REMOVED, ENTITIES_WRITTEN),
    "create": (ENTITIES_WRITTEN,),
    "update": (ENTITIES_WRITTEN,),
}
_EDGE_LEVELS = {
    "delete": (EDGES_REMOVED,),
    "replace": (EDGES_REMOVED, EDGES_ADDED),
    "create": (EDGES_ADDED,),
}


class _Planned(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def action(self) -> object: ...


Planned = TypeVar("Planned", bound=_Planned)


def _action(change: _Planned) -> str:
    return str(getattr(change.action, "value", change.action))


def change_levels(change: _Planned) -> tuple[int, ...]:
    """The levels `change` takes part in: two for a replacement (its delete half, then its
    create half), none for an orphan."""
    table = _EDGE_LEVELS if change.kind == _EDGE else _ENTITY_LEVELS
    return table.get(_action(change), ())


def levels(plan: Plan) -> list[list[Change]]:
    """The plan's changes in four levels (see the module's docstring), each in listing order;
    a level with nothing to do is an empty list."""
    out: list[list[Change]] = [[] for _ in LEVEL_NAMES]
    for change in plan.changes:
        for level in change_levels(change):
            out[level].append(change)
    return out


def listing_order(changes: Iterable[Planned]) -> list[Planned]:
    """Changes sorted as a plan lists them: by the first level each takes part in, then action,
    kind and name; orphans last."""

    def key(change: Planned) -> tuple[int, int, int, str, str]:
        taken = change_levels(change)
        first = taken[0] if taken else len(LEVEL_NAMES)
        action = _action(change)
        order = _ACTION_ORDER.index(action) if action in _ACTION_ORDER else len(_ACTION_ORDER)
        kind = _KIND_ORDER.index(change.kind) if change.kind in _KIND_ORDER else len(_KIND_ORDER)
        return (first, order, kind, change.kind, change.name)

    return sorted(changes, key=key)
