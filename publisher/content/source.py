"""Find post files and split each into front matter and body, with line numbers for problems."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from frontmatter.default_handlers import YAMLHandler
from yaml.constructor import ConstructorError

from publisher.content.yamlload import load_yaml
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


class Unreadable(NamedTuple):
    """A file or folder `discover` could not look at (`rel` ends in '/' for a folder)."""

    rel: str
    message: str


def discover(content_dir: Path, *, drafts: bool) -> tuple[list[SourceFile], list[Unreadable]]:
    """Candidate post files under `content_dir` by path (hidden ones skipped), and what failed.

    What failed are the files and subfolders that could not be looked at (a broken link, no
    permission); a content folder that cannot be read at all raises ContentError.
    """
    # A warm run spends most of its time here (10,000 stat calls), so the loop is kept bare:
    # a `try` costs nothing until something raises.
    found: list[SourceFile] = []
    unreadable: list[Unreadable] = []
    root = os.path.realpath(content_dir)
    stack = [(str(content_dir), "")]
    new = tuple.__new__
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name[0] == ".":
                        continue
                    try:
                        if entry.is_symlink() and not _followed(entry.path, folder, root):
                            if _would_read(entry.path, name, drafts):
                                unreadable.append(_not_followed(prefix + name, entry.path, root))
                        elif entry.is_dir():
                            if name != DRAFTS_DIR or drafts:
                                stack.append((entry.path, f"{prefix}{name}/"))
                        elif name[name.rfind(".") :].lower() in POST_SUFFIXES:
                            st = entry.stat()
                            found.append(
                                new(
                                    SourceFile,
                                    (prefix + name, entry.path, st.st_size, st.st_mtime_ns),
                                )
                            )
                    except OSError as e:
                        unreadable.append(_unreadable(prefix + name, entry.path, e))
        except OSError as e:
            if not prefix:  # nothing at all to index: not a run to publish from
                raise ContentError(
                    f"{content_dir}: cannot read the content folder ({e.strerror or e}): "
                    "check its permissions and [content] dir"
                ) from e
            unreadable.append(_unreadable(prefix, folder, e, folder=True))
    found.sort()  # by `rel`, the first field (unique)
    unreadable.sort()
    return found, unreadable


def _followed(path: str, folder: str, root: str) -> bool:
    """Whether the link at `path` (in `folder`) is one to follow: it leads inside the content
    folder, and not back to a folder it is in. A broken link counts as followed: reading it
    says it is broken."""
    if not os.path.exists(path):
        return True
    target = os.path.realpath(path)
    if not _within(target, root):
        return False
    return not (os.path.isdir(target) and _within(os.path.realpath(folder), target))


def _would_read(path: str, name: str, drafts: bool) -> bool:
    """Whether `discover` reads what `path` is: a folder (drafts only with `drafts`), or a
    post file."""
    if os.path.isdir(path):
        return name != DRAFTS_DIR or drafts
    return name[name.rfind(".") :].lower() in POST_SUFFIXES


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _not_followed(rel: str, path: str, root: str) -> Unreadable:
    target = os.path.realpath(path)
    what = "folder" if os.path.isdir(target) else "file"
    if _within(target, root):
        return Unreadable(
            rel,
            f"the {what} is a link to {target!r}, a folder it is in: it is not followed "
            "(it would be read forever); remove the link",
        )
    return Unreadable(
        rel,
        f"the {what} is a link to {target!r}, outside the content folder: it is not "
        "followed; move what it links to into the content folder, or remove the link",
    )


def _unreadable(rel: str, path: str, error: OSError, *, folder: bool = False) -> Unreadable:
    what = "folder" if folder else "file"
    if os.path.islink(path) and not os.path.exists(path):
        try:
            target = repr(os.readlink(path))
        except OSError:
            target = "a path"
        message = f"the {what} is a link to {target}, which does not exist: "
        return Unreadable(rel, message + "fix the link or remove it")
    why = error.strerror or str(error)
    left_out = "the posts in it are" if folder else "it is"
    message = f"cannot read the {what} ({why}): check its permissions; "
    return Unreadable(rel, message + f"{left_out} left out until then")


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
        raise SourceProblem(
            line,
            "the file is not UTF-8 (an EUC-KR/CP949 export?): convert it, e.g. "
            f"'iconv -f cp949 -t utf-8 {os.path.basename(path)}', and save it as UTF-8",
        ) from e
    return text.replace("\r\n", "\n") if "\r" in text else text


class Limits(NamedTuple):
    """The most bytes one post file may hold in its front matter and in its body."""

    front_matter: int
    body: int

    @property
    def file(self) -> int:
        """The most bytes a file may hold: both parts, the '---' lines and a BOM."""
        return self.front_matter + self.body + 16


def read_post(source: SourceFile, limits: Limits) -> RawPost | None:
    """Read and split one file; None when it has no front matter (not a post). A file past
    `limits` is a SourceProblem, read no further than it takes to know."""
    if source.size > limits.file:
        raise SourceProblem(1, _too_big("file", source.size, limits))
    with open(source.path, "rb") as f:
        # Read what it held when listed; more only if it has grown since, to the bound.
        data = f.read(source.size + 1)
        if len(data) > source.size:
            data += f.read(limits.file + 1 - len(data))
    if len(data) > limits.file:
        raise SourceProblem(1, _too_big("file", os.path.getsize(source.path), limits))
    text = _decode(data, source.path)
    if not _HANDLER.detect(text):
        return None
    try:
        front, body = _HANDLER.split(text)
    except ValueError as e:
        raise SourceProblem(1, "the front matter has no closing '---' line: add one") from e
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
