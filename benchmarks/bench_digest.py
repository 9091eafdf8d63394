"""Newsletter speed: one 10-post digest rendered once, then personalised for many subscribers.

    python -m benchmarks.bench_digest [--posts 10] [--subscribers 10000] [--repeat 5]

plain render: Jinja2 renders digest.html.j2 with the same context, no inlining (floor 1.00x).
render_issue: the whole once-per-issue work: HTML and text templates, premailer inlining,
              the size check and the pre-encoded message parts.
personalize:  one finished message per subscriber (token, links, To, base64 tails), in
              microseconds per subscriber; the floor is copying the finished bytes.
EmailMessage: the same message built with the stdlib per subscriber, for comparison
              (measured on a few hundred subscribers).
Target (issue 4): personalize <= 50 us per subscriber; inlining once per issue.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import tomllib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from benchmarks.corpus import generate
from benchmarks.timing import best
from publisher.config import parse_config
from publisher.content.index import index_site
from publisher.newsletters.message import address, prepare, reader_tokens
from publisher.newsletters.plan import plan_issues
from publisher.newsletters.render import _context, _view, render_issue
from publisher.newsletters.templates import environment, load_labels
from publisher.store import Store
from publisher.store.subscribers import Subscriber, Subscription

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parent.parent / "email_templates"
SECRET = b"benchmark-secret-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="publisher-bench-digest-"))
    try:
        generate(root, args.posts, categories=3)
        data = tomllib.loads((root / "publisher.toml").read_text(encoding="utf-8"))
        data["email"] = {"templates_dir": str(TEMPLATES)}
        # The links of a site running the web app: unsubscribe and preferences, two tokens.
        data["web"] = {"base_url": "https://newsdao.kr/newsletter/"}
        data["newsletters"] = [
            {
                "id": "daily",
                "name": "뉴스다오 데일리",
                "max_age": "36500d",
                "max_posts": args.posts,
                "sender": "뉴스다오 <news@newsdao.kr>",
            }
        ]
        config = parse_config(data, root / "publisher.toml")
        posts = index_site(config, NOW).posts
        with Store.open(root / "plan.sqlite3") as store:
            (issue,) = plan_issues(config, store, posts, NOW)
        assert len(issue.post_ids) == args.posts, issue
        newsletter = config.newsletter("daily")
        chosen = [p for p in posts if p.id in set(issue.post_ids)]
        template = environment(config).get_template("digest.html.j2")
        labels = load_labels(config, "ko")

        def plain() -> None:
            views = [_view(p, "full") for p in chosen]
            context = _context(config, newsletter, issue, views, 0, labels)
            context["subject"] = "subject"
            template.render(context)

        plain_s = best(args.repeat, plain)
        render_s = best(args.repeat, lambda: render_issue(config, issue, posts))
        rendered = render_issue(config, issue, posts)

        subs = [
            Subscriber(
                id=n,
                email=f"reader{n}@example.com",
                display_email=f"reader{n}@example.com",
                name="독자 " + str(n),
                status="active",
                subscriptions=(Subscription("*", "active", 1, None),),
                created=NOW,
                changed=NOW,
            )
            for n in range(1, args.subscribers + 1)
        ]

        shared = prepare(config, rendered)
        max_age = config.email.token_max_age

        def personalize_all() -> None:
            # What the newsletter stage does for each subscriber: sign its two tokens (leave,
            # preferences), fill them in.
            for sub in subs:
                address(
                    shared, sub, *reader_tokens(SECRET, sub, shared.newsletter_id, NOW, max_age)
                )

        message = address(shared, subs[0], *reader_tokens(SECRET, subs[0], "n", NOW, max_age)).data
        per_sub_s = best(max(1, args.repeat // 2), personalize_all) / len(subs)
        copy_s = best(args.repeat, lambda: [bytes(bytearray(message)) for _ in subs]) / len(subs)

        few = subs[:300]
        html_body = rendered.html
        text_body = rendered.text

        def stdlib_all() -> None:
            for sub in few:
                m = EmailMessage(policy=SMTP)
                m["From"] = newsletter.sender
                m["To"] = f"{sub.name} <{sub.email}>"
                m["Subject"] = rendered.subject
                m.set_content(text_body, cte="base64")
                m.add_alternative(html_body, subtype="html", cte="base64")
                m.as_bytes()

        stdlib_s = best(1, stdlib_all) / len(few)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"digest of {args.posts} posts: {rendered.html_bytes / 1000:.1f} KB of HTML, "
        f"message {len(message) / 1000:.1f} KB, subject {rendered.subject!r}"
    )
    print(f"{'plain Jinja2 render':<28} {plain_s * 1000:9.2f} ms   1.00x  (floor)")
    print(
        f"{'render_issue (inlined)':<28} {render_s * 1000:9.2f} ms  {render_s / plain_s:6.2f}x"
        "  (once per issue)"
    )
    print(f"{'copy finished bytes':<28} {copy_s * 1e6:9.2f} us   1.00x  (floor, per subscriber)")
    print(
        f"{'personalize':<28} {per_sub_s * 1e6:9.2f} us  {per_sub_s / copy_s:6.2f}x"
        f"  (target <= 50 us; {len(subs)} subscribers in {per_sub_s * len(subs):.2f} s)"
    )
    print(
        f"{'stdlib EmailMessage':<28} {stdlib_s * 1e6:9.2f} us  {stdlib_s / copy_s:6.2f}x"
        f"  ({stdlib_s / per_sub_s:.0f}x slower than personalize)"
    )


if __name__ == "__main__":
    main()
