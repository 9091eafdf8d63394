"""What `publisher.toml` may hold: one frozen pydantic model per table, with its checks.

Every table forbids unknown keys, and paths are resolved against the config file's
folder (passed as validation context by the loader). Secrets are never part of it: only
the *names* of the environment variables that hold them.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from publisher.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Past this, `now + duration` and socket timeouts overflow; no setting needs more.
_LONGEST = timedelta(days=36500)


def parse_duration(value: object) -> object:
    """'90s', '30m', '24h', '7d', '2w', a number of seconds or a timedelta -> a timedelta
    longer than zero and at most 100 years; ValueError saying what was expected otherwise."""
    if isinstance(value, bool):
        return value  # pydantic refuses it as it refuses any other non-duration
    if isinstance(value, str):
        match = _DURATION.match(value)
        seconds = float(match[1]) * _UNITS[match[2]] if match else math.nan
    elif isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int past float's range
            seconds = math.inf if value > 0 else -math.inf
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        return value
    # Checked before timedelta() sees it: it raises OverflowError on inf or a huge number.
    if math.isnan(seconds):
        raise ValueError(f"expected a duration such as '30m', '24h' or '7d', got {value!r}")
    if seconds <= 0:
        raise ValueError(
            f"expected a positive duration such as '10s', '5m' or '24h', got {value!r}"
        )
    if seconds > _LONGEST.total_seconds():
        raise ValueError(f"expected a duration of at most 100 years ('36500d'), got {value!r}")
    return timedelta(seconds=seconds)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_name(value: object) -> object:
    """The name of an environment variable, or '' for none; ValueError otherwise. The
    message never repeats the value: it may be the secret, pasted in the wrong place."""
    if not isinstance(value, str) or (value and _ENV_NAME.fullmatch(value) is None):
        raise ValueError(
            "expected the name of an environment variable such as PUBLISHER_SMTP_PASSWORD "
            "(letters, digits and _), not the secret itself: put the secret in that variable"
        )
    return value


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is None or value.is_absolute():
        return value
    return (Path(base) / value).resolve()


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as 'Asia/Seoul' or 'UTC'"
        ) from e
    return value


def _check_absolute_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"expected an absolute http(s) URL such as 'https://example.com/', got {value!r}"
        )
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
RelPath = Annotated[Path, AfterValidator(_resolve_path)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
AbsoluteUrl = Annotated[str, AfterValidator(_check_absolute_url)]
EnvName = Annotated[str, BeforeValidator(check_env_name)]


def usable_address(text: str) -> ValidatedEmail:
    """An address email can carry without SMTPUTF8 (an IDN domain is fine, a Korean local part
    is not); ValueError with the reason otherwise."""
    try:
        return validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise ValueError(f"{text.strip()!r} is not a usable email address ({e})") from e


class Section(BaseModel):
    """A config table: frozen, and every key it does not know is an error."""

    # validate_default: a default path is resolved against the config file like a given one.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SiteConfig(Section):
    title: str
    url: AbsoluteUrl
    description: str = ""
    language: str = "en"
    timezone: TimeZoneName = "UTC"
    author: str = ""
    author_email: str = ""
    icon: str = ""
    logo: str = ""

    @field_validator("url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # The base path is a folder: 'https://x.kr/news' and 'https://x.kr/news/' are one site.
        return value if value.endswith("/") else value + "/"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ContentConfig(Section):
    dir: RelPath = Path("content")
    permalink: str = "/:categories/:year/:month/:day/:title/"
    excerpt_length: int = Field(default=200, ge=0)
    authors_file: RelPath | None = None
    static_dir: RelPath | None = None
    # The Jekyll site's _config.yml (found beside `dir` when not given; see config/jekyll.py).
    jekyll_config: RelPath | None = None
    # Bounds on the work one file may cause: past them a post is left out, and says so.
    max_front_matter_bytes: int = Field(default=65_536, ge=1_024)
    max_body_bytes: int = Field(default=1_000_000, ge=1_024)
    max_markdown_bytes: int = Field(default=200_000, ge=1_024)


class StoreConfig(Section):
    path: RelPath = Path("state/publisher.sqlite3")


def _stylesheet_kind(value: object) -> object:
    # Before "css" and "xsl", `stylesheet` was a switch for the XSL one; true now means the
    # default, a stylesheet every browser still renders.
    if value is True:
        return "css"
    if value is False:
        return "none"
    return value


class FeedsConfig(Section):
    output_dir: RelPath = Path("public")
    formats: list[Literal["atom", "rss", "json"]] = ["atom", "rss", "json"]
    categories: bool = True
    category_dir: str = "categories"
    limit: int = Field(default=20, ge=1)
    excerpt_only: bool = False
    atom_name: str = "atom.xml"
    rss_name: str = "rss.xml"
    json_name: str = "feed.json"
    stylesheet: Annotated[Literal["css", "xsl", "none"], BeforeValidator(_stylesheet_kind)] = "css"
    discovery_name: str = "feeds.html"
    websub_hub: str = ""
    websub_timeout: Duration = timedelta(seconds=10)
    # Pages for people and image lengths (issue 13).
    css_name: str = "feed.css"
    xsl_name: str = "feed.xsl"
    page_name: str = "feeds/index.html"
    image_head: bool = True
    image_head_timeout: Duration = timedelta(seconds=3)
    image_head_private: bool = False

    @field_validator("websub_hub")
    @classmethod
    def _hub_url(cls, value: str) -> str:
        return _check_absolute_url(value) if value else value

    @field_validator("atom_name", "rss_name", "json_name", "discovery_name", "css_name", "xsl_name")
    @classmethod
    def _file_name(cls, value: str, info: ValidationInfo) -> str:
        if value in (".", "..") or "/" in value or "\\" in value:
            raise ValueError(f"expected a plain file name such as 'atom.xml', got {value!r}")
        if not value and info.field_name != "discovery_name":
            raise ValueError("expected a file name such as 'atom.xml', got ''")
        return value

    @field_validator("category_dir")
    @classmethod
    def _folder(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if not value or value.startswith("/") or ".." in parts:
            raise ValueError(
                f"expected a folder inside output_dir such as 'categories', got {value!r}"
            )
        return value

    @field_validator("page_name")
    @classmethod
    def _page_path(cls, value: str) -> str:
        parts = value.split("/")
        if value and ("\\" in value or "" in parts or "." in parts or ".." in parts):
            raise ValueError(
                f"expected a file inside output_dir such as 'feeds/index.html', or '' for none, "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> FeedsConfig:
        names = [self.atom_name, self.rss_name, self.json_name]
        if len(set(names)) != len(names):
            raise ValueError(
                f"atom_name, rss_name and json_name must differ, got {names}: give each format "
                "its own file name"
            )
        return self


_SLUG = r"^[a-z0-9][a-z0-9_-]*$"


class NewsletterConfig(Section):
    id: str = Field(pattern=_SLUG)
    name: str
    categories: list[str] = []
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
    newsletters: list[str] = []

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


class ScheduleConfig(Section):
    interval: Duration = timedelta(minutes=5)

    @field_validator("interval")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        # Duration has made it positive; a whole run more often than this is a typo.
        if value < timedelta(seconds=1):
            raise ValueError(f"expected a duration of at least '1s' such as '5m', got {value}")
        return value


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


class Config(Section):
    """The whole configuration; `path` is the file it was read from."""

    site: SiteConfig
    content: ContentConfig = ContentConfig()
    store: StoreConfig = StoreConfig()
    feeds: FeedsConfig = FeedsConfig()
    email: EmailConfig = EmailConfig()
    newsletters: list[NewsletterConfig] = []
    subscribers: list[SubscriberConfig] = []
    delivery: DeliveryConfig = DeliveryConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    archive: ArchiveConfig = ArchiveConfig()
    web: WebConfig | None = None  # no [web]: no subscriber pages
    path: Path = Path("publisher.toml")  # set by the loader to the file read

    @model_validator(mode="before")
    @classmethod
    def _absent_tables(cls, data: Any) -> Any:
        # An absent table is validated as an empty one, so its default paths get resolved.
        if isinstance(data, dict):
            for name in ("content", "store", "feeds", "email", "delivery", "schedule"):
                data.setdefault(name, {})
        return data

    @model_validator(mode="after")
    def _unique_newsletters(self) -> Config:
        seen: set[str] = set()
        for n in self.newsletters:
            if n.id in seen:
                raise ValueError(f"two newsletters have the id {n.id!r}: give each its own id")
            seen.add(n.id)
        return self

    @model_validator(mode="after")
    def _known_subscriber_newsletters(self) -> Config:
        known = {n.id for n in self.newsletters} | {"*"}
        for i, sub in enumerate(self.subscribers):
            for newsletter_id in sub.newsletters:
                if newsletter_id not in known:
                    raise ValueError(
                        f"subscribers[{i}].newsletters: no newsletter has the id "
                        f"{newsletter_id!r}: use one of {sorted(known - {'*'})} or leave it empty"
                    )
        return self

    def newsletter(self, newsletter_id: str) -> NewsletterConfig:
        """The newsletter with this id, or a ConfigError listing the known ones."""
        for n in self.newsletters:
            if n.id == newsletter_id:
                return n
        known = ", ".join(repr(n.id) for n in self.newsletters) or "none"
        raise ConfigError(f"no newsletter has the id {newsletter_id!r} (known: {known})")

    @model_validator(mode="after")
    def _web_sender(self) -> Config:
        if self.web is not None and not self.web.sender and not self.newsletters:
            raise ValueError(
                "[web] sender: set it to the From: of confirmation emails (there is no "
                "newsletter whose sender it could default to)"
            )
        return self
