"""Log in and out: failures slow further tries, logging out ends the session on the server."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from storage import login_limits, users
from webhooks.admin.access import SESSION_VERSION, LoggedIn, me
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
    """The login form, slowed down per account and per address (storage/login_limits.py)."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form)
    ip = request.remote_addr or "unknown"
    email = users.normalise_email(form.email.data or "")
    with services().db.session_scope() as db_session:
        refused = login_limits.refusal(db_session, email, ip)
        if refused is not None:
            form.password.errors = [refused.message]
            page = render_template("admin/login.html", form=form)
            return page, 429, {"Retry-After": str(refused.retry_after)}  # type: ignore[return-value]
        user = users.check_password(db_session, email, form.password.data or "")
        if user is None:
            login_limits.record_failure(db_session, email, ip)
        else:
            login_limits.clear_account(db_session, email)
            logged_in = LoggedIn(user.id, user.email, user.role)
            version = user.session_version
    if user is None:
        form.password.errors = ["That e-mail and password do not match."]
        return render_template("admin/login.html", form=form), 401
    session.clear()  # a fresh session on login: no fixation
    session[SESSION_VERSION] = version
    login_user(logged_in)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """Log out here and end the session on the server, so a copied cookie stops working too."""
    ActionForm()
    if current_user.is_authenticated:
        with services().db.session_scope() as db_session:
            users.end_sessions(db_session, me().id)
    logout_user()
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("admin.login"))
