"""The sandbox at scale: N creates with `--state` against the same run without it.

Each run starts `reconciler sandbox` (a separate process, with or without `--state` in a fresh
temporary directory), then a separate client process that creates N artifacts one after the
other with a plain boto3 client (then lists them all), and times that client process; the
sandbox's own CPU time is read when it stops. Runs alternate (without, with, without, ...) and
the medians are compared: with `--state` / without, target at most 1.2. The CPU figure is the
steadier one on a busy machine.

    python bench/sandbox.py            # 2,000 creates, 3 runs each
    python bench/sandbox.py 6000 5     # N, runs
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox_process import serve

REGION = "eu-west-1"
CLIENT = """
import sys
import boto3
from botocore.config import Config

url, count = sys.argv[1], int(sys.argv[2])
client = boto3.client(
    "sagemaker",
    endpoint_url=url,
    region_name="eu-west-1",
    aws_access_key_id="bench",
    aws_secret_access_key="bench",
    config=Config(retries={"mode": "standard", "total_max_attempts": 5}),
)
for i in range(count):
    client.create_artifact(
        Source={"SourceUri": f"s3://bench/{i:05d}/data.csv"},
        ArtifactType="DataSet",
        Properties={"index": str(i)},
        Tags=[{"Key": "team", "Value": "bench"}],
    )
listed = sum(
    len(page["ArtifactSummaries"])
    for page in client.get_paginator("list_artifacts").paginate(PaginationConfig={"PageSize": 100})
)
assert listed == count, (listed, count)
"""


def time_creates(count: int, with_state: bool) -> tuple[float, float]:
    """Wall time of the client, and CPU time of the sandbox."""
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as temp:
        state = Path(temp) / "sandbox.state"
        with serve(*(["--state", str(state)] if with_state else []), cpu=cpu) as url:
            elapsed = run_client(url, count)
        label = "with --state" if with_state else "in memory"
        note = f", state file {state.stat().st_size / 1e6:.1f} MB" if with_state else ""
        print(f"  {label:<14} {elapsed:7.2f} s wall   (sandbox CPU {cpu[0]:.2f} s{note})")
        return elapsed, cpu[0]


def run_client(url: str, count: int) -> float:
    """Wall time of a client process creating `count` artifacts, then listing them all."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, url, str(count)], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the client failed: {result.stderr}")
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"{count} creates (then one full listing), one boto3 client process, {runs} runs each")
    plain: list[tuple[float, float]] = []
    stateful: list[tuple[float, float]] = []
    for _ in range(runs):
        plain.append(time_creates(count, with_state=False))
        stateful.append(time_creates(count, with_state=True))
    for index, what in ((0, "wall time"), (1, "sandbox CPU")):
        without = statistics.median(run[index] for run in plain)
        with_state = statistics.median(run[index] for run in stateful)
        print(
            f"  median {what:<11}: {without:6.2f} s in memory, {with_state:6.2f} s with --state: "
            f"ratio {with_state / without:.2f} (target 1.2)"
        )


if __name__ == "__main__":
    main()
