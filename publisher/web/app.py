"""The Flask app: its settings, the pages' words and look, security headers, error pages.

Everything a request needs that does not change is made once here and kept in a `Site`
(`site.py`, `app.extensions["publisher"]`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from publisher.config import Config
from publisher.content.urls import site_url
from publisher.errors import ConfigError, StoreError
from publisher.newsletters.templates import environment, load_labels
from publisher.newsletters.tokens import BadToken, derive_key, load_secret
from publisher.web.mailer import Mailer
from publisher.web.ratelimit import FormLimits
from publisher.web.site import Site, message, site, words

log = logging.getLogger(__name__)

_CSP = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "Referrer-Policy": "no-referrer",  # tokens in the path never leave for another site
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _Flask(Flask):
    """Flask, escaping the `.html.j2` templates too (it escapes `.html` only)."""

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        return filename is None or filename.endswith((".html.j2", ".html"))


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: Config,
    environ: Mapping[str, str] = os.environ,
    *,
    clock: Callable[[], datetime] = _now,
) -> Flask:
    """The subscriber web app for `config` (which must have [web]); the signing secret comes
    from `environ`. `clock` gives the moment each request acts at."""
    web = config.web
    if web is None:
        raise ConfigError(
            "the web app needs a [web] table with base_url in the config: see config.example.toml"
        )
    secret = load_secret(config.email.secret_env, environ)
    folder = config.email.templates_dir
    app = _Flask(__name__, static_folder=None)
    app.jinja_loader = jinja2.FileSystemLoader(folder)
    app.jinja_env.undefined = jinja2.StrictUndefined
    base = urlsplit(web.base_url)
    app.config.update(
        SECRET_KEY=derive_key(secret, "web-forms"),
        SESSION_COOKIE_NAME="publisher_form",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base.scheme == "https",
        SESSION_COOKIE_PATH=base.path or "/",
        # The form token is tied to the cookie (a signed double submit); no Referer check,
        # as the pages send none (Referrer-Policy: no-referrer).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_TIME_LIMIT=6 * 3600,
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=16 * 1024,
    )
    CSRFProtect(app)
    css = _stylesheet(config)
    app.extensions["publisher"] = Site(
        config=config,
        secret=secret,
        labels=_labels(config),
        stylesheet=css,
        limits=FormLimits(web.client_limit, web.address_limit),
        mailer=Mailer(config, secret, environ, clock),
        clock=clock,
    )
    version = hashlib.sha256(css).hexdigest()[:12]
    logo = site_url(config.site.logo, config.site.url) if config.site.logo else ""

    @app.context_processor
    def _common() -> dict[str, Any]:
        from flask import url_for

        return {
            "site": config.site,
            "labels": site().labels,
            "logo_url": logo,
            "stylesheet": url_for("pages.stylesheet", v=version),
        }

    from publisher.web.pages import pages

    app.register_blueprint(pages)
    app.after_request(_security_headers)
    app.register_error_handler(BadToken, _bad_token)
    app.register_error_handler(CSRFError, _bad_form)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreError, _unavailable)
    app.register_error_handler(sqlite3.Error, _unavailable)
    app.register_error_handler(Exception, _internal_error)
    if web.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=web.proxy_hops, x_proto=web.proxy_hops
        )
    return app


def _labels(config: Config) -> dict[str, Any]:
    """The emails' words and the pages' own, for the site's language."""
    lang = config.site.language.split("-")[0].lower()
    words = dict(load_labels(config, lang))
    try:
        module = environment(config).get_template("web/labels.j2").make_module({"lang": lang})
    except jinja2.TemplateError as e:
        raise ConfigError(f"{config.email.templates_dir}/web/labels.j2: cannot load ({e})") from e
    words.update(getattr(module, "t"))  # noqa: B009 (set by the template)
    return words


def _stylesheet(config: Config) -> bytes:
    """email.css and web/web.css as one stylesheet: the pages look like the emails."""
    folder = config.email.templates_dir
    try:
        parts = [(folder / name).read_bytes() for name in ("email.css", "web/web.css")]
    except OSError as e:
        raise ConfigError(f"{folder}: cannot read the pages' stylesheet ({e})") from e
    return b"\n".join(parts)


def _security_headers(response: Response) -> Response:
    response.headers.update(_HEADERS)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def _bad_token(error: BadToken) -> Response:
    log.info("refused a link: %s", error.reason)
    return message(words("bad_link_title"), words(f"bad_link_{error.reason}"), status=400)


def _bad_form(error: CSRFError) -> Response:
    log.info("refused a form: %s", error.description)
    return message(words("bad_form_title"), words("bad_form_body"), status=400)


_HTTP_WORDS = {
    404: ("not_found_title", "not_found_body"),
    405: ("not_allowed_title", "not_allowed_body"),
    413: ("too_large_title", "too_many_body"),
    429: ("too_many_title", "too_many_body"),
}


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    title, body = _HTTP_WORDS.get(code, ("error_title", "error_body"))
    response = message(words(title), words(body), status=code)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unavailable(error: Exception) -> Response:
    log.error("the state file cannot be used: %s", error)
    response = message(words("unavailable_title"), words("error_body"), status=503)
    response.headers["Retry-After"] = "30"
    return response


def _internal_error(error: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url_rule or "?")
    return message(words("error_title"), words("error_body"), status=500)
