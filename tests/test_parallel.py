"""publisher.parallel: work split over forked processes gives what one process gives."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from publisher import parallel


def whose(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_parts_are_done_at_once_in_other_processes_and_come_back_in_order() -> None:
    results = parallel.map_split(whose, [1, 2, 3], processes=3)
    assert [r[0] for r in results] == [1, 4, 9]
    pids = [r[1] for r in results]
    assert pids[0] == os.getpid()
    assert len(set(pids)) == 3  # two children, one part each


def test_more_parts_than_processes_are_shared_out() -> None:
    results = parallel.map_split(whose, list(range(5)), processes=2)
    assert [r[0] for r in results] == [0, 1, 4, 9, 16]
    assert len({r[1] for r in results}) == 2


def test_one_process_does_everything_here() -> None:
    results = parallel.map_split(whose, [1, 2], processes=1)
    assert {r[1] for r in results} == {os.getpid()}


def die_in_a_child(n: int) -> int:
    if n == 2 and os.getpid() != PARENT:
        os._exit(3)  # the child ends at once, as a crash or the OOM killer would end it
    return n * 10


PARENT = os.getpid()


def test_a_child_that_dies_has_its_part_done_here(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="publisher.parallel"):
        assert parallel.map_split(die_in_a_child, [1, 2], processes=2) == [10, 20]
    assert "a helper process failed (status 768): its part is done here" in caplog.text


def fail_here(n: int) -> int:
    if os.getpid() == PARENT:
        raise ValueError("broken here")
    return n


def test_an_error_here_is_raised_and_the_children_are_reaped() -> None:
    with pytest.raises(ValueError, match="broken here"):
        parallel.map_split(fail_here, [1, 2, 3], processes=3)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind


def test_from_a_thread_nothing_forks() -> None:
    found: list[list[tuple[int, int]]] = []
    worker = threading.Thread(target=lambda: found.append(parallel.map_split(whose, [1, 2])))
    worker.start()
    worker.join()
    assert {r[1] for r in found[0]} == {os.getpid()}


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1),
        ({"cpu.max": "400000 100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({}, None),
    ],
)
def test_a_container_cpu_quota_caps_the_processes(
    tmp_path: Path, files: dict[str, str], cpus: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert parallel.cgroup_cpu_quota(tmp_path) == cpus
