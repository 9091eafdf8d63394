"""Split each post file into front matter and body, with line numbers for problems."""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from frontmatter.default_handlers import YAMLHandler
from yaml.constructor import ConstructorError

from publisher.config.yamlload import load_yaml
from publisher.content.files import SourceFile, escaped, open_regular
from publisher.errors import ContentError

# A '---' line as python-frontmatter's YAML handler finds it (trailing spaces allowed).
_BOUNDARY = YAMLHandler.FM_BOUNDARY
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


@dataclass(frozen=True)
class RawPost:
    """A file's front matter (a mapping) and body, and the line of each top-level key."""

    meta: dict[str, Any]
    body: str
    front: str = field(repr=False)

    def line_of(self, key: str) -> int:
        """The file line of a top-level front matter key (1 when unknown)."""
        # Only asked when something is wrong, so it is worked out then.
        for m in _TOP_KEY.finditer(self.front):
            if m[1] == key:
                # The front matter text starts with the newline ending the opening '---'.
                return self.front.count("\n", 0, m.start()) + 1
        return 1


class SourceProblem(Exception):
    """A file that cannot be read as a post; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_body(path: str) -> str:
    """The body of a post file, read again (front matter split off, not parsed)."""
    try:
        fd = open_regular(path)
        try:
            data = _read(fd, 1 << 62)  # to its end, as it is now
        finally:
            os.close(fd)
        text = _decode(data, path)
    except (OSError, SourceProblem) as e:
        raise ContentError(
            f"{escaped(path)}: cannot read the post body any more ({e}): run again"
        ) from e
    try:
        parts = split_front(text)
    except ValueError:
        return ""
    if parts is None:
        return text
    body = parts[1]
    return body[1:] if body.startswith("\n") else body


def split_front(text: str) -> tuple[str, str] | None:
    """(front matter, body) as python-frontmatter's YAML handler splits a post; None when
    `text` does not start with a '---' line; ValueError when no '---' line closes it.

    The handler splits with a regular expression run over the whole text; the closing
    line is found here by looking only where a line starts with '---'.
    """
    opening = _BOUNDARY.match(text)
    if opening is None:
        return None
    start = opening.end()
    at = start - 1
    while (at := text.find("\n---", at)) != -1:
        closing = _BOUNDARY.match(text, at + 1)
        if closing is not None:
            return text[start : at + 1], text[closing.end() :]
        at += 1
    raise ValueError("no closing '---' line")


def _too_big(part: str, size: int, limits: Limits) -> str:
    if part == "file":
        limit, keys = limits.file, "max_front_matter_bytes and max_body_bytes allow together"
    elif part == "body":
        limit, keys = limits.body, "max_body_bytes"
    else:
        limit, keys = limits.front_matter, "max_front_matter_bytes"
    return (
        f"the {part} is {size:,} bytes, more than [content] {keys} ({limit:,}): the post is "
        f"left out; shorten it, or raise {'those limits' if part == 'file' else keys} "
        "in the config"
    )


def _decode(data: bytes, path: str) -> str:
    """UTF-8 text (BOM dropped, CRLF made LF), or a SourceProblem naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\0" in data[:512]:
            raise SourceProblem(
                1,
                "the file is UTF-16 (or another encoding with zero bytes), not UTF-8: save it "
                "as UTF-8 in its editor, or convert it, e.g. "
                f"'iconv -f utf-16 -t utf-8 {escaped(os.path.basename(path))}'",
            ) from e
        raise SourceProblem(
            line,
            "the file is not UTF-8 (an EUC-KR/CP949 export?): convert it, e.g. "
            f"'iconv -f cp949 -t utf-8 {escaped(os.path.basename(path))}', and save it as UTF-8",
        ) from e
    return text.replace("\r\n", "\n") if "\r" in text else text


def _read(fd: int, wanted: int) -> bytes:
    """Up to `wanted` bytes from `fd`, fewer only at its end (a megabyte at a time)."""
    chunks = []
    while wanted > 0:
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


class Limits(NamedTuple):
    """The most bytes one post file may hold in its front matter and in its body."""

    front_matter: int
    body: int

    @property
    def file(self) -> int:
        """The most bytes a file may hold: both parts, the '---' lines and a BOM."""
        return self.front_matter + self.body + 16


def read_post(source: SourceFile, limits: Limits, opened: int | None = None) -> RawPost | None:
    """Read and split one file (`opened`: the file already open, closed by the caller);
    None when it has no front matter (not a post). A file past `limits` is a
    SourceProblem, read no further than it takes to know."""
    if source.size > limits.file:
        raise SourceProblem(1, _too_big("file", source.size, limits))
    fd = open_regular(source.path) if opened is None else opened
    try:
        # Read what it held when listed; more only if it has grown since, to the bound.
        data = _read(fd, source.size + 1)
        if len(data) > source.size:
            data += _read(fd, limits.file + 1 - len(data))
    finally:
        if opened is None:
            os.close(fd)
    if len(data) > limits.file:
        raise SourceProblem(1, _too_big("file", os.path.getsize(source.path), limits))
    text = _decode(data, source.path)
    try:
        parts = split_front(text)
    except ValueError as e:
        raise SourceProblem(1, "the front matter has no closing '---' line: add one") from e
    if parts is None:
        return None
    front, body = parts
    for part, value, limit in (
        ("front matter", front, limits.front_matter),
        ("body", body, limits.body),
    ):
        # Characters are 1 to 4 bytes: counted only when they might be too many.
        if len(value) > limit // 4 and len(value.encode("utf-8")) > limit:
            raise SourceProblem(1, _too_big(part, len(value.encode("utf-8")), limits))
    try:
        meta = load_yaml(front)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # The front matter text starts with the newline that ends the opening '---' line.
        line = mark.line + 1 if mark is not None else 1
        why = e.problem or "syntax error"
        if isinstance(e, ConstructorError) and mark is not None:
            # A value that reads as YAML but cannot be built: the message says what to do.
            raise SourceProblem(line, f"front matter: {why}") from e
        raise SourceProblem(
            line,
            f"front matter is not valid YAML ({why}): fix this line (a tab, an unquoted ': ' "
            "or an unclosed quote are the usual causes) or run 'publisher check'",
        ) from e
    except yaml.YAMLError as e:
        raise SourceProblem(1, f"front matter is not valid YAML ({e}): fix it") from e
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise SourceProblem(
            2, "front matter must be 'key: value' lines, not a list or a single value: fix it"
        )
    # Drop the newline that ends the closing '---' line.
    return RawPost(meta, body[1:] if body.startswith("\n") else body, front)
