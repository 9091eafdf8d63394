"""Index speed for a corpus, each figure a ratio against a floor measured in the same run.

    python -m benchmarks.bench_index [--count 10000] [--repeat 5]

floor: read every file and parse its front matter with PyYAML's C loader.
cold:  index with an empty store (parse everything, fill the cache), split over the CPUs
       as a first build is; cold, one process: the same in this process alone (interleaved).
warm:  index again, nothing changed.
warm1: index again after one file changed.
Targets (issue 2): cold <= 2x floor, warm <= 0.15x floor, warm1 <= warm + 5% of floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from benchmarks.corpus import generate
from benchmarks.timing import best
from publisher import parallel
from publisher.config import load_config
from publisher.content.index import index_site
from publisher.options import RunOptions

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def floor(content: Path) -> int:
    """Read every post and parse its front matter with the C loader; returns the post count."""
    n = 0
    for folder, _dirs, files in os.walk(content):
        for name in files:
            text = Path(folder, name).read_text(encoding="utf-8")
            _, front, _body = text.split("---\n", 2)
            yaml.load(front, Loader=yaml.CSafeLoader)
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="publisher-bench-"))
    try:
        generate(root, args.count)
        config = load_config(root / "publisher.toml")
        content = root / "content"
        floor_s = best(args.repeat, lambda: floor(content))

        def cold(processes: int | None) -> float:
            shutil.rmtree(root / "state", ignore_errors=True)
            t = time.perf_counter()
            result = index_site(config, NOW, RunOptions(processes=processes))
            seconds = time.perf_counter() - t
            assert len(result.posts) == args.count, (len(result.posts), result.problems[:3])
            return seconds

        # Split over the CPUs and in one process, in turn, so that both see the same machine.
        cold_times: dict[int | None, list[float]] = {None: [], 1: []}
        for _ in range(args.repeat):
            for processes, times in cold_times.items():
                times.append(cold(processes))
        cold_s, cold1_s = min(cold_times[None]), min(cold_times[1])
        warm_s = best(args.repeat, lambda: index_site(config, NOW))
        victim = next(content.rglob("*.html"))

        def warm_one() -> None:
            victim.write_text(victim.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            result = index_site(config, NOW)
            assert result.parsed == 1, result.parsed

        warm1_s = best(args.repeat, warm_one)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = [
        ("floor (read + C YAML)", floor_s, "1.00x"),
        ("cold index", cold_s, f"target <= 2x; {parallel.available()} processes"),
        ("  in one process", cold1_s, f"split: {cold_s / cold1_s:.2f}x of this"),
        ("warm, nothing changed", warm_s, "target <= 0.15x"),
        ("warm, one file changed", warm1_s, f"target <= {warm_s / floor_s + 0.05:.2f}x"),
    ]
    print(f"posts: {args.count}")
    for name, seconds, target in rows:
        print(f"{name:<24} {seconds * 1000:8.0f} ms  {seconds / floor_s:5.2f}x  ({target})")


if __name__ == "__main__":
    main()
