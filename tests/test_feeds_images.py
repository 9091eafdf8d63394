"""A post's image in every form: media:content, media:thumbnail, enclosures, <img>, JSON image."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import lxml.etree
import pytest
from factories import make_config, make_post

from publisher.content.post import Image
from publisher.feeds import build_feeds

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SITE_IMAGE = "https://newsdao.kr/assets/img/%EC%82%AC%EC%A7%84%201.png"


def build(tmp_path: Path, image: Image | None, *, static: bool = True) -> Path:
    static_dir = tmp_path / "static"
    (static_dir / "assets" / "img").mkdir(parents=True)
    (static_dir / "assets" / "img" / "사진 1.png").write_bytes(b"\x89PNG" + b"x" * 96)
    content = {"static_dir": str(static_dir)} if static else {}
    config = make_config(tmp_path, content=content, feeds={"output_dir": str(tmp_path / "out")})
    report = build_feeds(config, [make_post(image=image)])
    (tmp_path / "problems.txt").write_text("\n".join(str(p) for p in report.problems))
    return tmp_path / "out"


def item_parts(out: Path) -> tuple[lxml.etree._Element, lxml.etree._Element, dict[str, object]]:
    rss_item = lxml.etree.parse(str(out / "rss.xml")).find("channel/item")
    atom_entry = lxml.etree.parse(str(out / "atom.xml")).find(f"{ATOM}entry")
    item = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert rss_item is not None
    assert atom_entry is not None
    return rss_item, atom_entry, item


@pytest.mark.parametrize(
    ("image", "length"),
    [
        (Image("https://cdn.example.com/a.jpg?w=1&h=2", "image/jpeg", 4321, "외부"), "4321"),
        (Image(SITE_IMAGE, "image/png"), "100"),
    ],
    ids=["length-given", "length-from-static-dir"],
)
def test_known_length_gives_enclosures(tmp_path: Path, image: Image, length: str) -> None:
    out = build(tmp_path, image)
    rss_item, atom_entry, item = item_parts(out)
    enclosure = rss_item.find("enclosure")
    assert enclosure is not None
    assert dict(enclosure.attrib) == {"url": image.url, "length": length, "type": image.mime_type}
    links = [dict(a.attrib) for a in atom_entry.iterfind(f"{ATOM}link")]
    assert {
        "rel": "enclosure",
        "type": image.mime_type,
        "length": length,
        "href": image.url,
    } in links
    for element in (rss_item, atom_entry):
        assert element.find(f"{MEDIA}group") is None
        content = element.find(f"{MEDIA}content")
        assert content is not None
        assert content.get("fileSize") == length
        assert content.get("medium") == "image"
        thumbnail = element.find(f"{MEDIA}thumbnail")
        assert thumbnail is not None
        assert thumbnail.get("url") == image.url
    assert item["image"] == image.url
    parsed = feedparser.parse((out / "rss.xml").read_bytes())
    assert parsed.entries[0].enclosures[0].href == image.url
    assert parsed.entries[0].media_thumbnail[0]["url"] == image.url
    # Readers that ignore media elements see the image first in the content.
    html = parsed.entries[0].content[0].value
    first = html.split("</p>")[0]
    assert first.startswith("<p><img ")
    assert f'src="{image.url.replace("&", "&amp;")}"' in first


@pytest.mark.parametrize(
    ("image", "static", "warning"),
    [
        (Image("https://cdn.example.com/u.webp", "image/webp"), True, ""),
        (Image(SITE_IMAGE, "image/png"), False, ""),
        (
            Image("https://newsdao.kr/assets/img/gone.png", "image/png"),
            True,
            "2024-06-19-post-1.md: image 'https://newsdao.kr/assets/img/gone.png' is not a file "
            "under [content] static_dir",
        ),
    ],
    ids=["external", "no-static-dir", "missing-file"],
)
def test_unknown_length_gives_length_zero(
    tmp_path: Path, image: Image, static: bool, warning: str
) -> None:
    out = build(tmp_path, image, static=static)
    rss_item, atom_entry, item = item_parts(out)
    enclosure = rss_item.find("enclosure")
    assert enclosure is not None
    # RSS requires a length: "0" when it cannot be known (RSS Best Practices Profile).
    assert dict(enclosure.attrib) == {"url": image.url, "length": "0", "type": image.mime_type}
    # Atom's length is advisory and optional: left out.
    links = [dict(a.attrib) for a in atom_entry.iterfind(f"{ATOM}link")]
    assert {"rel": "enclosure", "type": image.mime_type, "href": image.url} in links
    for element in (rss_item, atom_entry):
        content = element.find(f"{MEDIA}content")
        assert content is not None
        assert content.get("url") == image.url
        assert content.get("fileSize") is None
    assert b"None" not in (out / "rss.xml").read_bytes()
    assert item["image"] == image.url
    problems = (tmp_path / "problems.txt").read_text()
    assert problems.startswith(warning) if warning else problems == ""


def test_no_enclosure_without_a_type(tmp_path: Path) -> None:
    image = Image("https://cdn.example.com/x", "", 1234)
    out = build(tmp_path, image)
    rss_item, atom_entry, _ = item_parts(out)
    assert rss_item.find("enclosure") is None
    assert [a.get("rel") for a in atom_entry.iterfind(f"{ATOM}link")] == ["alternate"]
    for element in (rss_item, atom_entry):
        content = element.find(f"{MEDIA}content")
        assert content is not None
        assert content.get("fileSize") == "1234"


def test_image_already_in_body_is_not_repeated(tmp_path: Path) -> None:
    image = Image("https://newsdao.kr/assets/img/newsdao_breakingnews.jpg", "image/jpeg", 10)
    out = build(tmp_path, image)
    html = feedparser.parse((out / "atom.xml").read_bytes()).entries[0].content[0].value
    assert html.count("newsdao_breakingnews.jpg") == 1


def test_no_image_no_media(tmp_path: Path) -> None:
    out = build(tmp_path, None)
    data = (out / "rss.xml").read_bytes() + (out / "atom.xml").read_bytes()
    assert b"media:content" not in data
    assert b"enclosure" not in data
    assert "image" not in json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
