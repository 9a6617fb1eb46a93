"""Renderers: a plan or an audit report as text, markdown or JSON. Pure functions of their input."""

from __future__ import annotations

import json
from typing import Any

from reconciler.textsafe import visible

FORMATS = ("text", "markdown", "json")


def value_text(value: Any) -> str:
    """A value as one short line: JSON spelling, so strings are quoted and maps are compact, and
    every control character shown as an escape."""
    return visible(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")))
