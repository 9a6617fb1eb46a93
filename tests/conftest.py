from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.sandboxed import use


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """An empty repository checkout as the working directory, with a manifests/ folder."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "manifests").mkdir()
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox in this process, with the environment pointing every AWS client at it."""
    with Sandbox() as running:
        use(running, monkeypatch)
        yield running
