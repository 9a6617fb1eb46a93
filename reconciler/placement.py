"""Where the files reconciler writes may be: never where they would destroy, or be read as,
another input (the lockfile, a manifest, reconciler.yaml), and never out of the repository
through a committed symbolic link."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.manifest import MANIFEST_SUFFIXES
from reconciler.textsafe import visible


def _reads_as_manifest(path: Path) -> bool:
    return path.suffix.lower() in MANIFEST_SUFFIXES


def _inside(path: Path, directories: Sequence[Path]) -> Path | None:
    """The directory of `directories` that holds `path` (links followed), if any."""
    resolved = path.resolve()
    for directory in directories:
        if resolved.is_relative_to(directory.resolve()):
            return directory
    return None


def refuse_lockfile_among_manifests(lockfile: Path, manifests: Sequence[Path]) -> None:
    """A lockfile named like a manifest inside a manifests directory would be read as one by
    every run after the first apply: refuse it before anything is written."""
    _resolved_lockfile(lockfile)  # a loop of links is named before anything else is said
    directory = _inside(lockfile, manifests)
    if directory is not None and _reads_as_manifest(lockfile):
        raise ReconcilerError(
            f"the lockfile {visible(str(lockfile))} is inside the manifests directory "
            f"{visible(str(directory))}, where it would be read as a manifest; keep the lockfile "
            "out of the manifests directories"
        )


def _resolved_lockfile(lockfile: Path) -> Path:
    """The lockfile's path, links followed; a loop of links (a pull request can commit one) is
    refused, naming it."""
    try:
        return lockfile.resolve()
    except (OSError, RuntimeError):
        raise ReconcilerError(
            f"the lockfile {visible(str(lockfile))} is a loop of symbolic links; remove the link"
        ) from None


def refuse_lockfile_link_outside(lockfile: Path, root: Path | None) -> None:
    """A committed symbolic link must not make reconciler read (and echo) a file of the machine
    that runs it, as the manifest loader refuses such links. A --lockfile flag is free."""
    if root is None:
        return
    target = _resolved_lockfile(lockfile)
    if not target.is_relative_to(root.resolve()):
        raise ReconcilerError(
            f"the lockfile {visible(str(lockfile))} is a symbolic link to {visible(str(target))}, "
            "outside the repository; put the lockfile itself in the repository, or pass "
            "--lockfile to use another place"
        )


def refuse_misplaced_out(
    out: Path,
    lockfile: Path,
    manifests: Sequence[Path],
    config_path: Path | None,
) -> None:
    """`plan --out FILE` may not destroy an input: the lockfile or its journal, reconciler.yaml,
    a file in a manifests directory (or a new one that would be read as a manifest), or any
    existing file that is not a saved plan."""
    from reconciler.journal import journal_path  # the lockfile's reader: not needed to validate

    target = out.resolve()
    shown = visible(str(out))
    inputs = [("the lockfile", lockfile), ("the lockfile's journal", journal_path(lockfile))]
    if config_path is not None:
        inputs.append(("reconciler.yaml", config_path))
    for what, path in inputs:
        if target == path.resolve():
            raise ReconcilerError(
                f"--out {shown} is {what}, which the saved plan would overwrite; save the plan "
                "to another file"
            )
    directory = _inside(out, manifests)
    if directory is not None and (out.exists() or _reads_as_manifest(out)):
        raise ReconcilerError(
            f"--out {shown} is inside the manifests directory {visible(str(directory))}, where "
            "the saved plan would replace a file or be read as a manifest; save the plan outside "
            "the manifests directories"
        )
    if out.is_file() and out.stat().st_size > 0 and not _is_saved_plan(out):
        raise ReconcilerError(
            f"--out {shown} exists and is not a saved plan; save the plan to a new file, or "
            "remove that one first"
        )


def _is_saved_plan(path: Path) -> bool:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    from reconciler.planfile import KIND as SAVED_PLAN_KIND  # the plan's modules: not to validate

    return isinstance(document, dict) and document.get("kind") == SAVED_PLAN_KIND
