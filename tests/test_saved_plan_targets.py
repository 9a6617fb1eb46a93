"""A saved plan records the target it was made for: apply refuses it for another target, or for
its own target declared otherwise since, in one sentence naming both and the fix; a saved plan
is the user's file, and whatever it holds ends in one sentence, never a traceback, with nothing
from it reaching the terminal raw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc, write_manifests
from tests.hostile import HOSTILE, assert_safe_text
from tests.sandboxed import ACCOUNT, REGION, apply, reconciler

PROD = "222222222222"
#: What a damaged saved plan is told (the file's values are never shown), applied with `chosen`.
DAMAGED = (
    "the saved plan plan.json is damaged; make it again with 'reconciler plan {chosen}--out "
    "plan.json'\n"
)


def target(name: str, account: str, manifests: str = "shared") -> str:
    return (
        f"  {name}:\n"
        f'    account: "{account}"\n'
        f"    region: {REGION}\n"
        f"    lockfile: locks/{name}.lock.json\n"
        f"    manifests: [manifests/{manifests}]\n"
    )


def two_targets(repo: Path, prod_account: str = PROD) -> None:
    """dev and prod reading the same manifests, neither applied: their plans are the same plan,
    on lockfiles with the same (absent) lineage and serial."""
    config = "targets:\n" + target("dev", ACCOUNT) + target("prod", prod_account)
    (repo / "reconciler.yaml").write_text(config)
    write_manifests(repo / "manifests" / "shared", manifest_doc("a"))


def saved(repo: Path) -> Any:
    return json.loads((repo / "plan.json").read_text())


def test_a_saved_plan_records_its_target(repo: Path) -> None:
    two_targets(repo)
    assert reconciler("plan", "--target", "prod", "--out", "plan.json").code == 0
    document = saved(repo)
    assert document["format_version"] == 3
    assert document["target"] == {"name": "prod", "account": PROD, "region": REGION}


def test_a_saved_plan_without_targets_records_none(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    assert reconciler("plan", "--out", "plan.json").code == 0
    assert saved(repo)["target"] is None


def test_a_plan_of_another_target_is_refused_naming_both(repo: Path, sandbox: Sandbox) -> None:
    two_targets(repo)
    assert reconciler("plan", "--target", "prod", "--out", "plan.json").code == 0
    refused = reconciler("apply", "plan.json", "--target", "dev")
    assert refused.code == 1
    assert refused.err == (
        f"error: target 'dev': the saved plan plan.json was made for target 'prod' (account "
        f"{PROD} in "
        f"{REGION}), not for target 'dev' (account {ACCOUNT} in {REGION}); apply it with "
        "--target prod, or make a plan for 'dev' with "
        "'reconciler plan --target dev --out plan.json'\n"
    )
    assert sandbox.counters().get("CreateArtifact", 0) == 0
    assert not (repo / "locks" / "dev.lock.json").exists()


def test_several_targets_chosen_with_a_saved_plan_name_its_own(repo: Path) -> None:
    two_targets(repo)
    assert reconciler("plan", "--target", "prod", "--out", "plan.json").code == 0
    for chosen in ([], ["--target", "dev", "--target", "prod"]):
        refused = reconciler("apply", "plan.json", *chosen)
        assert refused.code == 2
        assert (
            "a saved plan is one target's, and several are chosen: apply plan.json with "
            "--target prod"
        ) in refused.err


def test_plan_out_of_several_targets_is_refused_before_anything_is_written(repo: Path) -> None:
    two_targets(repo)
    for chosen in ([], ["--target", "prod", "--target", "dev"]):
        refused = reconciler("plan", *chosen, "--out", "plan.json")
        assert refused.code == 2
        order = "dev, prod" if not chosen else "prod, dev"
        assert (
            f"--out saves one target's plan, and 2 targets are chosen ({order}); save one plan "
            "per target: reconciler plan --target NAME --out FILE"
        ) in refused.err
        assert refused.out == ""
        assert not (repo / "plan.json").exists()


def test_its_own_target_declared_otherwise_since_makes_the_plan_stale(
    repo: Path, sandbox: Sandbox
) -> None:
    two_targets(repo)
    assert reconciler("plan", "--target", "prod", "--out", "plan.json").code == 0
    two_targets(repo, prod_account="333333333333")
    refused = reconciler("apply", "plan.json", "--target", "prod")
    assert refused.code == 1
    assert refused.err == (
        "error: target 'prod': the saved plan plan.json is stale: it was made for target 'prod' "
        f"(account {PROD} in {REGION}), and reconciler.yaml now gives target 'prod' (account 333333333333 in "
        f"{REGION}); run 'reconciler plan --target prod --out plan.json' again\n"
    )


def test_a_plan_made_without_targets_is_stale_once_targets_are_declared(
    repo: Path, sandbox: Sandbox
) -> None:
    write_manifests(repo / "manifests" / "shared", manifest_doc("a"))
    paths = ("--manifests", "manifests/shared", "--lockfile", "locks/dev.lock.json")
    assert reconciler("plan", *paths, "--out", "plan.json").code == 0
    (repo / "reconciler.yaml").write_text("targets:\n" + target("dev", ACCOUNT))
    refused = reconciler("apply", "plan.json")
    assert refused.code == 1
    assert refused.err == (
        "error: target 'dev': the saved plan plan.json is stale: it was made without targets, "
        "and "
        f"reconciler.yaml now gives target 'dev' (account {ACCOUNT} in {REGION}); "
        "run 'reconciler plan --out plan.json' again\n"
    )
    assert sandbox.counters().get("CreateArtifact", 0) == 0


def test_a_plan_of_a_target_is_stale_once_targets_are_gone(repo: Path, sandbox: Sandbox) -> None:
    (repo / "reconciler.yaml").write_text("targets:\n" + target("dev", ACCOUNT))
    write_manifests(repo / "manifests" / "shared", manifest_doc("a"))
    assert reconciler("plan", "--out", "plan.json").code == 0
    (repo / "reconciler.yaml").write_text(
        "manifests: manifests/shared\nlockfile: locks/dev.lock.json\n"
    )
    refused = reconciler("apply", "plan.json")
    assert refused.code == 1
    assert refused.err == (
        f"error: the saved plan plan.json is stale: it was made for target 'dev' (account "
        f"{ACCOUNT} in {REGION}), and reconciler.yaml now declares no targets; "
        "run 'reconciler plan --out plan.json' again\n"
    )
    assert sandbox.counters().get("CreateArtifact", 0) == 0


def test_the_plan_of_its_own_target_applies(repo: Path, sandbox: Sandbox) -> None:
    two_targets(repo)
    assert reconciler("plan", "--target", "dev", "--out", "plan.json").code == 0
    applied = reconciler("apply", "plan.json", "--target", "dev")
    assert applied.code == 0, applied.err
    assert sandbox.counters()["CreateArtifact"] == 1
    assert apply("--target", "dev").out.endswith("Nothing to apply.\n")


# --- other formats, and damage -------------------------------------------------------------------


def refusal_of(repo: Path, **changes: Any) -> str:
    """Why apply refuses dev's saved plan with these top-level fields changed (None: deleted)."""
    two_targets(repo)
    assert reconciler("plan", "--target", "dev", "--out", "plan.json").code == 0
    document = {**saved(repo), **changes}
    (repo / "plan.json").write_text(json.dumps({k: v for k, v in document.items() if v != DROP}))
    refused = reconciler("apply", "plan.json", "--target", "dev")
    assert refused.code == 1
    assert_safe_text(refused.err)
    prefix = "error: target 'dev': "
    assert refused.err.startswith(prefix) and refused.err.count("\n") == 1, refused.err
    return refused.err.removeprefix(prefix)


#: A field to leave out.
DROP = "(dropped)"
AGAIN = "'reconciler plan --target dev --out plan.json'\n"


def test_a_plan_of_the_previous_format_is_refused_naming_the_command(repo: Path) -> None:
    assert refusal_of(repo, format_version=2, target=DROP) == (
        "the saved plan plan.json was made by an older reconciler (format 2), which did not "
        f"record the target it was made for; make it again with {AGAIN}"
    )


def test_a_plan_of_a_newer_format_names_both_versions(repo: Path) -> None:
    assert refusal_of(repo, format_version=4) == (
        "the saved plan plan.json was made by a newer reconciler (format 4; this one reads 3); "
        f"apply it with that version, or make it again with {AGAIN}"
    )


@pytest.mark.parametrize(
    "version", ["3", 3.0, True, None, 10**15, -1, 0, [3], {"v": 3}, "\x1b[2J\r::error::x"]
)
def test_a_format_version_that_is_no_version_number_is_damage(repo: Path, version: Any) -> None:
    assert refusal_of(repo, format_version=version) == (
        "the saved plan plan.json is damaged (its format_version is not a version number); "
        f"make it again with {AGAIN}"
    )


HOSTILE_TARGETS: list[Any] = [
    *({"name": text, "account": PROD, "region": REGION} for text in HOSTILE),
    {"name": "prod", "account": PROD, "region": "eu-west-1\u2028::error::x"},
    {"name": "prod", "account": f"{PROD}\x1b[2J", "region": REGION},
    {"name": "p" * 1_000_000, "account": PROD, "region": REGION},
    {"name": "prod", "account": int(PROD), "region": REGION},
    {"name": ["prod"], "account": PROD, "region": REGION},
    {"name": "prod", "account": PROD},
    {"name": "prod", "account": PROD, "region": REGION, "role": "x"},
    "prod",
    ["prod", PROD, REGION],
    7,
]


@pytest.mark.parametrize("value", HOSTILE_TARGETS)
def test_a_hostile_target_is_damage_and_never_shown(repo: Path, value: Any) -> None:
    assert refusal_of(repo, target=value) == DAMAGED.format(chosen="--target dev ")
    prod = reconciler("apply", "plan.json", "--target", "prod")
    assert prod.err == f"error: target 'prod': {DAMAGED.format(chosen='--target prod ')}"
    several = reconciler("apply", "plan.json")
    assert several.code == 1
    assert several.err == "error: " + DAMAGED.format(chosen="--target NAME ")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("lockfile", {"lineage": ["x"], "serial": 0}),
        ("lockfile", {"lineage": None, "serial": "0"}),
        ("lockfile", {"lineage": None, "serial": -1}),
        ("lockfile", {"lineage": None}),
        ("manifests_digest", {"sha": "x"}),
        ("plan_digest", 12),
        ("mode", ["prune"]),
        ("target", DROP),
    ],
)
def test_other_damage_is_one_sentence(repo: Path, key: str, value: Any) -> None:
    assert (
        refusal_of(repo, **{key: value})
        == f"the saved plan plan.json is damaged; make it again with {AGAIN}"
    )


def test_a_serial_too_long_to_be_one_is_not_read(repo: Path) -> None:
    assert refusal_of(repo, lockfile={"lineage": None, "serial": 10**400}) == (
        f"cannot read the saved plan plan.json (a number of 401 digits); make it again with {AGAIN}"
    )
