"""Jekyll's Liquid in a post, as Jekyll 4 renders it, for the tags a feed or an email needs.

Resolved (in bodies, excerpts and feature texts, before Markdown, as Jekyll does):

    {{ site.url }}                 the scheme and host of [site] url ('https://example.com')
    {{ site.baseurl }}             its path without the last slash ('/blog', or '')
    {{ 'x' | relative_url }}       baseurl + '/x';  `absolute_url`: site.url + that
    {% post_url 2024-06-19-x %}    the URL of _posts/[dir/]2024-06-19-x.* (baseurl included)
    {% link _posts/2024-06-19-x.md %}, {% link about.md %}, {% link assets/a.png %}
                                   the URL of that file of the site (baseurl included)
    {% highlight lang %}...        a code block;  {% raw %}...{% endraw %} as written;
    {% comment %}...               nothing

Any other tag or output (`{% include %}`, `{{ page.title }}`, `{% if %}`...) is left out
(a block's content stays) and reported with its line, so no reader sees Liquid. A post
with `render_with_liquid: false` is left as written, as Jekyll does.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import yaml

from publisher.config.yamlload import load_yaml
from publisher.content.files import escaped, open_regular

Note = tuple[int, str]
"""(line, message): something in a post's Liquid publisher could not render."""

# Where an output ({{) or a tag ({%) starts, and what ends each.
_LONGEST_PATH = 1024  # a post_url or link argument longer than this names no file
_PAGE_HEAD = 256 * 1024  # a linked page's front matter is looked for in this much of it
_OPENING = re.compile(r"\{[{%]")
_CLOSING = {"{{": "}}", "{%": "%}"}
_QUOTED = re.compile(r"""^(['"])(.*)\1$""", re.DOTALL)
# Jekyll's PostComparer: [path/]YYYY-MM-DD-slug (the folder is split off first: a pattern
# repeating `(.+/)` backtracks for a time that doubles with each '/')
_POST_NAME = re.compile(r"(\d{2,4}-\d{1,2}-\d{1,2})-([^/]*)")
_PAGE_SUFFIXES = (".md", ".markdown", ".html", ".htm")


@dataclass(frozen=True)
class Liquid:
    """What Liquid in this site's posts may refer to.

    `site_url` is [site] url; `root` the Jekyll source folder (of `_config.yml`), which
    `{% link %}` paths start from; `posts_dir` the content folder; `permalink` the site's
    permalink pattern or style (pages follow its trailing slash or extension);
    `post_url` gives the absolute URL of a post file, or None when it is not a published
    post (set by the indexer, which knows how posts are settled).
    """

    site_url: str
    root: Path
    posts_dir: Path
    permalink: str
    post_url: Callable[[Path], str | None] = field(compare=False, repr=False)

    @property
    def url(self) -> str:
        """`site.url`: scheme and host."""
        parts = urlsplit(self.site_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def baseurl(self) -> str:
        """`site.baseurl`: the base path, without the last slash ('' at the root)."""
        return urlsplit(self.site_url).path.rstrip("/")

    def render(
        self, text: str, *, html_body: bool = False, line: int = 1, in_block: bool = False
    ) -> tuple[str, list[Note]]:
        """`text` with its Liquid rendered, and a note for each tag left out. `line` is the
        file line `text` starts on; `html_body` says how a code block is written;
        `in_block`: `text` is a highlight block's, where another block is left out (so the
        work stays one pass, however many blocks a post opens)."""
        if "{" not in text:
            return text, []
        out: list[str] = []
        notes: list[Note] = []
        pos = 0
        strip_next = False
        tokens = _Tokens(text, line)
        while True:
            m = tokens.next(pos)
            chunk = text[pos : m.start if m else len(text)]
            out.append(chunk.lstrip() if strip_next else chunk)
            if m is None:
                break
            if m.strip_before:  # {{- or {%-: whitespace before goes
                out[-1] = out[-1].rstrip()
            strip_next = m.strip_after
            at = tokens.line_at(m.start)
            pos = m.end
            if m.output:  # an output: {{ ... }}
                value = self._output(m.inner.strip())
                if value is None:
                    notes.append((at, _left_out(m.text)))
                else:
                    out.append(value)
                continue
            name, *rest = m.inner.split(None, 1) or [""]
            args = rest[0].strip() if rest else ""
            if name in ("raw", "comment", "highlight") and not in_block:
                end = re.compile(r"\{%-?\s*end" + name + r"\s*-?%\}").search(text, pos)
                inner = text[pos : end.start() if end else len(text)]
                pos = end.end() if end else len(text)
                strip_next = False
                if name == "raw":
                    out.append(inner)
                elif name == "highlight":  # a Liquid block: what it holds is rendered too
                    code, found = self.render(inner, line=at, in_block=True)
                    notes.extend(found)
                    out.append(_code_block(code, args.split(" ")[0], html_body))
                continue
            value, problem = self._tag(name, args)
            if value is not None:
                out.append(value)
            elif problem:
                notes.append((at, problem))
            else:
                notes.append((at, _left_out(m.text)))
        return "".join(out), notes

    def _output(self, expr: str) -> str | None:
        """An output's value: site.url, site.baseurl or a quoted path, through relative_url or
        absolute_url; None for anything else."""
        head, *filters = (part.strip() for part in expr.split("|"))
        if head == "site.url":
            value = self.url
        elif head == "site.baseurl":
            value = self.baseurl
        elif (quoted := _QUOTED.match(head)) is not None:
            value = quoted[2]
        else:
            return None
        for name in filters:
            if name == "relative_url":
                value = self.relative_url(value)
            elif name == "absolute_url":
                value = self.absolute_url(value)
            else:
                return None
        return value

    def relative_url(self, path: str) -> str:
        """Jekyll's `relative_url`: under the base path, unless already absolute."""
        if urlsplit(path).scheme:
            return path
        return self.baseurl + ("" if path.startswith("/") else "/") + path

    def absolute_url(self, path: str) -> str:
        """Jekyll's `absolute_url`: site.url + relative_url."""
        if urlsplit(path).scheme:
            return path
        return self.url + self.relative_url(path)

    def _tag(self, name: str, args: str) -> tuple[str | None, str]:
        """A tag's value, or (None, why it could not be rendered) ('' for an unknown tag)."""
        if name not in ("post_url", "link"):
            return None, ""
        if len(args) > _LONGEST_PATH or not args.isprintable():
            return None, (
                f"'{{% {name} {_quoted(args)} %}}' is not a path a site could hold (a control "
                f"character, or longer than {_LONGEST_PATH} characters): fix it; the tag is "
                "left out"
            )
        try:
            return self._post_url(args) if name == "post_url" else self._link(args)
        except (OSError, ValueError) as e:  # a name the file system refuses to look up
            return None, (
                f"'{{% {name} {_quoted(args)} %}}': cannot look for that file "
                f"({e.strerror if isinstance(e, OSError) else e}): fix the path; the tag is "
                "left out"
            )

    def _post_url(self, name: str) -> tuple[str | None, str]:
        folder, slash, file_name = name.strip().lstrip("/").rpartition("/")
        found = _POST_NAME.fullmatch(file_name)
        if found is None:
            return None, (
                f"'{{% post_url {_quoted(name)} %}}' does not name a post: give its file name "
                "without the extension, such as '2024-06-19-title'; the tag is left out"
            )
        if ".." in folder.split("/"):
            return None, (
                f"'{{% post_url {_quoted(name)} %}}' leads out of the posts folder: name a post "
                "in it, such as '2024-06-19-title' or 'folder/2024-06-19-title'; the tag is left "
                "out"
            )
        folder += slash
        date, slug = found[1], found[2]
        for base in (self.posts_dir / folder, self.root / folder / "_posts"):
            for path in sorted(base.glob(f"{glob_escape(date)}-{glob_escape(slug)}.*")):
                inside = self._inside(path)
                url = self.post_url(path) if inside and path.is_file() else None
                if url is not None:
                    return self.relative_url(self._in_site(url)), ""
        return None, (
            f"'{{% post_url {_quoted(name)} %}}': no published post {folder}{date}-{slug}.* in "
            f"{self.posts_dir}: fix the name; the tag is left out"
        )

    def _link(self, given: str) -> tuple[str | None, str]:
        rel = given.strip().strip("'\"").lstrip("/")
        path = self.root / rel
        missing = (
            f"'{{% link {_quoted(given)} %}}': no file {_quoted(rel)} in the Jekyll site "
            f"{self.root}: fix the path (it starts at the folder of _config.yml); the tag is "
            "left out"
        )
        if not rel or ".." in Path(rel).parts or not self._inside(path) or not path.is_file():
            return None, missing
        try:
            path.relative_to(self.posts_dir)
        except ValueError:
            pass
        else:
            url = self.post_url(path)
            return (self.relative_url(self._in_site(url)), "") if url else (None, missing)
        if path.suffix.lower() in _PAGE_SUFFIXES:
            return self.relative_url(self._page_url(path, rel)), ""
        return self.relative_url("/" + rel), ""

    def _page_url(self, path: Path, rel: str) -> str:
        """A page's URL: its front matter permalink, else Jekyll's page template."""
        permalink = _front_matter_permalink(path)
        if permalink:
            return "/" + permalink.lstrip("/")
        folder, _, name = rel.rpartition("/")
        stem = os.path.splitext(name)[0]
        prefix = f"/{folder}" if folder else ""
        if stem == "index":
            return prefix + "/"
        style = self.permalink
        if style == "pretty" or (style not in ("date", "ordinal", "none") and style.endswith("/")):
            return f"{prefix}/{stem}/"
        return f"{prefix}/{stem}.html"

    def _inside(self, path: Path) -> bool:
        """Whether `path`, links followed, is in the Jekyll site or the posts folder: a link
        in them that leads elsewhere is not read."""
        real = path.resolve()
        return real.is_relative_to(self.root.resolve()) or real.is_relative_to(
            self.posts_dir.resolve()
        )

    def _in_site(self, url: str) -> str:
        """A post's absolute URL as Jekyll's `post.url`: its path under the base path."""
        if url.startswith(self.site_url):
            return "/" + url[len(self.site_url) :]
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


class _Token(NamedTuple):
    """An output ({{ inner }}) or a tag ({% inner %}) at text[start:end]; `strip_before` and
    `strip_after` for a '-' inside its braces."""

    start: int
    end: int
    text: str
    output: bool
    inner: str
    strip_before: bool
    strip_after: bool


class _Tokens:
    """The outputs and tags of a text in order, and their lines, in one pass over it.

    (One pattern such as `\\{\\{(.*?)\\}\\}` tried at each '{{' of a text that never closes
    them takes time that grows with the square of its length: here, once an opening has no
    closing after it, no later opening of its kind is tried.)
    """

    def __init__(self, text: str, line: int) -> None:
        self.text = text
        self.unclosed: set[str] = set()
        self.line, self.counted = line, 0

    def next(self, pos: int) -> _Token | None:
        """The first token starting at or after `pos`."""
        text = self.text
        while (m := _OPENING.search(text, pos)) is not None:
            opening = m[0]
            pos = m.start() + 1
            if opening in self.unclosed:
                continue
            close = text.find(_CLOSING[opening], m.end())
            if close == -1:
                self.unclosed.add(opening)
                continue
            inner = text[m.end() : close]
            before = inner.startswith("-")
            inner = inner[1:] if before else inner
            after = inner.endswith("-")
            inner = inner[:-1] if after else inner
            end = close + 2
            return _Token(
                m.start(), end, text[m.start() : end], opening == "{{", inner, before, after
            )
        return None

    def line_at(self, at: int) -> int:
        """The file line of `at` (asked in increasing order)."""
        if at > self.counted:
            self.line += self.text.count("\n", self.counted, at)
            self.counted = at
        return self.line


def glob_escape(text: str) -> str:
    """`text` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _quoted(text: str, limit: int = 60) -> str:
    """Text from a post as a message quotes it: on one line, every character that does not
    print escaped (a tag cannot add a line to the output), cut to about `limit`."""
    shown = escaped(" ".join(text.split()))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _left_out(token: str) -> str:
    shown = _quoted(token)
    return (
        f"Liquid '{shown}' is left out of feeds and emails: publisher renders only site.url, "
        "site.baseurl, relative_url, absolute_url, post_url, link, highlight and raw; write "
        "what it stands for into the post to show it"
    )


def _code_block(code: str, lang: str, html_body: bool) -> str:
    code = code.strip("\n")
    if html_body:
        cls = f' class="language-{html.escape(lang)}"' if lang else ""
        return f"<pre><code{cls}>{html.escape(code)}</code></pre>"
    return f"\n```{lang}\n{code}\n```\n"


def _front_matter_permalink(path: Path) -> str:
    """The `permalink` in a page's front matter (within its first `_PAGE_HEAD` bytes), or ''."""
    try:
        fd = open_regular(str(path))
        try:
            head = os.read(fd, _PAGE_HEAD)
        finally:
            os.close(fd)
        text = head.decode("utf-8-sig", errors="ignore")
    except OSError:
        return ""
    if not text.startswith("---"):
        return ""
    front = text[3:].split("\n---", 1)[0]
    try:
        meta = load_yaml(front)
    except yaml.YAMLError:
        return ""
    value = meta.get("permalink") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""
