"""The subscriber web app through the real HTTP server `publisher serve` uses (waitress on
127.0.0.1): every page and status code, double opt-in, RFC 8058 one-click, bad links,
rate limits, the honeypot, CSRF and the security headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from email_helpers import BREAKING, DAILY, SECRET, T0, email_config
from web_helpers import (
    Clock,
    Web,
    csrf_token,
    link_in,
    outbox_messages,
    running_web,
    wait_for_messages,
)

from publisher.config import Config
from publisher.newsletters.subscribers import add_subscriber, list_subscribers
from publisher.newsletters.tokens import make_token
from publisher.store import issues, journal
from publisher.store import subscribers as table

YEAR = timedelta(days=365)
NEWSLETTERS = [
    {**BREAKING, "description": "큰 뉴스가 나오면 바로 알려 드립니다."},
    {**DAILY, "description": "매일 아침 7시에 보내 드립니다."},
    {**BREAKING, "id": "internal", "name": "내부 소식", "on_form": False},
]


def web_config(tmp_path: Path, **web: Any) -> Callable[[str], Config]:
    def make(url: str) -> Config:
        return email_config(
            tmp_path,
            NEWSLETTERS,
            email={"unsubscribe_url": ""},
            web={"base_url": url, **web},
            delivery={"outbox_dir": str(tmp_path / "outbox")},
        )

    return make


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    with running_web(web_config(tmp_path)) as running:
        yield running


def reader(web: Web, address: str = "kim@example.com", **kwargs: Any) -> int:
    """An active reader of every newsletter (added by the editor); returns their id."""
    with web.store() as store:
        return add_subscriber(web.config, store, address, T0, **kwargs).id


def unsubscribe_link(sid: int, newsletter: str = "breaking", **kwargs: Any) -> str:
    return "unsubscribe/" + make_token(SECRET, sid, newsletter, T0, YEAR, **kwargs)


def subscriber(web: Web, address: str) -> table.Subscriber | None:
    with web.store() as store:
        return table.by_key(store, address)


def title(html: str) -> str:
    return html.split('<h1 class="title">')[1].split("</h1>")[0]


# -- every page, every status ------------------------------------------------------------


def test_the_form_offers_each_newsletter_on_it_with_its_description(web: Web) -> None:
    page = web.get("/subscribe")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="ko">' in html
    assert title(html) == "뉴스레터 구독"
    assert 'name="email" type="email"' in html
    assert '<strong>뉴스다오 속보</strong><br><span class="meta">큰 뉴스가 나오면 바로' in html
    assert "뉴스다오 데일리" in html
    assert "내부 소식" not in html  # on_form = false
    assert 'name="website"' in html  # the honeypot
    assert csrf_token(html)
    assert "<script" not in html and "style=" not in html


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        pytest.param("/subscribe/sent", 200, "메일함을 확인해 주세요", id="sent"),
        pytest.param("/nowhere", 404, "페이지를 찾을 수 없습니다", id="not-found"),
        pytest.param("/confirm/", 404, "페이지를 찾을 수 없습니다", id="confirm-without-token"),
        pytest.param("/unsubscribe", 400, "이 링크는 쓸 수 없습니다", id="unsubscribe-no-token"),
        pytest.param("/preferences/x", 400, "이 링크는 쓸 수 없습니다", id="bad-preferences"),
    ],
)
def test_pages_and_their_status(web: Web, path: str, status: int, heading: str) -> None:
    page = web.get(path)
    assert page.status_code == status
    assert title(page.text) == heading


def test_the_root_sends_to_the_form_and_other_methods_are_405(web: Web) -> None:
    root = web.get("/")
    assert (root.status_code, root.headers["Location"]) == (302, "/subscribe")
    refused = web.session.delete(web.url + "subscribe")
    assert refused.status_code == 405
    assert set(refused.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert title(refused.text) == "허용되지 않는 요청입니다"
    assert web.session.put(web.url + "healthz").status_code == 405


def test_under_a_base_path_of_any_letters_and_outside_it_a_404_page(tmp_path: Path) -> None:
    make = web_config(tmp_path)
    with running_web(lambda url: make(url + "구독/")) as web:
        root = web.url.removesuffix("구독/")
        inside = requests.get(root + "%EA%B5%AC%EB%8F%85/subscribe", timeout=10)
        assert (inside.status_code, title(inside.text)) == (200, "뉴스레터 구독")
        css = inside.text.split('<link rel="stylesheet" href="/')[1].split('"')[0]
        assert css.startswith("구독/static/")  # a browser sends it percent-encoded
        assert requests.get(root + css, timeout=10).headers["Content-Type"].startswith("text/css")
        sid = reader(web)
        link = web.url + "preferences/" + make_token(SECRET, sid, "daily", T0, YEAR, kind="p")
        assert requests.get(link, timeout=10).status_code == 200
        for path in ("subscribe", "healthz", "%EA%B5%AC%EB%8F%85x/subscribe", ""):
            outside = requests.get(root + path, timeout=10, allow_redirects=False)
            assert outside.status_code == 404
            assert title(outside.text) == "페이지를 찾을 수 없습니다"
            assert "frame-ancestors 'none'" in outside.headers["Content-Security-Policy"]
            assert outside.headers["Referrer-Policy"] == "no-referrer"


def test_a_body_too_large_is_413(web: Web) -> None:
    big = web.post("/subscribe", data={"email": "a" * 70_000})
    assert big.status_code == 413
    assert title(big.text) == "보낸 내용이 너무 큽니다"


def test_a_broken_page_is_a_500_page_and_a_logged_error_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    from email_helpers import TEMPLATES

    shutil.copytree(TEMPLATES, tmp_path / "templates")
    form = tmp_path / "templates" / "web" / "subscribe.html.j2"
    text = form.read_text(encoding="utf-8").replace(
        "{% endblock %}", "{{ no_such_value }}{% endblock %}"
    )
    form.write_text(text, encoding="utf-8")

    def config_for(url: str) -> Config:
        config = web_config(tmp_path)(url)
        email = config.email.model_copy(update={"templates_dir": tmp_path / "templates"})
        return config.model_copy(update={"email": email})

    with running_web(config_for) as web, caplog.at_level(logging.ERROR, "publisher.web"):
        broken = web.get("/subscribe")
    assert broken.status_code == 500
    assert title(broken.text) == "문제가 생겼습니다"
    assert "Traceback" not in broken.text and "no_such_value" not in broken.text
    assert "internal error on GET /subscribe" in caplog.text
    assert "'no_such_value' is undefined" in caplog.text


def test_head_answers_like_get_without_a_body(web: Web) -> None:
    head = web.head("/subscribe")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) > 1000


def test_the_stylesheet_is_the_emails_and_the_pages(web: Web) -> None:
    html = web.get("/subscribe").text
    href = html.split('<link rel="stylesheet" href="')[1].split('"')[0]
    css = web.get(href)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "max-age=31536000" in css.headers["Cache-Control"]
    assert ".masthead" in css.text and ".form .choice" in css.text


def test_healthz_answers_when_the_state_file_is_usable(web: Web) -> None:
    ok = web.get("/healthz")
    assert (ok.status_code, ok.text) == (200, "ok\n")


def test_healthz_is_503_when_the_state_file_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the state folder should be")

    def config_for(url: str) -> Config:
        config = web_config(tmp_path)(url)
        store = config.store.model_copy(update={"path": tmp_path / "blocked" / "state.sqlite3"})
        return config.model_copy(update={"store": store})

    with running_web(config_for) as web:
        down = web.get("/healthz")
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "30"
        assert title(down.text) == "잠시 쓸 수 없습니다"


@pytest.mark.parametrize(
    "path", ["/subscribe", "/subscribe/sent", "/nowhere", "/unsubscribe/forged", "/healthz"]
)
def test_every_answer_carries_the_security_headers(web: Web, path: str) -> None:
    headers = web.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_under_a_base_path_the_app_answers_there_only(tmp_path: Path) -> None:
    def config_for(url: str) -> Config:
        return web_config(tmp_path)(url + "newsletter/")

    with running_web(config_for) as web:
        assert web.url.endswith("/newsletter/")
        page = web.get("/subscribe")
        assert page.status_code == 200
        assert 'action="/newsletter/subscribe"' in page.text
        assert "Path=/newsletter/" in page.headers["Set-Cookie"]
        posted = web.post_form("/subscribe", {"email": "a@example.com", "newsletter": "daily"})
        assert posted.headers["Location"] == "/newsletter/subscribe/sent"
        outside = requests.get(web.url.removesuffix("newsletter/") + "subscribe", timeout=10)
        assert outside.status_code == 404


def test_behind_a_proxy_each_reader_is_counted_on_their_own(tmp_path: Path) -> None:
    with running_web(web_config(tmp_path, client_limit="1/hour", proxy_hops=1)) as web:

        def post_from(client: str, n: int) -> int:
            browser = web.stranger()
            browser.session.headers["X-Forwarded-For"] = client
            data = {"email": f"p{n}@example.com", "newsletter": "daily"}
            return browser.post_form("/subscribe", data).status_code

        assert [post_from("203.0.113.1", 1), post_from("203.0.113.2", 2)] == [303, 303]
        assert post_from("203.0.113.1", 3) == 429


def test_the_form_cookie_is_http_only_and_same_site(web: Web) -> None:
    cookie = web.get("/subscribe").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- subscribing: double opt-in ----------------------------------------------------------


def test_subscribing_records_pending_sends_one_email_and_the_link_confirms(
    web: Web, tmp_path: Path
) -> None:
    posted = web.post_form(
        "/subscribe",
        {"email": "Lee@Example.com", "name": "이영희", "newsletter": ["breaking", "internal"]},
    )
    assert (posted.status_code, posted.headers["Location"]) == (303, "/subscribe/sent")
    sent = web.get(posted.headers["Location"])
    assert title(sent.text) == "메일함을 확인해 주세요"
    pending = subscriber(web, "lee@example.com")
    assert pending is not None
    assert (pending.status, pending.state("breaking"), pending.state("daily")) == (
        "pending",
        "pending",
        "",
    )
    assert pending.state("internal") == ""  # not on the form: not taken from it
    (email,) = wait_for_messages(tmp_path / "outbox", 1)
    assert email["To"] == "이영희 <Lee@example.com>"
    assert email["Subject"] == "[뉴스다오] 구독을 확인해 주세요"
    link = link_in(email, "confirm")
    assert link.startswith(web.url + "confirm/c.")
    html = email.get_body(("html",))
    assert html is not None and 'href="' + link + '"' in html.get_content()
    # Mail scanners look with HEAD: that confirms nothing.
    assert web.head(link.removeprefix(web.url)).status_code == 200
    assert subscriber(web, "lee@example.com").status == "pending"  # type: ignore[union-attr]
    confirmed = web.stranger().get(link.removeprefix(web.url))
    assert confirmed.status_code == 200
    assert title(confirmed.text) == "구독이 확인되었습니다"
    assert "<li>뉴스다오 속보</li>" in confirmed.text
    active = subscriber(web, "lee@example.com")
    assert active is not None
    assert (active.status, active.receives("breaking"), active.receives("daily")) == (
        "active",
        True,
        False,
    )
    assert active.confirmed == T0
    assert active.confirmed_from == "127.0.0.1"
    again = web.get(link.removeprefix(web.url))
    assert title(again.text) == "이미 확인된 구독입니다"


def test_an_active_or_pending_address_gets_the_same_page_and_at_most_one_email(
    web: Web, tmp_path: Path
) -> None:
    reader(web, "kim@example.com")
    answers = []
    for address in ("kim@example.com", "new@example.com", "new@example.com"):
        posted = web.post_form("/subscribe", {"email": address, "newsletter": "breaking"})
        answers.append((posted.status_code, posted.headers["Location"]))
        answers.append((web.get(posted.headers["Location"]).text,))
    assert answers[0] == answers[2] == answers[4]
    assert answers[1] == answers[3] == answers[5]
    emails = wait_for_messages(tmp_path / "outbox", 1)
    web.clock.advance(timedelta(minutes=5))
    web.post_form("/subscribe", {"email": "new@example.com", "newsletter": "daily"})
    with web.store() as store:
        rows = journal.due(store, web.clock())
    assert rows == ()  # nothing waits: within resend_after, no second email is queued
    assert [e["To"] for e in emails + outbox_messages(tmp_path / "outbox")[1:]] == [
        "new@example.com"
    ]


def test_a_second_email_after_the_window(web: Web, tmp_path: Path) -> None:
    web.post_form("/subscribe", {"email": "new@example.com", "newsletter": "breaking"})
    wait_for_messages(tmp_path / "outbox", 1)
    web.clock.advance(timedelta(hours=1, seconds=1))
    web.post_form("/subscribe", {"email": "new@example.com", "newsletter": "daily"})
    second = wait_for_messages(tmp_path / "outbox", 2)[-1]
    assert "뉴스다오 데일리" in second.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(
            {"email": "not an address", "newsletter": "breaking"}, "이메일 주소를", id="email"
        ),
        pytest.param(
            {"email": "김@example.com", "newsletter": "daily"}, "이메일 주소를", id="korean"
        ),
        pytest.param({"email": "a@example.com"}, "뉴스레터를 하나 이상", id="no-newsletter"),
        pytest.param(
            {"email": "a@example.com", "newsletter": "internal"}, "뉴스레터를", id="off-form"
        ),
        pytest.param(
            {"email": "a@example.com", "newsletter": "daily", "name": "김" * 101},
            "100자",
            id="name",
        ),
    ],
)
def test_a_wrong_form_is_shown_again_with_what_to_fix(
    web: Web, data: dict[str, str], error: str
) -> None:
    shown = web.post_form("/subscribe", data)
    assert shown.status_code == 400
    assert '<span class="error"' in shown.text and error in shown.text
    with web.store() as store:
        assert list_subscribers(store) == ()


def test_a_form_without_its_csrf_token_is_refused(web: Web) -> None:
    web.get("/subscribe")
    bare = web.post("/subscribe", data={"email": "a@example.com", "newsletter": "daily"})
    assert bare.status_code == 400
    assert title(bare.text) == "양식을 다시 보내 주세요"
    # A token from another visitor's page does not go with this visitor's cookie.
    theirs = csrf_token(web.stranger().get("/subscribe").text)
    borrowed = web.post(
        "/subscribe", data={"email": "a@example.com", "newsletter": "daily", "csrf_token": theirs}
    )
    assert borrowed.status_code == 400
    with web.store() as store:
        assert table.by_key(store, "a@example.com") is None


def test_the_honeypot_looks_like_success_and_does_nothing(web: Web, tmp_path: Path) -> None:
    bot = web.post_form(
        "/subscribe",
        {"email": "bot@example.com", "newsletter": "daily", "website": "http://spam.example/"},
    )
    assert (bot.status_code, bot.headers["Location"]) == (303, "/subscribe/sent")
    assert subscriber(web, "bot@example.com") is None
    assert not (tmp_path / "outbox" / "new").exists() or outbox_messages(tmp_path / "outbox") == []


def test_a_client_over_its_limit_gets_429(tmp_path: Path) -> None:
    with running_web(web_config(tmp_path, client_limit="2/hour")) as web:
        # Without [web] proxy_hops, a client cannot pass for another with X-Forwarded-For.
        codes = []
        for n in range(3):
            web.session.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            data = {"email": f"p{n}@example.com", "newsletter": "daily"}
            codes.append(web.post_form("/subscribe", data))
        assert [c.status_code for c in codes] == [303, 303, 429]
        assert title(codes[2].text) == "요청이 너무 많습니다"
        assert subscriber(web, "p2@example.com") is None


def test_an_address_over_its_limit_is_left_alone_on_the_same_page(tmp_path: Path) -> None:
    with running_web(web_config(tmp_path, address_limit="1/hour")) as web:
        first = web.post_form("/subscribe", {"email": "a@example.com", "newsletter": "daily"})
        second = web.stranger().post_form(
            "/subscribe", {"email": "A@example.com", "newsletter": "breaking"}
        )
        assert first.headers["Location"] == second.headers["Location"] == "/subscribe/sent"
        pending = subscriber(web, "a@example.com")
        assert pending is not None and pending.state("breaking") == ""


def test_requests_never_confirmed_are_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    with running_web(web_config(tmp_path, confirm_max_age="2d"), clock=clock) as web:
        web.post_form("/subscribe", {"email": "late@example.com", "newsletter": "daily"})
        link = link_in(wait_for_messages(tmp_path / "outbox", 1)[0], "confirm")
        clock.advance(timedelta(days=2, minutes=2))
        web.post_form("/subscribe", {"email": "other@example.com", "newsletter": "daily"})
        assert subscriber(web, "late@example.com") is None
        expired = web.get(link.removeprefix(web.url))
        assert expired.status_code == 400
        assert "유효 기간이 지났습니다" in expired.text


def test_the_log_holds_no_address_or_name(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="publisher"):
        web.post_form("/subscribe", {"email": "secret.reader@example.com", "name": "비밀"})
        web.post_form(
            "/subscribe",
            {"email": "secret.reader@example.com", "name": "비밀", "newsletter": "daily"},
        )
    assert caplog.records
    text = caplog.text
    assert "secret.reader" not in text and "비밀" not in text


# -- leaving one newsletter --------------------------------------------------------------


def test_one_click_post_leaves_only_that_newsletter(web: Web) -> None:
    sid = reader(web)
    link = unsubscribe_link(sid, "breaking")
    # RFC 8058: no cookie, no CSRF token; just the body.
    done = requests.post(web.url + link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert done.status_code == 200
    assert title(done.text) == "수신 거부되었습니다"
    sub = subscriber(web, "kim@example.com")
    assert sub is not None
    assert (sub.status, sub.state("breaking"), sub.state("daily")) == (
        "active",
        "unsubscribed",
        "active",
    )
    # Again (Gmail may retry): still 200, still the same.
    assert requests.post(web.url + link, data={"List-Unsubscribe": "One-Click"}, timeout=10).ok


def test_one_click_as_multipart_form_data(web: Web) -> None:
    sid = reader(web)
    done = requests.post(
        web.url + unsubscribe_link(sid, "daily"),
        files={"List-Unsubscribe": (None, "One-Click")},
        timeout=10,
    )
    assert done.status_code == 200
    assert subscriber(web, "kim@example.com").state("daily") == "unsubscribed"  # type: ignore[union-attr]


def test_opening_the_link_changes_nothing_and_offers_one_button(web: Web) -> None:
    sid = reader(web)
    link = unsubscribe_link(sid)
    for _ in range(3):
        page = web.get(link)
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]
    assert page.status_code == 200
    assert "뉴스다오 속보 뉴스레터를 그만 받으시겠어요?" in page.text
    assert "다른 뉴스레터는 계속 받으십니다: 뉴스다오 데일리" in page.text
    assert page.text.count("<form") == 1 and page.text.count('type="submit"') == 1
    assert '<a href="/preferences/p.' in page.text


def test_the_button_leaves_then_the_page_offers_undo(web: Web) -> None:
    sid = reader(web)
    link = unsubscribe_link(sid)
    left = web.post_form("/" + link, {})
    assert (left.status_code, left.headers["Location"]) == (303, "/" + link)
    page = web.get(left.headers["Location"])
    assert title(page.text) == "수신 거부되었습니다"
    assert "뉴스다오 속보 뉴스레터를 더 이상 보내 드리지 않습니다." in page.text
    assert not subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]
    undo = web.post(link + "/undo", data={"csrf_token": csrf_token(page.text)})
    assert undo.status_code == 303
    back = web.get(undo.headers["Location"])
    assert "뉴스다오 속보 뉴스레터를 다시 받으십니다." in back.text
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]


def test_the_button_without_its_csrf_token_is_refused(web: Web) -> None:
    sid = reader(web)
    refused = web.post(unsubscribe_link(sid), data={"leave": "1"})
    assert refused.status_code == 400
    assert title(refused.text) == "양식을 다시 보내 주세요"
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]


def test_leaving_cancels_the_readers_messages_still_waiting(web: Web) -> None:
    sid = reader(web)
    other = reader(web, "lee@example.com")
    with web.store() as store, store.transaction():
        for newsletter in ("breaking", "daily"):
            issues.record_issue(
                store, issue_id=f"{newsletter}-1", newsletter_id=newsletter, post_ids=["p"],
                created=T0,
            )  # fmt: skip
            journal.enqueue(
                store, f"{newsletter}-1", [(sid, "kim@example.com"), (other, "lee@example.com")]
            )
    requests.post(
        web.url + unsubscribe_link(sid), data={"List-Unsubscribe": "One-Click"}, timeout=10
    )
    with web.store() as store:
        waiting = {(r.issue_id, r.subscriber_id) for r in journal.due(store, T0)}
    assert waiting == {("breaking-1", other), ("daily-1", sid), ("daily-1", other)}


def test_the_query_string_form_and_first_format_tokens_still_work(web: Web) -> None:
    sid = reader(web)
    # `<id>.<newsletter>.<expiry>.<signature>`, as emails carried before the web app.
    import base64
    import hashlib
    import hmac

    expiry = int((T0 + YEAR).timestamp())
    payload = f"{sid}.breaking.{expiry}"
    mac = hmac.new(SECRET, payload.encode(), hashlib.sha256).digest()[:16]
    old = payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    page = web.get("/unsubscribe", params={"token": old})
    assert page.status_code == 200 and "그만 받으시겠어요?" in page.text
    done = requests.post(
        web.url + "unsubscribe", params={"token": old}, data={"List-Unsubscribe": "One-Click"},
        timeout=10,
    )  # fmt: skip
    assert done.status_code == 200
    assert subscriber(web, "kim@example.com").state("breaking") == "unsubscribed"  # type: ignore[union-attr]


# -- bad links ---------------------------------------------------------------------------


def _good(sid: int) -> str:
    return make_token(SECRET, sid, "breaking", T0, YEAR)


BAD_TOKENS: list[Any] = [
    pytest.param(
        lambda t: "u.1.breaking.1.1750330800.AAAAAAAAAAAAAAAAAAAAAA", "바뀌었습니다", id="forged"
    ),
    pytest.param(lambda t: t[:-5], "바뀌었습니다", id="truncated"),
    pytest.param(lambda t: t.replace(".1.", ".2.", 1), "바뀌었습니다", id="tampered-version"),
    pytest.param(
        lambda t: t[:-1] + ("B" if t[-1] == "A" else "A"), "바뀌었습니다", id="tampered-mac"
    ),
    pytest.param(lambda t: t + "A" * 5000, "바뀌었습니다", id="over-long"),
    pytest.param(lambda t: t.replace("1", "\u0661"), "바뀌었습니다", id="arabic-indic-digits"),
    pytest.param(lambda t: "토큰", "바뀌었습니다", id="korean"),
    pytest.param(lambda t: t.replace("u.", "p.", 1), "바뀌었습니다", id="other-kind-unsigned"),
    pytest.param(
        lambda t: make_token(SECRET, 1, "breaking", T0, YEAR, kind="p"),
        "다른 용도",
        id="other-kind",
    ),
    pytest.param(
        lambda t: make_token(SECRET, 1, "breaking", T0 - YEAR, timedelta(days=1)),
        "유효 기간이 지났습니다",
        id="expired",
    ),
    pytest.param(
        lambda t: make_token(SECRET, 999, "breaking", T0, YEAR),
        "구독 정보가 없습니다",
        id="unknown",
    ),
]


@pytest.mark.parametrize(("bad", "words"), BAD_TOKENS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_unsubscribe_link_is_a_400_page_in_korean(
    web: Web, bad: Callable[[str], str], words: str, method: str
) -> None:
    sid = reader(web)
    assert sid == 1
    token = bad(_good(sid))
    url = web.url + "unsubscribe/" + requests.utils.quote(token, safe="")
    if method == "GET":
        answer = requests.get(url, timeout=10)
    else:
        answer = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 400, answer.text[:300]
    assert title(answer.text) == "이 링크는 쓸 수 없습니다"
    assert words in answer.text
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["confirm", "preferences"])
def test_bad_confirm_and_preferences_links_are_400_too(web: Web, kind: str) -> None:
    for token in ("x", "\u0661.1._.1.1.AAAAAAAAAAAAAAAAAAAAAA", "c" * 3000):
        answer = web.get(f"/{kind}/{token}")
        assert answer.status_code == 400
        assert title(answer.text) == "이 링크는 쓸 수 없습니다"


def test_head_of_a_confirm_link_answers_as_its_get_would(web: Web) -> None:
    nobody = make_token(SECRET, 999, "_", T0, YEAR, kind="c")  # well signed, nobody's
    assert web.get(f"/confirm/{nobody}").status_code == 400
    assert web.head(f"/confirm/{nobody}").status_code == 400


def test_a_link_from_before_a_resubscribe_no_longer_unsubscribes(web: Web) -> None:
    sid = reader(web)
    old = unsubscribe_link(sid)
    assert requests.post(web.url + old, data={"List-Unsubscribe": "One-Click"}, timeout=10).ok
    with web.store() as store:
        back = add_subscriber(web.config, store, "kim@example.com", T0, resubscribe=True)
    assert back.receives("breaking")
    assert back.subscription("breaking").version == 2  # type: ignore[union-attr]
    stale = requests.post(web.url + old, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert stale.status_code == 400
    assert "다시 구독하시기 전에 보낸 메일의 링크입니다" in stale.text
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]
    fresh = requests.post(
        web.url + unsubscribe_link(sid, version=2), data={"List-Unsubscribe": "One-Click"},
        timeout=10,
    )  # fmt: skip
    assert fresh.status_code == 200


def test_coming_back_through_the_form_makes_old_links_stale(web: Web, tmp_path: Path) -> None:
    sid = reader(web, newsletters=["breaking"])
    old = unsubscribe_link(sid)
    assert requests.post(web.url + old, data={"List-Unsubscribe": "One-Click"}, timeout=10).ok
    assert subscriber(web, "kim@example.com").status == "unsubscribed"  # type: ignore[union-attr]
    web.post_form("/subscribe", {"email": "kim@example.com", "newsletter": "breaking"})
    waiting = subscriber(web, "kim@example.com")
    assert waiting is not None and waiting.state("breaking") == "pending"
    (email,) = wait_for_messages(tmp_path / "outbox", 1)
    web.get(link_in(email, "confirm").removeprefix(web.url))
    back = subscriber(web, "kim@example.com")
    assert back is not None and back.receives("breaking") and back.status == "active"
    stale = requests.post(web.url + old, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert stale.status_code == 400
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]


def test_an_every_newsletter_readers_old_link_is_stale_after_they_leave_and_come_back(
    web: Web, tmp_path: Path
) -> None:
    # Added for every newsletter: their emails' links are signed for the '*' subscription.
    sid = reader(web)
    old = unsubscribe_link(sid)
    link = "/preferences/" + make_token(SECRET, sid, "daily", T0, YEAR, kind="p")
    web.post_form(link, {"action": "leave"})
    web.post_form("/subscribe", {"email": "kim@example.com", "newsletter": "breaking"})
    (email,) = wait_for_messages(tmp_path / "outbox", 1)
    web.get(link_in(email, "confirm").removeprefix(web.url))
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]
    stale = requests.post(web.url + old, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert stale.status_code == 400
    assert subscriber(web, "kim@example.com").receives("breaking")  # type: ignore[union-attr]


def test_an_expiry_past_the_calendar_is_a_forgery_not_a_crash(web: Web) -> None:
    sid = reader(web)
    token = f"u.{sid}.breaking.1.999999999999.AAAAAAAAAAAAAAAAAAAAAA"
    for answer in (
        web.get(f"/unsubscribe/{token}"),
        requests.post(
            f"{web.url}unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=10
        ),
    ):
        assert answer.status_code == 400
        assert title(answer.text) == "이 링크는 쓸 수 없습니다"


# -- preferences -------------------------------------------------------------------------


def test_preferences_tick_newsletters_and_change_the_name(web: Web) -> None:
    sid = reader(web, newsletters=["breaking"], name="김")
    link = "/preferences/" + make_token(SECRET, sid, "breaking", T0, YEAR, kind="p")
    page = web.get(link)
    assert page.status_code == 200
    assert title(page.text) == "구독 설정"
    assert 'value="breaking" checked' in page.text and 'value="daily">' in page.text
    assert "내부 소식" not in page.text
    saved = web.post_form(link, {"newsletter": "daily", "name": "김철수", "action": "save"})
    assert (saved.status_code, saved.headers["Location"]) == (303, link + "?done=saved")
    assert "저장되었습니다." in web.get(saved.headers["Location"]).text
    sub = subscriber(web, "kim@example.com")
    assert sub is not None
    assert (sub.name, sub.state("breaking"), sub.state("daily")) == (
        "김철수",
        "unsubscribed",
        "active",
    )


def test_preferences_leave_everything(web: Web) -> None:
    sid = reader(web)
    link = "/preferences/" + make_token(SECRET, sid, "daily", T0, YEAR, kind="p")
    left = web.post_form(link, {"action": "leave"})
    assert left.headers["Location"] == link + "?done=left"
    assert "모든 뉴스레터를 수신 거부하셨습니다" in web.get(left.headers["Location"]).text
    sub = subscriber(web, "kim@example.com")
    assert sub is not None
    assert sub.status == "unsubscribed"
    assert [sub.receives(n) for n in ("breaking", "daily", "internal")] == [False] * 3


def test_preferences_of_every_newsletter_keep_exactly_what_was_ticked(web: Web) -> None:
    sid = reader(web)  # subscribed to every newsletter ('*'), those to come too
    link = "/preferences/" + make_token(SECRET, sid, "daily", T0, YEAR, kind="p")
    web.post_form(link, {"newsletter": "breaking", "name": "", "action": "save"})
    sub = subscriber(web, "kim@example.com")
    assert sub is not None
    assert sub.status == "active"
    assert [sub.receives(n) for n in ("breaking", "daily", "internal", "added-later")] == [
        True,
        False,
        False,
        False,
    ]
    # Nothing ticked is leaving: no newsletter, not even one added later.
    web.post_form(link, {"name": "", "action": "save"})
    sub = subscriber(web, "kim@example.com")
    assert sub is not None
    assert sub.status == "unsubscribed"
    assert not any(sub.receives(n) for n in ("breaking", "daily", "internal", "added-later"))


def test_preferences_without_the_csrf_token_are_refused(web: Web) -> None:
    sid = reader(web)
    link = "/preferences/" + make_token(SECRET, sid, "daily", T0, YEAR, kind="p")
    assert web.post(link, data={"action": "leave"}).status_code == 400
    assert subscriber(web, "kim@example.com").status == "active"  # type: ignore[union-attr]
