"""Every unsafe URL form (tests/data/links/unsafe-urls.html) through the feeds and the email:
only http, https and (for links) mailto reach readers, and no form, script or handler does."""

from __future__ import annotations

import email
import html
import json
import mailbox
import re
from email.policy import default
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner
from delivery_helpers import RUN_AT, SECRET_ENV, make_site

from publisher.cli import cli

UNSAFE = Path(__file__).parent / "data" / "links" / "unsafe-urls.html"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
URL_ATTRIBUTES = {"href", "src", "poster", "cite", "action", "formaction", "data", "background"}
NEVER = {"form", "button", "input", "select", "textarea", "script", "iframe", "svg", "math"}


def published(tmp_path: Path) -> dict[str, str]:
    """Run a site whose one post has the unsafe HTML as its body and its feature text; the
    HTML each place shows, by place."""
    config = make_site(tmp_path, subscribers=1, posts=0)
    body = UNSAFE.read_text(encoding="utf-8")
    # YAML refuses raw control characters: in the feature text they are character references.
    feature = re.sub("[\x00-\x08]", lambda m: f"&#x{ord(m[0]):x};", body)
    indented = "".join(f"  {line}\n" for line in feature.splitlines())
    (tmp_path / "content" / "2024-06-19-unsafe.html").write_text(
        "---\ntitle: 위험한 링크\ndate: 2024-06-19 10:30:00 +0900\ncategories: [News]\n"
        f"feature_text: |\n{indented}---\n{body}",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["-c", str(config), "run", "--now", RUN_AT], env=SECRET_ENV)
    assert result.exit_code == 0, result.output
    public = tmp_path / "public"
    atom = lxml.etree.parse(str(public / "atom.xml")).getroot()
    rss = lxml.etree.parse(str(public / "rss.xml")).getroot()
    feed = json.loads((public / "feed.json").read_text(encoding="utf-8"))
    (key,) = mailbox.Maildir(tmp_path / "outbox", create=False).keys()
    message = email.message_from_bytes(
        mailbox.Maildir(tmp_path / "outbox", create=False).get_bytes(key), policy=default
    )
    part = message.get_body(("html",))
    assert part is not None
    return {
        "atom": next(atom.iter(f"{ATOM}content")).text or "",
        "rss": next(rss.iter(CONTENT)).text or "",
        "json": feed["items"][0]["content_html"],
        "email": str(part.get_content()),  # type: ignore[attr-defined]
    }


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return published(tmp_path_factory.mktemp("links"))


@pytest.mark.parametrize("place", ["atom", "rss", "json", "email"])
def test_only_web_links_reach_readers(places: dict[str, str], place: str) -> None:
    shown = places[place]
    root = lxml.html.fromstring(f"<div>{shown}</div>")
    urls: list[tuple[str, str]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in NEVER, lxml.html.tostring(element)
        # The email's own template brings a <style> block and inlined styles; a post, never.
        assert place == "email" or element.tag != "style"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            assert name.lower() not in ("formaction", "action", "xlink:href"), (name, value)
            assert place == "email" or name != "style"
            if name in URL_ATTRIBUTES:
                urls.append((name, value))
            elif name == "srcset":
                urls.extend(("srcset", c.split()[0]) for c in value.split(", "))
    for name, value in urls:
        web = value.startswith(("https://", "http://"))
        assert web or (name == "href" and value.startswith("mailto:")), (name, value)
    flat = re.sub(r"[\s\x00-\x1f]", "", html.unescape(html.unescape(shown))).lower()
    assert "javascript" not in flat and "vbscript" not in flat and "alert(" not in flat
    assert ("href", "https://newsdao.kr/ok/") in urls
    assert ("href", "mailto:desk@newsdao.kr") in urls
    usemaps = [e.get("usemap") for e in root.iter("img") if e.get("usemap")]
    assert usemaps == ["#m"]
    assert ("href", "https://newsdao.kr/relative/") in urls
    if place != "email":  # the email shows the feature text: the body's image is not in it
        assert ("srcset", "https://newsdao.kr/ok-3x.jpg") in urls
