"""Builders shared by the tests: manifests as users write them, lockfiles as apply writes them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler import lockfile
from reconciler.lockfile import Entry, Lockfile, Target

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def manifest_doc(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ArtifactType": "DataSet",
        "Source": {"SourceUri": f"s3://acme-ml/{name}/data.csv"},
    }
    body.update(spec)
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Artifact",
        "metadata": {"name": name},
        "spec": body,
    }


def write_manifests(
    directory: Path, *documents: dict[str, Any], filename: str = "artifacts.yaml"
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    yaml = YAML()
    yaml.explicit_start = True
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump_all(list(documents), handle)
    return path


def arn_for(
    name: str, account: str = ACCOUNT, region: str = REGION, resource: str = "artifact"
) -> str:
    """A made-up ARN that is the same for a name in every run (no hash(): it varies with
    PYTHONHASHSEED, and tests that sort or compare ARNs would pass or fail by chance).
    `resource`: "artifact", "context", "action", "experiment-trial-component"."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    if resource in ("context", "action"):  # named by their (unique) names
        return f"arn:aws:sagemaker:{region}:{account}:{resource}/{name}"
    return f"arn:aws:sagemaker:{region}:{account}:{resource}/{digest}"


def recorded(specs: dict[str, dict[str, Any]], *, serial: int = 1) -> Lockfile:
    entries = {name: Entry(arn_for(name), spec) for name, spec in specs.items()}
    return Lockfile(
        "5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11", serial, Target(ACCOUNT, REGION), entries
    )


def save_recorded(path: Path, specs: dict[str, dict[str, Any]], *, serial: int = 1) -> Lockfile:
    return lockfile.save(path, recorded(specs, serial=serial))
