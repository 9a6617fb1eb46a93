"""Plans and audits of several targets (reconciler.yaml `targets`): one section per target.

Target names, accounts and regions are checked against narrow patterns when reconciler.yaml is
read (targets.py), so they need no escaping here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.audit import AuditReport
from reconciler.drawing import Drawing
from reconciler.lockfile import Lockfile
from reconciler.outcomes import ApplyResult
from reconciler.plan import Plan
from reconciler.render import jsondoc, markdown, text
from reconciler.targets import ACCOUNT, NAME, REGION, TargetContext

R = TypeVar("R")
Rendered = list[tuple[TargetContext, R]]

#: The JSON documents of several targets carry this in `kind`.
PLAN_KIND = "reconciler-target-plans"
AUDIT_KIND = "reconciler-target-audits"
APPLY_KIND = "reconciler-target-applies"


def _about(target: TargetContext) -> dict[str, Any]:
    return {
        "name": target.name,
        "account": target.account,
        "region": target.region,
        "lockfile": target.lockfile.as_posix(),
    }


# --- JSON ----------------------------------------------------------------------------------------


def plans_document(plans: Rendered[Plan]) -> jsondoc.Streamed:
    """{"format_version", "kind", "has_changes", "targets": [{"target": {...}, "plan": {...}}]}:
    each plan exactly as a single target's `plan --format json` prints it (made only as it is
    written)."""
    changes = any(plan.has_changes for _, plan in plans)
    return _targets_document(
        PLAN_KIND, ("has_changes", changes), "plan", plans, jsondoc.plan_document
    )


def audits_document(reports: Rendered[AuditReport]) -> jsondoc.Streamed:
    clean = all(report.clean for _, report in reports)
    return _targets_document(AUDIT_KIND, ("clean", clean), "audit", reports, jsondoc.audit_document)


def _targets_document(
    kind: str,
    overall: tuple[str, bool],
    member: str,
    items: Rendered[R],
    document: Callable[[R], jsondoc.Streamed],
) -> jsondoc.Streamed:
    def entry(item: tuple[TargetContext, R]) -> jsondoc.Streamed:
        target, value = item
        return jsondoc.Streamed({"target": _about(target), member: document(value)})

    return jsondoc.Streamed(
        {
            "format_version": jsondoc.FORMAT_VERSION,
            "kind": kind,
            overall[0]: overall[1],
            "targets": jsondoc.Lazy(items, entry),
        }
    )


def plans_json_pieces(plans: Rendered[Plan]) -> Iterator[str]:
    """The plans' JSON document, in pieces to be written one after another (jsondoc.pieces)."""
    return jsondoc.pieces(plans_document(plans))


def audits_json_pieces(reports: Rendered[AuditReport]) -> Iterator[str]:
    return jsondoc.pieces(audits_document(reports))


# --- text ----------------------------------------------------------------------------------------


def _text(items: Rendered[R], render: Callable[..., str], color: bool) -> str:
    return "\n".join(f"== {target} ==\n{render(value, color=color)}" for target, value in items)


def render_plans_text(plans: Rendered[Plan], *, color: bool = False) -> str:
    return _text(plans, text.render_plan, color)


def render_audits_text(reports: Rendered[AuditReport], *, color: bool = False) -> str:
    return _text(reports, text.render_audit, color)


# --- markdown: one comment for the whole pull request --------------------------------------------


def _title(target: TargetContext) -> str:
    return f"<code>{target.name}</code> (account {target.account} in {target.region})"


def render_plans_markdown(
    plans: Rendered[Plan],
    *,
    budget: int = markdown.DEFAULT_BUDGET,
    drawings: Mapping[str, Drawing] | None = None,
) -> str:
    """Every target's plan; with `drawings` (by target name), each with the graph of what it
    changes."""
    changed = sum(1 for _, plan in plans if plan.has_changes)
    head = (
        f"#### reconciler plan: {len(plans)} targets\n\n"
        f"**{changed} with changes, {len(plans) - changed} without.**\n\n"
    )
    lines = [
        f"- {_title(t)}: {text.plan_summary_line(p) if p.changes else 'no changes.'}"
        + (" The lockfile differs from the base lockfile." if p.lockfile_notes else "")
        for t, p in plans
    ]
    return _sections(
        head,
        lines,
        [
            (t, bool(p.changes or p.lockfile_notes), (p, (drawings or {}).get(t.name)))
            for t, p in plans
        ],
        _render_plan,
        "no changes",
        budget,
    )


def _render_plan(value: tuple[Plan, Drawing | None], *, budget: int) -> str:
    plan, drawing = value
    return markdown.render_plan(plan, budget=budget, drawing=drawing)


def render_audits_markdown(
    reports: Rendered[AuditReport], *, budget: int = markdown.DEFAULT_BUDGET
) -> str:
    dirty = sum(1 for _, report in reports if not report.clean)
    head = (
        f"#### reconciler audit: {len(reports)} targets\n\n"
        f"**{dirty} with findings, {len(reports) - dirty} clean.**\n\n"
    )
    lines = [
        f"- {_title(t)}: {f'{len(r.problems)} findings.' if not r.clean else 'clean.'}"
        for t, r in reports
    ]
    return _sections(
        head,
        lines,
        [(t, not r.clean, r) for t, r in reports],
        markdown.render_audit,
        "clean",
        budget,
    )


def _sections(
    head: str,
    summary_lines: list[str],
    items: list[tuple[TargetContext, bool, Any]],
    render: Callable[..., str],
    quiet: str,
    budget: int,
) -> str:
    """The head, a one-line summary per target, then a section per target: open for those with
    something to show (each given a share of what is left of `budget`), collapsed for the
    rest. Whatever happens, the result fits in `budget`."""
    summary = head + "\n".join(summary_lines) + "\n\n"
    if len(summary) > budget:
        return _shortened(head, summary_lines, budget)
    quiet_sections = {
        t.name: f"<details><summary>{_title(t)}: {quiet}</summary>\n\n"
        f"{render(value, budget=budget).strip()}\n\n</details>\n\n"
        for t, loud, value in items
        if not loud
    }
    if len(summary) + sum(len(q) for q in quiet_sections.values()) > budget:
        quiet_sections = {}
    loud = [(t, value) for t, is_loud, value in items if is_loud]
    headings = {t.name: f"##### {_title(t)}\n\n" for t, _ in loud}
    used = len(summary) + sum(map(len, quiet_sections.values())) + sum(map(len, headings.values()))
    bodies = _share(loud, render, budget - used)
    if bodies is None:
        return summary + "".join(quiet_sections.values())
    pairs = zip(loud, bodies, strict=True)
    loud_sections = {t.name: headings[t.name] + body for (t, _), body in pairs}
    return summary + "".join(
        loud_sections.get(t.name) or quiet_sections.get(t.name, "") for t, _, _ in items
    )


def _share(loud: list[tuple[TargetContext, Any]], render: Callable[..., str], room: int) -> Any:
    """Each loud target's rendering, the room shared out (the short ones take what they need,
    the rest split what is left); None when even the most summarised renderings do not fit."""
    full = [_without_heading(render(value, budget=room)) for _, value in loud]
    if sum(len(b) for b in full) <= room:
        return full
    order = sorted(range(len(loud)), key=lambda i: len(full[i]))
    bodies = list(full)
    left, remaining = room, len(loud)
    for index in order:
        share = left // remaining
        if len(full[index]) > share:
            bodies[index] = _without_heading(render(loud[index][1], budget=max(share, 1_000)))
        left -= len(bodies[index])
        remaining -= 1
    return bodies if sum(len(b) for b in bodies) <= room else None


def _without_heading(rendered: str) -> str:
    for heading in ("#### reconciler plan\n\n", "#### reconciler audit\n\n"):
        rendered = rendered.removeprefix(heading)
    return rendered


def _shortened(head: str, lines: list[str], budget: int) -> str:
    """Too many targets for even one line each: as many lines as fit, and how many are not."""
    out = head
    for shown, line in enumerate(lines):
        rest = f"\n… and {len(lines) - shown} more targets; see the job summary.\n"
        if len(out) + len(line) + 1 + len(rest) > budget:
            return out + rest
        out += line + "\n"
    return out


# --- apply ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetApply:
    """What apply did in one target: its result and lockfile, or the error that stopped it
    before anything ran."""

    target: TargetContext
    result: ApplyResult | None
    lockfile: Lockfile | None
    error: str | None = None
    #: Declined at the prompt: nothing was done in it.
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and (self.result is None or self.result.ok)


def applies_document(runs: list[TargetApply], not_started: list[TargetContext]) -> dict[str, Any]:
    """{"format_version", "kind", "ok", "targets": [{"target", "status", "apply", "error"}]}:
    status is "applied", "failed", "skipped" (declined at the prompt) or "not-started"; `apply`
    is what a single target's `apply --format json` prints (null when nothing was applied)."""
    entries = [
        {
            "target": _about(run.target),
            "status": "skipped" if run.skipped else "applied" if run.ok else "failed",
            "apply": None
            if run.result is None
            else jsondoc.apply_document(run.result, run.lockfile),
            "error": run.error,
        }
        for run in runs
    ]
    entries += [
        {"target": _about(t), "status": "not-started", "apply": None, "error": None}
        for t in not_started
    ]
    return {
        "format_version": jsondoc.FORMAT_VERSION,
        "kind": APPLY_KIND,
        "ok": not not_started and all(run.ok for run in runs),
        "targets": entries,
    }


def render_applies_markdown(
    document: dict[str, Any], *, budget: int = markdown.DEFAULT_BUDGET
) -> str:
    """The job summary of an apply of several targets, from its JSON document (read back from a
    file: every value is checked before it is shown)."""
    entries = [e for e in document.get("targets") or [] if isinstance(e, dict)]
    head = f"#### reconciler apply: {len(entries)} targets\n\n"
    share = max(1_000, (budget - len(head)) // max(1, len(entries)) - 200)
    parts = [head]
    for entry in entries:
        given = entry.get("target")
        about: dict[str, Any] = given if isinstance(given, dict) else {}
        name = _shown(about.get("name"), NAME)
        account, region = _shown(about.get("account"), ACCOUNT), _shown(about.get("region"), REGION)
        where = f"account {account} in {region}"
        status = entry.get("status")
        parts.append(f"##### <code>{name}</code> ({where})\n\n")
        if status == "not-started":
            parts.append("Not started: an earlier target failed.\n\n")
        elif status == "skipped":
            parts.append("Skipped: declined at the prompt.\n\n")
        elif isinstance(entry.get("apply"), dict):
            parts.append(
                _without_apply_heading(markdown.render_apply(entry["apply"], budget=share))
            )
            parts.append("\n")
        else:
            parts.append("**Failed before applying anything**; see the step's log.\n\n")
    out = "".join(parts)
    return (
        out
        if len(out) <= budget
        else out[: budget - 80].rsplit("\n##### ", 1)[0]
        + ("\n\n_Too long for one summary; see the step's log._\n")
    )


def _shown(value: Any, pattern: Any) -> str:
    return value if isinstance(value, str) and pattern.fullmatch(value) else "?"


def _without_apply_heading(rendered: str) -> str:
    return rendered.removeprefix("#### reconciler apply\n\n")
