"""How deep the elements of an HTML body nest, counted as an HTML parser would build them.

HTML parsers (html5ever in nh3, which cleans every body) take time that grows with the
square of the depth: a million characters of '<div>' kept the sanitizer busy for minutes.
`too_deep` counts, in one pass and without building anything, the depth the parser would
reach, so a body past `MAX_NESTING` is never handed to it. It reads the markup as the
parser's tokenizer does where that decides what is a tag: comments and bogus comments
(`<!x ...>`, `<?...>`) hold no tags, nor do quoted attribute values or the text of
`<script>`, `<style>`, `<textarea>`... And it closes elements as the tree builder does: an
end tag closes the latest element of its name only when nothing it may not close through
is above it (a stray `</span>` closes nothing, so '<div></span>' repeated nests every
div). Where its reading may differ from the parser's it errs towards counting deeper.
"""

from __future__ import annotations

import re

# No article nests more than a few dozen; libxml2 stops at the same depth.
MAX_NESTING = 256

# A start or end tag up to its name.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
# The rest of a tag, attributes and all, to its '>' (possessive: no backtracking). A quote
# opens a value only after '='; a value with no closing quote runs on (the parser drops the
# tag at the end of the text: read here as ending at a '>', so what follows counts).
_TAG_REST = re.compile(
    r"""(?:[\s/]++|[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+)*+>"""
)
# Elements that never hold others open: void ones, and those the next of their kind
# closes (<p>, <li>, <td>...), often left unclosed by hand-written HTML.
_NOT_NESTING_WORDS = (
    "area base br col embed hr img input link meta param source track wbr keygen "
    "p li dd dt option optgroup tr td th thead tbody tfoot colgroup caption rt rp "
    "html head body"
)
_NOT_NESTING = frozenset(_NOT_NESTING_WORDS.split())
# Elements whose text holds no tags, to their end tag (outside SVG and MathML, where they
# are elements like any other).
_RAW_TEXT_WORDS = "script style textarea title xmp iframe noembed noframes noscript"
_RAW_TEXT = frozenset(_RAW_TEXT_WORDS.split())
_RAW_END = {name: re.compile(rf"</{name}[\s/>]", re.IGNORECASE) for name in _RAW_TEXT}
_FOREIGN = frozenset({"svg", "math"})
# An end tag of these closes the element of its name unless a scope boundary is above it;
_BLOCK_END_WORDS = (
    "address applet article aside blockquote button center details dialog dir div dl "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup listing main "
    "marquee menu nav object ol pre search section summary table template ul"
)
_BLOCK_END = frozenset(_BLOCK_END_WORDS.split())
_SCOPE_BOUNDARY = frozenset("applet caption html table td th marquee object template".split())  # noqa: SIM905
# any other closes it unless one of these "special" elements is above it.
_SPECIAL_WORDS = (
    "area base basefont bgsound body br col colgroup dd dt embed frame frameset head hr "
    "iframe img input keygen li link meta noembed noframes noscript p param plaintext "
    "script select source style tbody td textarea tfoot th thead title tr track wbr xmp"
)
_SPECIAL = _BLOCK_END | frozenset(_SPECIAL_WORDS.split())
# An end tag of these with special elements above its element takes it out from under them
# and opens a copy of it on top (the parser's adoption agency), each element above staying.
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())  # noqa: SIM905
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")  # an end tag of one closes any of them


def too_deep(html: str) -> int:
    """How deep the elements of `html` nest when that is past MAX_NESTING, else 0."""
    if html.count("<") <= MAX_NESTING:  # too few tags to nest that deep: most bodies
        return 0
    nesting = _Nesting()
    deepest = 0
    pos = 0
    unclosed: set[str] = set()  # raw text elements with no end tag after here
    while (pos := html.find("<", pos)) != -1:
        m = _TAG.match(html, pos)
        if m is None:
            pos = _past_markup(html, pos)
            continue
        rest = _TAG_REST.match(html, m.end())
        if rest is None:
            break  # a tag the text ends in: the parser drops it
        pos = rest.end()
        name = m[2].lower()
        if name in _NOT_NESTING:
            continue
        if m[1]:
            deepest = max(deepest, nesting.close(name))
            continue
        if html[pos - 2] == "/" and (name in _FOREIGN or nesting.foreign()):
            continue  # '<path/>' in SVG or MathML closes itself (in HTML '/' means nothing)
        deepest = max(deepest, nesting.open(name))
        if name == "plaintext":
            break  # the rest is text
        if name in _RAW_TEXT and name not in unclosed and not nesting.foreign():
            closing = _RAW_END[name].search(html, pos)
            if closing is not None:
                pos = closing.start()
            else:  # read on as markup (deeper, if anything)
                unclosed.add(name)
    return deepest if deepest > MAX_NESTING else 0


def _past_markup(html: str, pos: int) -> int:
    """Where the text after a '<' that starts no tag goes on: past a comment or a bogus
    comment (to the end of the text when it never ends), else just after the '<'."""
    if html.startswith("<!--", pos):
        # '<!-->' and '<!--->' end where they start; '--!>' ends one too.
        end = html.find("-->", pos + 2)
        bang = html.find("--!>", pos + 4, len(html) if end == -1 else end + 3)
        if bang != -1:
            return bang + 4
        return len(html) if end == -1 else end + 3
    if html.startswith(("<!", "<?"), pos) or (
        html.startswith("</", pos) and not html.startswith("</>", pos)
    ):
        close = html.find(">", pos + 2)
        return len(html) if close == -1 else close + 1
    return pos + 1


class _Nesting:
    """The elements open at a point of a document, as an HTML parser keeps them: each start
    tag opens one; an end tag closes the latest element of its name, with every element
    opened after it, unless one it may not close through is above it (then the parser
    ignores it, and so does this). Each step costs the same however deep the nesting."""

    def __init__(self) -> None:
        self.names: list[str] = []  # the open elements, outermost first
        self.at: dict[str, list[int]] = {}  # name -> where it is open in `names`
        self.special: list[int] = []  # where special elements are open
        self.boundaries: list[int] = []  # where scope boundaries are open
        self.taken_out: set[int] = set()  # formatting elements taken from under others

    def open(self, name: str) -> int:
        """Open `name`; how deep it is."""
        index = len(self.names)
        self.names.append(name)
        self.at.setdefault(name, []).append(index)
        if name in _SPECIAL:
            self.special.append(index)
        if name in _SCOPE_BOUNDARY:
            self.boundaries.append(index)
        return index + 1 - len(self.taken_out)

    def foreign(self) -> bool:
        """Whether an SVG or MathML element is open."""
        return any(self.at.get(name) for name in _FOREIGN)

    def close(self, name: str) -> int:
        """An end tag `name`: closes what a parser's would, or nothing; how deep a copy it
        opens is (0 when it opens none)."""
        if name in _HEADINGS:  # the latest heading open, whichever its level
            name = max(_HEADINGS, key=lambda h: self.at[h][-1] if self.at.get(h) else -1)
        where = self.at.get(name)
        if not where:
            return 0  # a stray end tag
        index = where[-1]
        above = self.boundaries if name in _BLOCK_END else self.special
        if above and above[-1] > index:
            if name in _FORMATTING and not (self.boundaries and self.boundaries[-1] > index):
                where.pop()  # taken out from under the elements above it, and a copy on top
                self.taken_out.add(index)
                return self.open(name)
            return 0
        while len(self.names) > index:
            gone = self.names.pop()
            at = len(self.names)
            self.taken_out.discard(at)
            if self.at[gone] and self.at[gone][-1] == at:
                self.at[gone].pop()
            if self.special and self.special[-1] == at:
                self.special.pop()
            if self.boundaries and self.boundaries[-1] == at:
                self.boundaries.pop()
        return 0
