"""The caches in a checkout a pull request controls: a committed symbolic link must not make a
run write (or read) its caches out of the repository, and a cache file that is not a regular file
is not read (a link to /dev/stdin would wait for input for ever). And a cache is not used once
the code or the libraries that decided what it holds changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from reconciler import cache, validation
from reconciler.cli import cli
from reconciler.config import read_config
from reconciler.yamlio import load_documents
from tests.helpers import manifest_doc, write_manifests
from tests.test_imports import (
    CONFIG_WITH_TARGETS,
    NOT_FOR_VALIDATE,
    PARSING,
    loaded_among,
    modules_loaded,
)

CONFIG = "sensitive_properties: secret|pin\n"


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _declare(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(CONFIG)
    write_manifests(repo / "manifests", manifest_doc("data"))


def test_a_committed_link_out_of_the_repository_gets_no_cache_written_through_it(
    repo: Path,
) -> None:
    _declare(repo)
    elsewhere = repo.parent / f"{repo.name}-runner-home"
    elsewhere.mkdir()
    (repo / ".reconciler").symlink_to(elsewhere, target_is_directory=True)
    expected = _run("validate", "--no-cache")
    for _ in range(2):
        assert _run("validate").output == expected.output
    refused = _run("plan")  # it would read the journal there (test_state_directory.py)
    assert refused.exit_code == 1
    assert ".reconciler is a symbolic link to" in refused.output
    assert list(elsewhere.rglob("*")) == []


def test_a_link_to_the_cache_directory_out_of_the_repository_is_not_followed(
    repo: Path,
) -> None:
    _declare(repo)
    elsewhere = repo.parent / f"{repo.name}-docker-config"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text('{"auths": {}}\n')
    (repo / ".reconciler").mkdir()
    (repo / ".reconciler" / "cache").symlink_to(elsewhere, target_is_directory=True)
    assert _run("validate").exit_code == 0
    assert _run("validate").exit_code == 0
    assert sorted(path.name for path in elsewhere.iterdir()) == ["config.json"]
    assert (elsewhere / "config.json").read_text() == '{"auths": {}}\n'


def test_a_link_inside_the_directory_that_holds_the_caches_is_followed(repo: Path) -> None:
    _declare(repo)
    (repo / ".state").mkdir()
    (repo / ".reconciler").symlink_to(repo / ".state", target_is_directory=True)
    assert _run("validate").exit_code == 0
    cached = sorted(path.name for path in (repo / ".state" / "cache").iterdir())
    assert "config.json" in cached and any(name.startswith("manifests-") for name in cached)


def test_a_cache_file_linked_to_a_fifo_is_not_read(repo: Path) -> None:
    """A whole process: before, it waited on the FIFO until the timeout."""
    _declare(repo)
    assert _run("validate").exit_code == 0
    fifo = repo.parent / f"{repo.name}-fifo"
    os.mkfifo(fifo)
    store = repo / ".reconciler" / "cache"
    for cached in [store / "config.json", *store.glob("manifests-*.json")]:
        cached.unlink()
        cached.symlink_to(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1 artifact in 1 file under manifests is valid.\n"
    assert not (store / "config.json").is_symlink()  # replaced by the cache itself


def _forge_config_cache(repo: Path) -> None:
    """An entry that says reconciler.yaml validated to what it did not, under the same key."""
    store = repo / ".reconciler" / "cache" / "config.json"
    header, body = store.read_bytes().split(b"\n", 1)
    entries = json.loads(body)
    for settings in entries.values():
        settings["sensitive_properties"] = "forged"
    cache.write_entries(store, json.loads(header)["tool"], entries)


def test_the_config_cache_is_not_used_once_re2_changed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sensitive_properties is checked by compiling it with RE2: another RE2 may not accept the
    pattern the cache says was accepted (and a plan would then stop on an internal error)."""
    config = repo / "reconciler.yaml"
    config.write_text(CONFIG)
    read_config(config)
    _forge_config_cache(repo)
    assert read_config(config).sensitive_properties == "forged"  # the same tool trusts it
    installed = cache._installed

    def reinstalled(library: str) -> bytes:
        return installed(library) + (b"another version" if library == "re2" else b"")

    monkeypatch.setattr(cache, "_installed", reinstalled)
    assert read_config(config).sensitive_properties == "secret|pin"


def _parse_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the manifest files parsed from now on."""
    parsed: list[str] = []

    def counting(text: str) -> list[object]:
        parsed.append(text)
        return load_documents(text)

    monkeypatch.setattr(validation, "load_documents", counting)
    return parsed


def test_targets_sharing_a_first_directory_and_a_lockfile_directory_keep_their_caches(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's layout: locks/dev.lock.json and locks/prod.lock.json, manifests
    [common, dev] and [common, prod]. Each target's run kept only its own files in the one
    cache file both used, so every warm run parsed every target's own files again."""
    targets = {"dev": "123456789012", "prod": "210987654321"}
    config = "targets:\n"
    for name, account in targets.items():
        write_manifests(repo / "manifests" / name, manifest_doc(f"{name}-data"))
        config += (
            f'  {name}:\n    account: "{account}"\n    region: eu-west-1\n'
            f"    lockfile: locks/{name}.lock.json\n"
            f"    manifests: [manifests/common, manifests/{name}]\n"
        )
    write_manifests(repo / "manifests" / "common", manifest_doc("shared"))
    (repo / "reconciler.yaml").write_text(config)
    parsed = _parse_counter(monkeypatch)
    cold = _run("validate")
    assert cold.exit_code == 0, cold.output
    assert len(parsed) == 3
    parsed.clear()
    assert _run("validate").output == cold.output
    assert parsed == []


def _targets_with_variables(repo: Path, dev_bucket: str) -> None:
    config = "targets:\n"
    for name, account, bucket in (
        ("dev", "123456789012", dev_bucket),
        ("prod", "210987654321", "acme-prod"),
    ):
        config += (
            f'  {name}:\n    account: "{account}"\n    region: eu-west-1\n'
            f"    lockfile: locks/{name}.lock.json\n    manifests: [manifests]\n"
            f"    vars: {{bucket: {bucket}}}\n"
        )
    (repo / "reconciler.yaml").write_text(config)


def test_files_with_variables_are_cached_for_each_target_with_its_values(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with ${...} validates differently per target: it is kept under its bytes and the
    target's values together, so an unchanged repository parses nothing, and another value is
    substituted afresh."""
    data = manifest_doc("data", Source={"SourceUri": "s3://${vars.bucket}/${target.name}.csv"})
    write_manifests(repo / "manifests", data)
    write_manifests(repo / "manifests", manifest_doc("plain"), filename="plain.yaml")
    _targets_with_variables(repo, "acme-dev")
    parsed = _parse_counter(monkeypatch)
    cold = _run("plan", "--no-cache")
    assert cold.exit_code == 0, cold.output
    assert 's3://acme-dev/dev.csv"' in cold.output and 's3://acme-prod/prod.csv"' in cold.output
    assert _run("plan").output == cold.output
    parsed.clear()
    assert _run("plan").output == cold.output
    assert _run("validate").exit_code == 0
    assert parsed == []
    _targets_with_variables(repo, "acme-staging")
    changed = _run("plan")
    assert changed.output == cold.output.replace("s3://acme-dev/", "s3://acme-staging/")
    assert len(parsed) == 1  # the file with variables, for dev


def test_a_warm_validate_of_targets_using_variables_loads_neither_pydantic_nor_the_parser(
    repo: Path,
) -> None:
    """The README's targets use ${vars...}: such files are cached too, so an unchanged
    repository is validated without the models or the YAML parser (a whole process)."""
    uses_a_variable = manifest_doc("data", Source={"SourceUri": "s3://${vars.bucket}/data.csv"})
    write_manifests(repo / "manifests", uses_a_variable, manifest_doc("plain"))
    (repo / "reconciler.yaml").write_text(CONFIG_WITH_TARGETS)
    cold = modules_loaded(repo, "validate")
    warm = modules_loaded(repo, "validate")
    assert {"pydantic", "reconciler.validation"} <= cold  # it did parse
    assert "reconciler.targets" in warm  # it did resolve the targets
    assert loaded_among(warm, (*NOT_FOR_VALIDATE, *PARSING)) == []


@pytest.mark.parametrize("workflow", ["plan.yml", "apply.yml"])
def test_the_workflows_keep_the_caches_of_targets_whose_lockfiles_are_elsewhere(
    workflow: str,
) -> None:
    """The manifest caches live beside the lockfiles: with the README's targets
    (locks/dev.lock.json) they are in locks/.reconciler/cache/, which the workflows must keep
    between runs as they keep .reconciler/cache/ (reconciler.yaml's, and a root lockfile's)."""
    root = Path(__file__).parent.parent
    loaded = YAML(typ="safe").load((root / ".github" / "workflows" / workflow).read_text())
    steps = [step for job in loaded["jobs"].values() for step in job["steps"]]
    (cache_step,) = [
        step for step in steps if str(step.get("uses", "")).startswith("actions/cache")
    ]
    kept = cache_step["with"]["path"].split()
    assert ".reconciler/cache" in kept
    # fnmatch's * crosses directories, as the glob ** of actions/cache does
    assert any(fnmatchcase("locks/.reconciler/cache", pattern) for pattern in kept)
