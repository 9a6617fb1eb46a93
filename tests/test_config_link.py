"""reconciler.yaml committed as a symbolic link: followed within the repository, refused when it
leads out of it (a pull request could make the plan read, and quote the keys of, a file of the
machine that runs it), as the manifests and the lockfile are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import manifest_doc, write_manifests
from tests.sandboxed import reconciler as run


@pytest.mark.parametrize("cache", [(), ("--no-cache",)])
def test_a_reconciler_yaml_linked_out_of_the_repository_is_refused(
    repo: Path, cache: tuple[str, ...]
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    secret = repo.parent / f"{repo.name}-credentials.yaml"
    secret.write_text("aws_secret_access_key_AKIASECRET: 1\n")
    (repo / "reconciler.yaml").symlink_to(secret)
    for command in ("validate", "validate", "plan"):
        result = run(command, *cache)
        assert result.code == 1, command
        assert result.err == (
            f"error: reconciler.yaml is a symbolic link to {secret}, outside the repository; "
            "put reconciler.yaml itself in the repository\n"
        )
        assert "AKIASECRET" not in result.out + result.err
    assert run("targets").err == result.err
    assert not (repo / ".reconciler" / "cache" / "config.json").exists()


def test_a_reconciler_yaml_linked_within_the_repository_is_read(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    (repo / "configs").mkdir()
    (repo / "configs" / "production.yaml").write_text("manifests: manifests\n")
    (repo / "reconciler.yaml").symlink_to(Path("configs") / "production.yaml")
    for cache in ((), (), ("--no-cache",)):
        result = run("validate", *cache)
        assert (result.code, result.out) == (0, "1 artifact in 1 file under manifests is valid.\n")
