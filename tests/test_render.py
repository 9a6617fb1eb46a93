from __future__ import annotations

import json
import re

import pytest

from reconciler.audit import AuditReport, Finding, FindingKind, audit_offline
from reconciler.errors import Diagnostic, Location
from reconciler.lockfile import Lockfile
from reconciler.plan import Plan, compute_plan
from reconciler.render import jsondoc, markdown, text
from reconciler.render.annotations import error_annotation, escape_data, escape_property
from tests.helpers import recorded
from tests.test_plan import spec


def mixed_plan() -> Plan:
    lock = recorded({"u": spec("u"), "r": spec("r"), "d": spec("d"), "same": spec("same")})
    desired = {
        "u": spec("u", Properties={"stage": "processed", "rows": "10"}),
        "r": spec("r", Source={"SourceUri": "s3://acme/moved"}),
        "c": spec("c"),
        "same": spec("same"),
    }
    return compute_plan(desired, lock, prune=True)


def test_text_shows_symbols_fields_and_a_summary() -> None:
    output = text.render_plan(mixed_plan())
    assert "-/+ artifact r  (replace: Source cannot change in place)" in output
    assert '      ~ Source.SourceUri: "s3://acme/r" → "s3://acme/moved"' in output
    assert "  + artifact c  (create)" in output
    assert '      ~ Properties.stage: "raw" → "processed"' in output
    assert "  - artifact d  (delete)" in output
    assert output.rstrip().endswith(
        "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete; 1 unchanged."
    )
    assert "\x1b[" not in output


def test_text_colours_only_when_asked() -> None:
    assert "\x1b[" in text.render_plan(mixed_plan(), color=True)


def test_no_changes_is_one_line() -> None:
    plan = compute_plan({"a": spec()}, recorded({"a": spec()}))
    assert (
        text.render_plan(plan) == "No changes: the lockfile matches the manifests (1 artifact).\n"
    )
    assert markdown.render_plan(plan).count("\n") == 1


def test_json_plan_is_versioned_and_complete() -> None:
    document = json.loads(jsondoc.render_plan(mixed_plan()))
    assert document["format_version"] == "1.0"
    assert document["summary"] == {
        "create": 1,
        "update": 1,
        "replace": 1,
        "delete": 1,
        "orphan": 0,
        "unchanged": 1,
    }
    update = next(c for c in document["changes"] if c["action"] == "update")
    assert update["name"] == "u"
    assert update["fields"] == [{"path": "Properties.stage", "before": "raw", "after": "processed"}]
    assert [c["action"] for c in document["changes"]] == ["replace", "delete", "create", "update"]
    replace = document["changes"][0]
    assert replace["replace_because"] == ["Source"]


def test_markdown_has_summary_first_and_collapsible_sections() -> None:
    output = markdown.render_plan(mixed_plan())
    assert output.index("Plan: 1 to create") < output.index("<details>")
    assert output.count("<details>") == output.count("</details>") == 4
    assert output.count("```diff") == 4


def _balanced(output: str) -> None:
    assert output.count("<details>") == output.count("</details>")
    fences = re.findall(r"^(`{3,})", output, flags=re.MULTILINE)
    assert len(fences) % 2 == 0


@pytest.mark.parametrize("count", [600, 6_000])
def test_markdown_stays_under_the_comment_limit_without_breaking_blocks(count: int) -> None:
    desired = {f"artifact-{i:05d}": spec(f"artifact-{i:05d}") for i in range(count)}
    lock = recorded(
        {name: spec(name, Properties={"x": "y" * 50}) for name in list(desired)[: count // 2]}
    )
    output = markdown.render_plan(compute_plan(desired, lock))
    assert len(output) <= markdown.DEFAULT_BUDGET < markdown.GITHUB_COMMENT_LIMIT
    _balanced(output)
    assert f"Plan: {count - count // 2} to create, {count // 2} to update" in output


def test_a_huge_plan_lists_names_then_says_how_many_are_left_out() -> None:
    desired = {f"artifact-with-a-long-name-{i:05d}": spec(f"a{i}") for i in range(6_000)}
    output = markdown.render_plan(compute_plan(desired, Lockfile()), budget=20_000)
    assert len(output) <= 20_000
    assert re.search(r"… and \d+ more", output)
    assert "reconciler plan --format json" in output
    _balanced(output)


def test_backticks_in_values_cannot_close_the_fence() -> None:
    desired = {"a": spec(Properties={"note": "```", "rows": "10", "stage": "raw"})}
    output = markdown.render_plan(compute_plan(desired, recorded({"a": spec()})))
    assert "````diff" in output
    _balanced(output)


def test_audit_renders_in_every_format() -> None:
    report = audit_offline({"Artifact": {"new": spec("new")}}, recorded({"old": spec("old")}))
    assert "! new: declared but not applied" in text.render_audit(report)
    assert "applied but no longer declared" in markdown.render_audit(report)
    document = json.loads(jsondoc.render_audit(report))
    assert document["clean"] is False
    assert {f["kind"] for f in document["findings"]} == {"not-applied", "not-declared"}


def test_annotation_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("dir,with:odd%name") == "dir%2Cwith%3Aodd%25name"
    # A line break in a message can only come from user text: it is shown (\n), not obeyed.
    line = error_annotation(Diagnostic(Location("m/a,b:c.yaml", 3, 7), "bad: 100%\nreally"))
    assert (
        line
        == "::error file=m/a%2Cb%3Ac.yaml,line=3,col=7,title=reconciler validate::bad: 100%25\\nreally"
    )


def _names_accounted_for(output: str) -> dict[str, int]:
    """Per section title: the names listed plus those an '… and N more' counts."""
    accounted: dict[str, int] = {}
    for title, body in re.findall(r"<summary><b>(.*?)</b>.*?```+diff\n(.*?)\n```", output, re.S):
        lines = body.splitlines()
        more = re.fullmatch(r"… and (\d+) more", lines[-1]) if lines else None
        accounted[title] = len(lines) - 1 + int(more.group(1)) if more else len(lines)
    return accounted


def test_an_audit_over_the_limit_names_the_audit_and_counts_every_section() -> None:
    long = "x" * 120
    findings = [Finding(f"artifact-{i:03d}", FindingKind.NOT_APPLIED) for i in range(200)]
    findings += [Finding(f"{long}-{i}", FindingKind.MALFORMED, "a name " + long) for i in range(2)]
    report = AuditReport(findings=tuple(findings), checked=202)
    output = markdown.render_audit(report, budget=1000)
    assert len(output) <= 1000
    assert "_The audit is too long for one comment" in output
    assert "`reconciler audit --format json`" in output
    assert "plan" not in output
    assert _names_accounted_for(output) == {
        "! declared but not applied": 200,
        "! the lockfile entry cannot be read": 2,
    }
    _balanced(output)


def test_a_plan_over_the_limit_counts_every_section() -> None:
    names = [f"artifact-with-a-rather-long-name-{i:04d}" for i in range(300)]
    lock = recorded({name: spec(name) for name in names[:200]})
    desired = {name: spec(name) for name in names[100:]}
    output = markdown.render_plan(compute_plan(desired, lock, prune=True), budget=1000)
    assert len(output) <= 1000
    assert "`reconciler plan --format json`" in output
    assert _names_accounted_for(output) == {"+ create": 100, "- delete": 100}
    _balanced(output)
