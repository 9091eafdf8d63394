"""An enclosure's length: from the local file, else from an HTTP HEAD (asked once, remembered),
else length="0"; the feeds stay valid every way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import feedparser
import lxml.etree
import pytest
from factories import make_config, make_post
from feeds_corpus import T0
from image_server import ImageServer, running_images

from publisher.config import Config
from publisher.content.post import Image
from publisher.feeds import build_feeds
from publisher.options import RunOptions
from publisher.store import Store
from publisher.store.image_lengths import load_lengths

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
NOW = T0 + timedelta(days=1)


@pytest.fixture
def images() -> Iterator[ImageServer]:
    routes = {
        "/a.jpg": (200, {"Content-Type": "image/jpeg", "Content-Length": "4321"}),
        "/moved.jpg": (301, {"Location": "/a.jpg", "Content-Length": "0"}),
        "/to-file.jpg": (301, {"Location": "file:///etc/passwd", "Content-Length": "0"}),
        "/hop1.jpg": (301, {"Location": "/hop2.jpg"}),
        "/hop2.jpg": (301, {"Location": "/hop3.jpg"}),
        "/hop3.jpg": (301, {"Location": "/hop4.jpg"}),
        "/hop4.jpg": (301, {"Location": "/a.jpg"}),
        "/streamed.jpg": (200, {"Content-Type": "image/jpeg"}),  # no Content-Length
        "/odd.jpg": (200, {"Content-Length": "many"}),
    }
    with running_images(routes, silent=("/slow.jpg",), dripping=("/drip.jpg",)) as server:
        yield server


def site(tmp_path: Path, **feeds: object) -> Config:
    return make_config(
        tmp_path,
        # The test server is on 127.0.0.1: by default such a server is never asked.
        feeds={
            "output_dir": str(tmp_path / "out"),
            "image_head": True,
            "image_head_private": True,
            **feeds,
        },
    )


def post_with(url: str, mime_type: str = "image/jpeg") -> list:  # type: ignore[type-arg]
    return [make_post(image=Image(url, mime_type))]


def enclosures(out: Path) -> tuple[dict[str, str], dict[str, str], str | None]:
    """The RSS enclosure's and the Atom enclosure link's attributes, and media fileSize."""
    item = lxml.etree.parse(str(out / "rss.xml")).find("channel/item")
    entry = lxml.etree.parse(str(out / "atom.xml")).find(f"{ATOM}entry")
    assert item is not None and entry is not None
    rss = item.find("enclosure")
    atom = [a for a in entry.iterfind(f"{ATOM}link") if a.get("rel") == "enclosure"]
    media = item.find(f"{MEDIA}content")
    assert rss is not None and len(atom) == 1 and media is not None
    for name in ("rss.xml", "atom.xml"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.entries[0].enclosures[0].href == rss.get("url")
    return dict(rss.attrib), dict(atom[0].attrib), media.get("fileSize")


def recorded(config: Config) -> dict[str, int | None]:
    with Store.open(config.store.path) as store:
        rows = store.conn.execute("SELECT url FROM image_lengths").fetchall()
        answers = load_lengths(store, [url for (url,) in rows])
    return {url: length for url, (length, _) in answers.items()}


def test_length_from_the_local_file(tmp_path: Path, images: ImageServer) -> None:
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "사진.jpg").write_bytes(b"x" * 2024)
    config = make_config(
        tmp_path,
        site={"url": images.url("/")},
        content={"static_dir": str(static)},
        feeds={"output_dir": str(tmp_path / "out"), "image_head": True, "image_head_private": True},
    )
    build_feeds(config, post_with(images.url("/img/사진.jpg")), now=NOW)
    rss, atom, size = enclosures(tmp_path / "out")
    assert (rss["length"], atom["length"], size) == ("2024", "2024", "2024")
    assert images.requests == []  # the file tells: its server is not asked


def test_length_from_a_head_asked_once_and_remembered(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path)
    url = images.url("/a.jpg")
    first = build_feeds(config, post_with(url), now=NOW)
    rss, atom, size = enclosures(tmp_path / "out")
    assert (rss["length"], atom["length"], size) == ("4321", "4321", "4321")
    assert images.requests == [("HEAD", "/a.jpg")]
    assert recorded(config) == {url: 4321}

    # A warm run reads the record only: no request, nothing rendered or written.
    again = build_feeds(config, post_with(url), now=NOW + timedelta(days=30))
    assert images.requests == [("HEAD", "/a.jpg")]
    assert first.written and again.written == ()


def test_a_redirect_is_followed_with_head(tmp_path: Path, images: ImageServer) -> None:
    build_feeds(site(tmp_path), post_with(images.url("/moved.jpg")), now=NOW)
    assert enclosures(tmp_path / "out")[0]["length"] == "4321"
    assert images.requests == [("HEAD", "/moved.jpg"), ("HEAD", "/a.jpg")]


def test_a_server_on_a_private_address_is_not_asked_by_default(
    tmp_path: Path, images: ImageServer
) -> None:
    # A post's image on 127.0.0.1 (or 10.x, 169.254.169.254...) must not make the build
    # probe its own network and publish the answer as a length.
    config = site(tmp_path, image_head_private=False)
    build_feeds(config, post_with(images.url("/a.jpg")), now=NOW)
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    assert images.requests == []


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        pytest.param("/to-file.jpg", 1, id="off-the-web"),
        pytest.param("/hop1.jpg", 4, id="too-many-redirects"),
    ],
)
def test_redirects_stay_on_the_web_and_few(
    tmp_path: Path, images: ImageServer, path: str, asked: int
) -> None:
    build_feeds(site(tmp_path), post_with(images.url(path)), now=NOW)
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    assert len(images.requests) == asked


@pytest.mark.parametrize(
    "path", ["/gone.jpg", "/streamed.jpg", "/odd.jpg", "/slow.jpg", "/drip.jpg"]
)
def test_no_answer_gives_length_zero_and_is_remembered(
    tmp_path: Path, images: ImageServer, path: str
) -> None:
    config = site(tmp_path, image_head_timeout="0.5s")
    url = images.url(path)
    build_feeds(config, post_with(url), now=NOW)
    rss, atom, size = enclosures(tmp_path / "out")
    # RSS requires a length: "0" when unknown (RSS Best Practices Profile); Atom's is optional.
    assert rss == {"url": url, "length": "0", "type": "image/jpeg"}
    assert atom == {"rel": "enclosure", "type": "image/jpeg", "href": url}
    assert size is None
    assert recorded(config) == {url: None}
    # The failure is remembered: the next runs of the day ask nobody.
    assert build_feeds(config, post_with(url), now=NOW + timedelta(hours=23)).written == ()
    assert images.requests == [("HEAD", path)]


def test_a_failure_is_asked_again_a_day_later(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path)
    url = images.url("/later.jpg")
    build_feeds(config, post_with(url), now=NOW)
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    images.routes["/later.jpg"] = (200, {"Content-Length": "777"})
    report = build_feeds(config, post_with(url), now=NOW + timedelta(days=1))
    assert enclosures(tmp_path / "out")[0]["length"] == "777"
    assert images.requests == [("HEAD", "/later.jpg")] * 2
    assert tmp_path / "out" / "rss.xml" in report.written
    assert recorded(config) == {url: 777}


def test_length_zero_when_nobody_may_be_asked(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path, image_head=False)
    build_feeds(config, post_with(images.url("/a.jpg")), now=NOW)
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    assert images.requests == []


def test_without_a_time_only_the_record_is_read(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path)
    url = images.url("/a.jpg")
    build_feeds(config, post_with(url))  # no `now`: asks nobody
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    build_feeds(config, post_with(url), now=NOW)
    build_feeds(config, post_with(url))
    assert enclosures(tmp_path / "out")[0]["length"] == "4321"
    assert images.requests == [("HEAD", "/a.jpg")]


def test_a_dry_run_asks_but_records_nothing(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path)
    report = build_feeds(
        config, post_with(images.url("/a.jpg")), now=NOW, options=RunOptions(dry_run=True)
    )
    assert report.written  # would write
    assert not config.store.path.exists()
    assert not (tmp_path / "out").exists()
    assert images.requests == [("HEAD", "/a.jpg")]


def test_a_site_image_missing_from_static_dir_is_reported_not_asked(
    tmp_path: Path, images: ImageServer
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    config = make_config(
        tmp_path,
        site={"url": images.url("/")},
        content={"static_dir": str(static)},
        feeds={"output_dir": str(tmp_path / "out"), "image_head": True, "image_head_private": True},
    )
    url = images.url("/a.jpg")
    report = build_feeds(config, post_with(url), now=NOW)
    assert [str(p) for p in report.problems] == [
        f"2024-06-19-post-1.md: image {url!r} is not a file under [content] static_dir "
        f'({static}/a.jpg): its size is unknown, so its enclosure says length="0"; add the '
        "file or fix the image path"
    ]
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    assert images.requests == []


def test_every_post_shown_is_asked_for_at_once(tmp_path: Path, images: ImageServer) -> None:
    config = site(tmp_path)
    posts = [make_post(n=n, image=Image(images.url(f"/{n}.jpg"), "image/jpeg")) for n in range(12)]
    for n in range(12):
        images.routes[f"/{n}.jpg"] = (200, {"Content-Length": str(1000 + n)})
    build_feeds(config, posts, now=NOW)
    assert sorted(images.requests) == sorted(("HEAD", f"/{n}.jpg") for n in range(12))
    rss = (tmp_path / "out" / "rss.xml").read_text(encoding="utf-8")
    assert all(f'length="{1000 + n}"' in rss for n in range(12))


def test_a_state_file_that_cannot_be_read_asks_nobody(
    tmp_path: Path, images: ImageServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = site(tmp_path)
    config.store.path.parent.mkdir(parents=True, exist_ok=True)
    config.store.path.write_bytes(b"\x00garbage, not an SQLite file\xff" * 100)
    report = build_feeds(config, post_with(images.url("/a.jpg")), now=NOW)
    assert report.written
    assert enclosures(tmp_path / "out")[0]["length"] == "0"
    assert images.requests == []  # without a record, every run would ask again: none does
    assert "cannot read the image lengths it keeps" in caplog.text
