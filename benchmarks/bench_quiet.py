"""A cron minute with nothing to do, beside Hugo's cold build and two floors, interleaved.

    python -m benchmarks.bench_quiet [--count 10000] [--rounds 7]

On the corpus of `bench_hugo` (benchmarks/corpus/<count>/), brought up to date by whole
runs until `publisher run` answers from its record ("nothing to do"), each round runs, in
this order: Python starting and doing nothing (`python -c pass`, the floor of any Python
command), `find` stat-ing every post file (the floor of looking at each file: a C program
making the same system calls), the quiet `publisher run` (checked to be quiet each time),
and a cold Hugo build (the peer). The table shows each one's median and the medians of the
per-round ratios. Targets (issue 14): <= 0.1x Hugo's cold build at 10,000 posts, <= 0.03x
at 100,000.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from statistics import median

from benchmarks.bench_hugo import PUBLISHER, SECRET, Sides, load, prepare

TARGETS = {10_000: 0.1, 100_000: 0.03}


def timed(argv: list[str]) -> tuple[float, str]:
    """Wall time of `argv` as a whole process, and what it wrote on stderr."""
    env = os.environ | {"PUBLISHER_SECRET": SECRET}
    t = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return seconds, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    root = prepare(args.count)
    sides = Sides(root)
    config = str(root / "publisher.toml")
    quiet = [PUBLISHER, "-c", config, "-vv", "run"]
    floor = [sys.executable, "-c", "pass"]
    walk = ["find", str(root / "content"), "-type", "f", "-printf", "%s %T@ %C@ %i %p\n"]
    print(f"{args.count} posts, {args.rounds} rounds; {load()}", flush=True)

    sides.hugo_cold()  # warm-ups: the page cache, Python's bytecode
    for _ in range(4):  # whole runs until one leaves nothing for the next to do
        seconds, said = timed(quiet)
        print(f"  whole run: {seconds:.2f} s", flush=True)
        if "nothing to do" in timed(quiet)[1]:
            break
    else:
        sys.exit(f"publisher run never became quiet:\n{said}")

    rows: dict[str, list[float]] = {"python": [], "find": [], "quiet": [], "hugo": []}
    for n in range(args.rounds):
        rows["python"].append(timed(floor)[0])
        rows["find"].append(timed(walk)[0])
        seconds, said = timed(quiet)
        if "nothing to do" not in said:
            sys.exit(f"round {n + 1}: the run was not quiet:\n{said}")
        rows["quiet"].append(seconds)
        rows["hugo"].append(sides.hugo_cold().seconds)
        print(
            f"round {n + 1}: python {rows['python'][-1] * 1000:.0f} ms, find "
            f"{rows['find'][-1] * 1000:.0f} ms, quiet run {seconds * 1000:.0f} ms, Hugo "
            f"{rows['hugo'][-1]:.2f} s",
            flush=True,
        )

    def ratio(a: str, b: str) -> float:
        return median(x / y for x, y in zip(rows[a], rows[b], strict=True))

    target = TARGETS.get(args.count)
    verdict = (
        "-"
        if target is None
        else f"<= {target:g}x: " + ("met" if ratio("quiet", "hugo") <= target else "not met")
    )
    print("\n| what | median | ratio | target |\n| --- | --- | --- | --- |")
    print(f"| `python -c pass` | {median(rows['python']) * 1000:.0f} ms | | |")
    print(f"| `find` stat-ing every post file | {median(rows['find']) * 1000:.0f} ms | | |")
    print(
        f"| {args.count:,} posts, quiet `publisher run` | {median(rows['quiet']) * 1000:.0f} ms "
        f"| {ratio('quiet', 'hugo'):.3f}x Hugo, {ratio('quiet', 'python'):.1f}x python, "
        f"{ratio('quiet', 'find'):.2f}x find | {verdict} |"
    )
    print(f"| Hugo, cold build | {median(rows['hugo']):.2f} s | | |")
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
