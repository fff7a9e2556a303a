"""Reading responses: newest first, search and filters, only pseudonyms."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from storage import dashboard
from storage.response_search import PAGE_SIZE, ResponseQuery, count, prompt_keys, search
from storage.themes import ThemeFilter
from webhooks.admin.access import community_or_404, me
from webhooks.admin.blueprint import bp
from webhooks.admin.forms import ResponseFilterForm
from webhooks.admin.themes import theme_response_ids, themes_of
from webhooks.services import services

CHANNELS = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "voice": "Phone call",
    "simulator": "Simulator",
}


def local_day(value: str | None, zone: ZoneInfo, end: bool) -> datetime | None:
    """A YYYY-MM-DD date as the start of that local day (or the start of the next, for an end)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start + timedelta(days=1) if end else start


def campaign_id_for(campaigns: list, slug: str | None) -> int | None:  # type: ignore[type-arg]
    """The id of the community's campaign with this slug, if any."""
    for item in campaigns:
        if item.slug == slug:
            return int(item.id)
    return None


def contact_detail(encrypted: str) -> str:
    """A resident's phone number or chat id, for admins only."""
    try:
        return services().vault.decrypt(encrypted)
    except ValueError:
        return "cannot be read with this key"


def is_number(value: str) -> bool:
    """Whether a query value is a plain whole number of sensible size."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def chosen_theme(
    session: Session, community_id: int, campaign_id: int | None, prompt_key: str | None
) -> tuple[str, frozenset[int]] | None:
    """The theme the Themes view linked to (`theme` and `upto` in the query), if one was."""
    which = request.args.get("theme", "")
    if not which:
        return None
    upto = request.args.get("upto", "")
    spec = ThemeFilter(community_id=community_id, campaign_id=campaign_id, prompt_key=prompt_key)
    found = themes_of(session, spec, int(upto) if is_number(upto) else None)
    # A theme that is no longer there (answers erased since) shows nothing rather than guessing.
    return theme_response_ids(found, which) or ("That theme is no longer there", frozenset())


@bp.get("/communities/<slug>/responses")
def responses(slug: str) -> str:
    """Responses, newest first, with search and filters."""
    form = ResponseFilterForm(formdata=MultiDict(request.args))
    page = request.args.get("page", "1")
    page_number = int(page) if is_number(page) and 0 < int(page) < 10_000 else 1
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        zone = ZoneInfo(community.timezone)
        campaigns = dashboard.campaigns(session, community.id)
        choices = {
            "campaign": [(c.slug, c.title) for c in campaigns],
            "prompt": [(k, k) for k in prompt_keys(session, community.id)],
            "channel": list(CHANNELS.items()),
        }
        campaign_id = campaign_id_for(campaigns, form.campaign.data)
        theme = chosen_theme(session, community.id, campaign_id, form.prompt.data or None)
        spec = ResponseQuery(
            community_id=community.id,
            words=(form.q.data or "").strip()[:200],
            campaign_id=campaign_id,
            prompt_key=form.prompt.data or "",
            channel=form.channel.data or "",
            since=local_day(form.since.data, zone, end=False),
            until=local_day(form.until.data, zone, end=True),
            page=page_number,
            response_ids=theme[1] if theme else None,
        )
        rows, more = search(session, spec)
        total = count(session, spec) if rows else 0
        show_contact = me().is_admin and request.args.get("contact") == "1"
        for row in rows:
            encrypted = row.pop("address_enc")
            if show_contact:
                row["contact"] = contact_detail(encrypted)
        return render_template(
            "admin/responses.html",
            community=community,
            form=form,
            choices=choices,
            rows=rows,
            show_contact=show_contact,
            more=more,
            total=total,
            first=(page_number - 1) * PAGE_SIZE + 1,
            page=page_number,
            zone=zone,
            theme=theme,
            args={k: v for k, v in request.args.items() if k != "page"},
        )
