"""The Flask application factory."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from bot.config import Settings, load_settings
from storage.db import MAX_INTEGER
from webhooks import services as services_module
from webhooks.services import Services

MAX_BODY_BYTES = 256 * 1024
TRUSTED_PROXIES_VARIABLE = "VOICES_TRUSTED_PROXIES"


class DatabaseInteger(IntegerConverter):
    """<int:…> in a route: an id larger than an integer column holds is 404, never a 500."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: Any = None, max: Any = None) -> None:
        super().__init__(map, fixed_digits, min, MAX_INTEGER if max is None else max)


def trusted_proxies(value: str | None) -> int:
    """How many proxies in front of the app may set X-Forwarded-*; 0 (none) unless configured."""
    text = (value or "0").strip()
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"{TRUSTED_PROXIES_VARIABLE} must be a whole number from 0 to 10")
    return int(text)


def create_app(
    settings: Settings | None = None,
    test_config: dict[str, Any] | None = None,
    built: Services | None = None,
) -> Flask:
    """Build the web app: provider webhooks, simulator, health, and the organiser pages."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.url_map.converters["int"] = DatabaseInteger
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        JSON_SORT_KEYS=False,
    )
    app.config["TRUSTED_PROXIES"] = trusted_proxies(os.environ.get(TRUSTED_PROXIES_VARIABLE))
    if test_config:
        app.config.update(test_config)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Without this, X-Forwarded-For is ignored: anyone could set it to dodge the login limits.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    services_module.init_app(app, built or Services.build(settings))

    from webhooks import errors, health, providers, request_guard, results, simulator, voice_calls

    request_guard.init_app(app)
    errors.init_app(app)  # database outages answer 503 with Retry-After

    app.register_blueprint(health.bp)
    app.register_blueprint(providers.bp)
    app.register_blueprint(voice_calls.bp)
    app.register_blueprint(simulator.bp)
    results.init_app(app)  # the public results pages, with their in-process cache

    from webhooks import admin

    admin.init_app(app, app.extensions["voices"])  # organiser and staff pages

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app
