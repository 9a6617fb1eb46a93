"""How a pull request's lockfile differs from the base's, in every section (lockdiff.py)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.lockdiff import lockfile_differences
from reconciler.lockfile import Edge, Entry, Lockfile
from tests.helpers import arn_for, recorded

SPEC = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}
CONTEXT_SPEC = {"ContextName": "ep", "ContextType": "Endpoint", "Source": {"SourceUri": "s3://e"}}
ACTION_SPEC = {"ActionName": "ok", "ActionType": "Approval", "Source": {"SourceUri": "s3://a"}}


def _base() -> Lockfile:
    return replace(
        recorded({"model": SPEC}),
        contexts={"endpoint": Entry(arn_for("ep", resource="context"), CONTEXT_SPEC)},
        associations={
            "model-to-endpoint": Edge(
                arn_for("model"),
                arn_for("ep", resource="context"),
                {"Source": "model", "Destination": "endpoint"},
            )
        },
    )


def test_the_same_lockfile_has_no_difference() -> None:
    assert lockfile_differences(_base(), _base()) == ()


def test_a_context_or_action_added_removed_or_moved_is_named_with_its_kind() -> None:
    base = _base()
    ours = replace(
        base,
        contexts={"endpoint": Entry(arn_for("other", resource="context"), CONTEXT_SPEC)},
        actions={"approval": Entry(arn_for("ok", resource="action"), ACTION_SPEC)},
    )
    assert lockfile_differences(ours, base) == (
        "entries added that the base lockfile does not have: 'approval' (action); each claims "
        "an existing entity as this lockfile's own, and apply would act on it",
        "entries whose ARN differs from the base lockfile's: 'endpoint' (context); apply would "
        "act on another existing entity",
    )
    assert lockfile_differences(replace(base, contexts={}), base) == (
        "entries removed that the base lockfile has: 'endpoint' (context); apply would create a "
        "declared one again and leave the entity the base recorded behind, unrecorded",
    )


def test_a_name_recorded_as_another_kind_is_a_moved_entry() -> None:
    base = _base()
    ours = replace(
        base,
        artifacts={"endpoint": Entry(arn_for("endpoint"), SPEC), **base.artifacts},
        contexts={},
    )
    assert lockfile_differences(ours, base)[0].startswith(
        "entries whose ARN differs from the base lockfile's: 'endpoint'; "
    )


def test_associations_added_removed_or_with_other_ends_are_notes() -> None:
    base = _base()
    edge = base.associations["model-to-endpoint"]
    added = replace(base, associations={**base.associations, "extra": edge})
    assert lockfile_differences(added, base) == (
        "associations added that the base lockfile does not have: 'extra'; each claims an "
        "existing edge as this lockfile's own, and apply would delete it once it is no longer "
        "declared (with --prune)",
    )
    removed = replace(base, associations={})
    assert lockfile_differences(removed, base)[0].startswith(
        "associations removed that the base lockfile has: 'model-to-endpoint'; "
    )
    moved_edge = replace(edge, source_arn=arn_for("someone-else"))
    moved = replace(base, associations={"model-to-endpoint": moved_edge})
    assert lockfile_differences(moved, base) == (
        "associations whose recorded ends differ from the base lockfile's: 'model-to-endpoint'; "
        "apply would act on another edge",
    )
    # Whether it was adopted is not an identity: only the ends are.
    adopted = replace(base, associations={"model-to-endpoint": replace(edge, adopted=True)})
    assert lockfile_differences(adopted, base) == ()


def test_a_lockfile_of_only_contexts_where_the_base_has_none_is_flagged() -> None:
    ours = replace(_base(), artifacts={}, associations={})
    notes = lockfile_differences(ours, Lockfile())
    assert notes[0].startswith("entries added that the base lockfile does not have: 'endpoint'")
    assert f"has lineage {ours.lineage}" in notes[1]


def test_many_names_are_counted_past_five() -> None:
    base = _base()
    edge = base.associations["model-to-endpoint"]
    many = {f"e{i}": edge for i in range(8)}
    notes = lockfile_differences(replace(base, associations={**base.associations, **many}), base)
    assert "'e0', 'e1', 'e2', 'e3', 'e4' and 3 more;" in notes[0]


def test_an_adopted_edge_claimed_as_added_by_reconciler_is_a_note() -> None:
    """`adopted` is what keeps reconciler from deleting an edge someone else made: a pull
    request that drops it makes --prune delete that edge, so the reviewer is told."""
    base = _base()
    adopted = replace(base.associations["model-to-endpoint"], adopted=True)
    base = replace(base, associations={"model-to-endpoint": adopted})
    ours = replace(base, associations={"model-to-endpoint": replace(adopted, adopted=False)})
    assert lockfile_differences(ours, base) == (
        "associations the base lockfile records as adopted (made outside reconciler) that this "
        "one records as added by reconciler: 'model-to-endpoint'; apply would delete them once "
        "they are no longer declared (with --prune)",
    )
    # The other way round only makes reconciler forget an edge instead of deleting it.
    assert lockfile_differences(base, ours) == ()
