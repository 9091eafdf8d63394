"""Index an already indexed corpus N times (warm, nothing changed), for an instruction count.

    python -m benchmarks.warm_index DEST [--times 2]

Generates DEST (benchmarks.corpus, 10,000 posts) and indexes it cold once when it holds no
state yet. Run it under `valgrind --tool=callgrind` with --times 0 and --times 2: half the
difference of the two totals is the instructions of one warm index, a count that stays the
same from run to run whatever else the machine does (timings on a shared 2-core box do not).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.corpus import generate
from publisher.config import load_config
from publisher.content.index import index_site

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--times", type=int, default=2)
    args = parser.parse_args()
    if not (args.dest / "publisher.toml").exists():
        generate(args.dest, 10_000)
    config = load_config(args.dest / "publisher.toml")
    if not config.store.path.exists():
        index_site(config, NOW)
    for _ in range(args.times):
        assert index_site(config, NOW).parsed == 0


if __name__ == "__main__":
    main()
