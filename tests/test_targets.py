"""Several targets from one repository: reconciler.yaml `targets`, variables in manifests, and
every command run per target, through the CLI against one sandbox serving two accounts."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ruamel.yaml import YAML

from reconciler import lockfile
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.accounts import access_key_for
from reconciler.variables import substitute
from tests.helpers import manifest_doc, write_manifests
from tests.sandboxed import REGION, apply, reconciler, use

DEV, PROD, OTHER = "123456789012", "222222222222", "333333333333"
PROD_ROLE = f"arn:aws:iam::{PROD}:role/reconciler-apply"
PROD_AUDIT_ROLE = f"arn:aws:iam::{PROD}:role/reconciler-audit"


def entry(name: str, account: str, role: str | None = None, own: str | None = None) -> str:
    """One target of reconciler.yaml: manifests/common and manifests/OWN (default: its name)."""
    return (
        f"  {name}:\n"
        f'    account: "{account}"\n'
        f"    region: {REGION}\n"
        f"    lockfile: locks/{name}.lock.json\n"
        f"    manifests: [manifests/common, manifests/{own or name}]\n"
        + (f"    role: {role}\n" if role else "")
        + f"    vars: {{bucket: acme-{name}}}\n"
    )


CONFIG = "targets:\n" + entry("dev", DEV) + entry("prod", PROD, PROD_ROLE)


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox serving the dev account (that of every plain key) and the prod account."""
    with Sandbox(SandboxConfig(account=DEV, more_accounts=(PROD, OTHER))) as running:
        use(running, monkeypatch)
        yield running


def shared(name: str, **spec: Any) -> dict[str, Any]:
    """A manifest of manifests/common, its source in the target's own bucket."""
    return manifest_doc(name, Source={"SourceUri": f"s3://${{vars.bucket}}/{name}.csv"}, **spec)


@pytest.fixture
def targets_repo(repo: Path) -> Path:
    (repo / "reconciler.yaml").write_text(CONFIG)
    write_manifests(repo / "manifests" / "common", shared("train-data"), shared("model"))
    write_manifests(repo / "manifests" / "dev", manifest_doc("dev-scratch"))
    write_manifests(repo / "manifests" / "prod", manifest_doc("prod-report"))
    return repo


def artifacts_in(sandbox: Sandbox, account: str) -> dict[str, str]:
    """Every artifact of one account in the region: SourceUri → ARN."""
    client = boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=REGION,
        aws_access_key_id=access_key_for(account),
        aws_secret_access_key="x",
    )
    summaries = client.list_artifacts(MaxResults=100)["ArtifactSummaries"]
    return {s["Source"]["SourceUri"]: s["ArtifactArn"] for s in summaries}


def lock(repo: Path, name: str) -> lockfile.Lockfile:
    return lockfile.load(repo / "locks" / f"{name}.lock.json")


# --- reconciler.yaml -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            "targets:\n  dev:\n    account: 123456789012\n",
            "reconciler.yaml:3:14: targets.dev.account must be a string, not a number; quote it: "
            'account: "123456789012"',
        ),
        (
            'targets:\n  dev:\n    account: "1234"\n',
            "reconciler.yaml:3:14: targets.dev.account: must be a 12-digit AWS account id, "
            "not '1234'",
        ),
        (
            'targets:\n  dev:\n    account: "123456789012"\n    region: Ireland\n',
            "reconciler.yaml:4:13: targets.dev.region: must be an AWS region such as eu-west-1, "
            "not 'Ireland'",
        ),
        (
            'targets:\n  dev:\n    account: "123456789012"\n    regoin: eu-west-1\n',
            "reconciler.yaml:4:5: unknown field 'regoin' in targets.dev (did you mean 'region'?)",
        ),
        (
            "manifests: manifests\ntargets:\n  dev: {}\n",
            "reconciler.yaml:1:12: manifests: with targets, each target names its own manifests "
            "and lockfile; move this into the targets",
        ),
        (
            "targets: {}\n",
            "reconciler.yaml:1:10: targets: declare at least one target, or remove 'targets'",
        ),
    ],
)
def test_config_errors_are_positioned(repo: Path, snippet: str, expected: str) -> None:
    (repo / "reconciler.yaml").write_text(snippet)
    run = reconciler("validate")
    assert run.code == 1
    assert expected in run.err.splitlines()


def target_config(**fields: str) -> str:
    base = {
        "account": f'"{DEV}"',
        "region": REGION,
        "lockfile": "dev.lock.json",
        "manifests": "[manifests]",
    }
    base.update(fields)
    return "targets:\n  dev:\n" + "".join(f"    {k}: {v}\n" for k, v in base.items())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": PROD_ROLE}, f"is in account {PROD}, not the target's account {DEV}"),
        ({"role": "reconciler-apply"}, "must be an IAM role ARN"),
        ({"role": f"arn:aws:iam::{DEV}:role/r", "profile": "dev"}, "give 'profile' or 'role'"),
        ({"audit_role": PROD_AUDIT_ROLE}, f"is in account {PROD}, not the target's account {DEV}"),
        ({"audit_role": "reconciler-audit"}, "targets.dev.audit_role: must be an IAM role ARN"),
        (
            {"audit_role": f"arn:aws:iam::{DEV}:role/r", "profile": "dev"},
            "give 'profile' or 'audit_role'",
        ),
        ({"manifests": "[]"}, "targets.dev.manifests"),
        ({"vars": "{'a b': x}"}, "variable name 'a b' must be letters"),
        ({"vars": "{n: 3}"}, "targets.dev.vars.n must be a string, not a number"),
    ],
)
def test_each_target_is_checked(repo: Path, fields: dict[str, str], message: str) -> None:
    (repo / "reconciler.yaml").write_text(target_config(**fields))
    run = reconciler("validate")
    assert run.code == 1
    assert re.search(r"^reconciler\.yaml:\d+:\d+: .*" + re.escape(message), run.err, re.M)


def test_targets_sharing_a_lockfile_or_badly_named_are_refused(repo: Path) -> None:
    body = target_config().split("\n", 2)[2]
    (repo / "reconciler.yaml").write_text(f"targets:\n  dev:\n{body}  prod:\n{body}")
    run = reconciler("validate")
    assert "targets 'dev' and 'prod' share the lockfile dev.lock.json" in run.err
    (repo / "reconciler.yaml").write_text(f"targets:\n  -dev:\n{body}")
    assert "target name '-dev' must be" in reconciler("validate").err


def test_target_selection_is_checked(targets_repo: Path) -> None:
    run = reconciler("plan", "--target", "staging")
    assert (run.code, run.err) == (
        1,
        "error: no target named 'staging' in reconciler.yaml; the targets are: dev, prod\n",
    )
    run = reconciler("plan", "--manifests", "manifests")
    assert run.code == 1
    assert "--manifests and --lockfile cannot be used" in run.err
    assert reconciler("plan", "--region", "us-east-1").code == 2  # a usage error


def test_without_targets_target_is_refused(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("one"))
    run = reconciler("plan", "--target", "dev")
    assert run.code == 1
    assert "--target needs targets declared in reconciler.yaml" in run.err


# --- variables -----------------------------------------------------------------------------------


def test_substitution_replaces_values_not_keys_and_leaves_the_input_alone() -> None:
    document: dict[str, Any] = {
        "spec": {
            "Properties": {"${vars.k}": "${vars.k}-$${vars.k}", "n": "${ target.name }"},
            "Tags": [{"Key": "where", "Value": "${target.account}/${target.region}"}],
            "count": 3,
        }
    }
    values = {"vars.k": "v", "target.name": "dev", "target.account": DEV, "target.region": "r"}
    out, problems = substitute(document, values)
    assert problems == []
    assert out["spec"]["Properties"] == {"${vars.k}": "v-${vars.k}", "n": "dev"}
    assert out["spec"]["Tags"] == [{"Key": "where", "Value": f"{DEV}/r"}]
    assert document["spec"]["Properties"]["n"] == "${ target.name }"
    untouched = {"spec": {"Properties": {"a": "$5 and $$"}}}
    assert substitute(untouched, values) == (untouched, [])
    assert substitute(untouched, values)[0] is untouched


def test_variables_are_substituted_per_target_before_validation(
    targets_repo: Path, accounts: Sandbox
) -> None:
    write_manifests(
        targets_repo / "manifests" / "common",
        shared("train-data", Properties={"stage": "${target.name}", "raw": "$${vars.bucket}"}),
        shared("model"),
    )
    run = reconciler("plan", "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert document["kind"] == "reconciler-target-plans"
    by_target = {t["target"]["name"]: t["plan"] for t in document["targets"]}
    created = {
        name: {c["name"]: c["after"] for c in plan["changes"]} for name, plan in by_target.items()
    }
    assert created["dev"]["train-data"]["Source"]["SourceUri"] == "s3://acme-dev/train-data.csv"
    assert created["prod"]["train-data"]["Source"]["SourceUri"] == "s3://acme-prod/train-data.csv"
    assert created["prod"]["train-data"]["Properties"] == {
        "raw": "${vars.bucket}",
        "stage": "prod",
    }
    assert set(created["dev"]) == {"train-data", "model", "dev-scratch"}
    assert set(created["prod"]) == {"train-data", "model", "prod-report"}


def test_a_value_too_long_after_substitution_is_an_error_of_that_target(
    targets_repo: Path,
) -> None:
    config = CONFIG.replace("{bucket: acme-prod}", "{bucket: acme-prod, suffix: " + "x" * 120 + "}")
    config = config.replace("{bucket: acme-dev}", "{bucket: acme-dev, suffix: ok}")
    (targets_repo / "reconciler.yaml").write_text(config)
    write_manifests(
        targets_repo / "manifests" / "common",
        shared("train-data", ArtifactName="train-${vars.suffix}"),
    )
    run = reconciler("validate")
    assert run.code == 1
    assert run.err.splitlines()[0].startswith(
        "manifests/common/artifacts.yaml:10:17: spec.ArtifactName is 126 characters long; "
    )
    assert run.err.splitlines()[0].endswith(" (target prod)")
    assert run.err.splitlines()[-1] == "error: 1 problem found in the manifests of target 'prod'"


def test_an_unknown_variable_is_positioned_and_says_which_targets(targets_repo: Path) -> None:
    write_manifests(
        targets_repo / "manifests" / "common",
        shared("train-data", Properties={"owner": "${vars.owner}", "n": "${target.nmae}"}),
    )
    write_manifests(
        targets_repo / "manifests" / "prod",
        manifest_doc("prod-report", Properties={"b": "${vars.bucket"}),
    )
    run = reconciler("validate", "--format", "github")
    assert run.code == 1
    assert run.err.splitlines() == [
        "manifests/common/artifacts.yaml:11:12: unknown variable ${vars.owner}; the target's vars "
        "are: bucket (every target)",
        "manifests/common/artifacts.yaml:12:8: unknown variable ${target.nmae} (did you mean "
        "${target.name}?) (every target)",
        "manifests/prod/artifacts.yaml:11:8: '${' is not closed by '}'; write ${vars.NAME}, or "
        "$${ for a literal ${ (target prod)",
        "error: 3 problems found in the manifests of 2 targets (dev, prod)",
    ]
    assert run.out.count("::error file=manifests/common/artifacts.yaml,line=11,col=12,") == 1


def test_without_targets_manifests_are_read_as_written(repo: Path) -> None:
    write_manifests(
        repo / "manifests", manifest_doc("one", Properties={"template": "${vars.bucket}"})
    )
    run = reconciler("plan", "--format", "json")
    assert run.code == 0, run.err
    change = json.loads(run.out)["changes"][0]
    assert change["after"]["Properties"] == {"template": "${vars.bucket}"}
    assert "kind" not in json.loads(run.out)


# --- validate, plan, audit per target ------------------------------------------------------------


def test_validate_reports_each_target(targets_repo: Path) -> None:
    run = reconciler("validate")
    assert (run.code, run.out) == (
        0,
        "dev: 3 artifacts in 2 files under manifests/common, manifests/dev are valid.\n"
        "prod: 3 artifacts in 2 files under manifests/common, manifests/prod are valid.\n",
    )
    assert reconciler("validate", "--target", "prod").out.startswith("prod: 3 artifacts")


def test_plan_has_a_section_per_target_and_exits_2_when_any_has_changes(
    targets_repo: Path, accounts: Sandbox
) -> None:
    assert apply("--target", "dev").code == 0
    run = reconciler("plan", "--detailed-exitcode")
    assert run.code == 2
    sections = run.out.split("== target ")
    assert sections[1].startswith(f"'dev' (account {DEV} in {REGION}) ==\nNo changes")
    assert sections[2].startswith(f"'prod' (account {PROD} in {REGION}) ==\n")
    assert "Plan: 3 to create" in sections[2]
    assert reconciler("plan", "--detailed-exitcode", "--target", "dev").code == 0


def test_the_markdown_plan_is_one_comment_with_a_section_per_target(
    targets_repo: Path, accounts: Sandbox
) -> None:
    assert apply("--target", "dev").code == 0
    run = reconciler("plan", "--format", "markdown")
    body = run.out
    assert body.startswith("#### reconciler plan: 2 targets\n\n**1 with changes, 1 without.**")
    prod = body.index(f"##### <code>prod</code> (account {PROD} in {REGION})")
    dev = body.index(f"<details><summary><code>dev</code> (account {DEV} in {REGION}): no changes")
    assert dev < prod  # in the order of reconciler.yaml
    assert "+ artifact prod-report" in body[prod:]


@pytest.mark.parametrize("budget", [1_000, 4_000, 20_000])
def test_the_markdown_plan_of_many_targets_fits_the_budget(repo: Path, budget: int) -> None:
    entries = "".join(
        f'  t{n:02d}:\n    account: "{DEV}"\n    region: {REGION}\n'
        f"    lockfile: locks/t{n:02d}.json\n    manifests: [manifests]\n"
        for n in range(40)
    )
    (repo / "reconciler.yaml").write_text("targets:\n" + entries)
    write_manifests(repo / "manifests", *[manifest_doc(f"artifact-{i:03d}") for i in range(60)])
    run = reconciler("plan", "--format", "markdown", "--max-length", str(budget))
    assert run.code == 0, run.err
    assert len(run.out) <= budget
    assert run.out.startswith("#### reconciler plan: 40 targets")
    assert run.out.count("```") % 2 == 0
    assert run.out.count("<details>") == run.out.count("</details>")


def test_audit_runs_per_target(targets_repo: Path, accounts: Sandbox) -> None:
    assert apply().code == 0
    run = reconciler("audit", "--live", "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert document["kind"] == "reconciler-target-audits" and document["clean"] is True
    assert [t["target"]["name"] for t in document["targets"]] == ["dev", "prod"]
    (targets_repo / "manifests" / "prod" / "artifacts.yaml").unlink()
    write_manifests(targets_repo / "manifests" / "prod", manifest_doc("prod-other"))
    run = reconciler("audit")
    assert run.code == 2
    assert "prod-report" in run.out.split("== target 'prod'")[1]


# --- apply ---------------------------------------------------------------------------------------


def test_apply_applies_every_target_in_its_own_account(
    targets_repo: Path, accounts: Sandbox
) -> None:
    run = apply()
    assert run.code == 0, run.err
    assert set(artifacts_in(accounts, DEV)) == {
        "s3://acme-dev/train-data.csv",
        "s3://acme-dev/model.csv",
        "s3://acme-ml/dev-scratch/data.csv",
    }
    assert set(artifacts_in(accounts, PROD)) == {
        "s3://acme-prod/train-data.csv",
        "s3://acme-prod/model.csv",
        "s3://acme-ml/prod-report/data.csv",
    }
    assert (
        lock(targets_repo, "dev").target.account,
        lock(targets_repo, "prod").target.account,
    ) == (
        DEV,
        PROD,
    )
    assert all(f":{PROD}:" in e.arn for e in lock(targets_repo, "prod").artifacts.values())
    assert reconciler("plan", "--detailed-exitcode").code == 0


def test_apply_target_applies_only_that_one(targets_repo: Path, accounts: Sandbox) -> None:
    assert apply("--target", "prod").code == 0
    assert artifacts_in(accounts, DEV) == {}
    assert len(artifacts_in(accounts, PROD)) == 3
    assert not (targets_repo / "locks" / "dev.lock.json").exists()


def test_credentials_of_another_account_are_refused_before_any_write(
    targets_repo: Path, accounts: Sandbox
) -> None:
    """prod without its role: the plain key reaches the dev account. dev is applied and
    recorded; prod is refused before its first write; nothing after it starts."""
    config = "targets:\n" + entry("dev", DEV) + entry("prod", PROD) + entry("later", DEV, own="dev")
    (targets_repo / "reconciler.yaml").write_text(config)
    run = apply("--format", "json")
    assert run.code == 1
    assert (
        f"error: target 'prod': target 'prod' (account {PROD} in {REGION}) is not what these "
        f"credentials reach (account {DEV} in {REGION})" in run.err
    )
    document = json.loads(run.out)
    assert [(t["target"]["name"], t["status"]) for t in document["targets"]] == [
        ("dev", "applied"),
        ("prod", "failed"),
        ("later", "not-started"),
    ]
    assert document["ok"] is False
    assert len(lock(targets_repo, "dev").artifacts) == 3
    assert artifacts_in(accounts, PROD) == {}
    assert len(artifacts_in(accounts, DEV)) == 3  # prod's manifests did not land in dev
    assert not (targets_repo / "locks" / "prod.lock.json").exists()
    (targets_repo / "apply.json").write_text(run.out)
    summary = reconciler("github", "apply-summary", "--file", "apply.json").out
    assert "**Failed before applying anything**" in summary
    assert "Not started: an earlier target failed." in summary


def test_a_failing_target_stops_the_ones_after_it_and_keeps_what_it_did(
    targets_repo: Path, accounts: Sandbox
) -> None:
    config = "targets:\n" + entry("prod", PROD, PROD_ROLE) + entry("dev", DEV)
    (targets_repo / "reconciler.yaml").write_text(config)
    # prod first: quota reached after one artifact, so its apply fails part way.
    accounts.services[PROD].artifact_quota = 1
    run = apply()
    assert run.code == 1
    assert "artifact quota is reached" in run.err
    assert "Stopped before 1 more target: dev." in run.err
    assert len(lock(targets_repo, "prod").artifacts) == 1  # what succeeded is recorded
    assert artifacts_in(accounts, DEV) == {}


def test_apply_json_and_its_job_summary(targets_repo: Path, accounts: Sandbox) -> None:
    run = apply("--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert document["kind"] == "reconciler-target-applies" and document["ok"] is True
    prod = document["targets"][1]
    assert prod["target"] == {
        "account": PROD,
        "lockfile": "locks/prod.lock.json",
        "name": "prod",
        "region": REGION,
    }
    assert prod["apply"]["summary"]["created"] == 3
    (targets_repo / "apply.json").write_text(run.out)
    summary = reconciler("github", "apply-summary", "--file", "apply.json")
    assert summary.out.startswith("#### reconciler apply: 2 targets\n\n##### <code>dev</code>")
    assert summary.out.count("**Applied:** 3 created") == 2


def test_a_saved_plan_is_one_targets(targets_repo: Path, accounts: Sandbox) -> None:
    run = reconciler("plan", "--out", "plan.json")
    assert run.code == 2
    assert "--out saves one target's plan, and 2 targets are chosen (dev, prod)" in run.err
    run = reconciler("plan", "--target", "prod", "--out", "plan.json")
    assert run.code == 0
    assert "reconciler apply plan.json --target prod" in run.err
    assert reconciler("apply", "plan.json").code == 2  # which target is a usage error
    another = reconciler("apply", "plan.json", "--target", "dev")
    assert another.code == 1
    assert "was made for target 'prod'" in another.err
    applied = reconciler("apply", "plan.json", "--target", "prod")
    assert applied.code == 0, applied.err
    assert len(artifacts_in(accounts, PROD)) == 3


def test_import_and_forget_take_a_target(targets_repo: Path, accounts: Sandbox) -> None:
    assert apply("--target", "prod").code == 0
    run = reconciler("forget", "model")
    assert run.code == 2 and "--target NAME" in run.err
    assert reconciler("forget", "model", "--target", "prod").code == 0
    assert "model" not in lock(targets_repo, "prod").artifacts
    run = reconciler("import", "--all", "--target", "prod")
    assert run.code == 0, run.err
    assert "model" in lock(targets_repo, "prod").artifacts


# --- reconciler targets --------------------------------------------------------------------------


def test_targets_lists_them_and_makes_the_github_matrix(targets_repo: Path) -> None:
    run = reconciler("targets", "--format", "github-matrix")
    assert run.code == 0
    matrix = json.loads(run.out)
    assert matrix == {
        "include": [
            {
                "account": DEV,
                "audit_role": "",
                "lockfile": "locks/dev.lock.json",
                "region": REGION,
                "role": "",
                "target": "dev",
            },
            {
                "account": PROD,
                "audit_role": "",
                "lockfile": "locks/prod.lock.json",
                "region": REGION,
                "role": PROD_ROLE,
                "target": "prod",
            },
        ]
    }
    assert run.out.count("\n") == 1
    assert reconciler("targets").out == (
        f"target 'dev' (account {DEV} in {REGION}): lockfile locks/dev.lock.json\n"
        f"target 'prod' (account {PROD} in {REGION}): lockfile locks/prod.lock.json\n"
    )


def test_without_targets_the_matrix_has_the_one_implicit_target(repo: Path) -> None:
    matrix = json.loads(reconciler("targets", "--format", "github-matrix").out)
    assert matrix == {
        "include": [
            {
                "account": "",
                "audit_role": "",
                "lockfile": "artifacts.lock.json",
                "region": "",
                "role": "",
                "target": "",
            }
        ]
    }


# --- the apply workflow --------------------------------------------------------------------------

ROOT = Path(__file__).parent.parent


def workflow_job(name: str) -> dict[str, Any]:
    workflow = YAML(typ="safe").load((ROOT / ".github/workflows/apply.yml").read_text())
    job: dict[str, Any] = workflow["jobs"][name]
    return job


def test_the_apply_workflow_runs_one_job_per_target_with_its_own_role() -> None:
    listing = workflow_job("targets")["steps"][-1]
    assert "reconciler targets --format github-matrix" in listing["run"]
    apply_job = workflow_job("apply")
    assert apply_job["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    assert apply_job["strategy"]["fail-fast"] is False
    credentials = next(
        s for s in apply_job["steps"] if "configure-aws-credentials" in s.get("uses", "")
    )
    assert credentials["with"]["role-to-assume"].startswith("${{ matrix.role || ")
    assert credentials["with"]["aws-region"].startswith("${{ matrix.region || ")


def test_the_audit_workflow_audits_each_target_with_its_read_only_role(tmp_path: Path) -> None:
    workflow = YAML(typ="safe").load((ROOT / ".github/workflows/audit.yml").read_text())
    assert (
        "reconciler targets --format github-matrix"
        in workflow["jobs"]["targets"]["steps"][-1]["run"]
    )
    job = workflow["jobs"]["audit"]
    assert job["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.targets.outputs.matrix) }}",
    }
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == (
        "${{ matrix.audit_role || vars.RECONCILER_AUDIT_ROLE_ARN }}"
    )
    log = tmp_path / "calls"
    stand_in = tmp_path / "bin" / "reconciler"
    stand_in.parent.mkdir()
    stand_in.write_text(f'#!/bin/sh\necho "$*" >> {log}\necho "# drift"\nexit 2\n')
    stand_in.chmod(0o755)
    step = next(s for s in job["steps"] if s.get("name") == "Audit against the live account")
    for target in ("prod", ""):
        env = {
            "PATH": f"{stand_in.parent}:/usr/bin:/bin",
            "TARGET": target,
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        }
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2  # drift fails the job
        assert done.stdout.startswith("::error title=reconciler audit::")
    assert log.read_text().splitlines() == [
        "audit --live --target prod --format markdown --max-length 1000000",
        "audit --live --format markdown --max-length 1000000",
    ]
    assert (tmp_path / "summary").read_text() == "# drift\n# drift\n"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "prod",
            [
                "apply --target prod --auto-approve --format json",
                "github commit-lockfile --target prod --branch main",
            ],
        ),
        (
            "",
            [
                "apply --auto-approve --format json",
                "github commit-lockfile --branch main",
            ],
        ),
    ],
)
def test_each_apply_job_applies_and_commits_its_own_target(
    tmp_path: Path, target: str, expected: list[str]
) -> None:
    """The job's shell steps, run with a stand-in `reconciler` that records its arguments."""
    log = tmp_path / "calls"
    stand_in = tmp_path / "bin" / "reconciler"
    stand_in.parent.mkdir()
    stand_in.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    stand_in.chmod(0o755)
    steps = {s.get("name"): s for s in workflow_job("apply")["steps"]}
    env = {
        "PATH": f"{stand_in.parent}:/usr/bin:/bin",
        "TARGET": target,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    for name in ("Apply", "Commit the lockfile"):
        done = subprocess.run(
            ["bash", "-e", "-c", steps[name]["run"]], env=env, capture_output=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == expected


def test_matrix_jobs_each_commit_their_own_lockfile_rebasing_over_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def git(*args: str, cwd: Path) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    remote = tmp_path / "remote.git"
    git("init", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    start = tmp_path / "start"
    git("clone", str(remote), str(start), cwd=tmp_path)
    (start / "reconciler.yaml").write_text(CONFIG)
    (start / "locks").mkdir()
    for name in ("dev", "prod"):
        (start / "locks" / f"{name}.lock.json").write_text("{}\n")
    git("add", ".", cwd=start)
    git(
        "-c",
        "user.name=Dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "-m",
        "start",
        cwd=start,
    )
    git("push", "origin", "HEAD:main", cwd=start)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    jobs = {name: tmp_path / name for name in ("dev", "prod")}
    for clone in jobs.values():  # both jobs check out main before either commits
        git("clone", str(remote), str(clone), cwd=tmp_path)
    for name, clone in jobs.items():
        (clone / "locks" / f"{name}.lock.json").write_text(f'{{"applied": "{name}"}}\n')
        monkeypatch.chdir(clone)
        run = reconciler("github", "commit-lockfile", "--target", name, "--message", name)
        assert run.code == 0, run.err
        assert run.out.startswith(f"Pushed locks/{name}.lock.json to main in ")
    assert git("log", "--format=%s", "main", cwd=remote).splitlines() == ["prod", "dev", "start"]
    for name in ("dev", "prod"):
        assert git("show", "--name-only", "--format=", f"main~{name == 'dev':d}", cwd=remote) == (
            f"locks/{name}.lock.json"
        )
        shown = git("show", f"main:locks/{name}.lock.json", cwd=remote)
        assert shown == f'{{"applied": "{name}"}}'


def test_an_alias_bomb_in_a_targets_manifest_is_reported_not_expanded(targets_repo: Path) -> None:
    levels = ['a: &a ["${vars.bucket}","${vars.bucket}","${vars.bucket}","${vars.bucket}"]']
    levels += [
        f"{name}: &{name} [{','.join(['*' + previous] * 10)}]"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    (targets_repo / "manifests" / "dev" / "bomb.yaml").write_text("\n".join(levels) + "\n")
    run = reconciler("validate", "--target", "dev")
    assert run.code == 1
    assert "YAML aliases expand this document beyond 10,000 values" in run.err
    assert run.err.splitlines()[0].endswith("(target dev)")


def hold_role(accounts: Sandbox, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials of `role` in the environment, as a job that assumed it through OIDC has."""
    sts = boto3.client(
        "sts",
        endpoint_url=accounts.url,
        region_name=REGION,
        aws_access_key_id="AKIDSANDBOX",
        aws_secret_access_key="x",
    )
    held = sts.assume_role(RoleArn=role, RoleSessionName="github-actions")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", held["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", held["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", held["SessionToken"])


def test_a_read_only_run_uses_the_targets_audit_role_not_its_apply_role(
    targets_repo: Path, accounts: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit workflow's job holds the audit role: audit and plan --refresh keep it, rather
    than assuming the apply role (which can write) from it."""
    assert apply().code == 0
    with_audit_role = CONFIG.replace(
        f"    role: {PROD_ROLE}\n", f"    role: {PROD_ROLE}\n    audit_role: {PROD_AUDIT_ROLE}\n"
    )
    assert with_audit_role != CONFIG
    (targets_repo / "reconciler.yaml").write_text(with_audit_role)
    matrix = json.loads(reconciler("targets", "--format", "github-matrix").out)
    assert [entry["audit_role"] for entry in matrix["include"]] == ["", PROD_AUDIT_ROLE]
    hold_role(accounts, PROD_AUDIT_ROLE, monkeypatch)
    accounts.reset_counters()
    run = reconciler("audit", "--live", "--target", "prod")
    assert run.code == 0, run.err
    run = reconciler("plan", "--refresh", "--target", "prod")
    assert run.code == 0, run.err
    assert accounts.counters().get("sts:AssumeRole", 0) == 0
    # Writing still takes the apply role, assumed from the audit role's credentials.
    write_manifests(targets_repo / "manifests" / "prod", manifest_doc("prod-new"))
    assert apply("--target", "prod").code == 0
    assert accounts.counters().get("sts:AssumeRole", 0) == 1


def test_a_job_already_holding_the_role_does_not_assume_it_again(
    targets_repo: Path, accounts: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a matrix job that assumed the target's role through OIDC."""
    hold_role(accounts, PROD_ROLE, monkeypatch)
    accounts.reset_counters()
    run = apply("--target", "prod")
    assert run.code == 0, run.err
    assert accounts.counters().get("sts:AssumeRole", 0) == 0
    assert len(artifacts_in(accounts, PROD)) == 3


@pytest.mark.parametrize(
    "listing",
    [
        '{"targets": [{"lockfile": "artifacts.lock.json", "target": ""}]}',
        '{"targets": [{"lockfile": "locks/dev.lock.json", "target": "dev"}, '
        '{"lockfile": "locks/prod.lock.json", "target": "prod"}]}',
    ],
)
def test_the_plan_workflow_compares_every_target_with_the_base_branch(
    tmp_path: Path, listing: str
) -> None:
    log = tmp_path / "calls"
    stand_in = tmp_path / "bin" / "reconciler"
    stand_in.parent.mkdir()
    stand_in.write_text(
        f"#!/bin/sh\nif [ \"$1\" = targets ]; then echo '{listing}'; exit 0; fi\n"
        f'echo "$*" >> {log}\n'
    )
    stand_in.chmod(0o755)
    workflow = YAML(typ="safe").load((ROOT / ".github/workflows/plan.yml").read_text())
    step = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("name") == "Plan")
    env = {
        "PATH": f"{stand_in.parent}:/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 2
    assert all(call.startswith("plan --base-ref refs/reconciler/base ") for call in calls)
