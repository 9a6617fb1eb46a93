"""Plan of many targets against the floor: parsing their manifests once each (issue #13).

Generates T targets of N artifacts each (10 per file) in one repository and times, best of
several rounds, what `reconciler plan --format json` does for every target in one process
(resolve reconciler.yaml, load and validate every target's manifests with its variables, read
its lockfile, plan, redact, render one JSON document), divided by the floor: a bare C-loader
parse (`CSafeLoader`, documents one by one) of every target's manifests once each.

Two layouts:
  own     each target its own directory of N artifacts, half of them using ${vars...}; the
          floor parses all T x N artifacts once.
  shared  every target reads one common directory of N artifacts using ${vars...}; the floor
          parses it once per target (each target's manifests once). Files are parsed once
          however many targets read them, so this can come in under the floor.
Target: at most 1.3.

    python bench/targets.py            # 20 targets of 3,000 artifacts
    python bench/targets.py 5 1000     # T N
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml.cyaml import CSafeLoader

from reconciler.config import resolve_targets
from reconciler.manifest import ParsedFiles
from reconciler.memory import paused_gc
from reconciler.multitarget import for_each
from reconciler.project import read_state
from reconciler.redact import redact_plan
from reconciler.render import targets as multi

PER_FILE = 10
ROUNDS = 3
ACCOUNT = "123456789012"


def manifest_text(i: int, templated: bool) -> str:
    bucket = "${vars.bucket}" if templated else "bench-bucket"
    team = "${target.name}" if templated else f"team-{i % 13}"
    return f"""# yaml-language-server: $schema=../schemas/artifact.schema.json
apiVersion: reconciler/v1
kind: Artifact
metadata:
  name: bench-artifact-{i}
spec:
  ArtifactName: bench-artifact-{i}-v1
  ArtifactType: DataSet
  Source:
    SourceUri: s3://{bucket}/datasets/{i}/data.parquet
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
      Value: {team}
    - Key: cost-center
      Value: ml-platform
"""


def generate(directory: Path, count: int, templated: Callable[[int], bool]) -> None:
    for start in range(0, count, PER_FILE):
        folder = directory / f"group-{start // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        documents = [
            manifest_text(i, templated(start)) for i in range(start, min(start + PER_FILE, count))
        ]
        (folder / f"artifacts-{start:06d}.yaml").write_text("---\n".join(documents))


def repository(root: Path, targets: int, count: int, layout: str) -> list[Path]:
    """A repository of `targets` targets; returns every target's manifest directories."""
    (root / ".git").mkdir()
    entries, directories = [], []
    if layout == "shared":
        generate(root / "manifests" / "common", count, lambda start: True)
    for n in range(targets):
        name = f"t{n:02d}"
        if layout == "own":
            generate(root / "manifests" / name, count, lambda start: start % 20 == 0)
            own = f"manifests/{name}"
        else:
            own = "manifests/common"
        directories.append(root / own)
        entries.append(
            f'  {name}:\n    account: "{ACCOUNT}"\n    region: eu-west-1\n'
            f"    lockfile: locks/{name}.lock.json\n    manifests: [{own}]\n"
            f"    vars: {{bucket: bench-{name}}}\n"
        )
    (root / "reconciler.yaml").write_text("targets:\n" + "".join(entries))
    return directories


def floor(directories: list[Path]) -> None:
    for directory in directories:
        for path in sorted(directory.rglob("*.yaml")):
            loader = CSafeLoader(path.read_bytes().decode("utf-8"))
            try:
                while loader.check_data():
                    loader.get_data()
            finally:
                loader.dispose()


def plan(root: Path) -> None:
    """What `reconciler plan --format json` runs for every target, minus printing."""
    selected = resolve_targets((), cwd=root)
    cache = ParsedFiles()
    states = for_each(selected, lambda settings: read_state(settings, cache))
    plans = [(s.target, redact_plan(state.plan(), s.sensitive)) for s, state in states]
    with paused_gc():
        multi.render_plans_json([(t, p) for t, p in plans if t is not None])


def best_of(function: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        gc.collect()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def run(targets: int, count: int, layout: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        directories = repository(root, targets, count, layout)
        previous = Path.cwd()
        os.chdir(root)
        try:
            base = best_of(lambda: floor(directories))
            planned = best_of(lambda: plan(root))
        finally:
            os.chdir(previous)
        print(
            f"{layout:>6}: {targets} targets x {count:,} artifacts  floor {base:7.3f} s  "
            f"plan {planned:7.3f} s  ratio {planned / base:.2f}"
        )


def main() -> None:
    targets, count = (int(arg) for arg in (sys.argv[1:3] if len(sys.argv) > 2 else (20, 3000)))
    print(f"target: plan / floor <= 1.30 (best of {ROUNDS} rounds each)")
    for layout in ("own", "shared"):
        run(targets, count, layout)


if __name__ == "__main__":
    main()
