from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


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
