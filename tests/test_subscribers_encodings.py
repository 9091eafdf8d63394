"""Subscriber files as people save them: UTF-8 (with or without BOM), UTF-16 and Korean
Excel's CP949/EUC-KR are read, the encoding named with -v; anything else is refused with
the line and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from email_helpers import T0, email_config

from publisher.cli import cli
from publisher.config import Config
from publisher.errors import PublisherError
from publisher.newsletters.subscriber_csv import import_csv
from publisher.newsletters.subscribers import list_subscribers
from publisher.store import Store

DATA = Path(__file__).parent / "data" / "email"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return email_config(tmp_path)


@pytest.mark.parametrize(
    ("case", "encoding", "second"),
    [
        ("subscribers-utf8.csv", "UTF-8", "이영희 (서울)"),
        ("subscribers-utf8-bom.csv", "UTF-8 with a BOM", "이영희 (서울)"),
        ("subscribers-utf16.csv", "UTF-16", "이영희 (서울)"),
        ("subscribers-utf16-be.csv", "UTF-16", "이영희 (서울)"),
        ("subscribers-cp949.csv", "CP949 (EUC-KR)", "이영희 (서울)"),
        ("subscribers-euc-kr.csv", "CP949 (EUC-KR)", "이영희 (서울)"),
        ("subscribers-cp949-extended.csv", "CP949 (EUC-KR)", "똠방각하"),
    ],
)
def test_a_file_in_each_encoding_people_save_is_read(
    config: Config, store: Store, case: str, encoding: str, second: str
) -> None:
    report = import_csv(config, store, DATA / case, T0)
    assert (report.added, report.problems, report.encoding) == (2, (), encoding)
    got = {(s.email, s.name, s.newsletters) for s in list_subscribers(store)}
    assert got == {
        ("kim@example.com", "김철수", ("breaking",)),
        ("lee@example.com", second, ("daily",)),
    }


SAVE_AS = (
    "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)' (or as Korean 'CSV', "
    "CP949) and import it again"
)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "subscribers-latin1.csv",
            "{path}:3: cannot read the file: line 3 is not UTF-8, UTF-16 or CP949/EUC-KR text: "
            + SAVE_AS,
        ),
        (
            "subscribers-utf16-without-bom.csv",
            "{path}:1: the file holds NUL bytes, so it is not CSV text: " + SAVE_AS,
        ),
    ],
)
def test_a_file_in_another_encoding_is_refused_with_the_line(
    config: Config, store: Store, case: str, message: str
) -> None:
    with pytest.raises(PublisherError) as e:
        import_csv(config, store, DATA / case, T0)
    assert str(e.value) == message.format(path=DATA / case)
    assert list_subscribers(store) == ()


def test_verbose_import_names_the_encoding(tmp_path: Path) -> None:
    config = tmp_path / "publisher.toml"
    config.write_text(
        '[site]\ntitle = "뉴스다오"\nurl = "https://newsdao.kr/"\n\n[[newsletters]]\n'
        'id = "breaking"\nname = "속보"\nsender = "news@newsdao.kr"\n\n[[newsletters]]\n'
        'id = "daily"\nname = "데일리"\nsender = "news@newsdao.kr"\n',
        encoding="utf-8",
    )
    case = DATA / "subscribers-cp949.csv"
    result = CliRunner().invoke(cli, ["-c", str(config), "-v", "subscribers", "import", str(case)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{case}: read as CP949 (EUC-KR)\n"
    assert result.stdout == "2 added, 0 updated, 0 rows not imported\n"
