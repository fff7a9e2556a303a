"""The communities a user may see, one community's page, and creating a community."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.conversation import profile
from bot.conversation.words import keyword_problem
from bot.insights import coverage as reach
from bot.insights.funnel import funnel
from bot.insights.replies import replies_per_day
from storage import dashboard, users
from storage.models import DEFAULT_QUIET_HOURS, Community
from storage.publishing import results_link
from storage.small_groups import FEWER_THAN, SMALL_GROUP
from webhooks.admin.access import community_or_404, me, organisers_only
from webhooks.admin.blueprint import bp
from webhooks.admin.forms import ActionForm, CommunityForm, GroupQuestionForm
from webhooks.charts import replies_chart
from webhooks.services import services

# Offered first: where communities using this mostly are, then the rest alphabetically.
COMMON_TIMEZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


@cache
def timezone_names() -> tuple[str, ...]:
    """Every time zone this machine knows, common ones first."""
    known = available_timezones()
    rest = sorted(name for name in known if name not in COMMON_TIMEZONES)
    return tuple(name for name in COMMON_TIMEZONES if name in known) + tuple(rest)


def timezone_named(typed: str) -> str | None:
    """The time zone's real name for what was typed in any case, or None when there is none."""
    wanted = typed.strip().lower()
    return next((name for name in timezone_names() if name.lower() == wanted), None)


@dataclass(frozen=True)
class GroupsAsked:
    """One self-described question and its groups, least heard first."""

    key: str
    text: str
    rows: list[reach.Reach]


def least_heard_first(rows: list[reach.Reach]) -> list[reach.Reach]:
    """Shown groups by heard share, lowest first; groups under five last, in their own order."""
    # Small groups go last in the question's order so their place gives nothing away either.
    shown = [row for row in rows if not row.suppressed]
    hidden = [row for row in rows if row.suppressed]
    return sorted(shown, key=lambda row: (row.heard_share, row.label)) + hidden


def groups_least_heard(session: Session, community_id: int) -> list[GroupsAsked]:
    """Each self-described question's groups as `voices coverage` shows them, least heard first."""
    found = reach.coverage(session, community_id)
    texts = {question.key: question.text for question in profile.questions(session, community_id)}
    return [
        GroupsAsked(key, texts.get(key, key), least_heard_first(rows))
        for key, rows in found.groups.items()
    ]


@bp.get("/")
def home() -> str:
    """Every community this user may see, with who has and has not been heard."""
    with services().db.session_scope() as session:
        visible = users.visible_communities(session, me().row(session))
        rows = [(c, reach.overall(session, c.id)) for c in visible]
    return render_template("admin/home.html", rows=rows, action=ActionForm())


@bp.get("/communities/<slug>/")
def community(slug: str) -> str:
    """One community at a glance: coverage, replies over time, campaigns and their funnels."""
    return _community_page(slug)


def _community_page(slug: str, group_form: GroupQuestionForm | None = None) -> str:
    """The community page; `group_form` carries what the organiser typed and its errors."""
    with services().db.session_scope() as session:
        found = community_or_404(session, slug)
        heard = reach.overall(session, found.id)
        series = replies_per_day(session, found)
        running = [funnel(session, c) for c in dashboard.active_campaigns(session, found.id)]
        everything = dashboard.campaigns(session, found.id)
        chart = replies_chart(series, f"Replies per day in {found.name}, last {len(series)} days")
        return render_template(
            "admin/community.html",
            community=found,
            coverage=heard,
            chart=chart,
            series=series,
            funnels=running,
            campaigns=everything,
            groups=groups_least_heard(session, found.id),
            questions=profile.questions(session, found.id),
            max_questions=profile.MAX_QUESTIONS,
            group_form=group_form or GroupQuestionForm(formdata=None),
            small_group=SMALL_GROUP,
            fewer_than=FEWER_THAN,
            zone=ZoneInfo(found.timezone),
            action=ActionForm(),
            results_link=results_link(services().settings.public_base_url, found.slug),
        )


@bp.post("/communities/<slug>/groups")
@organisers_only
def set_group_question(slug: str) -> Response | str:
    """Add or change a question residents are asked on joining (at most two)."""
    form = GroupQuestionForm()
    if not form.validate_on_submit():
        return _community_page(slug, form)
    choices = form.choices.data.split(",")
    try:
        with services().db.session_scope() as session:
            found = community_or_404(session, slug)
            profile.set_question(session, found.id, form.key.data, form.text.data, choices)
    except profile.ProfileError as exc:
        form.choices.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        return _community_page(slug, form)
    flash(f"Saved. New residents will be asked: {' '.join(form.text.data.split())}")
    return redirect(url_for("admin.community", slug=slug) + "#groups-least-heard")


@bp.post("/communities/<slug>/groups/<key>/remove")
@organisers_only
def remove_group_question(slug: str, key: str) -> Response:
    """Stop asking a group question and forget its answers."""
    with services().db.session_scope() as session:
        if not profile.remove_question(session, community_or_404(session, slug).id, key):
            abort(404)
    flash("Removed. That question is no longer asked and its answers are forgotten.")
    return redirect(url_for("admin.community", slug=slug) + "#groups-least-heard")


@bp.route("/communities/new", methods=["GET", "POST"])
@organisers_only
def new_community() -> Response | str:
    """Create a community; an organiser who creates one may see it from then on."""
    form = CommunityForm()
    form.timezone.choices = [(name, name.replace("_", " ")) for name in timezone_names()]
    if form.validate_on_submit():
        keyword = (form.keyword.data or form.slug.data.replace("-", "")).upper()
        timezone = timezone_named(form.timezone.data)
        if timezone is None:
            form.timezone.errors = ["Unknown time zone; choose one from the list."]
        with services().db.session_scope() as session:
            if session.scalar(select(Community.id).where(Community.slug == form.slug.data)):
                form.slug.errors = ["A community already has this short name."]
            problem = keyword_problem(keyword)
            if problem:
                form.keyword.errors = [problem[0].upper() + problem[1:] + "."]
            elif session.scalar(select(Community.id).where(Community.keyword == keyword)):
                form.keyword.errors = ["Another community already uses this keyword."]
            if not (form.slug.errors or form.keyword.errors or form.timezone.errors):
                created = Community(
                    slug=form.slug.data,
                    name=form.name.data.strip(),
                    keyword=keyword,
                    timezone=timezone,
                    quiet_start=DEFAULT_QUIET_HOURS[0],
                    quiet_end=DEFAULT_QUIET_HOURS[1],
                    sms_number=(form.sms_number.data or "").strip() or None,
                )
                session.add(created)
                session.flush()
                if not me().is_admin:
                    users.grant(session, me().row(session), created)
                flash(f"Created {created.name}. Residents text {keyword} to join.")
                return redirect(url_for("admin.community", slug=created.slug))
    return render_template("admin/community_new.html", form=form)
