"""Running reconciler against the sandbox, as the tests do: environment, CLI runs, inspection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner

from reconciler import lockfile
from reconciler.cli import cli
from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc, write_manifests

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def env_for(sandbox: Sandbox) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_ACCESS_KEY_ID": "AKIDSANDBOX",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def use(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env_for(sandbox).items():
        monkeypatch.setenv(key, value)


def sm(sandbox: Sandbox) -> Any:
    """A plain boto3 client for inspecting the sandbox; it retries enough to see through the
    server errors some tests inject (three attempts fail together one time in a thousand)."""
    return boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=REGION,
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"mode": "standard", "total_max_attempts": 20}),
    )


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def reconciler(*args: str) -> Run:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return Run(result.exit_code, result.stdout, result.stderr)


def apply(*args: str) -> Run:
    return reconciler("apply", "--auto-approve", *args)


def declare(repo: Path, *documents: dict[str, Any]) -> None:
    for path in (repo / "manifests").glob("*.yaml"):
        path.unlink()
    if documents:
        write_manifests(repo / "manifests", *documents)


def live(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Every artifact on the sandbox, by SourceUri, with its tags."""
    client = sm(sandbox)
    out: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_artifacts").paginate():
        for summary in page["ArtifactSummaries"]:
            uri = summary["Source"]["SourceUri"]
            assert uri not in out, f"two artifacts with SourceUri {uri}"
            described = client.describe_artifact(ArtifactArn=summary["ArtifactArn"])
            described["Tags"] = {
                t["Key"]: t["Value"]
                for t in client.list_tags(ResourceArn=summary["ArtifactArn"])["Tags"]
            }
            out[uri] = described
    return out


def recorded(repo: Path) -> lockfile.Lockfile:
    return lockfile.load(repo / "artifacts.lock.json")


def uri(name: str) -> str:
    return f"s3://acme-ml/{name}/data.csv"


def default_signals() -> None:
    """For `preexec_fn`: the child starts with SIGINT and SIGTERM at their defaults, whatever
    the test run inherited (a suite started in the background by a script ignores SIGINT, and
    Python would then never raise KeyboardInterrupt in the child)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """This process ignores SIGINT meanwhile, as one started with `cmd &` from a script does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def read_until(process: subprocess.Popen[str], marker: str, count: int = 1) -> int:
    """Read the process's stdout until `count` lines contain `marker`, or until EOF; returns
    how many did (a child that died early ends the wait instead of hanging it)."""
    assert process.stdout is not None
    seen = 0
    while seen < count:
        line = process.stdout.readline()
        if not line:
            break
        if marker in line:
            seen += 1
    return seen


def on_a_terminal(repo: Path, sandbox: Sandbox, *args: str) -> tuple[int, str]:
    """Run reconciler in a child whose stdout is a terminal (a pty); its exit code and what it
    showed there."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=repo,
        env={**os.environ, **env_for(sandbox), "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        preexec_fn=default_signals,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=60), output.decode()


def linked(repo: Path, sandbox: Sandbox) -> dict[str, str]:
    """data -> model -> report, applied, with two associations; their ARNs."""
    declare(repo, manifest_doc("data"), manifest_doc("model"), manifest_doc("report"))
    assert apply().code == 0
    arns = {n: e.arn for n, e in recorded(repo).artifacts.items()}
    client = sm(sandbox)
    client.add_association(
        SourceArn=arns["data"], DestinationArn=arns["model"], AssociationType="ContributedTo"
    )
    client.add_association(SourceArn=arns["model"], DestinationArn=arns["report"])
    return arns
