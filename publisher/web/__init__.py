"""The subscriber web app: readers subscribe, confirm, choose and leave on their own.

    GET  /subscribe                 the form (email, name, a checkbox per newsletter)
    POST /subscribe                 pending + one confirmation email -> 303 /subscribe/sent
    GET  /confirm/TOKEN             the subscription becomes active (HEAD changes nothing)
    GET  /unsubscribe/TOKEN         one button, a link to preferences; changes nothing
    POST /unsubscribe/TOKEN         List-Unsubscribe=One-Click (RFC 8058): leave, 200;
                                    the page's button (CSRF-checked): leave, 303 back
    POST /unsubscribe/TOKEN/undo    take it back
    GET|POST /preferences/TOKEN     tick newsletters, change the name, leave everything
    GET  /healthz                   200 when the state file is usable

`app.create_app(config)` builds the Flask app (a site can mount it under its own WSGI
server); `server.serve` runs it on waitress for `publisher serve`. The pages are Jinja2
templates in `[email] templates_dir`/web, with the emails' words (labels.j2) and look
(email.css). Every choice is one short transaction on the state file the cron runs use
(`newsletters.choices`); confirmation emails go out through the send journal
(`mailer.Mailer`, `newsletters.confirm`).
"""

from __future__ import annotations

from publisher.web.app import create_app

__all__ = ["create_app"]
