"""`reconciler sandbox` as a separate process, for the benchmarks."""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serve(*options: str, cpu: list[float] | None = None) -> Iterator[str]:
    """Start the sandbox with these options; its URL while it runs. The CPU seconds it used
    (user and system) are appended to `cpu` once it has stopped."""
    with tempfile.TemporaryDirectory() as temp:
        url_file = Path(temp) / "url"
        command = [sys.executable, "-m", "reconciler", "sandbox", "--port", "0", *options]
        process = subprocess.Popen(
            [*command, "--url-file", str(url_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not url_file.exists():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the sandbox did not start")
                time.sleep(0.05)
            yield url_file.read_text().strip()
        finally:
            before = children_cpu()
            process.terminate()
            process.wait(timeout=30)
            if cpu is not None:
                cpu.append(children_cpu() - before)  # only the sandbox was reaped in between


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
