"""Many files written atomically at once: whole or not at all, and only when they changed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from publisher.atomic import write_all_atomic


def test_files_are_written_whole_and_rewritten_only_when_changed(tmp_path: Path) -> None:
    files = [(tmp_path / "a.xml", b"<a/>"), (tmp_path / "news" / "b.xml", "뉴스".encode())]
    assert write_all_atomic(files) == [True, True]
    assert [p.read_bytes() for p, _ in files] == [b"<a/>", "뉴스".encode()]
    assert stat.S_IMODE((tmp_path / "a.xml").stat().st_mode) == 0o644
    before = [p.stat().st_ino for p, _ in files]

    assert write_all_atomic(files) == [False, False]
    files[1] = (files[1][0], b"changed")
    assert write_all_atomic(files) == [False, True]
    after = [p.stat().st_ino for p, _ in files]
    assert after[0] == before[0] and after[1] != before[1]  # replaced by a rename
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.xml", "b.xml", "news"]


def test_a_failed_batch_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a folder where a file should go: its rename fails
    files = [(tmp_path / "ok.xml", b"<ok/>"), (tmp_path / "taken", b"<x/>")]
    with pytest.raises(IsADirectoryError):
        write_all_atomic(files)
    # Written whole or not at all, and no temporary file left behind by the one that failed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.xml", "taken"]
    assert (tmp_path / "ok.xml").read_bytes() == b"<ok/>"
    assert list((tmp_path / "taken").iterdir()) == []
