"""Find the post files under the content folder: their paths, sizes and modification times.

Only the standard library: a cron run that has nothing to do can look here without
loading the parsers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from publisher.errors import ContentError

POST_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})
DRAFTS_DIR = "_drafts"


class SourceFile(NamedTuple):
    """A candidate post file: where it is, and the size and mtime that key the parse cache."""

    # A NamedTuple, not a dataclass: a warm run makes 10,000 of them just to compare stats.
    rel: str
    path: str
    size: int
    mtime_ns: int


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
                                if not name.isascii() and not _utf8(name):
                                    unreadable.append(_not_utf8(f"{prefix}{name}/"))
                                else:
                                    stack.append((entry.path, f"{prefix}{name}/"))
                        elif name[name.rfind(".") :].lower() in POST_SUFFIXES:
                            st = entry.stat()
                            if not stat.S_ISREG(st.st_mode):
                                unreadable.append(_not_a_file(prefix + name, st.st_mode))
                            elif not name.isascii() and not _utf8(name):
                                unreadable.append(_not_utf8(prefix + name))
                            else:
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


def _utf8(name: str) -> bool:
    """Whether a name from the file system is UTF-8 (Python gives other bytes as lone
    surrogates: no database, page or terminal can take them)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_utf8(rel: str) -> Unreadable:
    folder = rel.endswith("/")
    what, left_out = ("folder", "the posts in it are") if folder else ("file", "it is")
    return Unreadable(
        rel,
        f"the {what} name is not UTF-8 (an EUC-KR/CP949 name?): {left_out} left out; rename "
        f"it, e.g. 'convmv -f cp949 -t utf-8 --notest NAME'",
    )


_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _not_a_file(rel: str, mode: int) -> Unreadable:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return Unreadable(
        rel,
        f"is {kind}, not a regular file: it is not read; remove it or move it out of the "
        "content folder",
    )


def open_regular(path: str) -> int:
    """`path` opened for reading; OSError when it cannot be, or is not a regular file.

    Opened without blocking, so a named pipe put in a post's place after the folder was
    listed cannot hold the run (reading a regular file is the same either way).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise OSError(0, f"it is {kind}, not a regular file", path)
    return fd


def escaped(name: str) -> str:
    """A file name as problems show it: as it is when every character prints, else each
    control, format or undecodable character written as an escape ('\\n', '\\u202e',
    '\\xff'), so a name cannot forge a line of output or turn the text around."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else _escape(c) for c in name)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return repr(char)[1:-1]


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


def stamp_posts(content_dir: str, *, drafts: bool) -> Iterator[str]:
    """What `discover` would find under `content_dir`, one block of text per folder: the
    folder (relative, ending in '/'), then for each post file its name, size, modification
    and change times and inode, and for each file or folder it could not look at its message
    (fields end in one NUL, entries in two: no name holds a NUL).

    For the quiet check of a cron run (`publisher.inputs`): hashed, the blocks change
    whenever `discover`'s answer could (the change time moves with any write, rename or
    `touch`, even one that puts the modification time back). The walk keeps `discover`'s
    rules (tests compare the two on links, hidden files, drafts and unreadable folders) and
    its order is the file system's, so equal trees give equal blocks. OSError when the
    content folder itself cannot be read.
    """
    root = os.path.realpath(content_dir)
    stack = [(content_dir, "")]
    while stack:
        folder, prefix = stack.pop()
        block = [prefix]
        try:
            # Names are stat-ed relative to the open folder: a shorter path for the kernel
            # to walk, the bulk of the time at 100,000 files.
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            if not prefix:
                raise
            yield f"{prefix}\0\0.\0!{_unreadable(prefix, folder, e, folder=True).message}"
            continue
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    name = entry.name
                    if name[0] == ".":
                        continue
                    try:
                        if entry.is_symlink():
                            path = os.path.join(folder, name)
                            if not _followed(path, folder, root):
                                if _would_read(path, name, drafts):
                                    block.append(f"{name}\0!{_not_followed(name, path, root)[1]}")
                                continue
                        if entry.is_dir():
                            if name != DRAFTS_DIR or drafts:
                                if not name.isascii() and not _utf8(name):
                                    block.append(f"{name}/\0!{_not_utf8(name + '/').message}")
                                else:
                                    stack.append((os.path.join(folder, name), f"{prefix}{name}/"))
                        elif name[name.rfind(".") :].lower() in POST_SUFFIXES:
                            st = entry.stat()
                            if not stat.S_ISREG(st.st_mode):
                                block.append(f"{name}\0!{_not_a_file(name, st.st_mode).message}")
                            elif not name.isascii() and not _utf8(name):
                                block.append(f"{name}\0!{_not_utf8(name).message}")
                            else:
                                block.append(
                                    f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}"
                                    f"\0{st.st_ino}"
                                )
                    except OSError as e:
                        path = os.path.join(folder, name)
                        block.append(f"{name}\0!{_unreadable(prefix + name, path, e).message}")
        except OSError as e:  # the listing itself failed part way
            if not prefix:
                raise
            block.append(f".\0!{_unreadable(prefix, folder, e, folder=True).message}")
        finally:
            os.close(fd)
        yield "\0\0".join(block)
