"""Campaigns in the browser: start from a starter file or from scratch, schedule, launch, close."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot import texts
from bot.campaigns import operations, progress, prompt_files
from bot.insights import tallies
from bot.insights.funnel import funnel
from bot.insights.quotes import candidates
from bot.insights.results import campaign_updates
from storage.models import Campaign
from storage.small_groups import FEWER_THAN, SMALL_GROUP
from webhooks.admin.access import community_or_404, me, organisers_only
from webhooks.admin.blueprint import bp
from webhooks.admin.campaign_form import (
    asked_hints,
    check,
    fill_from_starter,
    form_to_source,
    starter_titles,
    starters,
    starts_at,
)
from webhooks.admin.forms import CampaignForm, CloseForm, ReportBackForm, UpdateForm
from webhooks.charts import tally_chart
from webhooks.results import forget_results
from webhooks.services import services

WHERE_PREFIX = re.compile(r"^.*?, (line \d+|top): ")


@bp.route("/communities/<slug>/campaigns/new", methods=["GET", "POST"])
@organisers_only
def new_campaign(slug: str) -> Response | str:
    """A campaign form, empty or filled from a starter; launch now or at a local time."""
    form = CampaignForm()
    available = starters()
    svc = services()
    with svc.db.session_scope() as session:
        community = community_or_404(session, slug)
        chosen = request.args.get("starter", "")
        if request.method == "GET" and chosen in available:
            fill_from_starter(form, prompt_files.load_prompt_file(available[chosen]))
        problem = None
        failed = request.method == "POST" and not check(form, session, community)
        if request.method == "POST" and not failed:
            try:
                spec = prompt_files.parse_prompt_file(form_to_source(form), name="the form")
                launched = operations.launch(
                    svc.db, community.id, spec, starts_at(form, community), form.allow_long.data
                )
            except (prompt_files.PromptFileError, operations.LaunchError) as exc:
                problem = WHERE_PREFIX.sub("", str(exc))
                problem = problem[0].upper() + problem[1:] + "."
            else:
                verb = "Launched" if launched.running else "Scheduled"
                flash(f"{verb} {launched.title}.")
                return redirect(url_for("admin.campaign", slug=slug, campaign_slug=launched.slug))
        return render_template(
            "admin/campaign_new.html",
            form=form,
            community=community,
            starters=starter_titles(),
            chosen=chosen,
            problem=problem,
            failed=failed,
            budget=texts.SEGMENT_BUDGET,
            asked_hints=asked_hints(),
        )


def _campaign_or_404(session: Any, community_id: int, campaign_slug: str) -> Campaign:
    found = session.scalar(
        select(Campaign).where(
            Campaign.community_id == community_id, Campaign.slug == campaign_slug
        )
    )
    if found is None:
        abort(404)
    return found


@bp.get("/communities/<slug>/campaigns/<campaign_slug>/")
def campaign(slug: str, campaign_slug: str) -> str:
    """One campaign: its questions and how far it has got."""
    return _campaign_page(slug, campaign_slug)


def _campaign_page(
    slug: str,
    campaign_slug: str,
    close_form: CloseForm | None = None,
    report_back_form: ReportBackForm | None = None,
    update_form: UpdateForm | None = None,
) -> str:
    """The campaign page, with forms that may carry what the organiser typed and its errors."""
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        found = _campaign_or_404(session, community.id, campaign_slug)
        tallied = tallies.tallies(session, found)
        return render_template(
            "admin/campaign.html",
            community=community,
            campaign=found,
            funnel=funnel(session, found),
            zone=ZoneInfo(community.timezone),
            close_form=close_form or CloseForm(formdata=None),
            report_back_form=report_back_form or ReportBackForm(formdata=None),
            reported_back_at=progress.reported_back_at(session, found),
            tallies=[(tally, _chart(tally)) for tally in tallied],
            tally_sentences=tallies.quotes(tallied),
            fewer_than=FEWER_THAN,
            update_form=update_form
            or UpdateForm(formdata=None, happened_on=_today(community.timezone)),
            updates=campaign_updates(session, found.id),
            quotes=candidates(session, found.id),
            small_group=SMALL_GROUP,
        )


def _chart(tally: tallies.QuestionTally) -> Markup:
    rows = [(answer.label, answer.count, answer.percent) for answer in tally.answers]
    return tally_chart(rows, f"{tally.question}: answers of {tally.answered} resident(s)")


def _today(timezone: str) -> date:
    """Today in the community's time zone: the date a new update starts with."""
    return datetime.now(ZoneInfo(timezone)).date()


def _campaign_id(slug: str, campaign_slug: str) -> int:
    with services().db.session_scope() as session:
        return _campaign_or_404(session, community_or_404(session, slug).id, campaign_slug).id


@bp.post("/communities/<slug>/campaigns/<campaign_slug>/close")
@organisers_only
def close_campaign(slug: str, campaign_slug: str) -> Response | str:
    """Stop asking this campaign's questions, once the organiser has ticked to confirm."""
    campaign_id = _campaign_id(slug, campaign_slug)
    form = CloseForm()
    if not form.validate_on_submit():
        return _campaign_page(slug, campaign_slug, close_form=form)
    closed = operations.close(services().db, campaign_id)
    if not closed.already:
        flash(f"Closed {closed.title}. No more of its questions will be asked.")
    return redirect(url_for("admin.campaign", slug=slug, campaign_slug=campaign_slug))


@bp.post("/communities/<slug>/campaigns/<campaign_slug>/report-back")
@organisers_only
def report_back(slug: str, campaign_slug: str) -> Response | str:
    """Send a "you said, we did" update to everyone who answered; errors keep the typed text."""
    campaign_id = _campaign_id(slug, campaign_slug)
    form = ReportBackForm()
    if form.validate_on_submit():
        try:
            queued = operations.report_back(
                services().db,
                campaign_id,
                form.text.data.strip(),
                another=form.another.data,
                public_base_url=services().settings.public_base_url,
                author_id=me().id,
            )
        except operations.ReportBackError as exc:
            form.text.errors = [f"Not sent: {exc}."]
        else:
            flash(f"Your update is on its way to {queued} resident(s) who answered.")
            forget_results(slug)
            return redirect(url_for("admin.campaign", slug=slug, campaign_slug=campaign_slug))
    return _campaign_page(slug, campaign_slug, report_back_form=form)
