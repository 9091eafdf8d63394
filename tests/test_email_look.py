"""The HTML email as a person sees it: laid out by headless Chromium, light and dark, wide and
narrow, with the logo blocked. A script in a copy of the message measures where things are
and what colour they have; `--dump-dom` hands its findings back."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from email_helpers import T0, email_config, post_at

from publisher.config import Config
from publisher.newsletters.message import preview_html
from publisher.newsletters.plan import Issue
from publisher.newsletters.render import render_issue

CHROMIUM = "/usr/bin/chromium"
# A logo no one answers for (the discard port): the image is blocked, its alt text shows.
BLOCKED_LOGO = "http://127.0.0.1:9/logo.png"

PROBE = """<script>
function left(selector) {
  const range = document.createRange();
  const el = document.querySelector(selector);
  range.selectNodeContents(el);
  return Math.round(el.tagName === 'IMG' ? el.getBoundingClientRect().left
                                         : range.getClientRects()[0].left);
}
const style = (selector) => getComputedStyle(document.querySelector(selector));
document.getElementById('probe').textContent = JSON.stringify({
  width: innerWidth,
  dark: matchMedia('(prefers-color-scheme: dark)').matches,
  logo: left('img.logo'),
  title: left('h1.title'),
  text: left('.summary'),
  footer: left('.footer p'),
  contact: left('.footer .contact'),
  container: style('.container').backgroundColor,
  body: style('.summary').color,
  headline: style('.item-title a').color,
  logoFont: [style('img.logo').fontSize, style('img.logo').fontWeight],
  logoColor: style('img.logo').color,
});
</script>"""


def look(html: str, tmp_path: Path, *, width: int, dark: bool) -> dict[str, Any]:
    page = tmp_path / f"look-{width}-{dark}.html"
    page.write_text(html.replace("</body>", f'<pre id="probe"></pre>{PROBE}</body>'), "utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--window-size={width},2000", *(["--force-dark-mode"] if dark else []),
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found is not None and found[1], result.stdout[-2000:]
    data: dict[str, Any] = json.loads(lxml.html.fromstring(found[0]).text_content())
    return data


@pytest.fixture(scope="module")
def digest_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp_path = tmp_path_factory.mktemp("look")
    config: Config = email_config(
        tmp_path,
        site={"logo": BLOCKED_LOGO},
        email={"contact_line": "뉴스다오 · 서울특별시 중구 세종대로 110 · news@newsdao.kr"},
    )
    posts = [post_at(n, T0 - timedelta(minutes=n), image=None) for n in (1, 2)]
    issue = Issue("breaking-look", "breaking", tuple(p.id for p in posts), T0)
    return preview_html(config, render_issue(config, issue, posts), "reader@example.com")


def test_the_dark_mode_rules_survive_inlining(digest_html: str) -> None:
    doc = lxml.html.document_fromstring(digest_html)
    metas = {m.get("name"): m.get("content") for m in doc.iter("meta")}
    assert metas["color-scheme"] == metas["supported-color-schemes"] == "light dark"
    (style,) = doc.iter("style")
    assert "@media (prefers-color-scheme: dark)" in style.text
    assert "color-scheme:light dark" in style.text.replace(": ", ":")
    (logo,) = doc.xpath("//img[@class='logo']")
    assert logo.get("alt") == "뉴스다오"
    assert "font-size:20px" in logo.get("style")


@pytest.mark.parametrize(
    ("width", "pad"), [(800, 100 + 24), (375, 16)], ids=["desktop-800", "phone"]
)
def test_logo_text_and_footer_line_up(
    digest_html: str, tmp_path: Path, width: int, pad: int
) -> None:
    seen = look(digest_html, tmp_path, width=width, dark=False)
    if width < 620:  # headless Chromium may keep its window wider than asked (500 px)
        assert seen["width"] <= 620
    else:
        assert seen["width"] == width
    assert seen["dark"] is False
    lefts = {k: seen[k] for k in ("logo", "title", "text", "footer", "contact")}
    assert set(lefts.values()) == {pad}, lefts
    # The blocked logo's alt text reads like the text masthead.
    assert seen["logoFont"] == ["20px", "700"]
    assert seen["container"] == "rgb(255, 255, 255)"
    assert seen["body"] == "rgb(29, 29, 31)"


@pytest.mark.parametrize("width", [800, 375], ids=["desktop-800", "phone"])
def test_dark_mode_turns_the_page_dark_with_light_text(
    digest_html: str, tmp_path: Path, width: int
) -> None:
    seen = look(digest_html, tmp_path, width=width, dark=True)
    assert seen["dark"] is True
    assert seen["container"] == "rgb(28, 28, 31)"
    assert seen["body"] == "rgb(236, 236, 240)"
    assert seen["headline"] == seen["logoColor"] == "rgb(245, 245, 247)"
