"""A stock Jekyll site as it is: its _config.yml, its permalink styles and the Liquid in its
posts, as Jekyll 4 renders them (checked against jekyll/jekyll's source: Configuration's
STYLE_TO_PERMALINK and defaults, Tags::PostUrl, Tags::Link, Filters::URLFilters)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from email_helpers import TEMPLATES

from publisher.config import Config, load_config
from publisher.content.index import IndexResult, index_site
from publisher.content.post import Post
from publisher.errors import ConfigError
from publisher.newsletters.plan import Issue
from publisher.newsletters.render import render_issue

DATA = Path(__file__).parent / "data" / "jekyll"
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
POSTS = '[content]\ndir = "_posts"\n'


def jekyll_site(tmp_path: Path, toml: str = POSTS, config: str | None = None) -> Path:
    """The fixture site in tmp_path/site, its _config.yml replaced by configs/`config`."""
    root = tmp_path / "site"
    shutil.copytree(DATA / "site", root)
    if config is not None:
        shutil.copy(DATA / "configs" / config, root / "_config.yml")
    (root / "publisher.toml").write_text(toml, encoding="utf-8")
    return root


def index(root: Path) -> tuple[Config, IndexResult]:
    config = load_config(root / "publisher.toml")
    return config, index_site(config, NOW)


def post(result: IndexResult, name: str) -> Post:
    return next(p for p in result.posts if p.source.endswith(name))


@pytest.mark.parametrize(
    ("config", "first", "nested"),
    [
        ("permalink-default.yml", "/blog/news/2024/06/18/first-post.html", "/blog/2024/01/02/nested.html"),  # noqa: E501
        ("permalink-date.yml", "/blog/news/2024/06/18/first-post.html", "/blog/2024/01/02/nested.html"),  # noqa: E501
        ("permalink-pretty.yml", "/blog/news/2024/06/18/first-post/", "/blog/2024/01/02/nested/"),
        ("permalink-ordinal.yml", "/blog/news/2024/170/first-post.html", "/blog/2024/002/nested.html"),  # noqa: E501
        ("permalink-weekdate.yml", "/blog/news/2024/W25/Tue/first-post.html", "/blog/2024/W01/Tue/nested.html"),  # noqa: E501
        ("permalink-none.yml", "/blog/news/first-post.html", "/blog/nested.html"),
        ("permalink-pattern.yml", "/2024/first-post/", "/2024/nested/"),
        ("permalink-output-ext.yml", "/news/first-post.html", "/nested.html"),
    ],
    ids=lambda v: v.removesuffix(".yml") if v.endswith(".yml") else "",
)  # fmt: skip
def test_each_permalink_style_gives_jekylls_urls(
    tmp_path: Path, config: str, first: str, nested: str
) -> None:
    _, result = index(jekyll_site(tmp_path, config=config))
    assert post(result, "first-post.md").url == "https://example.com" + first
    assert post(result, "nested.md").url == "https://example.com" + nested


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ("permalink-default.yml", "/blog/hello%20world/news/2024/06/20/Jekyll-Slug.html"),
        ("permalink-slug.yml", "/hello%20world/news/jekyll-slug.html"),
    ],
    ids=["title-pretty-mode", "slug-default-mode"],
)
def test_titles_slugs_and_categories_are_slugified_as_jekyll_does(
    tmp_path: Path, config: str, url: str
) -> None:
    # Jekyll's UrlDrop: :title is slugify(mode: pretty, cased), :slug slugify() (lower case),
    # :categories only lower-cased; an underscore is not kept by either mode.
    _, result = index(jekyll_site(tmp_path, config=config))
    assert post(result, "Jekyll_Slug.md").url == "https://example.com" + url


def test_the_config_beside_the_posts_supplies_the_site(tmp_path: Path) -> None:
    config, _ = index(jekyll_site(tmp_path))
    site = config.site
    assert (site.title, site.url, site.description) == (
        "뉴스다오 블로그",
        "https://example.com/blog/",
        "실시간 뉴스 속보",
    )
    assert (site.timezone, site.language, site.author, site.author_email) == (
        "Asia/Seoul",
        "ko",
        "박기자",
        "park@example.com",
    )
    assert config.content.permalink == "date"  # Jekyll's default
    assert config.content.jekyll_config == tmp_path / "site" / "_config.yml"


def test_a_key_publishers_config_sets_wins_even_at_its_default(tmp_path: Path) -> None:
    toml = (
        '[site]\ntitle = "뉴스다오"\nlanguage = "en"\n\n'
        '[content]\ndir = "_posts"\npermalink = "/:categories/:year/:month/:day/:title/"\n'
    )
    config, result = index(jekyll_site(tmp_path, toml, "both-set.yml"))
    site = config.site
    assert (site.title, site.language) == ("뉴스다오", "en")  # set here; "en" is the default too
    assert (site.url, site.timezone, site.author, site.description) == (
        "https://jekyll.example.com/blog/",
        "America/New_York",
        "Jekyll Author",
        "from jekyll",
    )
    assert post(result, "first-post.md").url == (
        "https://jekyll.example.com/blog/news/2024/06/18/first-post/"
    )


def test_jekyll_config_names_the_file_or_turns_the_search_off(tmp_path: Path) -> None:
    root = jekyll_site(tmp_path)
    elsewhere = tmp_path / "jekyll.yml"
    shutil.move(root / "_config.yml", elsewhere)
    (root / "publisher.toml").write_text(
        POSTS + 'jekyll_config = "../jekyll.yml"\n', encoding="utf-8"
    )
    config, _ = index(root)
    assert config.site.url == "https://example.com/blog/"
    assert config.content.jekyll_config == elsewhere
    shutil.move(elsewhere, root / "_config.yml")
    (root / "publisher.toml").write_text(POSTS + 'jekyll_config = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError) as off:
        load_config(root / "publisher.toml")
    assert str(off.value).splitlines()[1] == (
        f"{root / 'publisher.toml'}: site: missing, and it has no default: add it"
    )
    (root / "publisher.toml").write_text(POSTS + 'jekyll_config = "nope.yml"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as missing:
        load_config(root / "publisher.toml")
    assert str(missing.value).splitlines()[1] == (
        f"{root / 'nope.yml'}: [content] jekyll_config: no such file: give the path of the "
        'Jekyll site\'s _config.yml, or "" to read none'
    )


@pytest.mark.parametrize(
    ("config", "line", "message"),
    [
        ("bad-timezone.yml", 3, "timezone: unknown time zone 'Mars/Olympus': use an IANA name "
         "such as 'Asia/Seoul'"),
        ("not-yaml.yml", 3, "not valid YAML (did not find expected key): fix this line"),
        ("number-past-the-digit-limit.yml", 3, "cannot read '0xffffffffffffffffffffffffffffff"
         "ffffffff…' as a whole number (more than 4,300 digits): fix it, or quote it to keep "
         "it as text"),
        ("alias-bomb.yml", 1, "its aliases (*name) stand for 490,329,068 values, for 32 written "
         "(at most 4 times as many may be): write the values out, or use fewer aliases"),
        ("nested-too-deep.yml", 3, "lists and tables nest more than 32 levels inside each "
         "other here: write the value flatter"),
    ],
    ids=["bad-timezone", "not-yaml", "number-past-the-digit-limit", "alias-bomb",
         "nested-too-deep"],
)  # fmt: skip
def test_a_wrong_jekyll_config_is_reported_with_its_line(
    tmp_path: Path, config: str, line: int, message: str
) -> None:
    root = jekyll_site(tmp_path, config=config)
    with pytest.raises(ConfigError) as e:
        load_config(root / "publisher.toml")
    assert f"{root / '_config.yml'}:{line}: {message}" in str(e.value).splitlines()


def test_a_wrong_jekyll_config_is_reported_when_publishers_config_sets_everything(
    tmp_path: Path,
) -> None:
    """The TOML alone would do, but the _config.yml it reads is wrong: said, not ignored."""
    toml = '[site]\ntitle = "t"\nurl = "https://example.com/"\n\n' + POSTS
    root = jekyll_site(tmp_path, toml=toml, config="bad-timezone.yml")
    with pytest.raises(ConfigError) as e:
        load_config(root / "publisher.toml")
    assert f"{root / '_config.yml'}:3: timezone: unknown time zone 'Mars/Olympus'" in str(e.value)


@pytest.mark.parametrize(
    ("name", "html"),
    [
        ("site-url.md", '<img src="https://example.com/blog/assets/img/dot.gif" alt="점">'),
        ("site-baseurl.md", '<a href="/blog/about.html">소개</a>'),
        ("post-url.md", '<a href="/blog/news/2024/06/18/first-post.html">첫 글</a>'),
        ("post-url-subfolder.md", '<a href="/blog/2024/01/02/nested.html">하위 글</a>'),
        ("post-url-jekyll-slug.md", '<a href="/blog/hello%20world/news/2024/06/20/Jekyll-Slug.html'
         '">밑줄 글</a>'),
        ("link-post.md", '<a href="/blog/news/2024/06/18/first-post.html">첫 글</a>'),
        ("link-page.md", '<a href="/blog/about.html">소개</a>, <a href="/blog/contact-us/">연락처'
         '</a>, <a href="/blog/">처음</a>'),
        ("link-static.md", '<img src="/blog/assets/img/dot.gif" alt="점" />'),
        ("url-filters.md", '<link href="/blog/assets/main.css"> <a href="https://example.com/'
         'blog/feed.xml">'),
        ("whitespace-control.md", '<a href="/blog/about.html">'),
        ("raw-and-comment.md", "Liquid는 {{ page.title }}처럼 씁니다. 보임."),
        ("highlight.md", '<pre><code class="language-python"># 주석\nprint(&quot;&quot;)\n'),
        ("render-with-liquid-false.md", "{{ site.baseurl }}는 그대로 둡니다."),
    ],
    ids=lambda v: v.removesuffix(".md") if v.endswith(".md") else "",
)  # fmt: skip
def test_each_tag_is_rendered_as_jekyll_does(tmp_path: Path, name: str, html: str) -> None:
    _, result = index(jekyll_site(tmp_path))
    assert html in post(result, name).body_html
    warned = [p for p in result.problems if name in p.where]
    assert warned == ([] if name != "highlight.md" else warned)


def test_a_post_of_many_unknown_tags_is_told_ten_times_then_counted(tmp_path: Path) -> None:
    root = jekyll_site(tmp_path)
    (root / "_posts" / "2024-06-21-tags.md").write_text(
        "---\ntitle: 태그\n---\n" + "{{ page.x }}\n" * 1000, encoding="utf-8"
    )
    _, result = index(root)
    said = [(p.line, p.message) for p in result.problems if "2024-06-21-tags" in p.where]
    assert [line for line, _ in said] == [*range(4, 14), 14]
    assert all(m.startswith("Liquid '{{ page.x }}' is left out") for _, m in said[:10])
    assert said[10][1] == "and 990 more Liquid tags left out in the same way"


@pytest.mark.parametrize(
    ("tag", "said"),
    [
        ("{% link about\x00.md %}", "'{% link about\\x00.md %}' is not a path a site could hold"),
        ("{% link " + "x" * 5000 + ".md %}", "'{% link " + "x" * 57 + "... %}' is not a path"),
        ("{% post_url " + "a/" * 300 + "2024-01-01-x %}", "'{% post_url a/a/a/"),
        ("{% link " + "x" * 300 + ".md %}", "'{% link " + "x" * 57 + "... %}': cannot look for "
         "that file (File name too long)"),
        ("{% link a\u2028error: _posts/x.md:1: forged %}", "'{% link a error: _posts/x.md:1: "
         "forged %}' is not a path"),
        ("{% link a\x1b[31m.md %}", "'{% link a\\x1b[31m.md %}' is not a path"),
    ],
    ids=["nul", "too-long", "many-folders", "name-too-long", "line-separator", "escape"],
)  # fmt: skip
def test_a_tag_naming_no_possible_file_is_one_note_on_one_line(
    tmp_path: Path, tag: str, said: str
) -> None:
    root = jekyll_site(tmp_path)
    (root / "_posts" / "2024-06-21-odd.md").write_text(
        "---\ntitle: 이상한 태그\n---\n앞 " + tag + " 뒤\n", encoding="utf-8"
    )
    _, result = index(root)
    assert post(result, "2024-06-21-odd.md").body_html.startswith("<p>앞")
    (note,) = [p for p in result.problems if "2024-06-21-odd" in p.where]
    assert note.line == 4
    assert note.message.startswith(said), note.message
    assert note.message.isprintable()


def test_highlight_blocks_opened_over_and_over_are_read_in_one_pass(tmp_path: Path) -> None:
    """A block inside a highlight block is left out, not rendered again: 5,000 of them,
    closed or not, were a RecursionError (and quadratic memory below it)."""
    root = jekyll_site(tmp_path)
    body = "{% highlight python %}\nx = 1\n" * 5_000 + "{% endhighlight %}\n"
    (root / "_posts" / "2024-06-21-blocks.html").write_text(
        "---\ntitle: 블록\n---\n" + body, encoding="utf-8"
    )
    _, result = index(root)
    blocks = post(result, "2024-06-21-blocks.html")
    assert blocks.body_html.count("x = 1") == 5_000
    said = [p.message for p in result.problems if "2024-06-21-blocks" in p.where]
    assert said[0].startswith("Liquid '{% highlight python %}' is left out")
    assert said[-1] == "and 4,989 more Liquid tags left out in the same way"


def test_a_huge_linked_page_is_read_only_for_its_front_matter(tmp_path: Path) -> None:
    """{% link %} looks for a page's permalink in its first bytes: a page of 3 GB (sparse
    here) is not read whole, in a process given 1 GB of address space."""
    root = jekyll_site(tmp_path)
    with (root / "contact.md").open("r+b") as page:
        page.truncate(3 * 2**30)
    code = (
        "import resource\n"
        "from datetime import datetime\n"
        "from pathlib import Path\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "from publisher.config import load_config\n"
        "from publisher.content.index import index_site\n"
        f"config = load_config(Path({str(root / 'publisher.toml')!r}))\n"
        f"result = index_site(config, datetime.fromisoformat({NOW.isoformat()!r}))\n"
        "print(next(p for p in result.posts if p.source.endswith('link-page.md')).body_html)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '<a href="/blog/contact-us/">연락처</a>' in done.stdout


def test_other_liquid_is_left_out_and_reported_with_its_line(tmp_path: Path) -> None:
    config, result = index(jekyll_site(tmp_path))
    other = post(result, "other-tags.md")
    assert "{" not in other.body_html and "{" not in other.excerpt
    assert "조건 안의 글" in other.body_html  # a block's content stays
    shown = [
        (p.where, p.line, p.message.split(" is left out")[0], p.warning)
        for p in result.problems
        if "other-tags" in p.where
    ]
    where = "_posts/2024-06-19-other-tags.md"  # as the config's folder sees it
    assert shown == [
        (where, 4, "Liquid '{{ page.title }}'", True),
        (where, 6, "Liquid '{% include note.html %}'", True),
        (where, 7, "Liquid '{% if site.show %}'", True),
        (where, 7, "Liquid '{% endif %}'", True),
        (where, 8, "Liquid '{{ site.title | upcase }}'", True),
    ]
    missing = next(p for p in result.problems if "post-url-missing" in p.where)
    assert (missing.line, missing.message) == (
        6,
        "'{% post_url 2020-01-01-nowhere %}': no published post 2020-01-01-nowhere.* in "
        f"{tmp_path / 'site' / '_posts'}: fix the name; the tag is left out",
    )
    excerpt = post(result, "liquid-in-excerpt.md")
    assert excerpt.excerpt == "https://example.com/blog에서 보세요"
    assert excerpt.feature_source == "[소개](/blog/about.html)"
    assert any(p.line == 3 and "liquid-in-excerpt" in p.where for p in result.problems)

    # An email of these posts holds no Liquid, and its links are absolute.
    email = config.model_copy(
        update={"email": config.email.model_copy(update={"templates_dir": TEMPLATES})}
    )
    chosen = [other, excerpt, post(result, "post-url.md")]
    issue = Issue("news-x", "news", tuple(p.id for p in chosen), NOW)
    from publisher.config import NewsletterConfig

    email = email.model_copy(
        update={"newsletters": [NewsletterConfig(id="news", name="뉴스", sender="n@example.com")]}
    )
    rendered = render_issue(email, issue, chosen)
    for part in (rendered.html, rendered.text, rendered.subject):
        assert "{%" not in part and "{{" not in part
    assert 'href="https://example.com/blog/about.html"' in rendered.html


def test_a_warm_run_renders_the_liquid_again_and_says_nothing(tmp_path: Path) -> None:
    root = jekyll_site(tmp_path)
    _, cold = index(root)
    assert any(p.warning for p in cold.problems)
    _, warm = index(root)
    assert (warm.parsed, warm.problems) == (0, ())
    assert '<a href="/blog/news/2024/06/18/first-post.html">' in post(warm, "post-url.md").body_html
    assert "{{" in post(warm, "render-with-liquid-false.md").body_html


@pytest.mark.parametrize(
    "front",
    [f"permalink: {'9' * 5000}", f"x: 0x{'f' * 3600}", "x: " + "[" * 990 + "]" * 990],
    ids=["number-past-the-digit-limit", "hex-past-the-digit-limit", "nested-990"],
)
def test_a_linked_page_whose_front_matter_cannot_be_read_takes_the_page_url(
    tmp_path: Path, front: str
) -> None:
    root = jekyll_site(tmp_path)
    (root / "hostile.md").write_text(f"---\n{front}\n---\n쪽\n", encoding="utf-8")
    (root / "_posts" / "2024-06-21-link-hostile.md").write_text(
        "---\ntitle: 링크\n---\n[쪽]({% link hostile.md %})\n", encoding="utf-8"
    )
    _, result = index(root)
    assert '<a href="/blog/hostile.html">쪽</a>' in post(result, "link-hostile.md").body_html


def test_post_url_and_link_read_nothing_outside_the_site(tmp_path: Path) -> None:
    root = jekyll_site(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2024-06-19-secret.md").write_text("---\ntitle: 비밀\n---\n비밀\n", "utf-8")
    (root / "_posts" / "2024-06-19-secret.md").symlink_to(outside / "2024-06-19-secret.md")
    (root / "secret.md").symlink_to(outside / "2024-06-19-secret.md")
    (root / "_posts" / "2024-06-21-escape.md").write_text(
        "---\ntitle: 탈출\n---\n"
        "[a]({% post_url ../../outside/2024-06-19-secret %}) [b]({% post_url 2024-06-19-secret %})"
        " [c]({% link secret.md %})\n",
        encoding="utf-8",
    )
    _, result = index(root)
    escape = post(result, "escape.md")
    assert escape.body_html == '<p><a href="">a</a> <a href="">b</a> <a href="">c</a></p>\n'
    said = [p.message for p in result.problems if p.where.endswith("escape.md")]
    assert said[0] == (
        "'{% post_url ../../outside/2024-06-19-secret %}' leads out of the posts folder: name a "
        "post in it, such as '2024-06-19-title' or 'folder/2024-06-19-title'; the tag is left out"
    )
    assert said[1].startswith("'{% post_url 2024-06-19-secret %}': no published post")
    assert said[2].startswith("'{% link secret.md %}': no file secret.md in the Jekyll site")
