"""Plans and audits for a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from reconciler.audit import FINDING_TEXT, AuditReport, Finding, FindingKind
from reconciler.outcomes import SUMMARY_KEYS, ApplyResult, Outcome, OutcomeKind
from reconciler.plan import SYMBOLS, Action, Change, FieldChange, Plan
from reconciler.render import counted_by_kind, kept_lines, shown_fields, subject, value_text
from reconciler.textsafe import safe_line, visible
from reconciler.words import counted

_COLOURS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
    Action.ORPHAN: "cyan",
}


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    return style


def plan_summary_line(plan: Plan) -> str:
    s = plan.summary()
    line = (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
        f"{s['delete']} to delete"
    )
    if s["orphan"]:
        line += f", {s['orphan']} orphaned"
    return line + f"; {s['unchanged']} unchanged."


LOCKFILE_NOTES_TITLE = (
    "The lockfile differs from the base lockfile (a pull request never needs to edit it: only "
    "apply, import and forget write it):"
)


def lockfile_note_lines(plan: Plan) -> list[str]:
    """The differences from the base lockfile, one escaped line each, or nothing."""
    if not plan.lockfile_notes:
        return []
    return [LOCKFILE_NOTES_TITLE] + [f"  ! {visible(note)}" for note in plan.lockfile_notes]


def render_plan(plan: Plan, *, color: bool = False) -> str:
    style = _styler(color)
    warning = [style(line, fg="red", bold=True) for line in lockfile_note_lines(plan)]
    warning += [""] * bool(warning)
    if not plan.changes:
        return "\n".join(warning) + (
            f"No changes: the lockfile matches the manifests ({unchanged_text(plan)}).\n"
        )
    lines = warning
    for change in plan.changes:
        lines.extend(_change_lines(change, style))
    lines.append("")
    lines.append(style(plan_summary_line(plan), bold=True))
    if any(c.action is Action.ORPHAN for c in plan.changes):
        lines.append(
            "Orphans are in the lockfile but no longer declared; they are left alone. "
            "Run with --prune to delete them."
        )
    return "\n".join(lines) + "\n"


def unchanged_text(plan: Plan) -> str:
    """How many of each kind are unchanged: `2 artifacts, 1 context` (`0 artifacts` for none)."""
    by_kind = {kind: counts["unchanged"] for kind, counts in plan.summary_by_kind().items()}
    return counted_by_kind(by_kind)


def _change_lines(change: Change, style: Callable[..., str]) -> list[str]:
    colour = _COLOURS[change.action]
    head = f"{SYMBOLS[change.action]:>3} {subject(change)}"
    reason = _reason(change)
    lines = [style(head, fg=colour, bold=True) + (f"  ({reason})" if reason else "")]
    for field in shown_fields(change):
        lines.append("      " + field_line(field))
    lines.extend(f"      {line}" for line in kept_lines(change))
    lines.extend(f"      note: {visible(note)}" for note in change.notes)
    return lines


def _reason(change: Change) -> str:
    if change.action is Action.REPLACE:
        return f"replace: {replace_reason(change)}"
    if change.action is Action.ORPHAN:
        return "orphan: no longer declared"
    return change.action.value


def replace_reason(change: Change) -> str:
    """Why a change is a replacement, in a phrase."""
    because = ", ".join(change.replace_because)
    if change.is_edge:
        return f"an association cannot change in place{f' ({because})' if because else ''}"
    return f"{because} cannot change in place"


def field_line(field: FieldChange) -> str:
    path = visible(field.path)
    if field.before is None:
        return f"+ {path}: {value_text(field.after)}"
    if field.after is None:
        return f"- {path}: {value_text(field.before)}"
    return f"~ {path}: {value_text(field.before)} → {value_text(field.after)}"


def checked_text(report: AuditReport) -> str:
    """What an audit checked: "3 artifacts", or "3 artifacts, 1 context, 2 associations"."""
    counts = report.checked_counts()
    return ", ".join(counted(n, kind.lower()) for kind, n in counts.items()) or "0 artifacts"


def audit_count(report: AuditReport) -> str:
    """For example: 2 findings in 1 artifact (informational ones are not counted)."""
    return f"{counted(len(report.problems), 'finding')} in {checked_text(report)}"


def finding_label(finding: Finding) -> str:
    """The finding's subject, escaped: its name, after its kind unless it is an artifact."""
    name = visible(finding.name)
    return (
        name if finding.manifest_kind == "Artifact" else f"{finding.manifest_kind.lower()} {name}"
    )


def live_line(report: AuditReport) -> str:
    """How a live audit read the service, or nothing for an offline one."""
    if report.strategy is None or report.api_calls is None:
        return ""
    return f"Read the service by {report.strategy}: {counted(report.api_calls, 'API call')}.\n"


def _finding_lines(finding: Finding, style: Callable[..., str]) -> list[str]:
    text = FINDING_TEXT[finding.kind]
    if finding.detail:
        text += f" ({visible(finding.detail)})"
    if finding.informational:
        symbol, colour = "i", "cyan"
    else:
        symbol = "!"
        colour = "red" if finding.kind in (FindingKind.MALFORMED, FindingKind.FOREIGN) else "yellow"
    head = style(f"{symbol} {finding_label(finding)}", fg=colour, bold=True) + f": {text}"
    return [head, *("      " + field_line(field) for field in finding.fields)]


def render_audit(report: AuditReport, *, color: bool = False) -> str:
    style = _styler(color)
    notes = [line for f in report.findings if f.informational for line in _finding_lines(f, style)]
    if report.clean:
        head = f"Audit clean: {checked_text(report)}, nothing to report.\n"
        return head + "".join(f"{line}\n" for line in notes) + live_line(report)
    lines = [
        line for f in report.findings if not f.informational for line in _finding_lines(f, style)
    ]
    lines += notes
    counts = ", ".join(f"{n} {kind}" for kind, n in report.summary().items() if n)
    lines.append("")
    lines.append(style(f"Audit: {audit_count(report)}", bold=True) + f" ({counts}).")
    return "\n".join(lines) + "\n" + live_line(report)


_OUTCOME_SYMBOLS = {
    OutcomeKind.CREATED: "+",
    OutcomeKind.RECREATED: "+",
    OutcomeKind.ADOPTED: "=",
    OutcomeKind.IMPORTED: "=",
    OutcomeKind.UPDATED: "~",
    OutcomeKind.REPLACED: "-/+",
    OutcomeKind.DELETED: "-",
    OutcomeKind.GONE: "-",
    OutcomeKind.FORGOTTEN: "-",
}


def outcome_line(outcome: Outcome) -> str:
    symbol = _OUTCOME_SYMBOLS.get(outcome.result, " ")
    # Artifacts are named alone, as always; other kinds with theirs ("+ context endpoint: ...").
    noun = "" if outcome.kind == "Artifact" else f"{outcome.kind.lower()} "
    line = f"{symbol:>3} {noun}{outcome.name}: {outcome.result}"
    if outcome.arn:
        line += f" {outcome.arn}"
    if outcome.detail:
        line += f" ({outcome.detail})"
    return visible(line)


def apply_summary(result: ApplyResult, lockfile_path: Path) -> str:
    counts = result.summary()
    done = ", ".join(f"{counts[key]} {key}" for key in SUMMARY_KEYS)
    calls = result.stats.total
    head = "Apply complete" if result.ok else "Apply stopped"
    throttled = counts["throttled"]
    line = f"{head}: {done}; {counted(calls, 'API call')}, {throttled} throttled and retried."
    shown = visible(str(lockfile_path))
    if result.ok:
        return line + f" ARNs are in {shown}."
    return (
        line + f"\n{counts['failed']} failed, {counts['not_started']} not started. Everything that "
        f"succeeded is recorded in {shown}; fix the cause and run apply again to continue."
    )


class Progress:
    """One line per finished operation; on a terminal, one line that keeps count."""

    def __init__(self, *, to_stderr: bool) -> None:
        self.total = 0
        self.done = 0
        self.to_stderr = to_stderr
        stream = sys.stderr if to_stderr else sys.stdout
        self.live = stream.isatty()
        self._lock = threading.Lock()

    def report(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.result.finishes_a_change:
                self.done += 1
            line = outcome_line(outcome)
            if self.live:
                click.echo(
                    f"\r\x1b[2K[{self.done}/{self.total}] {safe_line(line)}",
                    nl=False,
                    err=self.to_stderr,
                )
            else:
                click.echo(safe_line(line), err=self.to_stderr)

    def expect(self, total: int) -> None:
        self.total = total

    def close(self) -> None:
        if self.live and self.done:
            click.echo("", err=self.to_stderr)
