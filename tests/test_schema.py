"""The committed JSON Schema works where people use it: Python's jsonschema, the check-jsonschema
CLI (each of its regular expression dialects) and ajv in unicode mode, as editors run it. Each
accepts the good manifests and refuses the bad ones; none refuses what `reconciler validate`
accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import regex
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler.cli import cli
from reconciler.limits import TAG_PATTERN
from reconciler.schema import PORTABLE_PATTERNS

ROOT = Path(__file__).parent.parent
SCHEMA_FILE = ROOT / "schemas" / "manifest.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
CORPUS = Path(__file__).parent / "corpus"
JS = Path(__file__).parent / "js"

#: Bad corpus cases whose problem is one a schema can see (the others are YAML syntax, duplicates
#: across documents, or rules such as reserved tag keys that only `reconciler validate` knows).
SCHEMA_BAD_CASES = [
    "artifact-name-too-long",
    "field-wrong-case",
    "metadata-properties-typo",
    "metadata-unknown-field",
    "missing-artifact-type",
    "missing-name",
    "missing-source",
    "name-number",
    "name-underscore",
    "properties-as-list",
    "property-null",
    "property-unquoted-bool",
    "property-unquoted-float",
    "property-unquoted-number",
    "source-as-string",
    "source-id-type-invalid",
    "source-uri-empty",
    "source-uri-multiline",
    "tag-key-bad-character",
    "tag-missing-value",
    "tag-value-number",
    "too-many-properties",
    "too-many-tags",
    "unknown-field-typo",
    "wrong-api-version",
    "wrong-kind",
]

#: Tag keys the service accepts, from several scripts and categories, and some it refuses.
GOOD_TAG_KEYS = ["team", "équipe", "部署", "٣ rows", "𝐀𝐁", "a\u00a0b", "x\u3000y", "_.:/=+-@"]
BAD_TAG_KEYS = ["team!", "a#b", "tab\there", "quote'", "a,b", "semi;colon", "(x)"]
#: Keys of the right characters that reconciler refuses: AWS's prefix, and its ownership tags.
RESERVED_TAG_KEYS = ["aws:team", "AWS:x", "Aws:", "reconciler:name", "reconciler:lineage"]
#: Keys of the right characters that reconciler refuses: AWS's prefix, and its own ownership tags.
RESERVED_TAG_KEYS = ["aws:team", "AWS:x", "Aws:", "reconciler:name", "reconciler:lineage"]


def _documents(path: Path) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text(encoding="utf-8"))]


def _good_documents() -> dict[str, Any]:
    files = [
        *sorted((ROOT / "manifests").rglob("*.yaml")),
        *sorted((CORPUS / "good").glob("*.yaml")),
    ]
    return {
        f"{path.relative_to(ROOT)}#{index}": document
        for path in files
        for index, document in enumerate(_documents(path))
    }


def _bad_documents() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in SCHEMA_BAD_CASES:
        (document,) = _documents(CORPUS / "bad" / f"{case}.yaml")
        out[case] = document
    return out


def _tagged(key: str) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Artifact",
        "metadata": {"name": "tagged"},
        "spec": {
            "ArtifactType": "DataSet",
            "Source": {"SourceUri": "s3://acme/tagged"},
            "Tags": [{"Key": key, "Value": key}],
        },
    }


def _kind(kind: str, spec: dict[str, Any], name: str = "doc") -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


CONTEXT = {"ContextType": "Endpoint", "Source": {"SourceUri": "arn:aws:sagemaker:r:1:endpoint/e"}}
ACTION = {"ActionType": "ModelApproval", "Source": {"SourceUri": "s3://acme/approvals/1"}}
TRIAL = "arn:aws:sagemaker:eu-west-1:123456789012:experiment-trial-component/job"
#: Documents of the other kinds that a schema can see are wrong.
BAD_KINDS = {
    "unknown kind": _kind("Pipeline", {}),
    "context: a field of another kind": _kind("Context", {**CONTEXT, "ArtifactType": "x"}),
    "context: missing ContextType": _kind("Context", {"Source": CONTEXT["Source"]}),
    "context: name with a dot": _kind("Context", {**CONTEXT, "ContextName": "a.b"}),
    "context: description of two lines": _kind("Context", {**CONTEXT, "Description": "a\nb"}),
    "context: property value too long": _kind(
        "Context", {**CONTEXT, "Properties": {"k": "v" * 2501}}
    ),
    "action: unknown Status": _kind("Action", {**ACTION, "Status": "Done"}),
    "action: Source without SourceUri": _kind("Action", {**ACTION, "Source": {"SourceType": "x"}}),
    "action: name with an underscore": _kind("Action", {**ACTION, "ActionName": "a_b"}),
    "action: MetadataProperties typo": _kind(
        "Action", {**ACTION, "MetadataProperties": {"Commit": "x"}}
    ),
    "edge: missing Destination": _kind("Association", {"Source": "a"}),
    "edge: unknown type": _kind(
        "Association", {"Source": "a", "Destination": "b", "AssociationType": "Uses"}
    ),
    "edge: tagged": _kind("Association", {"Source": "a", "Destination": "b", "Tags": []}),
    "edge: an experiment-trial ARN": _kind(
        "Association", {"Source": TRIAL.replace("-component", ""), "Destination": "b"}
    ),
    "edge: an ARN of a model": _kind(
        "Association",
        {"Source": "arn:aws:sagemaker:eu-west-1:123456789012:model/m", "Destination": "b"},
    ),
    "edge: an end with an underscore": _kind("Association", {"Source": "a_b", "Destination": "b"}),
    "edge: an ARN too long": _kind(
        "Association", {"Source": TRIAL + "x" * 200, "Destination": "b"}
    ),
    "edge: a name as a number": _kind("Association", {"Source": 12, "Destination": "b"}),
}

GOOD = _good_documents() | {f"tag {key!r}": _tagged(key) for key in GOOD_TAG_KEYS}
BAD = (
    _bad_documents()
    | {f"tag {key!r}": _tagged(key) for key in [*BAD_TAG_KEYS, *RESERVED_TAG_KEYS]}
    | BAD_KINDS
)


def _with_its_ends(document: Any) -> list[Any]:
    """The document, and an artifact for each end of an edge that names one (an edge alone
    names nothing declared)."""
    if not (isinstance(document, dict) and document.get("kind") == "Association"):
        return [document]
    spec = document.get("spec") or {}
    ends = {spec.get(end) for end in ("Source", "Destination")}
    named = sorted(e for e in ends if isinstance(e, str) and e and not e.startswith("arn:"))
    return [document, *(_end_artifact(name) for name in named)]


def _end_artifact(name: str) -> dict[str, Any]:
    spec = {"ArtifactType": "DataSet", "Source": {"SourceUri": f"s3://acme/ends/{name}"}}
    return _kind("Artifact", spec, name)


def test_the_documents_are_what_reconciler_validate_says(tmp_path: Path) -> None:
    """The expectations below are those of the exact rules: good is valid, bad is not."""
    yaml = YAML()
    for index, (label, document) in enumerate([*GOOD.items(), *BAD.items()]):
        manifests = tmp_path / f"case-{index:03d}" / "manifests"
        manifests.mkdir(parents=True)
        with (manifests / "m.yaml").open("w", encoding="utf-8") as handle:
            yaml.dump_all(_with_its_ends(document), handle)
        result = CliRunner().invoke(cli, ["validate", "--manifests", str(manifests)])
        assert result.exit_code == (0 if label in GOOD else 1), (label, result.output)
    assert len(GOOD) >= 35 and len(BAD) >= 50
    kinds = {document["kind"] for document in GOOD.values()}
    assert kinds == {"Artifact", "Context", "Action", "Association"}


# --- Python's jsonschema ------------------------------------------------------------------------


def test_jsonschema_loads_the_schema_and_accepts_the_good_manifests() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for label, document in GOOD.items():
        jsonschema.validate(document, SCHEMA)  # raises, naming the problem, if refused
        assert label


def test_jsonschema_refuses_the_bad_manifests() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    accepted = [label for label, document in BAD.items() if validator.is_valid(document)]
    assert accepted == []


# --- check-jsonschema ---------------------------------------------------------------------------


@pytest.fixture
def as_files(tmp_path: Path) -> Iterator[dict[str, list[Path]]]:
    """The good and the bad documents as one JSON file each."""
    files: dict[str, list[Path]] = {"good": [], "bad": []}
    for kind, documents in (("good", GOOD), ("bad", BAD)):
        for index, document in enumerate(documents.values()):
            path = tmp_path / f"{kind}-{index:03d}.json"
            path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
            files[kind].append(path)
    yield files


def _check_jsonschema(variant: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA_FILE)]
    return subprocess.run(
        [*command, "--regex-variant", variant, "--output-format", "text", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("variant", ["default", "nonunicode", "python"])
def test_check_jsonschema_accepts_the_good_and_refuses_the_bad(
    variant: str, as_files: dict[str, list[Path]]
) -> None:
    good = _check_jsonschema(variant, as_files["good"])
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _check_jsonschema(variant, as_files["bad"])
    assert bad.returncode == 1, bad.stdout + bad.stderr
    refused = {Path(name).name for name in re.findall(r"(\S+\.json)::", bad.stdout)}
    assert refused == {path.name for path in as_files["bad"]}


# --- ajv, as editors run it ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """tests/js's pinned npm packages, installed from its package-lock.json when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to test the schema with ajv"
    if not (JS / "node_modules" / "ajv" / "package.json").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=300)
    return JS / "node_modules"


def _ajv(documents: list[Any], schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(JS / "validate.mjs")],
        input=json.dumps({"schema": schema, "documents": documents}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_ajv_in_unicode_mode_accepts_the_good_and_refuses_the_bad(node_modules: Path) -> None:
    answer = _ajv([*GOOD.values(), *BAD.values()])
    assert answer["compiled"], answer
    verdicts = dict(zip([*GOOD, *BAD], answer["valid"], strict=True))
    assert [label for label in GOOD if not verdicts[label]] == []
    assert [label for label in BAD if verdicts[label]] == []


def test_ajv_reports_a_schema_it_cannot_compile(node_modules: Path) -> None:
    broken = {**SCHEMA, "properties": {"kind": {"pattern": "(unclosed"}}}
    assert _ajv([], broken)["compiled"] is False


# --- the portable patterns ----------------------------------------------------------------------


def test_each_portable_pattern_accepts_every_character_its_exact_rule_does() -> None:
    exact = regex.compile(TAG_PATTERN, flags=regex.VERSION1)
    portable = re.compile(PORTABLE_PATTERNS[TAG_PATTERN])
    accepted_only_exactly = [
        hex(code)
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF
        and exact.fullmatch(chr(code))
        and not portable.fullmatch(chr(code))
    ]
    assert accepted_only_exactly == []
    assert not portable.fullmatch("team!")  # and it still refuses ASCII punctuation
