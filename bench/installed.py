"""Reconciler as `pip install .` leaves it for a user, for the benches to run as whole processes.

A scratch venv made for the run, in a directory the bench chooses: this checkout's package,
compiled, in its site-packages, and the console script pip writes; its other libraries are this
venv's (one .pth line: nothing copied, nothing downloaded). Not this checkout's editable install:
its finder, and setuptools' distutils hook, run at the start of every process of a development
venv, even `python -c pass`, and a user has neither; and with PYTHONDONTWRITEBYTECODE set (as on
the machine the figures come from), every run of the editable install compiles reconciler's
modules again, which a user's compiled install never does.

The venv's `python` runs the benches' floors, so that floor and reconciler start the same
interpreter with the same path: whole process against whole process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What pip writes as the console script of `[project.scripts] reconciler = "reconciler.cli:main"`.
CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from reconciler.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


@dataclass(frozen=True)
class Installed:
    """The scratch venv's interpreter and reconciler's console script in it."""

    python: str
    reconciler: str


def installed_as_users_have_it(directory: Path) -> Installed:
    """A scratch venv in `directory` holding this checkout's package and console script as pip
    installs them, with this venv's libraries on its path."""
    venv = directory / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.check_output([python, "-c", where], text=True).strip())
    libraries = Path(subprocess.check_output([sys.executable, "-c", where], text=True).strip())
    # A path line: the libraries directory's own .pth files (the editable finder) are not run.
    (site / "libraries.pth").write_text(f"{libraries}\n")
    ignored = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "reconciler", site / "reconciler", ignore=ignored)
    # pip compiles what it installs; PYTHONDONTWRITEBYTECODE would otherwise leave every run to
    # compile the package again.
    subprocess.run([python, "-m", "compileall", "-q", str(site / "reconciler")], check=True)
    script = venv / "bin" / "reconciler"
    script.write_text(CONSOLE_SCRIPT.format(python=python))
    script.chmod(0o755)
    return Installed(str(python), str(script))
