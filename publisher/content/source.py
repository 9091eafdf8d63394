"""Find post files and split each into front matter and body, with line numbers for problems."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from frontmatter.default_handlers import YAMLHandler

from publisher.errors import ContentError

POST_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})
DRAFTS_DIR = "_drafts"
_HANDLER = YAMLHandler()
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


class SourceFile(NamedTuple):
    """A candidate post file: where it is, and the size and mtime that key the parse cache."""

    # A NamedTuple, not a dataclass: a warm run makes 10,000 of them just to compare stats.
    rel: str
    path: str
    size: int
    mtime_ns: int


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


def discover(content_dir: Path, *, drafts: bool) -> list[SourceFile]:
    """Every candidate post file under `content_dir`, hidden files skipped, sorted by path."""
    # A warm run spends most of its time here (10,000 stat calls), so the loop is kept bare.
    found: list[SourceFile] = []
    stack = [(str(content_dir), "")]
    new = tuple.__new__
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if entry.is_dir():
                    if name != DRAFTS_DIR or drafts:
                        stack.append((entry.path, f"{prefix}{name}/"))
                elif name[name.rfind(".") :].lower() in POST_SUFFIXES:
                    st = entry.stat()
                    found.append(
                        new(SourceFile, (prefix + name, entry.path, st.st_size, st.st_mtime_ns))
                    )
    found.sort()  # by `rel`, the first field (unique)
    return found


def read_body(path: str) -> str:
    """The body of a post file, read again (front matter split off, not parsed)."""
    try:
        text = _decode(Path(path).read_bytes(), path)
    except (OSError, SourceProblem) as e:
        raise ContentError(f"{path}: cannot read the post body any more ({e}): run again") from e
    if not _HANDLER.detect(text):
        return text
    try:
        _front, body = _HANDLER.split(text)
    except ValueError:
        return ""
    return body[1:] if body.startswith("\n") else body


def _decode(data: bytes, path: str) -> str:
    """UTF-8 text (BOM dropped, CRLF made LF), or a SourceProblem naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SourceProblem(
            line,
            "the file is not UTF-8 (an EUC-KR/CP949 export?): convert it, e.g. "
            f"'iconv -f cp949 -t utf-8 {os.path.basename(path)}', and save it as UTF-8",
        ) from e
    return text.replace("\r\n", "\n") if "\r" in text else text


def read_post(source: SourceFile) -> RawPost | None:
    """Read and split one file; None when it has no front matter (not a post)."""
    with open(source.path, "rb") as f:
        text = _decode(f.read(), source.path)
    if not _HANDLER.detect(text):
        return None
    try:
        front, body = _HANDLER.split(text)
    except ValueError as e:
        raise SourceProblem(1, "the front matter has no closing '---' line: add one") from e
    try:
        meta = _HANDLER.load(front)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # The front matter text starts with the newline that ends the opening '---' line.
        line = mark.line + 1 if mark is not None else 1
        why = e.problem or "syntax error"
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
