"""Campaigns in the browser: start from a starter file or from scratch, schedule, launch, close."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.campaigns import operations, prompt_files
from bot.insights.funnel import funnel
from storage.models import Campaign
from webhooks.admin.access import community_or_404, organisers_only
from webhooks.admin.blueprint import bp
from webhooks.admin.forms import ActionForm, CampaignForm, ReportBackForm
from webhooks.services import services

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
WHERE_PREFIX = re.compile(r"^.*?, (line \d+|top): ")


def starters() -> dict[str, Path]:
    """The prompt files organisers can start from, by file name."""
    return {path.stem: path for path in sorted(PROMPTS_DIR.glob("*.yaml"))}


def _duration_text(seconds: int | None) -> str:
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _split(texts: dict[str, str] | None, language: str) -> tuple[str, dict[str, str]]:
    """The text in the default language, and the other languages kept aside."""
    texts = dict(texts or {})
    return texts.pop(language, ""), texts


def fill_from_starter(form: CampaignForm, spec: prompt_files.CampaignSpec) -> None:
    """Put a starter file's campaign into the form; other languages ride along unchanged."""
    form.slug.data, form.title.data, form.language.data = spec.slug, spec.title, spec.language
    extra: dict[str, Any] = {"prompts": {}}
    while len(form.prompts.entries) < min(len(spec.prompts) + 1, form.prompts.max_entries or 10):
        form.prompts.append_entry()
    for row, prompt in zip(form.prompts.entries, spec.prompts, strict=False):
        row.form.key.data = prompt.key
        row.form.text.data, others = _split(prompt.text, spec.language)
        if others:
            extra["prompts"][prompt.key] = others
    form.nudge_after.data = _duration_text(spec.nudge_after_seconds)
    form.nudge_max.data = spec.nudge_max or 1
    form.nudge_text.data, extra["nudge"] = _split(spec.nudge_text, spec.language)
    form.thanks.data, extra["thanks"] = _split(spec.thanks, spec.language)
    form.translations.data = json.dumps(extra, ensure_ascii=False)


def _with_translations(text: str, others: dict[str, str] | None, language: str) -> Any:
    others = {k: v for k, v in (others or {}).items() if k != language}
    return {language: text, **others} if others else text


def form_to_source(form: CampaignForm) -> str:
    """The prompt file the form describes, as YAML, so the same checks apply as for files."""
    try:
        extra = json.loads(form.translations.data or "{}")
    except ValueError:
        extra = {}
    extra = extra if isinstance(extra, dict) else {}
    language = (form.language.data or "en").strip()
    prompt_extra = extra.get("prompts") or {}
    rows = [
        ((row.form.key.data or "").strip(), (row.form.text.data or "").strip())
        for row in form.prompts.entries
    ]
    data: dict[str, Any] = {
        "slug": form.slug.data,
        "title": form.title.data,
        "language": language,
        "prompts": [
            {
                "id": key or f"q{index}",
                "text": _with_translations(text, prompt_extra.get(key), language),
            }
            for index, (key, text) in enumerate(rows, start=1)
            if text
        ],
    }
    if (form.nudge_after.data or "").strip() or (form.nudge_text.data or "").strip():
        data["nudge"] = {
            "after": (form.nudge_after.data or "").strip(),
            "max": form.nudge_max.data if form.nudge_max.data is not None else 1,
            "text": _with_translations(
                (form.nudge_text.data or "").strip(), extra.get("nudge"), language
            ),
        }
    if (form.thanks.data or "").strip():
        data["thanks"] = _with_translations(form.thanks.data.strip(), extra.get("thanks"), language)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


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
        if form.validate_on_submit():
            try:
                spec = prompt_files.parse_prompt_file(form_to_source(form), name="the form")
                starts_at = None
                if form.start.data is not None:
                    starts_at = form.start.data.replace(tzinfo=ZoneInfo(community.timezone))
                launched = operations.launch(svc.db, community.id, spec, starts_at)
            except (prompt_files.PromptFileError, operations.LaunchError) as exc:
                problem = WHERE_PREFIX.sub("", str(exc))
            else:
                verb = "Launched" if launched.running else "Scheduled"
                flash(f"{verb} {launched.title}.")
                return redirect(url_for("admin.campaign", slug=slug, campaign_slug=launched.slug))
        return render_template(
            "admin/campaign_new.html",
            form=form,
            community=community,
            starters=sorted(available),
            chosen=chosen,
            problem=problem,
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
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        found = _campaign_or_404(session, community.id, campaign_slug)
        return render_template(
            "admin/campaign.html",
            community=community,
            campaign=found,
            funnel=funnel(session, found),
            zone=ZoneInfo(community.timezone),
            action=ActionForm(),
            report_back_form=ReportBackForm(),
        )


@bp.post("/communities/<slug>/campaigns/<campaign_slug>/close")
@organisers_only
def close_campaign(slug: str, campaign_slug: str) -> Response:
    """Stop asking this campaign's questions."""
    svc = services()
    with svc.db.session_scope() as session:
        campaign_id = _campaign_or_404(
            session, community_or_404(session, slug).id, campaign_slug
        ).id
    closed = operations.close(svc.db, campaign_id)
    if not closed.already:
        flash(f"Closed {closed.title}. No more of its questions will be asked.")
    return redirect(url_for("admin.campaign", slug=slug, campaign_slug=campaign_slug))


@bp.post("/communities/<slug>/campaigns/<campaign_slug>/report-back")
@organisers_only
def report_back(slug: str, campaign_slug: str) -> Response:
    """Send a "you said, we did" update to everyone who answered."""
    form = ReportBackForm()
    svc = services()
    with svc.db.session_scope() as session:
        campaign_id = _campaign_or_404(
            session, community_or_404(session, slug).id, campaign_slug
        ).id
    if form.validate_on_submit():
        try:
            queued = operations.report_back(svc.db, campaign_id, form.text.data.strip())
        except operations.ReportBackError as exc:
            flash(f"Not sent: {exc}.")
        else:
            flash(f"Your update is on its way to {queued} resident(s) who answered.")
    return redirect(url_for("admin.campaign", slug=slug, campaign_slug=campaign_slug))
