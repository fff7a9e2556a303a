"""Who is logged in, and which community pages they may open (others get 404)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort, session
from flask_login import LoginManager, UserMixin, current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import users
from storage.models import Community, User
from webhooks.services import services

login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = "Please log in to see that page."
# Not "strong": flask-login would hash X-Forwarded-For, which any client sets, into the session
# and log the user out when it changes. Sessions are ended on the server instead (SESSION_VERSION).
login_manager.session_protection = None
SESSION_VERSION = "session_version"


@dataclass
class LoggedIn(UserMixin):
    """The logged-in user as the pages need them, detached from any session."""

    id: int
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_run_campaigns(self) -> bool:
        return self.role in ("admin", "organiser")

    def row(self, session: Session) -> User:
        """This user's database row in `session`."""
        return session.get(User, self.id)  # type: ignore[return-value]


@login_manager.user_loader
def _load_user(user_id: str) -> LoggedIn | None:
    if not user_id.isdigit():
        return None
    with services().db.session_scope() as db_session:
        user = db_session.get(User, int(user_id))
        if user is None or session.get(SESSION_VERSION) != user.session_version:
            return None  # logged out elsewhere, or a cookie copied from before a logout
        return LoggedIn(user.id, user.email, user.role)


def me() -> LoggedIn:
    """The logged-in user."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def community_or_404(session: Session, slug: str) -> Community:
    """The community with this slug if the user may see it; 404 otherwise, never 403."""
    community = session.scalar(select(Community).where(Community.slug == slug))
    if community is None or not users.may_see(session, me().row(session), community.id):
        abort(404)
    return community


def organisers_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only organisers and admins through (staff read and export)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not me().may_run_campaigns:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admins_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only admins through."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not me().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
