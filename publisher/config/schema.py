"""What `publisher.toml` may hold: one frozen pydantic model per table, with its checks.

Every table forbids unknown keys, and paths are resolved against the config file's
folder (passed as validation context by the loader). Secrets are never part of it: only
the *names* of the environment variables that hold them. The site's and the feeds'
tables are here, the email side's in `mailing`, the kinds of value in `values`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from publisher.config.mailing import (
    ArchiveConfig,
    DeliveryConfig,
    EmailConfig,
    NewsletterConfig,
    SubscriberConfig,
    WebConfig,
)
from publisher.config.values import (
    AbsoluteUrl,
    Duration,
    RelPath,
    Section,
    TimeZoneName,
    check_absolute_url,
)
from publisher.errors import ConfigError


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


FeedFormat = Literal["atom", "rss", "json"]
_FORMATS: tuple[FeedFormat, ...] = ("atom", "rss", "json")


class FeedsConfig(Section):
    output_dir: RelPath = Path("public")
    formats: list[FeedFormat] = Field(default_factory=lambda: list(_FORMATS))
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
        return check_absolute_url(value) if value else value

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


class ScheduleConfig(Section):
    interval: Duration = timedelta(minutes=5)

    @field_validator("interval")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        # Duration has made it positive; a whole run more often than this is a typo.
        if value < timedelta(seconds=1):
            raise ValueError(f"expected a duration of at least '1s' such as '5m', got {value}")
        return value


class Config(Section):
    """The whole configuration; `path` is the file it was read from."""

    site: SiteConfig
    content: ContentConfig = ContentConfig()
    store: StoreConfig = StoreConfig()
    feeds: FeedsConfig = FeedsConfig()
    email: EmailConfig = EmailConfig()
    newsletters: list[NewsletterConfig] = Field(default_factory=list)
    subscribers: list[SubscriberConfig] = Field(default_factory=list)
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
