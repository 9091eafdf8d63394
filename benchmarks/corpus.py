"""A deterministic corpus of posts shaped like the seeds, for benchmarks.

    python benchmarks/corpus.py DEST [--count 10000] [--categories 50] [--seed 1]

writes DEST/content/... and DEST/publisher.toml. Posts have Korean titles and HTML
bodies of 3-8 KB; a third carry a front matter date, a third a date in the file name,
and a third no date at all (first seen), like the seeds.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "content"
EXAMPLE = SEEDS.parent / "config.example.toml"

_WORDS = (
    "북한 러시아 평양 정상회담 협정 체결 군사 지원 조항 기술 협력 가능성 시사 김정은 푸틴 "
    "국제사회 비난 의식 동맹 관계 전략적 동반자 조약 외교 안보 경제 발표 정부 대통령 "
    "국회 여당 야당 선거 시장 금리 물가 환율 수출 반도체 기업 투자 뉴스 속보 분석 전망"
).split()
_KST = timezone(timedelta(hours=9))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)) + "습니다."


def _body(rng: random.Random, image: str) -> str:
    target = rng.randint(3000, 8000)
    parts = [f'<p><img src="{image}" alt="속보" /></p>\n']
    size = len(parts[0].encode())
    while size < target:
        block = (
            f'<h2 data-ke-size="size26">{_sentence(rng, 4)}</h2>\n\n'
            f'<p data-ke-size="size16">{" ".join(_sentence(rng, 12) for _ in range(3))}</p>\n\n'
            f"<ul>\n  <li><b>{rng.choice(_WORDS)}</b>: {_sentence(rng, 10)}</li>\n</ul>\n\n"
        )
        parts.append(block)
        size += len(block.encode())
    return "".join(parts)


def _example_newsletters() -> str:
    """The example config from its [email] table on (newsletters, subscriber, delivery,
    schedule), its templates_dir made absolute so it works from any folder."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text[text.index("\n[email]\n") :]
    templates = EXAMPLE.parent / "email_templates"
    return text.replace('templates_dir = "email_templates"', f"templates_dir = '{templates}'")


def generate(
    dest: Path, count: int, *, categories: int = 50, seed: int = 1, newsletters: bool = False
) -> None:
    """Write `count` posts under dest/content and a dest/publisher.toml pointing at them;
    with `newsletters`, the config also gets the example's [email], [[newsletters]],
    [[subscribers]] and [delivery] tables."""
    rng = random.Random(seed)
    content = dest / "content"
    content.mkdir(parents=True, exist_ok=True)
    names = [f"분야{i:02d}" if i % 2 else f"section-{i:02d}" for i in range(categories)]
    start = datetime(2020, 1, 1, 8, 0, tzinfo=_KST)
    for n in range(count):
        when = start + timedelta(minutes=47 * n)
        kind = n % 3
        folder = content / f"{when.year}"
        folder.mkdir(exist_ok=True)
        stem = f"{n:06d}_{rng.getrandbits(64):016x}"
        if kind == 1:
            stem = f"{when:%Y-%m-%d}-{stem}"
        image = (
            "/assets/img/newsdao_breakingnews.jpg"
            if n % 2
            else "https://newsdao.kr/res/images/meta/newsdao_breakingnews.jpg"
        )
        cats = sorted({rng.choice(names) for _ in range(rng.randint(1, 2))})
        excerpt = " ".join(_sentence(rng, 10) for _ in range(3))
        lines = [
            "---",
            f"title: {_sentence(rng, 6)[:-3]} {n}",
            "categories:",
            *(f"  - {c}" for c in cats),
            "excerpt: >",
            f"  {excerpt}",
            "feature_text: >",
            f"  ## {_sentence(rng, 4)}",
            "",
            f"  {excerpt}",
            f"image: '{image}'",
        ]
        if kind == 0:
            lines.append(f"date: {when:%Y-%m-%d %H:%M:%S %z}")
        lines.append("---")
        text = "\n".join(lines) + "\n\n" + _body(rng, image)
        (folder / f"{stem}.html").write_text(text, encoding="utf-8")
    (dest / "publisher.toml").write_text(
        "\n".join(
            [
                "[site]",
                'title = "뉴스다오"',
                'url = "https://newsdao.kr/"',
                'language = "ko"',
                'timezone = "Asia/Seoul"',
                'author = "뉴스다오"',
                "[content]",
                'dir = "content"',
                "[store]",
                'path = "state/publisher.sqlite3"',
                "[feeds]",
                'output_dir = "public"',
                "",
            ]
        )
        + (_example_newsletters() if newsletters else ""),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.dest, args.count, categories=args.categories, seed=args.seed)


if __name__ == "__main__":
    main()
