"""What the pages for people and the image lengths add to a feed build (issue 13), as ratios
against the same build without them, measured in turn in the same run.

    python -m benchmarks.bench_pages [--count 10000] [--categories 50] [--repeat 5]

Every post gets an image of its own on another host, with no length given.
warm, lengths:  build_feeds with nothing changed and `[feeds] image_head` on: the lengths of
                the shown posts' images (all known) are read from the state file; no server
                is asked. Peer: the same build with image_head off (no state read).
edit, page:     the newest post's title edited, with the feeds page (it shows that post, so
                it is made again). Peer: the same without a feeds page (page_name = "").
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.corpus import generate
from publisher.config import Config, load_config, parse_config
from publisher.content.index import index_site
from publisher.content.post import Image, Post
from publisher.feeds import build_feeds
from publisher.store import Store
from publisher.store.image_lengths import save_lengths

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def variant(config: Config, name: str, **feeds: object) -> Config:
    """`config` writing into its own folder, with `feeds` settings changed."""
    data = config.model_dump(exclude={"path"})
    data["feeds"].update(output_dir=str(config.path.parent / name), **feeds)
    return parse_config(data, config.path)


def with_own_images(posts: tuple[Post, ...]) -> list[Post]:
    return [
        p.with_details(image=Image(f"https://cdn.example.com/img/{n}.jpg", "image/jpeg"))
        for n, p in enumerate(posts)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="publisher-bench-pages-"))
    try:
        generate(root, args.count, categories=args.categories)
        base = load_config(root / "publisher.toml")
        posts = with_own_images(index_site(base, NOW).posts)
        with Store.open(base.store.path) as store:  # every length known, as after a first run
            save_lengths(
                store, [(p.image.url, 1000 + n, NOW) for n, p in enumerate(posts) if p.image]
            )
        head_off = variant(base, "off", image_head=False)
        head_on = variant(base, "on", image_head=True)
        page = variant(base, "page", image_head=False)
        no_page = variant(base, "no-page", image_head=False, page_name="")
        for config in (head_off, head_on, page, no_page):
            build_feeds(config, posts, now=NOW)

        def fresh() -> list[Post]:  # new values: nothing decoded or rendered beforehand
            return with_own_images(index_site(base, NOW).posts)

        timings: dict[str, list[float]] = {"off": [], "on": [], "page": [], "no-page": []}
        written: dict[str, int] = {}
        for n in range(args.repeat):  # each variant in turn: all see the same machine
            for name, config in (("off", head_off), ("on", head_on)):
                current = fresh()
                t = time.perf_counter()
                report = build_feeds(config, current, now=NOW)
                timings[name].append(time.perf_counter() - t)
                assert report.written == (), report.written
            for name, config in (("no-page", no_page), ("page", page)):
                current = fresh()
                current[0] = current[0].with_details(title=f"{current[0].title} ({n + 1})")
                t = time.perf_counter()
                report = build_feeds(config, current, now=NOW)
                timings[name].append(time.perf_counter() - t)
                written[name] = len(report.written)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    low = {name: min(times) for name, times in timings.items()}
    print(f"posts: {args.count}, categories: {args.categories}, best of {args.repeat}")
    rows = [
        ("warm, image_head off", low["off"], 1.0, "peer"),
        ("warm, lengths read", low["on"], low["on"] / low["off"], "wrote 0 files"),
        ("edit, no feeds page", low["no-page"], 1.0, f"peer; wrote {written['no-page']} files"),
        ("edit, feeds page", low["page"], low["page"] / low["no-page"], f"wrote {written['page']}"),
    ]
    for name, seconds, ratio, note in rows:
        print(f"{name:<22} {seconds * 1000:8.1f} ms  {ratio:5.2f}x  ({note})")


if __name__ == "__main__":
    main()
