"""A body's nesting is counted as the HTML parser would build it: what nh3 would nest past
the bound is refused whatever hides the opening tags' depth, and ordinary HTML, however
long or sloppy, is not."""

from __future__ import annotations

import pytest

from publisher.content.nesting import MAX_NESTING, too_deep

N = 300  # past MAX_NESTING

DEEP = {
    # end tags that close nothing in the parser (each kept nh3 busy for a time growing with
    # the square of the count: 28-54 s for a megabyte)
    "stray-end-tags": "<div></span>" * N,
    "stray-end-of-a-formatting-tag": "<b></i>" * N,
    "end-tag-through-a-block": "<span><div></span>" * N,
    # end tags that are not tags at all
    "in-an-attribute": '<div title="</div>">' * N,
    "in-a-single-quoted-attribute": "<div title='</div>'>" * N,
    "in-a-comment": "<div><!-- </div> -->" * N,
    "in-an-abrupt-comment": "<!--><div>" * N,
    "in-a-bogus-comment": "<div><! </div>" * N,
    "in-a-processing-instruction": "<div><? </div>" * N,
    "in-a-script": "<div><script></div></script>" * N,
    "in-a-textarea": "<div><textarea></div></textarea>" * N,
    "in-svg-style": "<svg><style>" + "<div>" * N + "</style>",
    "plain": "<div>" * N,
    # a formatting end tag through a block: the parser takes it out and opens a copy
    "formatting-through-an-unclosed-block": "<strong><div>x</strong>" * N,
    "svg-groups": "<svg>" + "<g>" * N + "</svg>",
}


@pytest.mark.parametrize("html", DEEP.values(), ids=DEEP.keys())
def test_what_the_parser_would_nest_past_the_bound_is_refused(html: str) -> None:
    assert too_deep(html) >= N > MAX_NESTING


SHALLOW = {
    "closed": "<div><span>x</span></div>" * 10_000,
    "unclosed-paragraphs-and-items": "<ul>" + "<li><p>x" * 10_000 + "</ul>",
    "misnested-inline": "<div><b><i>x</b></i></div>" * 10_000,
    "block-closes-inline": "<div><span>x</div>" * 10_000,
    "comments": "<!-- <div> -->" * 10_000,
    "scripts-with-markup": "<script>var a = '<div>';</script>" * 10_000,
    "tables": "<table><tr><td><div>x</div></td></tr></table>" * 10_000,
    "deep-but-within": "<div>" * MAX_NESTING + "</div>" * MAX_NESTING,
    # a chart or a map: self-closed shapes in SVG hold nothing
    "inline-svg": "<figure><svg viewBox='0 0 9 9'>" + "<path d='M0 0h1'/>" * 10_000 + "</svg>"
    "</figure>",
    "math": "<math>" + "<mi>x</mi><mspace/>" * 10_000 + "</math>",
    # end tags the parser's adoption agency and heading rules close
    "formatting-around-a-block": "<strong><div>x</strong></div>" * 10_000,
    "font-around-center": "<font><center>x</font></center>" * 10_000,
    "headings-closed-by-another-level": "<h2>x</h3>" * 10_000,
}


@pytest.mark.parametrize("html", SHALLOW.values(), ids=SHALLOW.keys())
def test_ordinary_html_is_not_too_deep(html: str) -> None:
    assert too_deep(html) == 0
