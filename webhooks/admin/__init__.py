"""Organiser and staff pages under /admin: one module per resource, all behind the login."""

from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask, render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from webhooks.admin import (  # noqa: F401
    auth,
    campaign_results,
    campaigns,
    communities,
    exports,
    posters,
    recordings,
    responses,
    themes,
)
from webhooks.admin.access import login_manager
from webhooks.admin.blueprint import bp, csrf
from webhooks.services import Services


def init_app(app: Flask, built: Services) -> None:
    """Register the admin pages, the login, CSRF and cookie settings; in production the simulator
    is for admins only, as its messages reach any community."""
    production = built.settings.is_production
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # webhooks are signed instead
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("TELEGRAM_BOT_USERNAME", os.environ.get("TELEGRAM_BOT_USERNAME", ""))
    app.config.update(
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=production,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _form_expired)
    built.extra.setdefault(
        "simulator_allowed", lambda: bool(getattr(current_user, "is_admin", False))
    )


def _form_expired(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: say so plainly and change nothing."""
    return render_template("admin/form_expired.html", reason=error.description), 400
