"""reconciler.yaml through the cache beside it: what it validated to is kept, keyed by the file's
bytes, and used only when the bytes, the tool and the libraries are the same; the cache is never
trusted (a wrong shape, a flipped byte: read the file again)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler import cache, config
from reconciler.cli import cli
from reconciler.config import Config, config_from_json, config_to_json, read_config
from reconciler.targets import TargetContext
from tests.helpers import manifest_doc, write_manifests

CONFIG = """\
sensitive_properties: secret|pin
targets:
  dev:
    account: "123456789012"
    region: eu-west-1
    lockfile: locks/dev.lock.json
    manifests: [manifests]
    vars: {bucket: acme-dev}
  prod:
    account: "222222222222"
    region: eu-west-1
    lockfile: locks/prod.lock.json
    manifests: [manifests, more]
    role: arn:aws:iam::222222222222:role/apply
    audit_role: arn:aws:iam::222222222222:role/audit
"""


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _store(repo: Path) -> Path:
    return repo / ".reconciler" / "cache" / "config.json"


def _with_targets(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(CONFIG)
    write_manifests(repo / "manifests", manifest_doc("data"))
    (repo / "more").mkdir()


def _every_target(repo: Path) -> Config:
    return read_config(repo / "reconciler.yaml")


def test_what_the_file_validates_to_is_kept_and_read_back_the_same(repo: Path) -> None:
    _with_targets(repo)
    cold = _every_target(repo)
    assert _store(repo).is_file()
    assert _every_target(repo) == cold
    assert cold.sensitive_properties == "secret|pin"
    assert cold.targets is not None
    dev, prod = cold.targets
    assert (dev.name, dev.lockfile, dev.vars) == (
        "dev",
        Path("locks/dev.lock.json"),
        {"bucket": "acme-dev"},
    )
    assert (prod.manifests, prod.role, prod.profile) == (
        (Path("manifests"), Path("more")),
        "arn:aws:iam::222222222222:role/apply",
        None,
    )


def test_a_warm_run_gives_what_a_cold_one_gives(repo: Path) -> None:
    _with_targets(repo)
    cold = _run("targets", "--format", "json")
    warm = _run("targets", "--format", "json")
    assert cold.exit_code == 0, cold.output
    assert warm.output == cold.output
    assert _run("validate").output == _run("validate", "--no-cache").output


def test_a_changed_file_is_read_again_and_its_problems_reported(repo: Path) -> None:
    _with_targets(repo)
    assert _run("validate").exit_code == 0
    (repo / "reconciler.yaml").write_text(CONFIG.replace("region: eu-west-1", "region: nowhere", 1))
    result = _run("validate")
    assert result.exit_code == 1
    assert "reconciler.yaml:5:13: targets.dev.region: must be an AWS region" in result.output
    (repo / "reconciler.yaml").write_text(CONFIG)
    assert _run("validate").exit_code == 0


def test_a_flipped_byte_in_the_cache_is_ignored(repo: Path) -> None:
    _with_targets(repo)
    expected = _run("targets", "--format", "json").output
    data = bytearray(_store(repo).read_bytes())
    at = data.index(b"locks/dev")
    data[at] = ord("X")  # the checksum no longer matches
    _store(repo).write_bytes(bytes(data))
    assert _run("targets", "--format", "json").output == expected
    assert b"Xocks/dev" not in _store(repo).read_bytes()  # rebuilt


def test_without_the_cache_nothing_is_written_or_read(repo: Path) -> None:
    _with_targets(repo)
    assert _run("validate", "--no-cache").exit_code == 0
    assert not _store(repo).exists()


def test_a_cache_of_another_version_of_the_tool_is_not_used(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_targets(repo)
    _every_target(repo)
    header, body = _store(repo).read_bytes().split(b"\n", 1)
    forged = json.loads(body)
    for settings in forged.values():
        settings["sensitive_properties"] = "forged"
    _write_cache(_store(repo), json.loads(header)["tool"], forged)
    assert _every_target(repo).sensitive_properties == "forged"  # the same tool trusts its cache
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert _every_target(repo).sensitive_properties == "secret|pin"


def _write_cache(path: Path, key: str, entries: dict[str, Any]) -> None:
    cache.write_entries(path, key, entries)


def _target(**overrides: Any) -> dict[str, Any]:
    target: dict[str, Any] = {
        "name": "dev",
        "account": "123456789012",
        "region": "eu-west-1",
        "manifests": ["manifests"],
        "lockfile": "dev.lock.json",
        "profile": None,
        "role": None,
        "audit_role": None,
        "vars": {"a": "b"},
    }
    return target | overrides


def _settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "manifests": "manifests",
        "lockfile": "a.lock.json",
        "sensitive_properties": "secret",
        "targets": [_target()],
    }
    return settings | overrides


def test_settings_round_trip_through_their_json_form() -> None:
    target = TargetContext(
        name="prod",
        account="222222222222",
        region="us-east-1",
        manifests=(Path("common"), Path("prod")),
        lockfile=Path("locks/prod.lock.json"),
        profile="ops",
        vars={"x": "y"},
    )
    for settings in (Config(), Config("m", "l.json", "pin", (target,))):
        assert config_from_json(json.loads(json.dumps(config_to_json(settings)))) == settings


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "settings",
        {k: v for k, v in _settings().items() if k != "lockfile"},
        _settings(extra=1),
        _settings(manifests=1),
        _settings(sensitive_properties=None),
        _settings(targets=[]),
        _settings(targets={"dev": _target()}),
        _settings(targets=[_target(account=123456789012)]),
        _settings(targets=[_target(manifests=[])]),
        _settings(targets=[_target(manifests="manifests")]),
        _settings(targets=[_target(manifests=[1])]),
        _settings(targets=[_target(role=1)]),
        _settings(targets=[_target(vars={"a": 1})]),
        _settings(targets=[_target(vars=[])]),
        _settings(targets=[{k: v for k, v in _target().items() if k != "vars"}]),
        _settings(targets=[_target(extra=None)]),
    ],
)
def test_anything_but_the_written_shape_is_not_used(raw: Any) -> None:
    assert config_from_json(raw) is None
    assert config_from_json(_settings()) is not None  # the shape itself is used


def test_a_run_reads_reconciler_yaml_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without targets too: the one target's settings come from the file read to find targets."""
    (repo / "reconciler.yaml").write_text("sensitive_properties: secret\n")
    write_manifests(repo / "manifests", manifest_doc("data"))
    reads: list[Path] = []
    real = config.read_config

    def counting(path: Path, *, cache: bool = True) -> Config:
        reads.append(path)
        return real(path, cache=cache)

    monkeypatch.setattr(config, "read_config", counting)
    assert _run("validate").exit_code == 0
    assert len(reads) == 1
