"""The email templates' Jinja2 environment and premailer's CSS inlining, each set up once.

Jinja2's `select_autoescape(["html"])` does not match `alert.html.j2`, so escaping is
chosen here by the name's inner extension: `.html.j2` is escaped, `.txt.j2` and subject
templates (from strings) are not. premailer never touches the network and keeps the
media queries (and their `!important`) in a `<style>` block. The text part is wrapped
by display width (wcwidth: a Korean syllable takes two columns), never inside a URL.
"""

from __future__ import annotations

import logging
import re
import traceback
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from wcwidth import width
from wcwidth.textwrap import SequenceTextWrapper

from publisher.config import Config
from publisher.errors import Problem, TemplateError

# Stand-ins for what differs per subscriber; plain ASCII that neither Jinja2 (escaping)
# nor premailer (URL handling) changes.
PLACEHOLDER_UNSUBSCRIBE = "__publisher_unsubscribe_url__"
PLACEHOLDER_EMAIL = "__publisher_subscriber_email__"
PLACEHOLDER_PREFERENCES = "__publisher_preferences_url__"

_ESCAPED_SUFFIXES = (".html.j2", ".htm.j2", ".html", ".htm")
# Labels added since labels.j2 was first shipped, for sites that copied it before.
_ADDED_LABELS = {
    "ko": {"and_others": "외 %d건"},
    "en": {"and_others": "and %d more"},
}
# Columns of the text part: a terminal's 80 less room for quoting ("> > ").
TEXT_WIDTH = 72
# A chunk never cut: a URL, a mailto or a placeholder that becomes one.
_UNBREAKABLE = re.compile(r"://|^mailto:|^www\.|__publisher_")
# A numbered or bulleted line ("1. ", "- "): its next lines line up after the marker.
_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")


class _Wrapper(SequenceTextWrapper):
    """wcwidth's wrapper (columns, not characters), which puts a URL on a line of its own
    rather than cutting it."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        if _UNBREAKABLE.search(reversed_chunks[-1]):
            if not cur_line:
                cur_line.append(reversed_chunks.pop())
            return
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)


def wordwrap(
    text: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = False,
) -> str:
    """Jinja2's `wordwrap` filter, counting display columns (a wide character takes two) and
    never cutting a URL."""
    wrapper = _Wrapper(
        width=width,
        break_long_words=break_long_words,
        break_on_hyphens=break_on_hyphens,
    )
    return (wrapstring or "\n").join(
        line for paragraph in text.splitlines() for line in (wrapper.wrap(paragraph) or [""])
    )


def wrap_text(text: str, columns: int = TEXT_WIDTH) -> str:
    """Every line of `text` longer than `columns` display columns broken at spaces, its next
    lines indented like it (after a list marker); URLs are never cut, a CJK run without
    spaces is."""
    lines = []
    for line in text.split("\n"):
        if width(line) <= columns:
            lines.append(line)
            continue
        marker = _MARKER.match(line)
        indent = " " * (len(marker[0]) if marker else len(line) - len(line.lstrip(" ")))
        wrapper = _Wrapper(
            width=columns, subsequent_indent=indent, break_on_hyphens=False, expand_tabs=False
        )
        lines.extend(wrapper.wrap(line.rstrip()) or [""])
    return "\n".join(lines)


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(_ESCAPED_SUFFIXES)


def _localdate_filter(tz: ZoneInfo) -> Any:
    def localdate(value: datetime, fmt: str, months: list[str]) -> str:
        """A date in the site's zone, as the labels' `date_format` says."""
        d = value.astimezone(tz)
        return fmt.format(
            year=d.year,
            month=d.month,
            day=d.day,
            hour=d.hour,
            minute=d.minute,
            month_name=months[d.month - 1],
        )

    return localdate


@lru_cache(maxsize=8)
def _environment(folder: Path, timezone: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=_autoescape,  # noqa: S701 (HTML templates are escaped, by their name)
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["localdate"] = _localdate_filter(ZoneInfo(timezone))
    env.filters["wordwrap"] = wordwrap
    return env


def environment(config: Config) -> jinja2.Environment:
    """The Jinja2 environment for `[email] templates_dir` (shared between renders)."""
    return _environment(config.email.templates_dir, config.site.timezone)


def load_labels(config: Config, lang: str) -> Any:
    """The `t` table of labels.j2 for `lang`: every word the emails show.

    A missing or broken labels.j2 raises TemplateError naming the file and line.
    """
    try:
        module = environment(config).get_template("labels.j2").make_module({"lang": lang})
        table = getattr(module, "t")  # noqa: B009 (set by the template, unknown to type checkers)
    except Exception as e:  # any template mistake becomes a problem naming file and line
        problem = template_problem(config.email.templates_dir, e, "labels.j2")
        raise TemplateError("cannot load the email labels 'labels.j2'", [problem]) from e
    if isinstance(table, dict):
        # A labels.j2 copied before a label was added still renders the default subjects.
        return {**_ADDED_LABELS.get(lang, _ADDED_LABELS["en"]), **table}
    return table


def inline_css(html: str) -> str:
    """`html` with its <style> rules copied into style attributes; media queries stay."""
    # Imported here: premailer and its cssutils and requests cost ~80 ms, and most cron
    # runs have no email to render.
    from premailer import Premailer

    return str(
        Premailer(
            html,
            allow_network=False,
            keep_style_tags=False,
            strip_important=False,
            remove_classes=False,
            disable_validation=True,
            # the templates set width/height attributes; CSS widths must not replace them
            disable_basic_attributes=["width", "height"],
            cssutils_logging_level=logging.CRITICAL,
        ).transform()
    )


def template_problem(folder: Path, error: BaseException, name: str) -> Problem:
    """A Problem naming the template file (in `folder`) and line an error came from, and the
    way out."""
    if isinstance(error, jinja2.TemplateNotFound):
        return Problem(
            str(folder / error.name) if error.name else str(folder),
            f"the email template is missing (needed by {name}): add it, or copy it from "
            "publisher's email_templates/",
        )
    if isinstance(error, jinja2.TemplateSyntaxError):
        where = error.filename or str(folder / (error.name or name))
        return Problem(where, f"template syntax error: {error.message}", line=error.lineno)
    # Jinja2 rewrites tracebacks so that template frames carry the template's file and line.
    where, line = str(folder / name), None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.endswith(".j2") or frame.filename.endswith(".css"):
            where, line = frame.filename, frame.lineno
    return Problem(where, f"{type(error).__name__}: {error}: fix the template", line=line)
