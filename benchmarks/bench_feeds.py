"""Feed stage speed for a corpus, as a ratio against the cold index of the same corpus.

    python -m benchmarks.bench_feeds [--count 10000] [--categories 50] [--repeat 5]

cold index: index with an empty store (the floor, 1.00x).
feeds:      build_feeds into an empty folder with no fingerprints kept, all formats, the
            site feed and every category feed (fresh Post values each time, so no body is
            pre-rendered).
rendering:  the same as a dry run (everything but the writes).
unchanged:  build_feeds again with nothing changed; it must write 0 files.
one edit:   the newest post's title changed: its feeds (the site's and its
            categories') are rendered and written again, the others are skipped.
Target (issue 3): feeds <= 0.25x the cold index.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.corpus import generate
from publisher import parallel
from publisher.config import Config, load_config
from publisher.content.index import index_site
from publisher.feeds import FeedReport, build_feeds
from publisher.options import RunOptions
from publisher.store import Store

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def forget_fingerprints(config: Config) -> None:
    """Drop the last build's record, so the next build renders everything (a first build)."""
    with Store.open(config.store.path) as store, store.transaction() as conn:
        conn.execute("DELETE FROM feed_fingerprints")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="publisher-bench-feeds-"))
    try:
        generate(root, args.count, categories=args.categories)
        config = load_config(root / "publisher.toml")
        out = config.feeds.output_dir

        cold_times = []
        for _ in range(args.repeat):
            shutil.rmtree(root / "state", ignore_errors=True)
            t = time.perf_counter()
            result = index_site(config, NOW)
            cold_times.append(time.perf_counter() - t)
            assert len(result.posts) == args.count, (len(result.posts), result.problems[:3])
        cold_s = min(cold_times)

        # The first build split over the CPUs (as `publisher build` does) and in one process,
        # in turn, so that both see the same machine.
        feed_times: dict[int | None, list[float]] = {None: [], 1: []}
        report: FeedReport | None = None
        for _ in range(args.repeat):
            for processes in feed_times:
                shutil.rmtree(out, ignore_errors=True)
                forget_fingerprints(config)
                posts = index_site(config, NOW).posts  # fresh Post values: nothing rendered yet
                t = time.perf_counter()
                report = build_feeds(config, posts, options=RunOptions(processes=processes))
                feed_times[processes].append(time.perf_counter() - t)
        feeds_s, one_process_s = min(feed_times[None]), min(feed_times[1])
        assert report is not None

        render_times = []
        for _ in range(args.repeat):
            posts = index_site(config, NOW).posts
            shutil.rmtree(out, ignore_errors=True)
            forget_fingerprints(config)
            t = time.perf_counter()
            build_feeds(config, posts, options=RunOptions(dry_run=True))
            render_times.append(time.perf_counter() - t)
        render_s = min(render_times)
        build_feeds(config, index_site(config, NOW).posts)

        unchanged_times = []
        for _ in range(args.repeat):
            posts = index_site(config, NOW).posts
            t = time.perf_counter()
            again = build_feeds(config, posts)
            unchanged_times.append(time.perf_counter() - t)
            assert again.written == (), again.written
        unchanged_s = min(unchanged_times)

        edit_times = []
        for n in range(args.repeat):
            posts = list(index_site(config, NOW).posts)
            posts[0] = posts[0].with_details(title=f"{posts[0].title} ({n + 1})")
            t = time.perf_counter()
            edited = build_feeds(config, posts)
            edit_times.append(time.perf_counter() - t)
        edit_s = min(edit_times)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    feed_files = len(report.changed_urls)
    print(f"posts: {args.count}, categories: {args.categories}")
    print(f"feeds: {report.feeds} ({feed_files} feed files, {report.items} items)")
    rows = [
        ("cold index", cold_s, "1.00x"),
        ("feeds, all formats", feeds_s, f"target <= 0.25x; {parallel.available()} processes"),
        ("  in one process", one_process_s, f"split: {feeds_s / one_process_s:.2f}x of this"),
        ("  of which rendering", render_s, "dry run: the same without writing"),
        ("feeds, nothing changed", unchanged_s, f"wrote {len(again.written)} files"),
        ("feeds, one post edited", edit_s, f"wrote {len(edited.written)} files"),
    ]
    for name, seconds, note in rows:
        print(f"{name:<24} {seconds * 1000:8.0f} ms  {seconds / cold_s:5.2f}x  ({note})")


if __name__ == "__main__":
    main()
