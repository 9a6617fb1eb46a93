"""Plan of many targets against the floor: parsing their manifests once each (issue #13).

Generates T targets of N artifacts each (10 per file) in one repository and times, as whole
processes in the same run, interleaved round by round, `reconciler plan --format json` for every
target (start, resolve reconciler.yaml, load and validate every target's manifests with its
variables, read its lockfile, plan, redact, render one JSON document) against the floor: a whole
Python process parsing every target's manifests once each with ruamel's C loader
(`CSafeLoader`, documents one by one), as bench/plan.py's floor does.

Both run as a user's machine runs them (bench/installed.py): reconciler as `pip install .` leaves
it, compiled, in a scratch venv, the plan through pip's console script and the floor with that
venv's Python; not this checkout's editable install.

Cold: the caches deleted first (reconciler.yaml's in .reconciler/, the manifests' in
locks/.reconciler/ beside the lockfiles); warm: nothing changed since the previous run (files
using ${...} are kept per target, under their bytes and its values). Each figure is the median
over the rounds of CPU time (user + system) of the process, and of wall time.

Two layouts:
  own     each target its own directory of N artifacts, half of them using ${vars...}; the
          floor parses all T x N artifacts once.
  shared  every target reads one common directory of N artifacts using ${vars...}; the floor
          parses it once per target (each target's manifests once). Files are parsed once
          however many targets read them, so this can come in under the floor.
Target: at most 1.3.

    python bench/targets.py              # 20 targets of 3,000 artifacts
    python bench/targets.py 5 1000 [R]   # T N, and R rounds (default 3)
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# bench/installed.py: reconciler as `pip install .` leaves it, in a scratch venv.
from installed import Installed, installed_as_users_have_it

# bench/plan.py: the floor, the artifact it generates, a whole process with its CPU time and peak.
from plan import FLOOR, Run, run_process
from plan import manifest_text as plan_manifest

PER_FILE = 10
ROUNDS = 3
ACCOUNT = "123456789012"


def manifest_text(i: int, templated: bool) -> str:
    if templated:
        return plan_manifest(i, bucket="${vars.bucket}", team="${target.name}")
    return plan_manifest(i)


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


def median(runs: list[Run], cpu: bool) -> float:
    return statistics.median(run.cpu_seconds if cpu else run.seconds for run in runs)


def run(targets: int, count: int, layout: str, rounds: int, installed: Installed) -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        directories = repository(root, targets, count, layout)
        floor = [installed.python, "-c", FLOOR, *map(str, directories)]
        plan = [installed.reconciler, "plan", "--format", "json"]
        runs: dict[str, list[Run]] = {"floor": [], "cold": [], "warm": []}
        run_process(plan, root)  # once untimed: the files in the operating system's cache
        for _ in range(rounds):
            runs["floor"].append(run_process(floor, root))
            # Every cache: reconciler.yaml's in the root's .reconciler/, the manifests' beside
            # the lockfiles (locks/.reconciler/).
            for state in (root / ".reconciler", root / "locks" / ".reconciler"):
                shutil.rmtree(state, ignore_errors=True)
            runs["cold"].append(run_process(plan, root))
            runs["warm"].append(run_process(plan, root))
        base_cpu, base_wall = median(runs["floor"], cpu=True), median(runs["floor"], cpu=False)
        print(
            f"{layout:>6}: {targets} targets x {count:,} artifacts  floor {base_cpu:6.2f} s CPU "
            f"{base_wall:6.2f} s wall"
        )
        for kind in ("cold", "warm"):
            cpu, wall = median(runs[kind], cpu=True), median(runs[kind], cpu=False)
            print(
                f"        plan {kind}: {cpu:6.2f} s CPU {wall:6.2f} s wall  "
                f"ratio {cpu / base_cpu:.2f} CPU, {wall / base_wall:.2f} wall  "
                f"peak {max(r.peak_mib for r in runs[kind]):.0f} MiB"
            )


def main() -> None:
    args = [int(arg) for arg in sys.argv[1:4]]
    targets, count = args[:2] if len(args) >= 2 else (20, 3000)
    rounds = args[2] if len(args) > 2 else 3
    print(f"target: plan / floor <= 1.30 (whole processes, medians of {rounds} rounds)")
    with tempfile.TemporaryDirectory(prefix="reconciler-installed-") as temp:
        installed = installed_as_users_have_it(Path(temp))
        for layout in ("own", "shared"):
            run(targets, count, layout, rounds, installed)


if __name__ == "__main__":
    main()
