"""The pages: each reads the form or the signed link, makes one choice, and answers.

Forms are POST-redirect-GET and carry a CSRF token tied to a cookie, except the RFC 8058
one-click POST, which by design has neither cookie nor token (the signed link is the
authority). Bad links get a 400 page in the site's language (`app._bad_token`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for

from publisher.config import NewsletterConfig
from publisher.content.clean import one_line
from publisher.errors import StoreError
from publisher.newsletters import choices
from publisher.newsletters.confirm import request as ask_to_subscribe
from publisher.newsletters.subscribers import Address, check_address
from publisher.newsletters.tokens import Claims, Kind, make_token, verify_token
from publisher.store.subscribers import Subscriber
from publisher.web.site import message, page, site, words

log = logging.getLogger(__name__)

pages = Blueprint("pages", __name__)

_NAME_LENGTH = 100
_SWEEP_EVERY = timedelta(minutes=1)


def _protect() -> None:
    """Refuse a form POST without the CSRF token of this visitor's cookie (400 page)."""
    current_app.extensions["csrf"].protect()


def _client() -> str:
    return request.remote_addr or ""


def _verify(token: str, kind: Kind) -> tuple[Claims, datetime]:
    now = site().clock()
    return verify_token(site().secret, token, now, kind), now


def _newsletter(newsletter_id: str) -> NewsletterConfig | None:
    return next((n for n in site().config.newsletters if n.id == newsletter_id), None)


def _name_of(newsletter_id: str) -> str:
    found = _newsletter(newsletter_id)
    return found.name if found else newsletter_id


def _receives(sub: Subscriber, but: str = "") -> list[str]:
    """The names of the newsletters `sub` receives now (except `but`)."""
    return [n.name for n in site().config.newsletters if n.id != but and sub.receives(n.id)]


def _see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), 303)  # type: ignore[return-value]


@pages.get("/")
def index() -> Response:
    """The app's root: the subscribe form."""
    return redirect(url_for(".subscribe"), 302)  # type: ignore[return-value]


@pages.get("/static/style.css")
def stylesheet() -> Response:
    """email.css and web.css, cached long (the URL changes with the content)."""
    response = Response(site().stylesheet, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@pages.get("/healthz")
def healthz() -> Response:
    """200 when the state file can be read and written, 503 otherwise."""
    store = site().store()
    store.conn.execute("SELECT count(*) FROM subscribers").fetchone()
    if not os.access(store.path, os.R_OK | os.W_OK):
        raise StoreError(f"{store.path}: not writable")
    return Response("ok\n", mimetype="text/plain")


def _offered() -> list[NewsletterConfig]:
    return [n for n in site().config.newsletters if n.on_form]


@pages.route("/subscribe", methods=["GET", "POST"])
def subscribe() -> Response:
    """The form; a good POST records a pending subscription and queues one email."""
    offered = _offered()
    if request.method != "POST":
        ticked = [offered[0].id] if len(offered) == 1 else []
        return _form(offered, {"email": "", "name": "", "newsletters": ticked}, {})
    _protect()
    if request.form.get("website"):
        log.info("subscribe: the honeypot was filled in; nothing done")
        return _see_other(".sent")
    if not site().limits.client_allowed(_client()):
        log.info("subscribe: a client over its limit")
        return message(words("too_many_title"), words("too_many_body"), status=429)
    asked = set(request.form.getlist("newsletter"))
    form = {
        "email": request.form.get("email", "").strip(),
        "name": one_line(request.form.get("name", "")),
        "newsletters": [n.id for n in offered if n.id in asked],
    }
    errors = {}
    try:
        address = check_address(str(form["email"]))
    except ValueError:
        errors["email"] = True
    if not form["newsletters"]:
        errors["newsletters"] = True
    if len(form["name"]) > _NAME_LENGTH:
        errors["name"] = True
    if errors:
        return _form(offered, form, errors, status=400)
    if not site().limits.address_allowed(address.key):
        log.info("subscribe: an address over its limit; nothing done")
        return _see_other(".sent")  # the same page: nothing tells who is subscribed
    _record(address, str(form["name"]), list(form["newsletters"]))
    return _see_other(".sent")


def _record(address: Address, name: str, newsletters: list[str]) -> None:
    s = site()
    web = s.config.web
    assert web is not None
    now = s.clock()
    store = s.store()
    if s.swept is None or now - s.swept > _SWEEP_EVERY:
        choices.forget_unconfirmed(store, now, web.confirm_max_age)
        s.swept = now
    asked = ask_to_subscribe(
        s.config,
        store,
        address,
        name,
        newsletters,
        now,
        resend_after=web.resend_after,
    )
    if asked.send_confirmation:
        s.mailer.wake()
    who = asked.subscriber.id if asked.subscriber else 0
    log.info(
        "subscribe: subscriber %d, %d pending, confirmation %s",
        who,
        len(asked.pending),
        "queued" if asked.send_confirmation else "not sent",
    )


def _form(
    offered: list[NewsletterConfig],
    form: Mapping[str, object],
    errors: Mapping[str, bool],
    status: int = 200,
) -> Response:
    return page(
        "web/subscribe.html.j2",
        status,
        title=words("subscribe_title"),
        newsletters=offered,
        form=form,
        errors=errors,
    )


@pages.get("/subscribe/sent")
def sent() -> Response:
    """After the form: the same page whoever the address belongs to."""
    return message(words("sent_title"), words("sent_body"), words("sent_spam"))


@pages.get("/confirm/<token>")
def confirm(token: str) -> Response:
    """Opening the confirmation link makes the subscription active (a HEAD does not)."""
    claims, now = _verify(token, "c")
    if request.method == "HEAD":  # link checkers look first; only opening it confirms
        choices.reader(site().store(), claims, current=False)  # the 400 a GET would get
        return message(words("confirmed_title"))
    outcome = choices.confirm(site().store(), claims, now, _client())
    receives = tuple(_receives(outcome.subscriber))
    if outcome.changed:
        return message(words("confirmed_title"), words("confirmed_body"), items=receives)
    return message(words("already_title"), words("already_body"), items=receives)


@pages.route("/unsubscribe/<token>", methods=["GET", "POST"])
@pages.route("/unsubscribe", methods=["GET", "POST"])
def unsubscribe(token: str | None = None) -> Response:
    """GET: one button; POST List-Unsubscribe=One-Click: leave at once (RFC 8058); POST
    from the button: leave, and back to this page, which offers to undo."""
    token = request.args.get("token", "") if token is None else token
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    if request.method == "POST" and not one_click:
        _protect()
    claims, now = _verify(token, "u")
    store = site().store()
    name = _name_of(claims.newsletter_id)
    if request.method == "POST":
        choices.unsubscribe(store, claims, now)
        if one_click:
            return message(words("unsubscribed_title"), words("unsubscribed_body") % name)
        return _see_other(".unsubscribe", token=token)
    sub = choices.reader(store, claims)
    state = sub.state(claims.newsletter_id)
    return page(
        "web/unsubscribe.html.j2",
        title=words("unsubscribed_title" if state == "unsubscribed" else "unsubscribe_title"),
        newsletter={"id": claims.newsletter_id, "name": name},
        state=state,
        others=_receives(sub, but=claims.newsletter_id),
        done=request.args.get("done", ""),
        action_url=url_for(".unsubscribe", token=token),
        undo_url=url_for(".undo", token=token),
        preferences_url=url_for(".preferences", token=_preferences_token(claims, now)),
    )


def _preferences_token(claims: Claims, now: datetime) -> str:
    """A preferences link for the reader of an unsubscribe link."""
    return make_token(
        site().secret,
        claims.subscriber_id,
        claims.newsletter_id,
        now,
        site().config.email.token_max_age,
        version=claims.version,
        kind="p",
    )


@pages.post("/unsubscribe/<token>/undo")
def undo(token: str) -> Response:
    """Take back leaving: the newsletter is sent again."""
    _protect()
    claims, now = _verify(token, "u")
    choices.undo_unsubscribe(site().store(), claims, now)
    return _see_other(".unsubscribe", token=token, done="undone")


@pages.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Response:
    """Tick newsletters, change the name, or leave everything (no login: the signed link)."""
    if request.method == "POST":
        _protect()
    claims, now = _verify(token, "p")
    store = site().store()
    # Not bound to a version: the page changes nothing until the reader saves.
    sub = choices.reader(store, claims, current=False)
    shown = [n for n in site().config.newsletters if n.on_form or sub.state(n.id)]
    if request.method == "POST":
        if request.form.get("action") == "leave":
            choices.leave_everything(store, claims, now)
            return _see_other(".preferences", token=token, done="left")
        chosen = set(request.form.getlist("newsletter")) & {n.id for n in shown}
        name = one_line(request.form.get("name", ""))[:_NAME_LENGTH]
        choices.save_preferences(
            store, claims, now, chosen=chosen, shown=[n.id for n in shown], name=name
        )
        return _see_other(".preferences", token=token, done="saved")
    return page(
        "web/preferences.html.j2",
        title=words("preferences_title"),
        subscriber=sub,
        newsletters=shown,
        done=request.args.get("done", ""),
        action_url=url_for(".preferences", token=token),
    )
