"""The tests themselves: the same result whatever the hash seed, the inherited signal
dispositions or a child that stops talking."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandboxed import default_signals, read_until, sigint_ignored

ROOT = Path(__file__).parent.parent


def _arn_under_seed(seed: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from tests.helpers import arn_for; print(arn_for('churn'))"],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_test_arns_do_not_depend_on_the_hash_seed() -> None:
    arns = {_arn_under_seed(seed) for seed in ("1", "2", "3")}
    assert len(arns) == 1
    assert arns.pop().startswith("arn:aws:sagemaker:eu-west-1:123456789012:artifact/")


def _child_sigint_handler(*, reset: bool) -> str:
    script = (
        "import signal; h = signal.getsignal(signal.SIGINT); "
        "print('ignored' if h == signal.SIG_IGN else 'raises' if h is signal.default_int_handler else h)"
    )
    with sigint_ignored():
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=default_signals if reset else None,
        )
    out, _ = process.communicate(timeout=60)
    return out.strip()


def test_children_get_sigint_back_even_when_the_suite_ignores_it() -> None:
    assert _child_sigint_handler(reset=False) == "ignored"  # what they would inherit
    assert _child_sigint_handler(reset=True) == "raises"  # KeyboardInterrupt, as on a terminal


def test_read_until_stops_at_eof() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "print('one: created arn:x'); print('bye')"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert read_until(process, ": created arn:", 3) == 1
    assert process.wait(timeout=30) == 0


def test_a_hanging_test_is_stopped(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("timeout") == "120"
    assert pytestconfig.getini("timeout_method") == "thread"
    (tmp_path / "test_hangs.py").write_text(
        "import time\n\ndef test_hangs():\n    time.sleep(60)\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=2",
            "-q",
            str(tmp_path / "test_hangs.py"),
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    assert "Timeout" in result.stdout + result.stderr
