"""A Drawing as a versioned JSON document, for scripts (`reconciler graph --format json`)."""

from __future__ import annotations

import json

from reconciler.drawing import Drawing
from reconciler.textsafe import json_safe

#: Bump the major part when a field changes meaning or goes away.
FORMAT_VERSION = "1.0"
KIND = "reconciler-graph"


def render(drawing: Drawing) -> str:
    """{"format_version", "kind": "reconciler-graph", "nodes": [{"id", "label", "kind",
    "status"}], "links": [{"source", "destination", "label", "status", "name"}], "left_out":
    {"nodes", "links", "changed_nodes", "changed_links"}}: one line, keys sorted; characters
    that JSON leaves raw but a terminal would obey written as \\u escapes."""
    document = {"format_version": FORMAT_VERSION, "kind": KIND, **drawing.to_json()}
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return json_safe(text) + "\n"
