"""Publisher beside Hugo on the same posts: whole processes, interleaved, per-pair ratios.

    python -m benchmarks.bench_hugo [--count 10000] [--pairs 5]

The corpus (benchmarks/corpus/<count>/, generated once and reused) holds the posts, a
publisher.toml with the example's newsletters and a Hugo site whose content folder is the
same posts. Hugo builds only what is comparable: the site RSS and one RSS per category, 20
items each with the full content (like publisher's RSS), no HTML page.

Each pair runs, in this order: a cold `publisher build` (no state, empty output), a cold
Hugo build (no output, no cache), a warm `publisher run` (untimed), a `publisher run` with
nothing new, and a second cold Hugo build. Each publisher figure is divided by the Hugo
run next to it; the table shows the medians of those ratios and of each side's figures.
Peak memory is ru_maxrss from wait4: the largest process of the tree (Linux counts the
reaped children), the forked feed renderer included.
Targets (issue 14): build <= 0.5x Hugo; nothing new <= 0.1x (10,000 posts) or 0.03x
(100,000); peak memory <= 0.25x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from benchmarks.corpus import generate

CORPUS = Path(__file__).resolve().parent / "corpus"
PUBLISHER = str(Path(sys.executable).with_name("publisher"))
HUGO = shutil.which("hugo") or "/usr/bin/hugo"
SECRET = "bench-hugo-secret-0123456789abcdef0123456789"
NOTHING_NEW = {10_000: 0.1, 100_000: 0.03}

HUGO_CONFIG = """\
baseURL = "https://newsdao.kr/"
languageCode = "ko"
title = "뉴스다오"
timeZone = "Asia/Seoul"
contentDir = {content}
# Only the home page and the category (term) pages, each as RSS only.
disableKinds = ["section", "taxonomy", "sitemap", "robotsTXT", "404"]
ignoreErrors = ["error-disable-taxonomy"]

[outputs]
home = ["RSS"]
term = ["RSS"]

[taxonomies]
category = "categories"

# Like publisher: a front matter date, else the file name's, else first seen (the mtime);
# a post is not published before its date, whichever gave it.
[frontmatter]
date = [":filename", ":default", ":fileModTime"]
publishDate = [":filename", ":default"]

# Posts get a permalink but no page of their own.
[[cascade]]
[cascade._build]
render = "link"
[cascade._target]
kind = "page"
"""

# Like publisher's RSS: 20 items with the full content. The comment counts the posts read.
HUGO_RSS = """\
{{- $pages := .Pages }}{{ if .IsHome }}{{ $pages = site.RegularPages }}{{ end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>\\n<!-- %d posts -->"
    (len site.RegularPages) | safeHTML }}
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>{{ site.Title }}{{ if not .IsHome }} - {{ .Title }}{{ end }}</title>
    <link>{{ .Permalink }}</link>
    <language>{{ site.LanguageCode }}</language>
    {{- range first 20 $pages }}
    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <guid>{{ .Permalink }}</guid>
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      {{- range .Params.categories }}
      <category>{{ . }}</category>
      {{- end }}
      <description>{{ .Params.excerpt }}</description>
      <content:encoded>{{ .Content | html }}</content:encoded>
    </item>
    {{- end }}
  </channel>
</rss>
"""


@dataclass(frozen=True)
class Run:
    """One whole process: wall time, peak RSS and what it printed."""

    seconds: float
    max_rss_kib: int
    output: str


def prepare(count: int) -> Path:
    """The corpus folder for `count` posts, generated unless a complete one is there,
    with the Hugo site written beside the posts."""
    root = CORPUS / str(count)
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating {count} posts into {root} ...", flush=True)
        generate(root, count, newsletters=True)
        done.write_text(f"{count}\n")
    site = root / "hugo"
    (site / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    config = HUGO_CONFIG.format(content=json.dumps(str(root / "content")))
    (site / "hugo.toml").write_text(config, encoding="utf-8")
    (site / "layouts" / "_default" / "rss.xml").write_text(HUGO_RSS, encoding="utf-8")
    return root


def measure(argv: list[str], log: Path) -> Run:
    """Run `argv` to the end; wall time around it, ru_maxrss (KiB) from wait4."""
    env = os.environ | {"PUBLISHER_SECRET": SECRET}
    with log.open("w+b") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{output}")
    return Run(seconds, usage.ru_maxrss, output)


class Sides:
    """The commands of both sides, on one corpus."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.publisher = [PUBLISHER, "-c", str(root / "publisher.toml")]
        self.hugo_out = root / "hugo-public"
        self.seen: set[str] = set()

    def _run(self, argv: list[str]) -> Run:
        run = measure(argv, self.root / "last-run.log")
        if run.output and run.output not in self.seen:  # show each message once
            self.seen.add(run.output)
            print(f"  {Path(argv[0]).name} printed: {run.output.strip()[:2000]}", flush=True)
        return run

    def publisher_cold(self) -> Run:
        for folder in ("state", "public", "outbox"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
        return self._run([*self.publisher, "build"])

    def publisher_run(self) -> Run:
        return self._run([*self.publisher, "run"])

    def hugo_cold(self) -> Run:
        site = self.root / "hugo"
        cache = self.root / "hugo-cache"
        for folder in (self.hugo_out, cache, site / "resources"):
            shutil.rmtree(folder, ignore_errors=True)
        argv = [HUGO, "--source", str(site), "--destination", str(self.hugo_out)]
        return self._run([*argv, "--cacheDir", str(cache), "--quiet"])

    def check(self) -> None:
        """Print how many posts and category feeds each side made, from an untimed build."""
        summary = self._run([*self.publisher, "-v", "build"]).output
        posts = re.search(r"(\d+) posts", summary)
        home = (self.hugo_out / "index.xml").read_text(encoding="utf-8")
        hugo_posts = re.search(r"<!-- (\d+) posts -->", home)
        print(
            f"posts read: publisher {posts[1] if posts else '?'}, "
            f"Hugo {hugo_posts[1] if hugo_posts else '?'}; category feeds: publisher "
            f"{len(list((self.root / 'public' / 'categories').glob('*/rss.xml')))}, "
            f"Hugo {len(list((self.hugo_out / 'categories').glob('*/index.xml')))}; "
            f"items in the site RSS: publisher "
            f"{(self.root / 'public' / 'rss.xml').read_text(encoding='utf-8').count('<item>')}, "
            f"Hugo {home.count('<item>')}",
            flush=True,
        )


def load() -> str:
    """The load averages: other work on the machine slows Hugo (both cores) the most."""
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def row(work: str, pairs: list[tuple[float, float]], unit: str, target: float | None) -> str:
    """One line of the table: each side's median and the median of the per-pair ratios;
    the target is reported, never asserted."""
    ours, theirs = median(p for p, _h in pairs), median(h for _p, h in pairs)
    ratio = median(p / h for p, h in pairs)
    verdict = (
        "-" if target is None else f"<= {target:g}x: " + ("met" if ratio <= target else "not met")
    )
    digits = 0 if unit == "MiB" else 2
    return (
        f"| {work} | {ours:.{digits}f} {unit} | {theirs:.{digits}f} {unit} "
        f"| {ratio:.2f}x | {verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()

    sides = Sides(prepare(args.count))
    version = subprocess.run([HUGO, "version"], capture_output=True, text=True).stdout
    print(f"{args.count} posts, {args.pairs} pairs; {version.strip()}; {load()}", flush=True)

    sides.publisher_cold()  # warm-ups: the page cache, Python's bytecode
    sides.hugo_cold()
    sides.publisher_run()
    sides.check()

    build: list[tuple[Run, Run]] = []
    nothing_new: list[tuple[Run, Run]] = []
    for n in range(args.pairs):
        build.append((sides.publisher_cold(), sides.hugo_cold()))
        sides.publisher_run()  # the warm run: state and outputs up to date after it
        nothing_new.append((sides.publisher_run(), sides.hugo_cold()))
        (b, hb), (r, hr) = build[-1], nothing_new[-1]
        print(
            f"pair {n + 1}: build {b.seconds:.2f} s / Hugo {hb.seconds:.2f} s, "
            f"run {r.seconds:.2f} s / Hugo {hr.seconds:.2f} s, "
            f"peak {b.max_rss_kib / 1024:.0f} / {hb.max_rss_kib / 1024:.0f} MiB",
            flush=True,
        )

    cold = [(p.seconds, h.seconds) for p, h in build]
    again = [(p.seconds, h.seconds) for p, h in nothing_new]
    peak = [(p.max_rss_kib / 1024, h.max_rss_kib / 1024) for p, h in build]
    print("\n| work | publisher | Hugo | ratio | target |\n| --- | --- | --- | --- | --- |")
    for work, pairs, unit, target in (
        ("cold `publisher build` vs cold Hugo build", cold, "s", 0.5),
        (
            "`publisher run` with nothing new vs Hugo's cold build",
            again,
            "s",
            NOTHING_NEW.get(args.count),
        ),
        ("peak memory (max RSS of the process tree), cold", peak, "MiB", 0.25),
    ):
        print(row(f"{args.count:,} posts, {work}", pairs, unit, target))
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
