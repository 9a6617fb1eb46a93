"""Live audit cost: API calls per entity or edge of an unchanged lineage graph on the sandbox.

Applies a graph to an in-process sandbox: N artifacts (two artifact types), a few contexts and
actions, and E associations (artifact to artifact, artifact to action, action to context). Then
runs `reconciler audit --live` (cheap) and `--deep`, counting the calls the sandbox received.
Prints calls per entity or edge (issue #11's target: at most 0.02 in the cheap mode, i.e. one
call per 50; peers read every resource, two calls each) and the time of each.

    python bench/audit.py                # 2,000 artifacts, 2,000 edges, 20 contexts, 20 actions
    python bench/audit.py 6000 6000
    python bench/audit.py 2000 0         # artifacts only
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox import Sandbox

CONTEXTS = ACTIONS = 20
TARGET = 0.02


def document(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}"


def artifact(i: int) -> str:
    spec = f"""  ArtifactType: {"DataSet" if i % 2 else "Model"}
  Source:
    SourceUri: s3://bench/{i:05d}/data.csv
  Tags:
    - Key: team
      Value: bench
"""
    return document("Artifact", f"bench-{i:05d}", spec)


def context(i: int) -> str:
    uri = f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/bench-{i:03d}"
    spec = (
        f"  ContextType: Endpoint\n  Source:\n    SourceUri: {uri}\n  Properties:\n    i: '{i}'\n"
    )
    return document("Context", f"bench-endpoint-{i:03d}", spec)


def action(i: int) -> str:
    spec = f"""  ActionType: ModelApproval
  Status: Completed
  Source:
    SourceUri: s3://bench/approvals/{i:03d}
"""
    return document("Action", f"bench-approval-{i:03d}", spec)


def edge(name: str, source: str, destination: str, association_type: str) -> str:
    spec = (
        f"  Source: {source}\n  Destination: {destination}\n  AssociationType: {association_type}\n"
    )
    return document("Association", name, spec)


def edges(artifacts: int, count: int) -> list[str]:
    """`count` distinct edges: an action to each context, an artifact to each action, and the
    rest between artifacts (i to i + k, k growing once every pair at a distance is used)."""
    out = [
        edge(
            f"approval-{i:03d}-to-endpoint",
            f"bench-approval-{i:03d}",
            f"bench-endpoint-{i:03d}",
            "Produced",
        )
        for i in range(min(ACTIONS, CONTEXTS))
    ][:count]
    out += [
        edge(
            f"model-{i:05d}-to-approval",
            f"bench-{i:05d}",
            f"bench-approval-{i:03d}",
            "AssociatedWith",
        )
        for i in range(min(ACTIONS, artifacts))
    ][: count - len(out)]
    pairs = ((i, (i + k) % artifacts) for k in range(1, artifacts) for i in range(artifacts))
    while len(out) < count:
        i, j = next(pairs)
        out.append(edge(f"e-{i:05d}-{j:05d}", f"bench-{i:05d}", f"bench-{j:05d}", "ContributedTo"))
    return out


def manifests(directory: Path, artifacts: int, associations: int) -> None:
    directory.mkdir(parents=True)
    (directory / "artifacts.yaml").write_text("---\n".join(artifact(i) for i in range(artifacts)))
    if associations:
        others = [context(i) for i in range(CONTEXTS)] + [action(i) for i in range(ACTIONS)]
        (directory / "graph.yaml").write_text("---\n".join(others))
        (directory / "edges.yaml").write_text("---\n".join(edges(artifacts, associations)))


def run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, list(args))
    if result.exit_code != 0:
        raise SystemExit(f"reconciler {' '.join(args)} failed: {result.stderr}")
    document: dict[str, object] = json.loads(result.stdout)
    return document


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    associations = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    entities = count + (CONTEXTS + ACTIONS if associations else 0)
    with tempfile.TemporaryDirectory() as temp, Sandbox() as sandbox:
        os.chdir(temp)
        os.environ.update(
            AWS_ENDPOINT_URL=sandbox.url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="eu-west-1",
            AWS_EC2_METADATA_DISABLED="true",
        )
        manifests(Path(temp) / "manifests", count, associations)
        started = time.perf_counter()
        run("apply", "--auto-approve", "--format", "json")
        applied = time.perf_counter() - started
        print(
            f"unchanged graph: {count} artifacts (two types), "
            f"{entities - count} contexts and actions, {associations} edges "
            f"(applied in {applied:.1f} s)"
        )
        items = entities + associations
        for mode in ([], ["--deep"]):
            sandbox.reset_counters()
            started = time.perf_counter()
            report = run("audit", "--live", "--format", "json", *mode)
            elapsed = time.perf_counter() - started
            counters = sandbox.counters()
            calls = sum(counters.values())
            label = "deep " if mode else "cheap"
            print(
                f"  {label}  {calls:6d} API calls = {calls / items:.4f} per entity or edge   "
                f"{elapsed:6.2f} s   clean: {report['clean']}"
            )
            listed = ", ".join(f"{n} {operation}" for operation, n in sorted(counters.items()))
            print(f"         {listed}")
        print(f"  target: at most {TARGET} calls per entity or edge in the cheap mode (peers: 2)")


if __name__ == "__main__":
    main()
