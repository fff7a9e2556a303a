"""Log in and out, with throttling of repeated failures."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from storage import users
from webhooks.admin.access import LoggedIn
from webhooks.admin.blueprint import bp
from webhooks.admin.forms import ActionForm, LoginForm
from webhooks.services import services


def _safe_next(target: str | None) -> str:
    """Only follow `next` within the admin pages, never to another site."""
    if (
        target
        and target.startswith("/admin/")
        and target.isprintable()  # CR/LF would split the Location header
        and "\\" not in target
    ):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The login form; five failures per e-mail and address in 15 minutes pause that pair."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form)
    ip = request.remote_addr or "unknown"
    email = form.email.data or ""
    with services().db.session_scope() as db_session:
        if users.too_many_failures(db_session, email, ip):
            form.password.errors = ["Too many tries. Please wait 15 minutes and try again."]
            return render_template("admin/login.html", form=form), 429
        user = users.check_password(db_session, email, form.password.data or "")
        if user is None:
            users.record_failure(db_session, email, ip)
        else:
            users.clear_failures(db_session, email, ip)
            logged_in = LoggedIn(user.id, user.email, user.role)
    if user is None:
        form.password.errors = ["That e-mail and password do not match."]
        return render_template("admin/login.html", form=form), 401
    session.clear()  # a fresh session on login: no fixation
    login_user(logged_in)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """Log out and forget the session."""
    ActionForm()
    logout_user()
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("admin.login"))
