from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler import fsio


def test_atomic_write_leaves_no_temporary_files_and_replaces_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text("old")
    inode_before = os.stat(path).st_ino
    fsio.write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.stat(path).st_ino != inode_before
    assert [p.name for p in tmp_path.iterdir()] == ["l.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "l.json"
    path.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        fsio.write_atomic(path, b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["l.json"]
