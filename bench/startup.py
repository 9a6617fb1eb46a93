"""Start-up: a whole `reconciler validate` process on a small repository, against the floor.

The repository is a copy of the demo (`manifests/`: 9 artifacts in 5 files, no reconciler.yaml).
In the same run, interleaved round by round, three whole processes of the same Python:

  python -c pass                the interpreter starting and stopping (site, the venv's .pth files)
  python -c "import pydantic"   and the library every run validates with
  reconciler validate           the console script, as a user runs it (the manifest cache warm:
                                every run after the first finds it); also with --no-cache

Each figure is the median over the rounds of the process's wall-clock time, and of its CPU time
(user + system, from wait4), which other jobs on the machine disturb less. A round runs each
command once, in a shuffled order; one untimed round first compiles and caches what it can.
Target (issue 12): validate at most 0.12 s.

    python bench/startup.py              # 15 rounds
    python bench/startup.py --rounds 31
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "manifests"


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def reconciler_command() -> list[str]:
    """The console script installed beside this Python, else `python -m reconciler`."""
    script = Path(sys.executable).parent / "reconciler"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one whole process; fails loudly if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-startup-") as temp:
        repository = Path(temp)
        shutil.copytree(DEMO, repository / "manifests")
        reconciler = reconciler_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import pydantic"': [sys.executable, "-c", "import pydantic"],
            "reconciler validate": [*reconciler, "validate"],
            "reconciler validate --no-cache": [*reconciler, "validate", "--no-cache"],
        }
        for command in commands.values():  # untimed: .pyc files and the manifest cache
            run(command, repository)
        timings = {name: Timings() for name in commands}
        order = list(commands)
        for _ in range(args.rounds):
            random.shuffle(order)
            for name in order:
                wall, cpu = run(commands[name], repository)
                timings[name].wall.append(wall)
                timings[name].cpu.append(cpu)
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds, medians (load average {load:.1f} at the end):")
    print(f"{'':32} {'wall s':>8} {'cpu s':>8}")
    for name, t in timings.items():
        print(f"{name:32} {statistics.median(t.wall):8.3f} {statistics.median(t.cpu):8.3f}")


if __name__ == "__main__":
    main()
