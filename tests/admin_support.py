"""Helpers for the organiser pages: make logins, read CSRF tokens, log in with the test client."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, profiles
from sqlalchemy import select

from bot.services import Services
from storage import users
from storage.models import Community

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Real argon2, with the cheapest parameters so the suite stays fast; production keeps the default.
users.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


def add_user(
    services: Services, email: str, role: str = "organiser", communities: tuple[str, ...] = ()
) -> int:
    """Create a login with the shared test password; return its id."""
    with services.db.session_scope() as session:
        return users.create_user(session, email, PASSWORD, role, list(communities)).id


def csrf_token(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the real form, as a browser would."""
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )


def post_form(client, page: str, data: dict[str, str], action: str | None = None):  # type: ignore[no-untyped-def]
    """Open `page`, take its CSRF token, and post `data` to `action` (or the page itself)."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action or page, data={**data, "csrf_token": token})


def community_id(services: Services, slug: str) -> int:
    with services.db.session_scope() as session:
        return session.scalar(select(Community.id).where(Community.slug == slug))  # type: ignore[return-value]


def error_beside(html: str, field_id: str) -> str:
    """The error shown beside one field (empty when it has none), as a screen reader hears it."""
    match = re.search(
        rf'<div id="{re.escape(field_id)}-error" role="alert">(.*?)</div>', html, re.S
    )
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip() if match else ""


def flash_box(html: str) -> str:
    """The text of the green "done" box at the top of the page."""
    match = re.search(r'<div class="flash" role="status">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""
