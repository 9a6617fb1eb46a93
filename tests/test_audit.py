from __future__ import annotations

from reconciler.audit import FindingKind, audit_offline
from reconciler.lockfile import Entry
from tests.helpers import arn_for, recorded
from tests.test_plan import spec


def test_clean_when_the_lockfile_matches() -> None:
    report = audit_offline({"Artifact": {"a": spec()}}, recorded({"a": spec()}))
    assert report.clean
    assert report.checked == 1
    assert set(report.summary().values()) == {0}


def test_every_kind_of_finding() -> None:
    lock = recorded(
        {"changed": spec("changed"), "gone": spec("gone"), "replaced": spec("replaced")}
    )
    lock.artifacts["elsewhere"] = Entry(arn_for("elsewhere", region="us-east-1"), spec("elsewhere"))
    lock.malformed["broken"] = ("arn: Field required", {"spec": {}})
    desired = {
        "changed": spec("changed", Properties={"stage": "processed", "rows": "10"}),
        "replaced": spec("replaced", ArtifactType="Model"),
        "new": spec("new"),
        "elsewhere": spec("elsewhere"),
        "broken": spec("broken"),
    }
    report = audit_offline({"Artifact": desired}, lock)
    found = {(f.name, f.kind) for f in report.findings}
    assert found == {
        ("broken", FindingKind.MALFORMED),
        ("changed", FindingKind.DIFFERS),
        ("elsewhere", FindingKind.FOREIGN),
        ("gone", FindingKind.NOT_DECLARED),
        ("new", FindingKind.NOT_APPLIED),
        ("replaced", FindingKind.DIFFERS),
    }
    by_name = {f.name: f for f in report.findings}
    assert by_name["changed"].detail == "apply would update it"
    assert [f.path for f in by_name["changed"].fields] == ["Properties.stage"]
    assert (
        by_name["replaced"].detail == "apply would replace it (ArtifactType cannot change in place)"
    )
    assert "region us-east-1" in by_name["elsewhere"].detail
    assert report.checked == 6
    assert report.summary()["differs"] == 2
