"""Start-up: a whole `reconciler validate` process on a small repository, against the floor.

The repository is a copy of the demo (`manifests/`: 9 artifacts, a context, an action and 12
associations in 7 files; no reconciler.yaml). Reconciler runs as `pip install .` leaves it for a
user: its package, compiled, in a venv's site-packages, and the console script pip writes; in a
scratch venv made for the run, whose other libraries are this venv's (one .pth line: nothing
copied, nothing downloaded). Not this checkout's editable install: its finder, and setuptools'
distutils hook, run at the start of every process of a development venv, even `python -c pass`,
and a user has neither.

In the same run, interleaved round by round, whole processes of that venv's Python:

  python -c pass                the interpreter starting and stopping
  python -c "import click"      and the command-line library (the least a click command loads)
  python -c "import pydantic"   and the library a cold run validates with
  reconciler validate           the console script, as a user runs it (the caches warm: every
                                run after the first finds them); also with --no-cache
    with two targets            the same manifests, with a reconciler.yaml of two targets

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
import tempfile
from pathlib import Path

# bench/installed.py: reconciler as `pip install .` leaves it, in a scratch venv.
from installed import ROOT, installed_as_users_have_it

# bench/plan.py: a whole process, its wall and CPU time.
from plan import Run, run_process

DEMO = ROOT / "manifests"
#: A reconciler.yaml of two targets reading the same manifests, in the account and region of the
#: demo's ARNs (another account's ARN would be a warning, whose placing loads the YAML parser).
TWO_TARGETS = """\
targets:
  dev:
    account: "123456789012"
    region: eu-west-1
    lockfile: dev.lock.json
    manifests: [manifests]
  prod:
    account: "123456789012"
    region: eu-west-1
    lockfile: prod.lock.json
    manifests: [manifests]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-startup-") as temp:
        repository = Path(temp) / "repository"
        shutil.copytree(DEMO, repository / "manifests")
        with_targets = Path(temp) / "with-targets"
        shutil.copytree(DEMO, with_targets / "manifests")
        (with_targets / "reconciler.yaml").write_text(TWO_TARGETS)
        installed = installed_as_users_have_it(Path(temp))
        python, reconciler = installed.python, installed.reconciler
        commands = {
            "python -c pass": [python, "-c", "pass"],
            'python -c "import click"': [python, "-c", "import click"],
            'python -c "import pydantic"': [python, "-c", "import pydantic"],
            "reconciler validate": [reconciler, "validate"],
            "reconciler validate --no-cache": [reconciler, "validate", "--no-cache"],
            "  with two targets": [reconciler, "validate"],
            "  with two targets, --no-cache": [reconciler, "validate", "--no-cache"],
        }
        where = {name: with_targets if "targets" in name else repository for name in commands}
        for name, command in commands.items():  # untimed: .pyc files and the caches
            run_process(command, where[name])
        timings: dict[str, list[Run]] = {name: [] for name in commands}
        order = list(commands)
        for _ in range(args.rounds):
            random.shuffle(order)
            for name in order:
                timings[name].append(run_process(commands[name], where[name]))
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds, medians (load average {load:.1f} at the end):")
    print(f"{'':32} {'wall s':>8} {'cpu s':>8}")
    for name, runs in timings.items():
        wall = statistics.median(run.seconds for run in runs)
        cpu = statistics.median(run.cpu_seconds for run in runs)
        print(f"{name:32} {wall:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
