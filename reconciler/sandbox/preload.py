"""Entities "SageMaker created" (`reconciler sandbox --preload FILE`): trial components of
training jobs, endpoint contexts, job artifacts, which a test can then associate with, query, and
see counted outside the quotas, as on the service.

The file is a YAML (or JSON) list; each item one entity:

    - Kind: TrialComponent            # TrialComponent, Artifact, Context or Action
      Name: churn-train-2026-11-aws-training-job
      Type: TrainingJob               # its type (QueryLineage's Vertex Type)
      Region: eu-west-1               # or an Arn that says it (and the account)
    - Kind: Artifact
      Source: {SourceUri: "s3://bucket/model.tar.gz"}   # an artifact's ARN derives from it
      Type: Model
      Arn: arn:aws:sagemaker:eu-west-1:123456789012:artifact/...   # optional, checked

Optional on every item: Account (else the Arn's, else the first served), Properties, Source.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler.sandbox.lineage import KINDS, Entity, region_of
from reconciler.sandbox.service import Artifact, artifact_arn
from reconciler.textsafe import quoted

ARN = re.compile(
    r"arn:aws:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):(?P<resource>[a-z-]+)/(?P<id>.+)"
)
NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,119}")
FIELDS = frozenset({"Kind", "Name", "Type", "Region", "Account", "Arn", "Source", "Properties"})
#: When SageMaker made them: long before any test's request.
MADE_AT = 1_600_000_000.0


class PreloadError(ValueError):
    """The file cannot be preloaded; the message names the file, the item and the fix."""


def load(path: Path, default_account: str) -> dict[str, list[Artifact | Entity]]:
    """The entities of `path`, by account."""
    try:
        items = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise PreloadError(
            f"cannot read --preload {path} ({exc}); give a YAML or JSON list"
        ) from None
    if not isinstance(items, list):
        raise PreloadError(f"--preload {path} must hold a list of entities, one item each")
    by_account: dict[str, list[Artifact | Entity]] = {}
    for number, item in enumerate(items, start=1):
        try:
            account, entity = _entity(item, default_account)
        except ValueError as exc:
            raise PreloadError(f"--preload {path}, item {number}: {exc}") from None
        by_account.setdefault(account, []).append(entity)
    return by_account


def _entity(item: Any, default_account: str) -> tuple[str, Artifact | Entity]:
    if not isinstance(item, dict):
        raise ValueError("an item must be a mapping with Kind, Name or Source, Type and Region")
    unknown = sorted(set(item) - FIELDS)
    if unknown:
        raise ValueError(
            f"unknown field {quoted(unknown[0])}; the fields are {', '.join(sorted(FIELDS))}"
        )
    kind = item.get("Kind")
    if kind != "Artifact" and kind not in KINDS:
        raise ValueError(f"Kind must be one of Artifact, {', '.join(KINDS)}, not {quoted(kind)}")
    given = item.get("Arn")
    arn_parts = ARN.fullmatch(given) if isinstance(given, str) else None
    if given is not None and arn_parts is None:
        raise ValueError(f"Arn {quoted(given)} is not a SageMaker ARN")
    region = item.get("Region") or (arn_parts and arn_parts["region"])
    account = item.get("Account") or (arn_parts and arn_parts["account"]) or default_account
    if not isinstance(region, str) or not isinstance(account, str):
        raise ValueError("say the Region (or give an Arn)")
    entity_type = item.get("Type")
    if not isinstance(entity_type, str):
        raise ValueError("Type (the entity's type, e.g. TrainingJob or Model) is missing")
    source = item.get("Source")
    properties = item.get("Properties") or {}
    if not isinstance(properties, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in properties.items()
    ):
        raise ValueError("Properties must map strings to strings")
    if kind == "Artifact":
        if not isinstance(source, dict) or not isinstance(source.get("SourceUri"), str):
            raise ValueError(
                "an Artifact needs a Source with a SourceUri (its ARN derives from it)"
            )
        arn = artifact_arn(region, account, source)
        _check_arn(given, arn)
        return account, Artifact(
            arn=arn,
            region=region,
            source=source,
            artifact_type=entity_type,
            creation_time=MADE_AT,
            last_modified_time=MADE_AT,
            properties=dict(properties),
            auto_created=True,
        )
    table = KINDS[kind]
    name = item.get("Name") or (arn_parts and arn_parts["id"])
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"Name {quoted(name)} is missing or not a SageMaker entity name")
    arn = table.arn(region, account, name)
    _check_arn(given, arn)
    return account, Entity(
        kind=kind,
        arn=arn,
        region=region_of(arn),
        name=name,
        entity_type=entity_type,
        source=source if isinstance(source, dict) else {"SourceUri": arn},
        creation_time=MADE_AT,
        last_modified_time=MADE_AT,
        properties=dict(properties),
        auto_created=True,
    )


def _check_arn(given: str | None, derived: str) -> None:
    if given is not None and given != derived:
        raise ValueError(f"Arn {quoted(given)} is not the ARN this entity has: {derived}")
