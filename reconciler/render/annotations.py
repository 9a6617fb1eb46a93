"""Diagnostics as GitHub Actions workflow commands, shown on the lines of a pull request."""

from __future__ import annotations

from reconciler.errors import Diagnostic
from reconciler.textsafe import visible


def escape_data(value: str) -> str:
    """Escape a command's message, as @actions/core does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a command's property value (file=…), which also may not hold ':' or ','."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def error_annotation(diagnostic: Diagnostic) -> str:
    return _annotation("error", diagnostic)


def warning_annotation(diagnostic: Diagnostic) -> str:
    return _annotation("warning", diagnostic)


def _annotation(level: str, diagnostic: Diagnostic) -> str:
    """One `::error` or `::warning` command. The path and the message are shown as `visible`
    spells them (no control character reaches the log), then escaped as the runner unescapes
    them."""
    where = diagnostic.location
    message = escape_data(visible(diagnostic.message))
    return (
        f"::{level} file={escape_property(visible(where.path))},line={where.line},col={where.col},"
        f"title={escape_property('reconciler validate')}::{message}"
    )
