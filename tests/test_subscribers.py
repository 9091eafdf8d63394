"""Subscribers: checked addresses, one person per address, leavers kept, CSV in and out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from email_helpers import T0, email_config

from publisher.config import Config
from publisher.content.clean import one_line
from publisher.errors import ConfigError, PublisherError
from publisher.newsletters.choices import leave_everything, unsubscribe
from publisher.newsletters.subscriber_csv import export_csv, import_csv
from publisher.newsletters.subscribers import (
    active_subscribers,
    add_subscriber,
    list_subscribers,
    mark_bounced,
    remove_subscriber,
    sync_config_subscribers,
)
from publisher.newsletters.tokens import BadToken, Claims
from publisher.store import Store

DATA = Path(__file__).parent / "data" / "email"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return email_config(tmp_path)


def test_the_same_address_in_another_case_is_the_same_person(config: Config, store: Store) -> None:
    first = add_subscriber(config, store, "Kim@Example.COM", T0, name="김철수")
    again = add_subscriber(config, store, "kim@example.com", T0, newsletters=["daily"])
    assert again.id == first.id
    assert first.email == "Kim@example.com"
    assert again.newsletters == ("*", "daily")
    assert again.name == "김철수"
    assert len(list_subscribers(store)) == 1


def test_internationalised_domains_go_on_the_wire_as_punycode(config: Config, store: Store) -> None:
    sub = add_subscriber(config, store, "reader@뉴스다오.한국", T0)
    assert sub.email == "reader@xn--vg1b9h503bpmd.xn--3e0b707e"
    assert sub.display_email == "reader@뉴스다오.한국"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        pytest.param("no-at-sign", "An email address must have an @-sign", id="no-at"),
        pytest.param("a@b..kr", "cannot have two periods in a row", id="two-dots"),
        pytest.param(
            "김@example.com",
            "Internationalized characters before the @-sign",
            id="korean-local-part",
        ),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(
    config: Config, store: Store, address: str, reason: str
) -> None:
    with pytest.raises(PublisherError) as e:
        add_subscriber(config, store, address, T0)
    assert f"{address!r} is not a usable email address" in str(e.value)
    assert reason in str(e.value)


def test_an_unknown_newsletter_is_refused(config: Config, store: Store) -> None:
    with pytest.raises(
        ConfigError, match="no newsletter has the id 'weekly' \\(known: 'breaking', 'daily'\\)"
    ):
        add_subscriber(config, store, "a@example.com", T0, newsletters=["weekly"])


def test_removing_keeps_the_record_and_adding_back_needs_consent(
    config: Config, store: Store
) -> None:
    add_subscriber(config, store, "a@example.com", T0)
    removed = remove_subscriber(store, "A@example.com", T0)
    assert removed.status == "removed"
    assert removed.reason == "removed by the site"
    assert active_subscribers(store, "breaking") == ()
    with pytest.raises(PublisherError) as e:
        add_subscriber(config, store, "a@example.com", T0)
    assert str(e.value) == (
        "a@example.com is removed since 2024-06-19: pass --resubscribe if they asked to "
        "subscribe again"
    )
    back = add_subscriber(config, store, "a@example.com", T0, resubscribe=True)
    assert back.status == "active"


def test_removing_an_unknown_address_says_so(store: Store) -> None:
    with pytest.raises(PublisherError, match=r"no subscriber has the address 'x@example\.com'"):
        remove_subscriber(store, "x@example.com", T0)


def test_active_subscribers_of_a_newsletter(config: Config, store: Store) -> None:
    every = add_subscriber(config, store, "every@example.com", T0)
    daily = add_subscriber(config, store, "daily@example.com", T0, newsletters=["daily"])
    bounced = add_subscriber(config, store, "bounced@example.com", T0)
    with store.transaction():
        mark_bounced(store, bounced.id, "550 5.1.1 no such user\r\n", T0)
    assert [s.id for s in active_subscribers(store, "breaking")] == [every.id]
    assert [s.id for s in active_subscribers(store, "daily")] == [every.id, daily.id]
    (gone,) = list_subscribers(store, "bounced")
    assert gone.reason == "550 5.1.1 no such user"


def test_unsubscribing_leaves_only_the_newsletter_the_claims_name(
    config: Config, store: Store
) -> None:
    sub = add_subscriber(config, store, "a@example.com", T0)
    left = unsubscribe(store, Claims(sub.id, "breaking", T0), T0)
    assert left.changed
    assert left.subscriber.status == "active"
    assert (left.subscriber.state("breaking"), left.subscriber.state("daily")) == (
        "unsubscribed",
        "active",
    )
    assert [s.id for s in active_subscribers(store, "daily")] == [sub.id]
    assert active_subscribers(store, "breaking") == ()
    # Subscribed to '*' (newsletters added later too), they stay on the list...
    unsubscribe(store, Claims(sub.id, "daily", T0), T0)
    assert active_subscribers(store, "daily") == ()
    # ... while someone who left the one newsletter they had is unsubscribed.
    one = add_subscriber(config, store, "b@example.com", T0, newsletters=["daily"])
    last = unsubscribe(store, Claims(one.id, "daily", T0), T0)
    assert last.subscriber.status == "unsubscribed"
    assert last.subscriber.reason == "unsubscribe link (daily)"
    with pytest.raises(PublisherError, match="names subscriber 99, who is not in this store"):
        unsubscribe(store, Claims(99, "breaking", T0), T0)


def test_leaving_every_newsletter_counts_for_each_one_when_added_back(
    tmp_path: Path, config: Config, store: Store
) -> None:
    # Subscribed to '*': their emails' links carry the '*' row's version.
    sub = add_subscriber(config, store, "a@example.com", T0)
    leave_everything(store, Claims(sub.id, "breaking", T0), T0)
    # Leaving '*' is leaving each newsletter: the editor may not add one back unasked...
    with pytest.raises(PublisherError, match=r"a@example\.com is unsubscribed since 2024-06-19"):
        add_subscriber(config, store, "a@example.com", T0, newsletters=["breaking"])
    people = tmp_path / "people.csv"
    people.write_text("email,newsletters\na@example.com,daily\n", encoding="utf-8")
    report = import_csv(config, store, people, T0)
    assert [p.message for p in report.problems] == [
        "a@example.com is unsubscribed since 2024-06-19: not subscribed again (use "
        "'subscribers add --resubscribe')"
    ]
    # ... and asked, it is a new version: a link from before they left no longer unsubscribes.
    back = add_subscriber(
        config, store, "a@example.com", T0, newsletters=["breaking"], resubscribe=True
    )
    assert back.receives("breaking") and not back.receives("daily")
    with pytest.raises(BadToken, match=r"sent before a@example\.com subscribed to breaking again"):
        unsubscribe(store, Claims(sub.id, "breaking", T0, version=1), T0)
    assert active_subscribers(store, "breaking") == (back,)


def test_an_import_does_not_add_back_a_newsletter_left_through_every_newsletter(
    tmp_path: Path, config: Config, store: Store
) -> None:
    sub = add_subscriber(config, store, "a@example.com", T0)
    unsubscribe(store, Claims(sub.id, "breaking", T0), T0)
    leave_everything(store, Claims(sub.id, "daily", T0), T0)
    add_subscriber(config, store, "a@example.com", T0, newsletters=["daily"], resubscribe=True)
    with pytest.raises(PublisherError, match="left breaking on 2024-06-19: pass --resubscribe"):
        add_subscriber(config, store, "a@example.com", T0, newsletters=["breaking"])
    people = tmp_path / "people.csv"
    people.write_text("email,newsletters\na@example.com,breaking daily\n", encoding="utf-8")
    report = import_csv(config, store, people, T0)
    assert [p.message for p in report.problems] == [
        "a@example.com left breaking: not subscribed to it again (use 'subscribers add "
        "--resubscribe'); the rest of the row was imported"
    ]
    (after,) = list_subscribers(store)
    assert (after.receives("breaking"), after.receives("daily")) == (False, True)


def test_import_takes_the_good_rows_and_reports_the_bad_by_line(
    config: Config, store: Store
) -> None:
    add_subscriber(config, store, "left@example.com", T0)
    remove_subscriber(store, "left@example.com", T0)
    report = import_csv(config, store, DATA / "subscribers-with-bad-rows.csv", T0)
    assert (report.added, report.updated) == (3, 0)
    messages = [(p.line, p.warning, p.message) for p in report.problems]
    assert messages[0][0] == 3
    assert "'not an address' is not a usable email address" in messages[0][2]
    assert messages[0][2].endswith(": row skipped")
    assert messages[1][:2] == (5, False)
    assert messages[1][2] == "unknown newsletter 'weekly' (known: breaking, daily): row skipped"
    assert messages[2] == (6, False, "no email address: row skipped")
    assert messages[3][:2] == (8, True)
    assert messages[3][2] == (
        "left@example.com is removed since 2024-06-19: not subscribed again "
        "(use 'subscribers add --resubscribe')"
    )
    emails = {s.display_email: s for s in list_subscribers(store)}
    assert emails["Kim@example.com"].newsletters == ("breaking",)
    assert emails["reader@뉴스다오.한국"].newsletters == ("breaking", "daily")
    assert emails["lee@example.com"].newsletters == ("*",)
    assert emails["left@example.com"].status == "removed"


def test_export_reads_back_on_import_keeping_who_left(
    tmp_path: Path, config: Config, store: Store
) -> None:
    add_subscriber(config, store, "a@example.com", T0, name='Kim, "the reader"')
    add_subscriber(config, store, "b@example.com", T0, newsletters=["daily"])
    remove_subscriber(store, "b@example.com", T0)
    exported = tmp_path / "export.csv"
    exported.write_text(export_csv(store), encoding="utf-8")
    assert exported.read_text(encoding="utf-8").splitlines()[0] == (
        "email,name,status,newsletters,created,changed,left"
    )
    with Store.open(tmp_path / "other.sqlite3") as other:
        report = import_csv(config, other, exported, T0)
        assert (report.added, report.problems) == (2, ())
        got = {(s.email, s.name, s.status, s.newsletters) for s in list_subscribers(other)}
    assert got == {
        ("a@example.com", 'Kim, "the reader"', "active", ("*",)),
        ("b@example.com", "", "removed", ("daily",)),
    }


def test_a_file_without_a_header_reads_email_name_newsletters_status(
    config: Config, store: Store
) -> None:
    report = import_csv(config, store, DATA / "subscribers-headerless.csv", T0)
    assert (report.added, report.updated, report.problems) == (2, 0, ())
    got = {(s.email, s.name, s.newsletters, s.status) for s in list_subscribers(store)}
    assert got == {
        ("kim@example.com", "Kim", ("breaking",), "active"),
        ("lee@example.com", "Lee", ("daily",), "unsubscribed"),
    }


_GOOD_ROW = "kim@example.com,Kim,breaking\n"
_LATER_ROWS = "".join(f"p{i}@example.com,Park,\n" for i in range(8000))  # ~200 KB


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(f"lee@example.com,{'L' * 200_000},daily\n", id="a-200-kb-field"),
        pytest.param(f'lee@example.com,"Lee,daily\n{_LATER_ROWS}', id="a-quote-left-open"),
    ],
)
def test_a_row_the_csv_reader_refuses_ends_the_import_keeping_the_rows_before(
    tmp_path: Path, config: Config, store: Store, broken: str
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(f"email,name,newsletters\n{_GOOD_ROW}{broken}park@example.com,Park,\n")
    report = import_csv(config, store, people, T0)
    assert (report.added, report.updated) == (1, 0)
    assert [(str(p), p.warning) for p in report.problems] == [
        (
            f"{people}:3: cannot read this row as CSV (field larger than field limit "
            f"({csv.field_size_limit()})): neither it nor any row after it was imported; fix "
            "the row (a quote left open makes the rest of the file one field) and import "
            "the file again",
            False,
        )
    ]
    assert [s.email for s in list_subscribers(store)] == ["kim@example.com"]


def test_a_euc_kr_file_is_read_and_its_rows_checked(
    tmp_path: Path, config: Config, store: Store
) -> None:
    korean = tmp_path / "euc-kr.csv"
    korean.write_bytes("김철수@example.com".encode("euc-kr"))
    report = import_csv(config, store, korean, T0)
    assert report.encoding == "CP949 (EUC-KR)"
    ((line, message),) = [(p.line, p.message) for p in report.problems]
    assert line == 1 and message.startswith("'김철수@example.com' is not a usable email address")


def test_names_lose_line_breaks_and_control_characters(config: Config, store: Store) -> None:
    sub = add_subscriber(
        config, store, "a@example.com", T0, name="Kim\r\nBcc: evil@example.com\x00"
    )
    assert sub.name == "Kim Bcc: evil@example.com"
    assert one_line("제목\u2028둘째 줄\t") == "제목 둘째 줄"


def test_config_subscribers_are_added_once_and_never_back_after_leaving(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path, subscribers=[{"email": "reader@example.com", "name": "독자"}])
    assert sync_config_subscribers(config, store, T0) == 1
    assert sync_config_subscribers(config, store, T0) == 0
    remove_subscriber(store, "reader@example.com", T0)
    assert sync_config_subscribers(config, store, T0) == 0
    assert active_subscribers(store, "breaking") == ()


def test_config_subscribers_must_name_known_newsletters(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        email_config(tmp_path, subscribers=[{"email": "a@example.com", "newsletters": ["weekly"]}])
    assert "subscribers[0].newsletters: no newsletter has the id 'weekly'" in str(e.value)
