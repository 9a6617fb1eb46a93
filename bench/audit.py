"""Live audit cost: API calls per artifact for N unchanged artifacts on the sandbox (design §10).

Applies N artifacts to an in-process sandbox, then runs `reconciler audit --live` (cheap) and
`--deep`, counting the calls the sandbox received. Prints calls per artifact (target at most 0.02,
one call per 50 artifacts; peers read every resource, two calls each) and the time of each.

    python bench/audit.py           # 2,000 artifacts
    python bench/audit.py 6000
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


def manifests(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    documents = [
        f"""apiVersion: reconciler/v1
kind: Artifact
metadata:
  name: bench-{i:05d}
spec:
  ArtifactType: {"DataSet" if i % 2 else "Model"}
  Source:
    SourceUri: s3://bench/{i:05d}/data.csv
  Tags:
    - Key: team
      Value: bench
"""
        for i in range(count)
    ]
    (directory / "bench.yaml").write_text("---\n".join(documents))


def run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, list(args))
    if result.exit_code != 0:
        raise SystemExit(f"reconciler {' '.join(args)} failed: {result.stderr}")
    document: dict[str, object] = json.loads(result.stdout)
    return document


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as temp, Sandbox() as sandbox:
        os.chdir(temp)
        os.environ.update(
            AWS_ENDPOINT_URL=sandbox.url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="eu-west-1",
            AWS_EC2_METADATA_DISABLED="true",
        )
        manifests(Path(temp) / "manifests", count)
        run("apply", "--auto-approve", "--format", "json")
        print(f"{count} unchanged artifacts (two artifact types)")
        for mode in ([], ["--deep"]):
            sandbox.reset_counters()
            started = time.perf_counter()
            document = run("audit", "--live", "--format", "json", *mode)
            elapsed = time.perf_counter() - started
            calls = sum(sandbox.counters().values())
            label = "deep " if mode else "cheap"
            print(
                f"  {label}  {calls:6d} API calls = {calls / count:.4f} per artifact   "
                f"{elapsed:6.2f} s   clean: {document['clean']}"
            )
        print("  target: at most 0.02 calls per artifact in the cheap mode (peers: 2)")


if __name__ == "__main__":
    main()
