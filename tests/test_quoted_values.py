"""Messages name a user's value as the rest of reconciler does, in single quotes as written and
escaped on the way out, never in Python's quoting (`repr`: a quote switches the quotes, a
backslash is doubled): a hostile value (a quote, a newline, ESC) run through the commands as
users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from reconciler.textsafe import QUOTED_MAX, quoted
from tests.helpers import manifest_doc, write_manifests
from tests.hostile import assert_safe_text
from tests.sandboxed import reconciler

#: A quote, a line break, a terminal escape and a backslash.
VALUE = "a'b\n\x1b[2J\\c"
#: How every message shows it: in single quotes, what a terminal would obey escaped, the rest
#: (the quote and the backslash) as the user wrote it.
SHOWN = "'a'b\\n\\x1b[2J\\c'"


def sandbox_refusal(*options: str) -> str:
    """What `reconciler sandbox OPTIONS`, a whole process, says as it refuses to start."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    return done.stderr


def test_sandbox_account() -> None:
    assert sandbox_refusal("--account", VALUE) == (
        f"error: --account {SHOWN} is not a 12-digit AWS account id\n"
    )


def test_endpoint_url(repo: Path) -> None:
    refused = reconciler("plan", "--endpoint-url", VALUE)
    assert refused.code == 2
    assert_safe_text(refused.err)
    assert f"Invalid value for '--endpoint-url': {SHOWN} is not an http(s) URL" in refused.err


def test_base_ref(repo: Path) -> None:
    refused = reconciler("plan", "--base-ref", VALUE)
    assert refused.code == 1
    assert refused.err == (
        f"error: --base-ref {SHOWN} is not a git revision; name the base branch, e.g. origin/main\n"
    )


def test_import_arn(repo: Path, sandbox: Sandbox) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    refused = reconciler("import", "a", VALUE)
    assert refused.code == 1
    assert refused.err == (
        f"error: {SHOWN} is not the ARN of a SageMaker artifact, context or action\n"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (VALUE, SHOWN),
        (["1", 2], '["1", 2]'),  # JSON, as the file has it
        ("x" * 1000, f"'{'x' * (QUOTED_MAX - 1)}…'"),
    ],
)
def test_a_lockfile_format_version(repo: Path, value: object, shown: str) -> None:
    (repo / "artifacts.lock.json").write_text(json.dumps({"format_version": value}))
    refused = reconciler("plan")
    assert refused.code == 1
    assert refused.err.startswith(
        f"error: cannot read the lockfile artifacts.lock.json: its format_version is {shown}, "
        "expected 1;"
    )


def test_a_preload_kind(tmp_path: Path) -> None:
    path = tmp_path / "made.yaml"
    path.write_text(json.dumps([{"Kind": VALUE}]))
    assert sandbox_refusal("--preload", str(path)).endswith(
        f"item 1: Kind must be one of Artifact, Context, Action, TrialComponent, not {SHOWN}\n"
    )


def test_quoted_shows_each_kind_of_value() -> None:
    assert quoted("it's") == "'it's'"
    assert quoted(None) == "null"
    assert quoted(True) == "true"
    assert quoted({"k": ["v"]}) == '{"k": ["v"]}'
    assert len(quoted(list(range(1000)))) == QUOTED_MAX
