"""Front matter YAML gives the values PyYAML's safe loader gives, by whichever path it is built."""

from __future__ import annotations

import pytest
import yaml

from publisher.content.yamlload import load_yaml

# Each a front matter as people write it, or as YAML 1.1 reads it in ways that surprise.
DOCUMENTS = {
    "plain": "title: 북·러 협정\ndate: 2024-06-19 10:00:00 +0900\ncategories:\n  - News\n",
    "folded-and-literal": "excerpt: >\n  첫 줄\n  둘째 줄\n\nbody: |\n  a\n   b\n",
    "empty": "",
    "only-a-comment": "# nothing\n",
    "nulls": "a: ~\nb: null\nc:\nd: Null\n",
    "bools": "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: 'yes'\n",
    "ints": "a: 0o17\nb: 012\nc: 1_000\nd: 1:20\ne: 0x1F\nf: 0b101\ng: -0\nh: +12\n",
    "floats": "a: .inf\nb: -.Inf\nc: .NaN\nd: 6.8523015e+5\ne: 1e3\nf: 1_0.5\ng: 1:20.5\n",
    "timestamps": (
        "a: 2001-12-14t21:59:43.10-05:00\nb: 2001-12-14 21:59:43.10 -5\nc: 2002-12-14\n"
        "d: 2001-12-15T02:59:43.1Z\ne: 2024-06-19 10:00\n"
    ),
    "quoted": "a: '2024-06-19'\nb: \"1\"\nc: '~'\nd: \"yes\"\n",
    "binary": "logo: !!binary |\n  R0lGODlhDAAMAIQAAP//9/X17unp5WZmZgAAAOfn515e\n",
    "explicit-tags": "a: !!str 12\nb: !!int '7'\nc: !!float '1'\nd: !!bool 'yes'\n",
    "flow": "tags: [a, b, {c: d}]\nmeta: {x: [1, 2], y: null}\n",
    "nested": "feed:\n  excerpt_only: true\n  more:\n    - - deep\n      - 1\n",
    "merge-key": "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  c: 3\n",
    "merge-without-anchor": "x:\n  <<: {a: 1}\n  b: 2\n",
    "value-key": "=: x\n",
    "non-text-keys": "1: a\n2024-06-19: b\ntrue: c\n~: d\n1.5: e\n",
    "duplicate-keys": "a: 1\nb: 2\na: 3\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [a: 1, b: 2]\n",
    "pairs": "p: !!pairs [a: 1, a: 2]\n",
    "anchors": "a: &x [1, 2]\nb: *x\n",
    "ampersand-without-anchor": "title: AT&T & 한국\nurl: https://x.kr/?a=1&b=2\n",
    "not-a-mapping": "- a\n- b\n",
    "a-scalar": "just text\n",
    "str-tag-on-a-table": "a: !!str {b: c}\n",
    "map-tag-on-text": "a: !!map text\n",
    "unknown-tag": "a: !foo bar\n",
    "impossible-date": "date: 2024-02-30\n",
    "tab": "title: a\n\tbody: b\n",
    "unhashable-key": "? [a, b]\n: c\n",
    "deep": "a: " + "[" * 200 + "]" * 200 + "\n",
    "many-documents": "a: 1\n---\nb: 2\n",
}


def expected(text: str) -> tuple[str, str]:
    """What the pure-Python safe loader gives (repr, so that NaN equals NaN), or 'error'."""
    try:
        return "value", repr(yaml.load(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return "error", ""
    except (ValueError, TypeError, AttributeError, OverflowError):
        return "error", ""  # a value that reads as YAML but cannot be built


@pytest.mark.parametrize("text", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_front_matter_reads_as_the_safe_loader_reads_it(text: str) -> None:
    try:
        got = "value", repr(load_yaml(text))
    except yaml.YAMLError:
        got = "error", ""
    assert got == expected(text)
