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
    return _document("Artifact", name, {**body, **spec})


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


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


def context_doc(name: str, **spec: Any) -> dict[str, Any]:
    """A Context manifest, as users write it (ContextName defaults to the name)."""
    body: dict[str, Any] = {
        "ContextType": "Endpoint",
        "Source": {"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"},
    }
    return _document("Context", name, {**body, **spec})


def action_doc(name: str, **spec: Any) -> dict[str, Any]:
    """An Action manifest, as users write it (ActionName defaults to the name)."""
    body = {
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": f"s3://acme-ml/approvals/{name}"},
    }
    return _document("Action", name, {**body, **spec})


def association_doc(
    name: str, source: str, destination: str, edge_type: str | None = "ContributedTo"
) -> dict[str, Any]:
    """An Association manifest: an edge between two declared names or ARNs."""
    body: dict[str, Any] = {"Source": source, "Destination": destination}
    if edge_type is not None:
        body["AssociationType"] = edge_type
    return _document("Association", name, body)


def one_target_config(
    lockfile: str = "dev.lock.json", manifests: tuple[str, ...] = ("manifests",)
) -> str:
    """reconciler.yaml declaring one target, 'dev', with these paths (as written in the file)."""
    return (
        "targets:\n"
        "  dev:\n"
        '    account: "123456789012"\n'
        "    region: eu-west-1\n"
        f"    lockfile: {lockfile}\n"
        f"    manifests: [{', '.join(manifests)}]\n"
    )
