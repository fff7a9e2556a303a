"""The admin blueprint, its security headers and the one CSRF check every admin form passes."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf = CSRFProtect()

# No inline scripts or styles anywhere in the admin pages; SVG charts use presentation attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


OPEN_ENDPOINTS = frozenset({"admin.login"})


@bp.before_request
def _guard() -> Response | None:
    """Refuse anonymous users everywhere but the login page, and posts without a CSRF token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if request.endpoint not in OPEN_ENDPOINTS and not current_user.is_authenticated:
        from webhooks.admin.access import login_manager

        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


@bp.after_request
def _security_headers(response: Response) -> Response:
    """Strict headers for pages that show residents' words."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
