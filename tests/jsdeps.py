"""tests/js: the npm packages some tests run (ajv, Mermaid, puppeteer-core), pinned by its
package-lock.json, and Debian's chromium that Mermaid renders in."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

JS = Path(__file__).parent / "js"
CHROMIUM = Path("/usr/bin/chromium")


def node_modules() -> Path:
    """tests/js's node_modules, installed with `npm ci` when a pinned package is missing (.ci/run
    installs them first; this is for a developer who has not run it)."""
    npm = shutil.which("npm")
    assert shutil.which("node") and npm, "node and npm are needed: install Debian's nodejs, npm"
    wanted = json.loads((JS / "package.json").read_text(encoding="utf-8"))["dependencies"]
    if not all((JS / "node_modules" / name / "package.json").exists() for name in wanted):
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=600)
    return JS / "node_modules"


def chromium() -> Path:
    assert CHROMIUM.exists(), (
        "Debian's chromium renders the diagrams: apt-get install chromium (.ci/run does)"
    )
    return CHROMIUM


@dataclass(frozen=True)
class Rendered:
    """One diagram as Mermaid drew it: its SVG, or why Mermaid refused it."""

    svg: str | None
    error: str | None

    def root(self) -> ET.Element:
        assert self.svg is not None, f"Mermaid refused the diagram: {self.error}"
        return ET.fromstring(self.svg)

    def node_labels(self) -> dict[str, str]:
        """Our node id (`n0`, `omitted`) -> the text Mermaid shows in that node."""
        labels: dict[str, str] = {}
        for group in self.root().iter(f"{_SVG}g"):
            match = _NODE_ID.fullmatch(group.get("id", ""))
            if match and "node" in group.get("class", "").split():
                labels[match.group(1)] = _text_of(group, "nodeLabel")
        return labels

    def node_classes(self) -> dict[str, set[str]]:
        classes: dict[str, set[str]] = {}
        for group in self.root().iter(f"{_SVG}g"):
            match = _NODE_ID.fullmatch(group.get("id", ""))
            if match and "node" in group.get("class", "").split():
                classes[match.group(1)] = set(group.get("class", "").split())
        return classes

    def edge_labels(self) -> dict[tuple[str, str], str]:
        """(source id, destination id) -> the text Mermaid shows on that edge."""
        labels: dict[tuple[str, str], str] = {}
        for group in self.root().iter(f"{_SVG}g"):
            match = _EDGE_ID.fullmatch(group.get("data-id", ""))
            if match and "label" in group.get("class", "").split():
                labels[(match.group(1), match.group(2))] = _text_of(group, "edgeLabel")
        return labels

    def edge_classes(self) -> dict[tuple[str, str], set[str]]:
        classes: dict[tuple[str, str], set[str]] = {}
        for path in self.root().iter(f"{_SVG}path"):
            match = _EDGE_ID.fullmatch(path.get("data-id", ""))
            if match and path.get("data-edge") == "true":
                classes[(match.group(1), match.group(2))] = set(path.get("class", "").split())
        return classes


_SVG = "{http://www.w3.org/2000/svg}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_NODE_ID = re.compile(r"diagram\d+-flowchart-(n\d+|omitted)-\d+")
_EDGE_ID = re.compile(r"L_(n\d+)_(n\d+)_\d+")


def _text_of(group: ET.Element, span_class: str) -> str:
    spans = [e for e in group.iter(f"{_XHTML}span") if e.get("class") == span_class]
    assert len(spans) == 1, f"{len(spans)} {span_class} spans in {ET.tostring(group)!r}"
    return "".join(spans[0].itertext())


def render_mermaid(diagrams: list[str]) -> tuple[str, list[Rendered]]:
    """Mermaid's version, and each diagram as Mermaid draws it, all in one browser."""
    node_modules()
    result = subprocess.run(
        ["node", str(JS / "render.mjs")],
        input=json.dumps({"diagrams": diagrams}),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHROMIUM": str(chromium())},
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    rendered = [Rendered(r.get("svg"), r.get("error")) for r in answer["results"]]
    assert len(rendered) == len(diagrams)
    return str(answer["mermaid"]), rendered
