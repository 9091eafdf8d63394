"""The one timing helper the benchmark scripts share."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(repeat: int, work: Callable[[], object]) -> float:
    """The fastest of `repeat` runs of `work()`, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return min(times)
