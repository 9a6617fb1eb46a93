"""A pull request can change reconciler.yaml: a target's manifests and lockfile may not lead out
of the repository either (there are no flags to override them with targets), cold or warm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import manifest_doc, one_target_config, write_manifests
from tests.sandboxed import reconciler as run


@pytest.mark.parametrize("key", ["manifests", "lockfile"])
@pytest.mark.parametrize("cache", [(), ("--no-cache",)])
def test_a_targets_paths_may_not_lead_out_of_the_repository(
    repo: Path, key: str, cache: tuple[str, ...]
) -> None:
    outside = repo.parent / f"{repo.name}-elsewhere"
    write_manifests(outside, manifest_doc("theirs"))
    write_manifests(repo / "manifests", manifest_doc("ours"))
    (repo / "more").mkdir()
    paths = {"manifests": "more", "lockfile": "dev.lock.json"}
    paths[key] = f"../{outside.name}" + ("/dev.lock.json" if key == "lockfile" else "")
    config = one_target_config(paths["lockfile"], ("manifests", paths["manifests"]))
    (repo / "reconciler.yaml").write_text(config)
    leading = outside / "dev.lock.json" if key == "lockfile" else outside
    expected = (
        f"error: reconciler.yaml: target 'dev': '{key}' leads outside the repository "
        f"({leading}); keep the target's manifests and lockfile inside it\n"
    )
    runs = [("validate", *cache), ("validate", *cache), ("plan", *cache), ("targets",)]
    for command in runs:  # the second one warm, unless --no-cache
        result = run(*command)
        assert (result.code, result.err) == (1, expected), command
        assert "theirs" not in result.out
