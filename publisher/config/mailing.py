"""The email side's tables: newsletters, subscribers listed in the file, [email],
[delivery] with [delivery.smtp], [archive] and [web].
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from publisher.config.values import (
    AbsoluteUrl,
    Duration,
    EnvName,
    RelPath,
    Section,
    usable_address,
)

_SLUG = r"^[a-z0-9][a-z0-9_-]*$"


class NewsletterConfig(Section):
    id: str = Field(pattern=_SLUG)
    name: str
    categories: list[str] = Field(default_factory=list)
    schedule: str = "* * * * *"
    max_posts: int = Field(default=10, ge=1)
    max_age: Duration = timedelta(hours=24)
    sender: str
    reply_to: str = ""
    subject_alert: str = "[{{ labels.alert }}] {{ post.title }}"
    # Led by the newest headline: "[뉴스다오 속보] 제목 외 2건".
    subject_digest: str = (
        "[{{ newsletter.name }}] {{ post.title }} {{ labels.and_others | format(count - 1) }}"
    )
    template_alert: str = "alert"
    template_digest: str = "digest"
    # The sender's contact line in the footer for this newsletter ('': [email] contact_line).
    contact_line: str = ""
    # The web app's subscribe form ([web]): one line about it, and whether it is offered.
    description: str = ""
    on_form: bool = True

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        # The check lives with the one wrapper of APScheduler's trigger.
        from publisher.config.crontab import check_expression

        return check_expression(value)

    @field_validator("sender", "reply_to")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if value == "":
            return value
        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError(
                f"expected an address such as 'Newsroom <news@example.com>', got {value!r}"
            )
        usable_address(address)  # headers carry it as ASCII
        return value


class SubscriberConfig(Section):
    email: str
    name: str = ""
    newsletters: list[str] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        usable_address(value)
        return value


class EmailConfig(Section):
    templates_dir: RelPath = Path("email_templates")
    secret_env: EnvName = "PUBLISHER_SECRET"  # noqa: S105 (a variable name)
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    token_max_age: Duration = timedelta(days=365)
    max_html_bytes: int = Field(default=100_000, ge=10_000)
    # Who sends the emails and where to reach them (a postal address, as CAN-SPAM asks):
    # one line in every email's footer ('': none).
    contact_line: str = ""

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, value: str) -> str:
        if value and ("@" not in value or any(c in value for c in " <>\r\n?")):
            raise ValueError(
                f"expected a bare address such as 'unsubscribe@example.com', got {value!r}"
            )
        if value:
            usable_address(value)  # headers carry it as ASCII
        return value

    @field_validator("unsubscribe_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and urlsplit(value).scheme != "https":
            raise ValueError(f"expected an https URL (Gmail and Yahoo require it), got {value!r}")
        return value


class SmtpConfig(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: EnvName = ""
    timeout: Duration = timedelta(seconds=30)
    rate: float | None = Field(default=None, gt=0)
    # Issue 11: parallel sessions, and a cap per hour across them and across runs.
    connections: int = Field(default=4, ge=1, le=100)
    per_hour: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _password_named(self) -> SmtpConfig:
        if self.username and not self.password_env:
            raise ValueError(
                f"username {self.username!r} needs password_env: set it to the name of the "
                "environment variable that holds the password"
            )
        return self


class DeliveryConfig(Section):
    method: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: RelPath = Path("outbox")
    smtp: SmtpConfig = SmtpConfig()
    retry_after: Duration = timedelta(minutes=5)
    max_attempts: int = Field(default=10, ge=1)
    # Issue 11: what the server's answers make of a message and a reader.
    unknown_retries: int = Field(default=1, ge=0, le=10)
    soft_bounce_limit: int = Field(default=3, ge=1)
    stop_after_same_refusals: int = Field(default=10, ge=2)


class ArchiveConfig(Section):
    """Web pages of the issues sent, under [feeds] output_dir (issue 13)."""

    enabled: bool = True
    dir: str = "archive"
    index_name: str = "index.html"
    feed_name: str = "atom.xml"
    limit: int = Field(default=50, ge=1)

    @field_validator("dir")
    @classmethod
    def _folder(cls, value: str) -> str:
        parts = value.split("/")
        if not value or "\\" in value or "" in parts or "." in parts or ".." in parts:
            raise ValueError(
                f"expected a folder inside output_dir such as 'archive', got {value!r}"
            )
        return value

    @field_validator("index_name", "feed_name")
    @classmethod
    def _file_name(cls, value: str) -> str:
        if not value or value in (".", "..") or "/" in value or "\\" in value:
            raise ValueError(f"expected a plain file name such as 'index.html', got {value!r}")
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> ArchiveConfig:
        if self.index_name == self.feed_name:
            raise ValueError(
                f"index_name and feed_name must differ, got {self.index_name!r} for both"
            )
        return self


_RATE = re.compile(r"^\s*[1-9][0-9]{0,6}\s*/\s*(second|minute|hour|day)\s*$")


class WebConfig(Section):
    """[web]: the subscriber pages (`publisher serve`), and the links emails carry to them."""

    base_url: AbsoluteUrl
    sender: str = ""
    confirm_max_age: Duration = timedelta(days=7)
    resend_after: Duration = timedelta(hours=1)
    client_limit: str = "10/hour"
    address_limit: str = "3/hour"
    proxy_hops: int = Field(default=0, ge=0, le=5)
    threads: int = Field(default=8, ge=1, le=64)

    @field_validator("base_url")
    @classmethod
    def _folder_url(cls, value: str) -> str:
        if urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError(f"expected a URL without ?query or #fragment, got {value!r}")
        return value if value.endswith("/") else value + "/"

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return NewsletterConfig._mailbox(value)

    @field_validator("client_limit", "address_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not _RATE.match(value):
            raise ValueError(
                f"expected a rate such as '10/hour' (a count per second, minute, hour or day), "
                f"got {value!r}"
            )
        return value
