"""A Jekyll site's `_config.yml` as settings: what it says that publisher's config leaves unset.

The file is `[content] jekyll_config`, or else a `_config.yml` beside the content folder
(in its parent: `site/_posts` is read with `site/_config.yml`); `jekyll_config = ""` turns
the search off. It supplies, each only where `publisher.toml` does not set the key itself
(a key written in publisher's config always wins, even when it equals the default):

    url + baseurl -> [site] url          timezone    -> [site] timezone
    title         -> [site] title        lang        -> [site] language
    description   -> [site] description  author      -> [site] author (and author_email)
    permalink     -> [content] permalink (Jekyll's default, "date", when it has none)

The file found is kept as `[content] jekyll_config`: the indexer reads Liquid in posts
relative to its folder (see `publisher.content.jekyll`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.constructor import ConstructorError

from publisher.config.yamlload import load_yaml_node
from publisher.errors import Problem

CONFIG_NAME = "_config.yml"
# Jekyll's permalink when _config.yml names none (its Configuration::DEFAULTS).
DEFAULT_PERMALINK = "date"
_SITE_KEYS = {"title": "title", "description": "description", "lang": "language"}


def with_jekyll(data: dict[str, Any], base_dir: Path) -> tuple[dict[str, Any], list[Problem]]:
    """The TOML tables `data` (of a config file in `base_dir`) with what the Jekyll site's
    `_config.yml` supplies filled in where they set nothing, and the problems with that file.
    `data` itself is not changed."""
    content = data.get("content", {})
    if not isinstance(content, dict):
        return data, []  # the schema reports a [content] that is not a table
    given = content.get("jekyll_config")
    if given == "":
        return {**data, "content": {k: v for k, v in content.items() if k != "jekyll_config"}}, []
    if given is not None and not isinstance(given, str):
        return data, []  # the schema reports a wrong type
    if given is not None:
        path = (base_dir / given).resolve()
        if not path.is_file():
            return data, [
                Problem(
                    str(path),
                    "[content] jekyll_config: no such file: give the path of the Jekyll "
                    'site\'s _config.yml, or "" to read none',
                )
            ]
    else:
        folder = content.get("dir", "content")
        if not isinstance(folder, str):
            return data, []
        path = (base_dir / folder).resolve().parent / CONFIG_NAME
        if not path.is_file():
            return data, []
    settings, problems = _read(path)
    if problems:
        return data, problems
    site = data.get("site", {})
    site = dict(site) if isinstance(site, dict) else site
    filled_content = {**content, "jekyll_config": str(path)}
    if isinstance(site, dict):
        for key, value in settings.items():
            if key != "permalink":
                site.setdefault(key, value)
    filled_content.setdefault("permalink", settings.get("permalink", DEFAULT_PERMALINK))
    return {**data, "site": site, "content": filled_content}, []


def _read(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """The settings `_config.yml` at `path` supplies, named as in publisher's config."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        data, node = load_yaml_node(text)
    except (OSError, UnicodeDecodeError) as e:
        return {}, [Problem(str(path), f"cannot read the Jekyll config ({e}): fix it")]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        if isinstance(e, ConstructorError):  # a value past the bounds: it says what to do
            message = e.problem or "a value that cannot be read: fix it"
        else:
            message = f"not valid YAML ({e.problem or 'syntax error'}): fix this line"
        return {}, [Problem(str(path), message, line=mark.line + 1 if mark else None)]
    except yaml.YAMLError as e:
        return {}, [Problem(str(path), f"not valid YAML ({e}): fix it")]
    if data is None:
        return {}, []
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        return {}, [Problem(str(path), "a Jekyll config must be 'key: value' lines: fix it")]
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k.value, str)}
    problems: list[Problem] = []

    def wrong(key: str, message: str) -> None:
        problems.append(Problem(str(path), f"{key}: {message}", line=lines.get(key)))

    found: dict[str, str] = {}
    for key, name in _SITE_KEYS.items():
        if _scalar(data.get(key)):
            found[name] = str(data[key]).strip()
    url = data.get("url")
    if _scalar(url) and str(url).strip():
        parts = urlsplit(str(url).strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            wrong("url", f"expected an absolute URL such as 'https://example.com', got {url!r}")
        else:
            baseurl = data.get("baseurl")
            base = str(baseurl).strip().strip("/") if _scalar(baseurl) else ""
            root = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
            found["url"] = root + (f"{base}/" if base else "")
    zone = data.get("timezone")
    if _scalar(zone) and str(zone).strip():
        try:
            ZoneInfo(str(zone).strip())
            found["timezone"] = str(zone).strip()
        except (ZoneInfoNotFoundError, ValueError):
            wrong("timezone", f"unknown time zone {zone!r}: use an IANA name such as 'Asia/Seoul'")
    author = data.get("author")
    if isinstance(author, dict):
        if _scalar(author.get("name")):
            found["author"] = str(author["name"]).strip()
        if _scalar(author.get("email")):
            found["author_email"] = str(author["email"]).strip()
    elif _scalar(author) and str(author).strip():
        found["author"] = str(author).strip()
    permalink = data.get("permalink")
    if _scalar(permalink) and str(permalink).strip():
        found["permalink"] = str(permalink).strip()
    return found, problems


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
