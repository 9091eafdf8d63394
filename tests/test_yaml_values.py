"""Front matter YAML gives the values PyYAML's safe loader gives, by whichever path it is built."""

from __future__ import annotations

import pytest
import yaml

from publisher.config.yamlload import MAX_DEPTH, load_yaml

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
    "deep": "a: " + "[" * 31 + "]" * 31 + "\n",  # MAX_DEPTH with the table around it
    "long-numbers": f"a: {'9' * 4000}\nb: 0x{'f' * 3000}\nc: 0b{'1' * 13000}\n",
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


# Past the bounds: (document, line, message). Each value would break what prints it.
DIGITS = "(more than 4,300 digits): fix it, or quote it to keep it as text"
TOO_DEEP = (
    f"lists and tables nest more than {MAX_DEPTH} levels inside each other here: write the "
    "value flatter"
)
REFUSED = {
    "hex": ("title: t\nn: 0x" + "f" * 3600, 2, f"cannot read '0x{'f' * 38}…' as a whole number"),
    "binary": ("n: 0b" + "1" * 14300, 1, f"cannot read '0b{'1' * 38}…' as a whole number"),
    "octal": ("n: 0" + "7" * 4800, 1, f"cannot read '0{'7' * 39}…' as a whole number"),
    "base-60": (
        "n: " + ":".join(["59"] * 2500),
        1,
        f"cannot read '{':'.join(['59'] * 13)}:5…' as a whole number",
    ),
    "base-60-long": ("n: " + ":".join(["59"] * 20000), 1, "cannot read '59:59"),
    "in-a-key": ("? 0x" + "f" * 3600 + "\n: x\n", 1, "cannot read '0xfff"),
    "in-a-list": ("a: [1, 0x" + "f" * 3600 + "]\n", 1, "cannot read '0xfff"),
    "nested-990": ("title: " + "[" * 990 + "]" * 990, 1, TOO_DEEP),
    "nested-tables": ("a:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 40)), 33, TOO_DEEP),
    "nested-through-an-alias": (
        "a: &x " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 12 + "*x" + "]" * 12,
        1,
        TOO_DEEP,
    ),
}


@pytest.mark.parametrize(("text", "line", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_values_past_the_bounds_are_refused_where_written(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        load_yaml(text)
    problem = caught.value.problem or ""
    assert problem.startswith(message)
    if "whole number" in problem:
        assert problem.endswith(DIGITS)
    assert caught.value.problem_mark is not None
    assert caught.value.problem_mark.line + 1 == line
