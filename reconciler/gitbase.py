"""The lockfile as a git revision has it: the base of a pull request's plan (`plan --base-ref`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler import lockfile
from reconciler.errors import ReconcilerError
from reconciler.lockfile import Lockfile
from reconciler.textsafe import quoted


def lockfile_at(ref: str, path: Path) -> Lockfile:
    """The lockfile at `path` as revision `ref` holds it; one missing there is empty (a base
    branch without a lockfile), so that a pull request adding one with entries shows them."""
    if not ref or ref.startswith("-") or any(c < " " or c == "\x7f" for c in ref):
        raise ReconcilerError(
            f"--base-ref {quoted(ref)} is not a git revision; name the base branch, e.g. "
            "origin/main"
        )
    located = path.parent.resolve() / path.name
    existing = next(d for d in (located.parent, *located.parents) if d.is_dir())
    top = Path(_git(existing, "rev-parse", "--show-toplevel").decode().strip())
    try:
        relative = located.relative_to(top).as_posix()
    except ValueError:
        raise ReconcilerError(
            f"the lockfile {path} is outside the git repository {top}; --base-ref reads "
            "lockfiles from that repository only: use --base-lockfile FILE"
        ) from None
    _git(
        top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=f"revision {quoted(ref)}"
    )
    shown = f"{ref}:{relative}"
    if _run(top, "cat-file", "-e", shown).returncode != 0:
        return Lockfile()
    return lockfile.load_bytes(_git(top, "show", shown), shown)


def _git(where: Path, *args: str, what: str = "") -> bytes:
    done = _run(where, *args)
    if done.returncode != 0:
        if what:
            raise ReconcilerError(
                f"--base-ref: the {what} is not in the git repository at {where}; fetch it "
                "first (git fetch origin BRANCH) or name another"
            )
        raise ReconcilerError(
            f"--base-ref needs a git repository, and {where} is not in one: "
            "use --base-lockfile FILE instead"
        )
    return done.stdout


def _run(where: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=where, capture_output=True, stdin=subprocess.DEVNULL, check=False
        )
    except FileNotFoundError:
        raise ReconcilerError(
            "--base-ref runs git, which is not installed here; install it or use "
            "--base-lockfile FILE"
        ) from None
