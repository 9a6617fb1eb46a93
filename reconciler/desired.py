"""The declared state of one target: its manifests loaded, through the cache of validated files.

Kept apart from project.py, which also reads and writes the service: `reconciler validate` needs
only this.
"""

from __future__ import annotations

from reconciler.cache import ManifestCache, cache_path
from reconciler.config import Settings
from reconciler.errors import ManifestError
from reconciler.foreign import Where
from reconciler.manifest import DesiredState, ParsedFiles, load_manifests, load_target_manifests
from reconciler.runlock import state_directory


def _disk_cache(settings: Settings) -> ManifestCache | None:
    """The cache of validated files in .reconciler/ beside the lockfile, unless it is off."""
    if not settings.cache:
        return None
    target = settings.target
    manifests = target.manifests if target is not None else (settings.manifests,)
    lockfile = settings.lockfile
    return ManifestCache.open(cache_path(state_directory(lockfile), lockfile.name, manifests))


def load_desired(settings: Settings, cache: ParsedFiles | None = None) -> DesiredState:
    """The declared state: the manifests directory or, for a target of reconciler.yaml, its
    directories with its variables substituted (`cache` shares the files' parsing between
    targets)."""
    target = settings.target
    disk = _disk_cache(settings)
    if target is None:
        return load_manifests(settings.manifests, disk)
    try:
        where = Where.of_target(target)
        return load_target_manifests(target.manifests, target.variables(), cache, disk, where)
    except ManifestError as exc:
        what = f"the manifests of target '{target.name}'"
        raise ManifestError(exc.diagnostics, what=what) from None
