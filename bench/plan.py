"""Plan time against the floor: a whole process that only parses the same files (design §10).

The floor is a whole Python process that reads every manifest file and parses it with
ruamel.yaml's fastest C path, `ruamel.yaml.cyaml.CSafeLoader`, taking the documents one by one.
(Handing the loader the file's bytes or the open file instead of the decoded text, or listing the
files with os.walk, is no faster: 1.77, 1.77 and 1.73 s of CPU against 1.70 s at 6,000 in 600
files, medians of 7 rounds on 2026-11-30; importing the loader is 0.04 s of it.)
Against it, in the same run and interleaved round by round, a whole `reconciler plan --format json`
process on the same files with a lockfile recording exactly the manifests (no change):

  cold  the manifest cache (.reconciler/cache/) deleted first: every file parsed and validated,
        and the cache written;
  warm  nothing changed since the previous run: the cache answers for every file.

Both run as a user's machine runs them (bench/installed.py): reconciler as `pip install .` leaves
it, compiled, in a scratch venv, the plan through pip's console script, and the floor with that
venv's Python; never this checkout's editable install, whose finder runs at the start of every
process (and, with PYTHONDONTWRITEBYTECODE set, would compile reconciler's modules on every run).

Each figure is the median over the rounds; a ratio is the median of the rounds' plan ÷ floor.
CPU time (user + system, from wait4) is the figure to quote on a shared machine: wall-clock time
also counts the time other jobs hold the cores.
Peak memory is the plan process's maximum resident set size (getrusage of the child).
Targets (design §10, issue 12): cold ≤ 1.2, warm ≤ 0.25, peak ≤ 300 MiB at 60,000.

    python bench/plan.py                      # 6,000 and 60,000 artifacts, 10 a file,
                                              # and 6,000 one a file
    python bench/plan.py --sizes 2000 --per-file 1 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# bench/installed.py: reconciler as `pip install .` leaves it, in a scratch venv.
from installed import Installed, installed_as_users_have_it

FLOOR = """
import sys
from pathlib import Path
from ruamel.yaml.cyaml import CSafeLoader

for root in map(Path, sys.argv[1:]):
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in paths:
        loader = CSafeLoader(path.read_bytes().decode("utf-8"))
        try:
            while loader.check_data():
                loader.get_data()
        finally:
            loader.dispose()
"""


def manifest_text(i: int, bucket: str = "bench-bucket", team: str | None = None) -> str:
    """One artifact; bench/targets.py writes `${...}` for the bucket and the team."""
    team = team or f"team-{i % 13}"
    return f"""# yaml-language-server: $schema=../schemas/manifest.schema.json
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


def generate(root: Path, count: int, per_file: int) -> Path:
    manifests = root / "manifests"
    for start in range(0, count, per_file):
        folder = manifests / f"group-{start // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        docs = [manifest_text(i) for i in range(start, min(start + per_file, count))]
        (folder / f"artifacts-{start:06d}.yaml").write_text("---\n".join(docs))
    return manifests


def write_matching_lockfile(manifests: Path, path: Path) -> None:
    from reconciler import lockfile
    from reconciler.lockfile import Entry, Lockfile, Target
    from reconciler.manifest import load_manifests

    desired = load_manifests(manifests)
    entries = {
        name: Entry(f"arn:aws:sagemaker:eu-west-1:123456789012:artifact/{i:032x}", spec)
        for i, (name, spec) in enumerate(desired.specs().items())
    }
    lockfile.save(path, Lockfile(None, 1, Target("123456789012", "eu-west-1"), entries))


def prepare(root: Path, count: int, per_file: int) -> None:
    """In a process of its own: the bench's memory must not count in its children's peaks (Linux
    keeps the high-water mark of resident memory across fork and exec)."""
    (root / ".git").mkdir()  # the repository root: reconciler.yaml is not searched above it
    manifests = generate(root, count, per_file)
    write_matching_lockfile(manifests, root / "artifacts.lock.json")


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_mib: float


def run_process(command: list[str], cwd: Path) -> Run:
    """Run a whole process to its end: wall time and its own peak memory."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} exited {process.returncode}:\n{stderr}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass
class Case:
    count: int
    per_file: int
    rounds: int
    installed: Installed

    def measure(self) -> dict[str, list[Run]]:
        runs: dict[str, list[Run]] = {"floor": [], "cold": [], "warm": []}
        with tempfile.TemporaryDirectory() as temp:
            root = Path(temp)
            here = str(Path(__file__).resolve())
            subprocess.run(
                [sys.executable, here, "--prepare", temp, str(self.count), str(self.per_file)],
                check=True,
            )
            manifests, lock = root / "manifests", root / "artifacts.lock.json"
            plan = [self.installed.reconciler, "plan", "--format", "json"]
            plan += ["--manifests", str(manifests), "--lockfile", str(lock)]
            floor = [self.installed.python, "-c", FLOOR, str(manifests)]
            cache = root / ".reconciler" / "cache"
            # Once untimed: nothing to change (exit 0 with --detailed-exitcode), and warm caches.
            run_process([*plan, "--detailed-exitcode"], root)
            run_process(floor, root)
            for _ in range(self.rounds):
                runs["floor"].append(run_process(floor, root))
                shutil.rmtree(cache, ignore_errors=True)
                runs["cold"].append(run_process(plan, root))
                runs["warm"].append(run_process(plan, root))
        return runs


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(runs: dict[str, list[Run]], kind: str, cpu: bool) -> tuple[float, float, float]:
    """The median, lowest and highest of the rounds' plan ÷ floor."""

    def seconds(run: Run) -> float:
        return run.cpu_seconds if cpu else run.seconds

    ratios = [
        seconds(plan) / seconds(base) for plan, base in zip(runs[kind], runs["floor"], strict=True)
    ]
    return median(ratios), min(ratios), max(ratios)


def report(case: Case, runs: dict[str, list[Run]]) -> None:
    files = -(-case.count // case.per_file)
    floor = runs["floor"]
    print(
        f"{case.count:,} artifacts in {files:,} files ({case.per_file} a file): floor "
        f"{median([r.seconds for r in floor]):.2f} s wall, "
        f"{median([r.cpu_seconds for r in floor]):.2f} s CPU, "
        f"peak {max(r.peak_mib for r in floor):.0f} MiB"
    )
    for kind in ("cold", "warm"):
        wall, low, high = ratio(runs, kind, cpu=False)
        cpu, cpu_low, cpu_high = ratio(runs, kind, cpu=True)
        print(
            f"  plan {kind}: {median([r.seconds for r in runs[kind]]):6.2f} s   "
            f"plan ÷ floor {wall:.2f} wall ({low:.2f}–{high:.2f}), "
            f"{cpu:.2f} CPU ({cpu_low:.2f}–{cpu_high:.2f})   "
            f"peak {max(r.peak_mib for r in runs[kind]):.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", help="comma-separated artifact counts (default 6000,60000)")
    parser.add_argument("--per-file", type=int, default=None, help="documents a file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--prepare", nargs=3, metavar=("DIR", "COUNT", "PER_FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]), int(args.prepare[2]))
        return
    if args.sizes is None and args.per_file is None:
        shapes = [(6_000, 10), (60_000, 10), (6_000, 1)]
    else:
        sizes = [int(size) for size in (args.sizes or "6000,60000").split(",")]
        shapes = [(size, args.per_file or 10) for size in sizes]
    with tempfile.TemporaryDirectory(prefix="reconciler-installed-") as temp:
        installed = installed_as_users_have_it(Path(temp))
        cases = [Case(count, per_file, args.rounds, installed) for count, per_file in shapes]
        measure(cases, args.rounds)


def measure(cases: list[Case], rounds: int) -> None:
    print(
        "floor: a whole process parsing the same files with ruamel.yaml.cyaml.CSafeLoader, "
        "documents one by one; both run as a user's compiled install (bench/installed.py)"
    )
    print("targets: plan ÷ floor ≤ 1.2 cold, ≤ 0.25 warm; peak ≤ 300 MiB at 60,000")
    print(f"machine: {os.cpu_count()} cores, load average {_load()} at the start")
    for case in cases:
        report(case, case.measure())
    print(f"load average {_load()} at the end; medians of {rounds} interleaved rounds")


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
