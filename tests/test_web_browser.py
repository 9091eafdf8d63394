"""A reader's whole journey in a real headless browser (Debian's chromium, driven by Selenium
through Debian's chromedriver): fill the form, follow the confirmation link from the outbox,
receive the alert of a new post from `publisher run`, and leave through the email's link."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from delivery_helpers import publisher_command
from email_helpers import SECRET, T0
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait
from web_helpers import link_in, outbox_messages, running_web, wait_for_messages

from publisher.config import Config, load_config
from publisher.store import Store
from publisher.store import subscribers as table

ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The flags of a quiet, offline headless chromium (.ci/run installs the Debian packages).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
RUN_AT = T0.isoformat()  # the moment the app's clock shows too
NEXT_RUN = (T0 + timedelta(minutes=1)).isoformat()  # breaking fires every minute
NEW_POST = """---
title: "긴급: 한강 다리 통행 제한"
date: 2024-06-19 19:55:00 +0900
categories: [News]
---
<p>오늘 밤 한강 다리 통행이 제한됩니다.</p>
"""


def browser(width: int = 1000, height: int = 1200) -> WebDriver:
    """Headless chromium at this window size; Debian's packages, nothing downloaded."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "install Debian's chromium and chromium-driver (.ci/run does)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    chrome = browser()
    try:
        yield chrome
    finally:
        chrome.quit()


def sample_site(root: Path, url: str) -> Config:
    """The bundled sample site, its web app at `url`."""
    for folder in ("content", "email_templates"):
        if not (root / folder).exists():
            shutil.copytree(ROOT / folder, root / folder)
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = root / "publisher.toml"
    config.write_text(text.replace("http://127.0.0.1:8080/", url), encoding="utf-8")
    return load_config(config)


def publisher(config: Config, *args: str) -> None:
    import os
    import subprocess

    done = subprocess.run(
        publisher_command("-c", str(config.path), *args),
        capture_output=True,
        text=True,
        env={**os.environ, "PUBLISHER_SECRET": SECRET.decode()},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def page_after_click(driver: WebDriver, heading: str) -> bool:
    """Whether the page a click led to shows `heading`: waits for the browser to get there
    (until then the old page's elements answer, or are gone)."""
    wait = WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,))
    return bool(wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == heading or None))


def test_subscribe_confirm_receive_and_leave_in_a_browser(
    tmp_path: Path, driver: WebDriver
) -> None:
    outbox = tmp_path / "outbox"
    with running_web(lambda url: sample_site(tmp_path, url)) as web:
        config = web.config
        publisher(config, "baseline", "--now", RUN_AT)  # the sample posts are old news

        driver.get(web.url + "subscribe")
        assert driver.title == "뉴스레터 구독 · 뉴스다오"
        driver.find_element(By.ID, "email").send_keys("reader2@example.com")
        driver.find_element(By.ID, "name").send_keys("박독자")
        driver.find_element(By.CSS_SELECTOR, 'input[value="breaking"]').click()
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        assert page_after_click(driver, "메일함을 확인해 주세요")
        assert driver.current_url == web.url + "subscribe/sent"

        (confirmation,) = wait_for_messages(outbox, 1)
        assert confirmation["To"] == "박독자 <reader2@example.com>"
        driver.get(link_in(confirmation, "confirm"))
        assert driver.find_element(By.TAG_NAME, "h1").text == "구독이 확인되었습니다"
        assert [li.text for li in driver.find_elements(By.CSS_SELECTOR, "li")] == ["뉴스다오 속보"]

        (tmp_path / "content" / "2024-06-19-bridge.html").write_text(NEW_POST, encoding="utf-8")
        publisher(config, "run", "--now", NEXT_RUN)
        alerts = [m for m in outbox_messages(outbox) if m["To"] == "박독자 <reader2@example.com>"]
        alert = alerts[-1]
        assert alert["Subject"] == "[속보] 긴급: 한강 다리 통행 제한"
        assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        driver.get(link_in(alert, "unsubscribe"))
        assert "뉴스다오 속보 뉴스레터를 그만 받으시겠어요?" in driver.page_source
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        assert page_after_click(driver, "수신 거부되었습니다")
        assert driver.find_element(By.CSS_SELECTOR, "button[type=submit]").text == (
            "취소하고 계속 받기"
        )
        with Store.open(config.store.path) as store:
            sub = table.by_key(store, "reader2@example.com")
        assert sub is not None
        assert (sub.state("breaking"), sub.confirmed_from) == ("unsubscribed", "127.0.0.1")
