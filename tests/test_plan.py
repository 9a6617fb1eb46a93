from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings

from reconciler import lockfile
from reconciler.errors import ReconcilerError
from reconciler.lockfile import Entry, Lockfile
from reconciler.plan import Action, FieldChange, compute_plan
from tests.helpers import arn_for, recorded
from tests.strategies import desired_states


def spec(name: str = "a", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ArtifactName": name,
        "ArtifactType": "DataSet",
        "Source": {"SourceUri": f"s3://acme/{name}"},
        "Properties": {"stage": "raw", "rows": "10"},
        "Tags": [{"Key": "team", "Value": "churn"}],
    }
    base.update(changes)
    return base


def test_without_a_lockfile_everything_is_created() -> None:
    plan = compute_plan({"b": spec("b"), "a": spec("a")}, Lockfile())
    assert [(c.name, c.action) for c in plan.changes] == [
        ("a", Action.CREATE),
        ("b", Action.CREATE),
    ]
    assert plan.summary() == {
        "create": 2,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "orphan": 0,
        "unchanged": 0,
    }
    assert plan.has_changes


def test_updatable_fields_make_an_update_with_field_differences() -> None:
    desired = spec(
        ArtifactName="renamed",
        Properties={"stage": "processed", "owner": "ml"},
        Tags=[{"Key": "team", "Value": "retention"}],
    )
    (change,) = compute_plan({"a": desired}, recorded({"a": spec()})).changes
    assert change.action is Action.UPDATE
    assert change.arn == arn_for("a")
    assert change.fields == (
        FieldChange("ArtifactName", "a", "renamed"),
        FieldChange("Properties.owner", None, "ml"),
        FieldChange("Properties.rows", "10", None),
        FieldChange("Properties.stage", "raw", "processed"),
        FieldChange("Tags.team", "churn", "retention"),
    )


def test_maps_with_no_key_in_common_still_differ_key_by_key() -> None:
    (change,) = compute_plan(
        {"a": spec(Properties={"new": "2"}, Tags=[{"Key": "x", "Value": "1"}])},
        recorded({"a": spec()}),
    ).changes
    assert change.fields == (
        FieldChange("Properties.new", None, "2"),
        FieldChange("Properties.rows", "10", None),
        FieldChange("Properties.stage", "raw", None),
        FieldChange("Tags.team", "churn", None),
        FieldChange("Tags.x", None, "1"),
    )


@pytest.mark.parametrize(
    ("changes", "because"),
    [
        ({"Source": {"SourceUri": "s3://acme/moved"}}, ("Source",)),
        ({"ArtifactType": "Model"}, ("ArtifactType",)),
        ({"MetadataProperties": {"CommitId": "abc"}}, ("MetadataProperties",)),
        ({"ArtifactType": "Model", "Properties": {}}, ("ArtifactType",)),
    ],
)
def test_fields_set_at_creation_make_a_replacement(
    changes: dict[str, Any], because: tuple[str, ...]
) -> None:
    (change,) = compute_plan({"a": spec(**changes)}, recorded({"a": spec()})).changes
    assert change.action is Action.REPLACE
    assert change.replace_because == because


def test_undeclared_entries_are_orphans_unless_pruned() -> None:
    lock = recorded({"a": spec(), "gone": spec("gone")})
    plan = compute_plan({"a": spec()}, lock)
    assert [(c.name, c.action) for c in plan.changes] == [("gone", Action.ORPHAN)]
    assert not plan.has_changes
    pruned = compute_plan({"a": spec()}, lock, prune=True)
    assert [(c.name, c.action) for c in pruned.changes] == [("gone", Action.DELETE)]
    assert pruned.has_changes
    assert pruned.changes[0].before == spec("gone")


def test_changes_are_ordered_by_action_then_name() -> None:
    lock = recorded({"u": spec("u"), "r": spec("r"), "d": spec("d")})
    desired = {"u": spec("u", Properties={}), "r": spec("r", ArtifactType="Model"), "c": spec("c")}
    plan = compute_plan(desired, lock, prune=True)
    assert [(c.action.value, c.name) for c in plan.changes] == [
        ("replace", "r"),
        ("delete", "d"),
        ("create", "c"),
        ("update", "u"),
    ]


def test_unreadable_or_foreign_entries_stop_the_plan() -> None:
    lock = Lockfile("l", 1, recorded({}).target, {}, {"broken": ("arn: Field required", {})})
    with pytest.raises(
        ReconcilerError, match=r"'broken': arn: Field required.*run 'reconciler audit'"
    ):
        compute_plan({}, lock)
    foreign = recorded({})
    foreign.artifacts["x"] = Entry(arn_for("x", account="999999999999"), spec("x"))
    with pytest.raises(ReconcilerError, match="account 999999999999"):
        compute_plan({"x": spec("x")}, foreign)


def test_the_plan_does_not_change_its_inputs() -> None:
    desired = {"a": spec(Properties={"x": "1"})}
    lock = recorded({"a": spec()})
    before = (copy.deepcopy(desired), copy.deepcopy(lock))
    compute_plan(desired, lock, prune=True)
    assert (desired, lock) == before


@settings(max_examples=150, deadline=None)
@given(desired_states())
def test_a_lockfile_recording_exactly_the_desired_state_plans_nothing(
    desired: dict[str, dict[str, Any]],
) -> None:
    plan = compute_plan(desired, recorded(desired), prune=True)
    assert plan.changes == ()
    assert plan.unchanged == len(desired)


@settings(max_examples=100, deadline=None)
@given(desired=desired_states())
def test_a_lockfile_written_then_read_is_byte_identical_when_written_again(
    desired: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("lock") / "artifacts.lock.json"
    lockfile.save(path, recorded(desired))
    first = path.read_bytes()
    reread = lockfile.load(path)
    assert reread.artifacts.keys() == desired.keys()
    assert lockfile.dump(reread) == first


@settings(max_examples=100, deadline=None)
@given(desired_states(), desired_states())
def test_every_difference_is_planned_and_only_differences(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> None:
    plan = compute_plan(new, recorded(old), prune=True)
    by_name = {c.name: c for c in plan.changes}
    for name in new.keys() | old.keys():
        if name in new and name in old and new[name] == old[name]:
            assert name not in by_name
        else:
            assert name in by_name
    assert plan.unchanged + len(plan.changes) == len(new.keys() | old.keys())
