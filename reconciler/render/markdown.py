"""Plans and audits as GitHub-flavoured markdown, for pull-request comments and job summaries.

A comment may hold at most 65,536 characters. A plan that would be longer is summarised, first by
dropping field details and then by listing fewer names, and never cut inside a code fence or a
<details> block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.audit import FINDING_TEXT, INFORMATIONAL, AuditReport, Finding, FindingKind
from reconciler.drawing import Drawing
from reconciler.outcomes import SUMMARY_KEYS
from reconciler.plan import ACTION_ORDER, SYMBOLS, Action, Change, Plan
from reconciler.render import kept_lines, mermaid, shown_fields, subject
from reconciler.render.text import (
    LOCKFILE_NOTES_TITLE,
    audit_count,
    checked_text,
    field_line,
    finding_label,
    live_line,
    plan_summary_line,
    replace_reason,
    unchanged_text,
)
from reconciler.textsafe import visible
from reconciler.words import counted

GITHUB_COMMENT_LIMIT = 65_536
#: What a rendering may use, leaving room for a marker and a footer added around it.
DEFAULT_BUDGET = 60_000

_ACTION_TITLE = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.REPLACE: "replace (delete, then create)",
    Action.DELETE: "delete",
    Action.ORPHAN: "orphaned (no longer declared, left alone)",
}


def render_plan(plan: Plan, *, budget: int = DEFAULT_BUDGET, drawing: Drawing | None = None) -> str:
    """The plan; with `drawing` (drawing.from_plan) that has an edge, a Mermaid flowchart of what
    changes first, given at most a third of `budget`."""
    warning = _lockfile_warning(plan, budget // 3)
    if not plan.changes:
        return warning + (
            f"**No changes.** The lockfile matches the manifests ({unchanged_text(plan)}).\n"
        )
    head = f"#### reconciler plan\n\n{warning}**{plan_summary_line(plan)}**\n\n"
    if drawing is not None and drawing.links:
        head += graph_section(drawing, budget // 3)
    groups = [(action, [c for c in plan.changes if c.action is action]) for action in ACTION_ORDER]
    groups = [(action, changes) for action, changes in groups if changes]
    sections = [
        (_summary_title(SYMBOLS[a], _ACTION_TITLE[a], len(cs)), [_change_block(c) for c in cs])
        for a, cs in groups
    ]
    return _fit(head, sections, budget, _PLAN)


def render_audit(report: AuditReport, *, budget: int = DEFAULT_BUDGET) -> str:
    sections = []
    for kind in FindingKind:
        findings = [f for f in report.findings if f.kind is kind]
        if findings:
            symbol = "i" if kind in INFORMATIONAL else "!"
            title = _summary_title(symbol, FINDING_TEXT[kind], len(findings))
            sections.append((title, [_finding_block(f) for f in findings]))
    if report.clean:
        head = f"**Audit clean.** {checked_text(report)}, nothing to report.\n" + live_line(report)
        return head if not sections else _fit(head + "\n", sections, budget, _AUDIT)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.summary().items() if n)
    head = (
        f"#### reconciler audit\n\n**{audit_count(report)}** ({counts}).\n\n{live_line(report)}\n"
    )
    return _fit(head, sections, budget, _AUDIT)


GRAPH_LEGEND = (
    "_+ create, ~ update, -/+ replace, - delete, ! orphaned (left alone); faded: unchanged. "
    "Rectangle: artifact, hexagon: context, stadium: action, subroutine: trial component, "
    "circle: experiment, parallelogram: an entity reconciler does not manage. "
    "Edges are labelled with their association type._"
)
_GRAPH_TOO_LARGE = "_The graph of this plan is too large to draw here._\n\n"


def graph_section(drawing: Drawing, room: int) -> str:
    """A collapsible section holding the Mermaid flowchart of `drawing` (as much of it as fits),
    what it left out, and a legend, in at most `room` characters (or a sentence saying that the
    graph is too large, when even its smallest form does not fit)."""
    open_tag = "<details open><summary><b>graph</b> of what changes</summary>\n\n"
    close_tag = f"\n{GRAPH_LEGEND}\n\n</details>\n\n"
    fence_cost = len("```mermaid\n```\n")
    chart = mermaid.render(drawing, budget=room - len(open_tag) - len(close_tag) - fence_cost)
    section = f"{open_tag}```mermaid\n{chart}```\n{close_tag}"
    return section if len(section) <= room else _GRAPH_TOO_LARGE


def _lockfile_warning(plan: Plan, room: int) -> str:
    """The differences from the base lockfile, first and in a fence (they quote names)."""
    if not plan.lockfile_notes:
        return ""
    lines = [f"! {visible(note)}" for note in plan.lockfile_notes]
    if sum(len(line) + 1 for line in lines) > room:
        lines = [f"! {counted(len(lines), 'difference')}: run 'reconciler plan --base-lockfile'"]
    fence = _fence(lines)
    body = "\n".join(lines)
    return (
        f"> [!WARNING]\n> **{_escape_html(LOCKFILE_NOTES_TITLE)}**\n\n{fence}\n{body}\n{fence}\n\n"
    )


def _summary_title(symbol: str, title: str, count: int) -> str:
    return f"<b>{_escape_html(symbol)} {_escape_html(title)}</b>: {count}"


def _change_block(change: Change) -> tuple[str, list[str]]:
    head = f"{SYMBOLS[change.action]} {subject(change)}"
    details = [f"    {field_line(f)}" for f in shown_fields(change)]
    details += [f"    {line}" for line in kept_lines(change)]
    if change.action is Action.REPLACE:
        head += f"  ({replace_reason(change)})"
    details += [f"    note: {visible(note)}" for note in change.notes]
    return head, details


def _finding_block(finding: Finding) -> tuple[str, list[str]]:
    head = f"{'i' if finding.informational else '!'} {finding_label(finding)}"
    if finding.detail:
        head += f"  ({visible(finding.detail)})"
    return head, [f"    {field_line(f)}" for f in finding.fields]


Section = tuple[str, list[tuple[str, list[str]]]]


@dataclass(frozen=True)
class _Subject:
    """What a rendering shows, for the notes that say what was left out and where it all is."""

    noun: str  # "plan"
    items: str  # "changes"
    everything: str  # where the whole of it is, a sentence


_PLAN = _Subject(
    "plan", "changes", "The job summary and `reconciler plan --format json` have everything."
)
_AUDIT = _Subject(
    "audit", "findings", "The job summary and `reconciler audit --format json` have everything."
)
_APPLY = _Subject("apply", "operations", "The apply job's log has everything.")


def _fit(head: str, sections: list[Section], budget: int, subject: _Subject) -> str:
    """The richest rendering that fits: every detail; else the details of as many changes as fit
    (in order: replacements and deletions first), the others collapsed to their names; else as
    many names as fit. A block is never cut."""
    text = head + "".join(
        _section(title, blocks, [True] * len(blocks)) for title, blocks in sections
    )
    if len(text) <= budget:
        return text
    shown = _details_that_fit(head, sections, budget, subject)
    if shown is not None:
        return shown
    return _bounded(head, sections, budget, subject)


#: Marks a change whose details were left out.
_COLLAPSED = "  …"


def _details_that_fit(
    head: str, sections: list[Section], budget: int, subject: _Subject
) -> str | None:
    note = (
        f"_Not everything fits in one comment: {subject.items} marked `{_COLLAPSED.strip()}` are "
        f"shown without their details. {subject.everything}_\n\n"
    )
    keep = [[False] * len(blocks) for _, blocks in sections]
    room = budget - len(
        head + note + "".join(_section(t, b, k) for (t, b), k in zip(sections, keep, strict=True))
    )
    if room < 0:
        return None
    for (_, blocks), flags in zip(sections, keep, strict=True):
        for index, (_, details) in enumerate(blocks):
            cost = sum(len(line) + 1 for line in details) - (len(_COLLAPSED) if details else 0)
            if cost <= room:
                flags[index] = True
                room -= cost
    body = "".join(_section(t, b, k) for (t, b), k in zip(sections, keep, strict=True))
    return head + note + body


def _section(title: str, blocks: list[tuple[str, list[str]]], detailed: list[bool]) -> str:
    lines: list[str] = []
    for (head, details), shown in zip(blocks, detailed, strict=True):
        if shown:
            lines += [head, *details]
        else:
            lines.append(head + (_COLLAPSED if details else ""))
    fence = _fence(_flatten(blocks))  # the same fence, whatever is shown
    return _wrap(title, fence, "\n".join(lines))


def _flatten(blocks: Iterable[tuple[str, list[str]]]) -> list[str]:
    return [line for head, details in blocks for line in (head, *details)]


def _wrap(title: str, fence: str, body: str) -> str:
    return f"<details><summary>{title}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n\n"


def _bounded(head: str, sections: list[Section], budget: int, subject: _Subject) -> str:
    """Names only, as many as fit, each section counting those it leaves out. Room is kept for
    the smallest form of every later section ("… and N more"), so that none disappears."""
    note = (
        f"_The {subject.noun} is too long for one comment: only names are shown, and not all of "
        f"them. {subject.everything}_\n\n"
    )
    out = head + note
    smallest = [len(_smallest_section(title, blocks)) for title, blocks in sections]
    for index, (title, blocks) in enumerate(sections):
        names = [name for name, _ in blocks]
        fence = _fence(names)
        room = budget - len(out) - sum(smallest[index + 1 :]) - len(_wrap(title, fence, "")) - 40
        shown: list[str] = []
        used = 0
        for name in names:
            if used + len(name) + 1 > room:
                break
            shown.append(name)
            used += len(name) + 1
        if len(shown) < len(names):
            shown.append(f"… and {len(names) - len(shown)} more")
        out += _wrap(title, fence, "\n".join(shown))
    return out


def _smallest_section(title: str, blocks: list[tuple[str, list[str]]]) -> str:
    return _wrap(title, _fence([name for name, _ in blocks]), f"… and {len(blocks)} more")


def _count(summary: dict[str, Any], key: str) -> int:
    value = summary.get(key, 0)
    return value if isinstance(value, int) else 0


def _not_started(count: int) -> str:
    return f"{counted(count, 'operation')} {'was' if count == 1 else 'were'} not started."


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the content, so none can close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def apply_document_problem(document: Any, where: str = "") -> str | None:
    """What makes `document` not an apply's `--format json` result (None: it is one), in a
    phrase; `where` prefixes the names (a target's entry in a document of several)."""
    if not isinstance(document, dict):
        return f"{where or 'the document'} is not a JSON object"
    if "ok" in document and not isinstance(document["ok"], bool):
        return f"'{where}ok' is not true or false"
    for key, kind, name in (("summary", dict, "an object"), ("errors", list, "a list")):
        if not isinstance(document.get(key, kind()), kind):
            return f"'{where}{key}' is not {name}"
    outcomes = document.get("outcomes", [])
    if not isinstance(outcomes, list):
        return f"'{where}outcomes' is not a list"
    for index, outcome in enumerate(outcomes):
        problem = _outcome_problem(outcome, f"{where}outcomes[{index}]")
        if problem is not None:
            return problem
    return None


def _outcome_problem(outcome: Any, where: str) -> str | None:
    if not isinstance(outcome, dict):
        return f"'{where}' is not a JSON object"
    for key in ("name", "result"):
        if not isinstance(outcome.get(key), str):
            return f"'{where}.{key}' is not a string"
    if not isinstance(outcome.get("arn") or "", str):
        return f"'{where}.arn' is not a string"
    return None


def render_apply(document: dict[str, Any] | None, *, budget: int = DEFAULT_BUDGET) -> str:
    """A job summary for an apply, from its `--format json` document (None: apply gave none),
    which `apply_document_problem` has found to be one."""
    retry = (
        "Everything that succeeded is recorded in the lockfile this run committed. Fix the cause, "
        "then run the workflow again (Actions → apply → Run workflow): apply continues where "
        "this run stopped.\n"
    )
    if document is None:
        return (
            "#### reconciler apply\n\n**Apply did not finish** and left no result: "
            "see the step's log.\n\n" + retry
        )
    summary = document.get("summary", {})
    counts = ", ".join(f"{_count(summary, key)} {key}" for key in SUMMARY_KEYS)
    ok = bool(document.get("ok"))
    head = (
        f"#### reconciler apply\n\n**{'Applied' if ok else 'Apply stopped'}:** {counts}; "
        f"{counted(_count(summary, 'throttled'), 'throttled call')} retried.\n\n"
    )
    if not ok:
        errors = [visible(str(error)) for error in document.get("errors", [])]
        fence = _fence(errors)
        listed = f"{fence}\n" + "".join(f"{error}\n" for error in errors) + f"{fence}\n"
        head += (
            f"{_not_started(_count(summary, 'not_started'))}\n\n"
            + (listed if errors else "")
            + f"\n{retry}\n"
        )
    outcomes = document.get("outcomes", [])
    if not outcomes:
        return head + ("Nothing to apply.\n" if ok else "")
    blocks: list[tuple[str, list[str]]] = [
        (visible(f"{o['result']} {o['name']}" + (f"  {o['arn']}" if o.get("arn") else "")), [])
        for o in outcomes
    ]
    return _fit(head, [(f"<b>operations</b>: {len(outcomes)}", blocks)], budget, _APPLY)
