"""Atomic writes: all or nothing, and files readable like any other."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grader.common.atomic import AtomicFile, atomic_write


@pytest.mark.parametrize(("umask", "mode"), [
    (0o022, 0o644),  # the usual umask: others may read reports
    (0o077, 0o600),  # a private umask is respected
])
def test_mode_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "r.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == mode
    assert (tmp_path / "r.html").read_text() == "<p>hi</p>"


def test_abort_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "gradebook.csv"
    target.write_text("old")
    out = AtomicFile(target)
    out.fh.write("half a row")
    out.abort()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]


def test_a_failing_write_leaves_no_temporary(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "x.json", 42)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
