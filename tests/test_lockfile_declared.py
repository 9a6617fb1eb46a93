"""Lockfile entries that equal the declared specs skip their own validation, never its rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler import lockfile
from reconciler.kinds.artifact import canonical_artifact as canonical
from tests.helpers import arn_for

SPEC = canonical("a", {"ArtifactType": "DataSet", "Source": {"SourceUri": "s3://b/a.csv"}})


def _document(entry: Any) -> bytes:
    document = {
        "format_version": 1,
        "lineage": "l",
        "serial": 1,
        "target": {"account": None, "region": None},
        "artifacts": {"a": entry},
    }
    return json.dumps(document).encode()


def test_an_entry_equal_to_the_declared_spec_shares_it() -> None:
    entry = {"arn": arn_for("a"), "spec": dict(SPEC), "last_modified_time": "2026-01-01T00:00:00Z"}
    read = lockfile.parse(_document(entry), "lock", {"a": SPEC})
    assert read.artifacts["a"].spec is SPEC
    assert read.artifacts["a"].last_modified_time == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "entry",
    [
        {"arn": arn_for("a"), "spec": SPEC, "extra": 1},
        {"arn": 7, "spec": SPEC},
        {"arn": "arn:aws:s3:::bucket", "spec": SPEC},
        {"arn": arn_for("a"), "spec": SPEC, "last_modified_time": 5},
        {"spec": SPEC},
        [arn_for("a"), SPEC],
    ],
)
def test_an_entry_equal_in_spec_but_malformed_otherwise_is_still_malformed(entry: Any) -> None:
    with_declared = lockfile.parse(_document(entry), "lock", {"a": SPEC})
    without = lockfile.parse(_document(entry), "lock")
    assert "a" in with_declared.malformed
    assert with_declared.malformed == without.malformed
