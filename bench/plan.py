"""Plan time against the floor: a bare ruamel.yaml C-loader parse of the same files (design §10).

Generates N artifacts (10 per file), then times, in the same run, best of several rounds:
  floor  read every file and parse it with YAML(typ="safe") on the C loader;
  plan   what `reconciler plan --format json` does: load and validate the manifests, read the
         lockfile, compute the plan and render it; once with no lockfile (every artifact a
         create) and once with a lockfile recording exactly the manifests (no change).
Prints each time divided by the floor. Target: at most 1.3.

    python bench/plan.py            # 6,000 and 60,000 artifacts
    python bench/plan.py 2000       # other sizes
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from reconciler import lockfile
from reconciler.config import Settings
from reconciler.lockfile import Entry, Lockfile, Target
from reconciler.manifest import load_manifests
from reconciler.memory import paused_gc
from reconciler.plan import compute_plan
from reconciler.project import read_state
from reconciler.redact import redact_plan
from reconciler.render import jsondoc

PER_FILE = 10
ROUNDS = 3


def manifest_text(i: int) -> str:
    return f"""# yaml-language-server: $schema=../schemas/artifact.schema.json
apiVersion: reconciler/v1
kind: Artifact
metadata:
  name: bench-artifact-{i}
spec:
  ArtifactName: bench-artifact-{i}-v1
  ArtifactType: DataSet
  Source:
    SourceUri: s3://bench-bucket/datasets/{i}/data.parquet
    SourceTypes:
      - SourceIdType: S3ETag
        Value: 9b2cf535f27731c974343645a39{i:05d}
  Properties:
    stage: processed
    rows: "{i * 17}"
    owner: team-{i % 13}
  MetadataProperties:
    Repository: https://github.com/acme/ml
    CommitId: 4d2a9b1e07c3f5a8b6d9e0f1a2b3c4d5e6f{i:05d}
  Tags:
    - Key: team
      Value: team-{i % 13}
    - Key: cost-center
      Value: ml-platform
"""


def generate(root: Path, count: int) -> Path:
    manifests = root / "manifests"
    for start in range(0, count, PER_FILE):
        folder = manifests / f"group-{start // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        docs = [manifest_text(i) for i in range(start, min(start + PER_FILE, count))]
        (folder / f"artifacts-{start:06d}.yaml").write_text("---\n".join(docs))
    return manifests


def floor(manifests: Path) -> None:
    yaml = YAML(typ="safe", pure=False)
    for path in sorted(manifests.rglob("*.yaml")):
        list(yaml.load_all(path.read_bytes().decode("utf-8")))


def plan(manifests: Path, lock_path: Path) -> None:
    """What the CLI's plan command runs, minus printing."""
    settings = Settings(manifests, lock_path)
    result = redact_plan(read_state(settings).plan(), settings.sensitive)
    with paused_gc():
        jsondoc.render_plan(result)


def best_of(function: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        gc.collect()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        manifests = generate(root, count)
        absent = root / "absent.lock.json"
        matching = root / "artifacts.lock.json"
        desired = load_manifests(manifests)
        entries = {
            name: Entry(f"arn:aws:sagemaker:eu-west-1:123456789012:artifact/{i:032x}", spec)
            for i, (name, spec) in enumerate(desired.specs().items())
        }
        lockfile.save(matching, Lockfile(None, 1, Target("123456789012", "eu-west-1"), entries))

        assert compute_plan(desired.specs(), lockfile.load(matching)).has_changes is False
        base = best_of(lambda: floor(manifests))
        creates = best_of(lambda: plan(manifests, absent))
        unchanged = best_of(lambda: plan(manifests, matching))
        print(f"{count:>7,} artifacts  floor (C-loader parse) {base:7.3f} s")
        print(f"{'':>18} plan, all create      {creates:7.3f} s  ratio {creates / base:.2f}")
        print(f"{'':>18} plan, no change       {unchanged:7.3f} s  ratio {unchanged / base:.2f}")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [6_000, 60_000]
    print(f"target: plan / floor <= 1.30 (best of {ROUNDS} rounds each)")
    for count in sizes:
        run(count)


if __name__ == "__main__":
    main()
