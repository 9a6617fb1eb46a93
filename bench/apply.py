"""Apply throughput against the physical limit (design §10).

Starts the sandbox (a separate process) at 50 ms latency and a 40 requests/s rate limit, then:
  apply       `reconciler apply --auto-approve` creating N artifacts, run as users run it;
  sequential  a plain boto3 loop creating the same N artifacts one after the other, on a fresh
              sandbox with the same settings.
Prints apply time / (N / rate), target at most 1.2, beside the sequential loop's time.

    python bench/apply.py            # 600 artifacts
    python bench/apply.py 1200 80    # N, rate
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

import boto3
from botocore.config import Config
from sandbox_process import serve

LATENCY_MS = 50
REGION = "eu-west-1"


def sandbox(rate: float) -> AbstractContextManager[str]:
    return serve("--latency-ms", str(LATENCY_MS), "--rate-limit", str(rate))


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def write_manifests(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    documents = [
        f"""apiVersion: reconciler/v1
kind: Artifact
metadata:
  name: bench-{i:05d}
spec:
  ArtifactType: DataSet
  Source:
    SourceUri: s3://bench/{i:05d}/data.csv
  Properties:
    index: "{i}"
  Tags:
    - Key: team
      Value: bench
"""
        for i in range(count)
    ]
    (directory / "bench.yaml").write_text("---\n".join(documents))


def time_apply(count: int, rate: float) -> float:
    with tempfile.TemporaryDirectory() as temp, sandbox(rate) as url:
        root = Path(temp)
        write_manifests(root / "manifests", count)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--format", "json"],
            cwd=root,
            env=environment(url),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"apply failed: {result.stderr}")
        summary = json.loads(result.stdout)["summary"]
        print(f"  apply summary: {summary}")
        return elapsed


def time_sequential(count: int, rate: float) -> float:
    with sandbox(rate) as url:
        client = boto3.client(
            "sagemaker",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"mode": "standard", "total_max_attempts": 20}),
        )
        started = time.perf_counter()
        for i in range(count):
            client.create_artifact(
                Source={"SourceUri": f"s3://bench/{i:05d}/data.csv"},
                ArtifactType="DataSet",
                Properties={"index": str(i)},
                Tags=[{"Key": "team", "Value": "bench"}],
            )
        return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 40.0
    floor = count / rate
    print(f"{count} creates, sandbox at {LATENCY_MS} ms latency and {rate:g} requests/s")
    applied = time_apply(count, rate)
    sequential = time_sequential(count, rate)
    ratio = applied / floor
    print(
        f"  reconciler apply  {applied:7.2f} s   / (N/R = {floor:.1f} s) = {ratio:.2f} (target 1.2)"
    )
    print(f"  sequential boto3  {sequential:7.2f} s   / (N/R) = {sequential / floor:.2f}")


if __name__ == "__main__":
    main()
