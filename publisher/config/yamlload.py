"""YAML read with bounded work (front matter, Jekyll's `_config.yml`, authors files): any
value becomes data or a marked error.

PyYAML's safe loader (libyaml's parser when present) does all the reading; this module
adds these guards around it:

- **Aliases are bounded.** An alias (`*name`) stands for the whole value of its anchor
  (`&name`), so nine lines of anchors can stand for a billion values ("billion laughs").
  Loading shares one object per anchor, but anything that walks or prints the result
  pays for every copy. A document whose values, aliases counted out, number more than a
  small multiple of the values written is refused, and so is one that refers to itself.
- **Values are bounded.** Lists and tables may nest at most `MAX_DEPTH` levels (what
  prints or walks them recurses: 990 levels broke them), aliases counted in; a whole
  number may have at most as many digits as Python prints (in any base: `0x`, `0b` and
  YAML 1.1's base 60 `1:2:3` too), so every value can be shown in a message.
- **Construction never escapes.** A scalar YAML resolves to a type it cannot build (a
  date no calendar has, an offset beyond a day, a number past Python's digit limit, a
  `!!timestamp` tag on text) raises a `ConstructorError` marked at that value, like any
  other YAML error, instead of a bare ValueError.

It is also quicker than the library alone on front matter (a first build loads one per
post): the resolver's answers for every node come without its general machinery (the
safe loader has no path resolvers), and a document of plain tables, lists and scalars
without anchors (nearly all front matter) is built by one short walk over its nodes,
each scalar by the library's own constructor for its tag. Anything else (an anchor, a
merge key, a key that is not text, another tag, a value that cannot be built) is built
by the library's constructor as before, with its errors: the same values either way.
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    _SafeLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader

# A document may hold this many values, aliases counted out, per value written (plus a
# few, so a short document may reuse a table once or twice).
ALIAS_FACTOR = 4
_ALIAS_SLACK = 64

# How deep lists and tables may nest in one document (front matter needs two or three).
MAX_DEPTH = 32
# The most digits a whole number may have: what str() writes (Python's limit, 4,300).
MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_LOG10_2 = 0.30103

_KINDS = {
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:binary": "base64 data",
    "tag:yaml.org,2002:null": "null",
}


# An anchor (&name) where a value starts: without one, a document has no alias to count.
# Text such as 'AT&T' may match too: it only costs the count.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s,\[\]{}]", re.MULTILINE)


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# Scalar tags whose constructor returns the value (not a generator filled in later).
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp", "binary")
)
_IMPLICIT: dict[Any, list[tuple[str, re.Pattern[str]]]] = _SafeLoader.yaml_implicit_resolvers
# The shortcuts below answer as the library does only for a resolver with no path
# resolvers and no resolver for every first character (the safe loader's).
_PLAIN_RESOLVER = not _SafeLoader.yaml_path_resolvers and None not in _IMPLICIT


class _Unusual(Exception):
    """A document the short walk leaves to the library's constructor."""


class _BoundedLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.anchored = "&" in text and _ANCHOR.search(text) is not None

    if _PLAIN_RESOLVER:
        # The composer asks these for every node: with no path resolvers, descending and
        # ascending do nothing, and a node's tag is its first matching implicit resolver's.

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

        def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
            if kind is ScalarNode:
                if implicit[0]:
                    for tag, regexp in _IMPLICIT.get(value[:1], ()):
                        if regexp.match(value):
                            return tag
                return _STR
            return _SEQ if kind is SequenceNode else _MAP

    def construct_document(self, node: Node) -> Any:
        if not self.anchored:
            # _Unusual, or a value that cannot be built: the library builds it below and
            # says why.
            with contextlib.suppress(Exception):
                return _walk(self, node)
        _check_shape(node)
        return super().construct_document(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as e:
            raise ConstructorError(None, None, _why(node, e), node.start_mark) from e


def _walk(loader: _BoundedLoader, node: Node, room: int = MAX_DEPTH) -> Any:
    """The value of `node` for plain tables, lists and scalars nesting at most `room` deep
    (_Unusual for anything else), as the library's constructor would build it."""
    tag = node.tag
    kind = type(node)
    if kind is ScalarNode:
        if tag == _STR:
            return node.value
        if tag in _SCALAR_TAGS:
            return loader.yaml_constructors[tag](loader, node)
    elif room <= 0:
        raise _Unusual  # too deep: _check_shape says where
    elif kind is MappingNode and tag == _MAP:
        table = {}
        for key, value in node.value:
            if key.tag != _STR or type(key) is not ScalarNode:  # merge keys, '=', numbers
                raise _Unusual
            table[key.value] = _walk(loader, value, room - 1)
        return table
    elif kind is SequenceNode and tag == _SEQ:
        return [_walk(loader, item, room - 1) for item in node.value]
    raise _Unusual


def _whole_number(loader: _BoundedLoader, node: ScalarNode) -> int:
    """A YAML 1.1 int, refused (ValueError) past MAX_DIGITS digits: str() and repr() of a
    longer one raise, and base 60 takes time that grows with the square of its length."""
    if isinstance(node.value, str) and len(node.value) > 4 * MAX_DIGITS:
        raise ValueError(f"more than {MAX_DIGITS:,} digits")
    value: int = SafeConstructor.construct_yaml_int(loader, node)
    if value.bit_length() * _LOG10_2 >= MAX_DIGITS:
        raise ValueError(f"more than {MAX_DIGITS:,} digits")
    return value


def _undefined(loader: _BoundedLoader, node: Node) -> Any:
    raise ConstructorError(
        None,
        None,
        f"the tag {node.tag!r} is not one front matter may use: remove it",
        node.start_mark,
    )


_BoundedLoader.add_constructor(None, _undefined)
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _whole_number)


def load_yaml(text: str) -> Any:
    """The value of the YAML document `text`; yaml.YAMLError (marked where it can be) when
    it cannot be read, has too many aliases, refers to itself, nests too deep or holds a
    value past the bounds."""
    return load_yaml_node(text)[0]


def load_yaml_node(text: str) -> tuple[Any, Node | None]:
    """The value of the YAML document `text` and its node (where each value was written),
    as `load_yaml` reads it."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        return (None if node is None else loader.construct_document(node)), node
    finally:
        loader.dispose()


def _why(node: Node, error: Exception) -> str:
    value = node.value if isinstance(node.value, str) else ""
    shown = repr(value if len(value) <= 40 else value[:40] + "…")
    kind = _KINDS.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]} value")
    if kind == "a date":
        if isinstance(error, AttributeError):
            reason = "not a date at all"
        elif "offset" in str(error):
            reason = "its offset is a day or more"
        else:
            reason = str(error)
        return (
            f"{shown} is not a date any calendar has ({reason}): write a real day and time, "
            "such as '2024-06-19 14:30:00 +09:00'"
        )
    reason = str(error) if isinstance(error, ValueError) else "not in that form"
    if len(reason) > 80:
        reason = reason[:80] + "…"
    return f"cannot read {shown} as {kind} ({reason}): fix it, or quote it to keep it as text"


def _check_shape(root: Node) -> None:
    """Refuse a document whose aliases expand past the bound, that contains itself, or whose
    values nest deeper than MAX_DEPTH (aliases expanded)."""
    written = 0
    sizes: dict[int, int] = {}  # id(node) -> values it stands for, aliases expanded
    heights: dict[int, int] = {}  # id(node) -> levels of lists and tables it holds, itself in
    # Depth-first, children before parents, without recursion; a loop is found by a node
    # met again on its own path.
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            scalar = isinstance(node, ScalarNode)
            heights[key] = 0 if scalar else 1 + max((heights[id(c)] for c in children), default=0)
            continue
        if key in sizes:  # an alias of a value already counted
            if len(on_path) + heights[key] > MAX_DEPTH:
                raise _too_deep(node)
            continue
        if not isinstance(node, ScalarNode) and len(on_path) >= MAX_DEPTH:
            raise _too_deep(node)
        if key in on_path:
            raise ConstructorError(
                None,
                None,
                "an alias refers to the value it is part of (its own anchor): write the "
                "value out instead",
                node.start_mark,
            )
        written += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    total = sizes[id(root)]
    allowed = ALIAS_FACTOR * written + _ALIAS_SLACK
    if total > allowed:
        raise ConstructorError(
            None,
            None,
            f"its aliases (*name) stand for {total:,} values, for {written:,} written "
            f"(at most {ALIAS_FACTOR} times as many may be): write the values out, or "
            "use fewer aliases",
            root.start_mark,
        )


def _too_deep(node: Node) -> ConstructorError:
    return ConstructorError(
        None,
        None,
        f"lists and tables nest more than {MAX_DEPTH} levels inside each other here: write "
        "the value flatter",
        node.start_mark,
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []
