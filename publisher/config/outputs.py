"""Every file and folder a build writes into `[feeds] output_dir`, by the setting naming it.

Two outputs with one name overwrite each other, and the one written last wins (`json_name
= "feed.xsl"` left a site without its JSON feed). Whatever writes into the output folder
lists its outputs in `outputs`, so that `checks.check_settings` sees every name at once:
add a line there when a stage starts writing a new file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.config.schema import Config


@dataclass(frozen=True)
class Output:
    """One name in the output folder: the setting that names it, and the path (POSIX,
    relative to the output folder); a `folder` holds more outputs of its own."""

    setting: str
    path: str
    folder: bool = False


def outputs(config: Config) -> list[Output]:
    """The names a build of `config` writes at the top of its output folder."""
    feeds = config.feeds
    found = [
        Output("[feeds] atom_name", feeds.atom_name),
        Output("[feeds] rss_name", feeds.rss_name),
        Output("[feeds] json_name", feeds.json_name),
    ]
    if feeds.discovery_name:
        found.append(Output("[feeds] discovery_name", feeds.discovery_name))
    if feeds.stylesheet == "css":
        found.append(Output("[feeds] css_name", feeds.css_name))
    elif feeds.stylesheet == "xsl":
        found.append(Output("[feeds] xsl_name", feeds.xsl_name))
    if feeds.page_name:
        found.append(Output("[feeds] page_name", feeds.page_name, folder="/" in feeds.page_name))
    if feeds.categories:
        found.append(Output("[feeds] category_dir", feeds.category_dir, folder=True))
    if config.newsletters and config.archive.enabled:
        found.append(Output("[archive] dir", config.archive.dir, folder=True))
    return found


def clashes(found: list[Output]) -> list[tuple[Output, Output]]:
    """Pairs of outputs that would be written at one place (names compared without case, as
    many servers and file systems compare them; a folder by its first part)."""
    seen: dict[str, Output] = {}
    pairs = []
    for output in found:
        key = output.path.replace("\\", "/").strip("/").split("/")[0].casefold()
        first = seen.setdefault(key, output)
        if first is not output:
            pairs.append((first, output))
    return pairs
