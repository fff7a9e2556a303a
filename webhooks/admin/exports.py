"""Exports in the browser, streamed, each one recorded; the record is visible to admins."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request
from sqlalchemy import select

from bot.insights import recorded_exports
from bot.insights.recorded_exports import Exporter, recorded_filters
from storage import exports
from storage.models import Campaign, Community, ExportRecord, utcnow
from webhooks.admin.access import admins_only, community_or_404, me
from webhooks.admin.blueprint import bp
from webhooks.admin.responses import local_day
from webhooks.services import services

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _when(value: str | None, zone: ZoneInfo, end: bool) -> datetime | None:
    """A date (a whole local day) or an ISO 8601 time; None when absent; 400 when unreadable."""
    if not value:
        return None
    if len(value.strip()) == 10:
        parsed = local_day(value, zone, end)
        if parsed is None:
            abort(400, description=f"{value!r} is not a date like 2026-12-01")
        return parsed
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        abort(400, description=f"{value!r} is not a date or time like 2026-12-01T10:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@bp.get("/communities/<slug>/export.<fmt>")
def export(slug: str, fmt: str) -> Response:
    """The community's responses as CSV, JSON Lines or Excel, with the CLI's filters."""
    if fmt not in exports.FORMATS:
        abort(404)
    svc = services()
    with svc.db.session_scope() as session:
        community = community_or_404(session, slug)
        zone = ZoneInfo(community.timezone)
        campaign_slug = request.args.get("campaign", "").strip()
        campaign_id = None
        if campaign_slug:
            campaign_id = session.scalar(
                select(Campaign.id).where(
                    Campaign.community_id == community.id, Campaign.slug == campaign_slug
                )
            )
            if campaign_id is None:
                abort(404)
        spec = exports.ExportFilter(
            community_id=community.id,
            campaign_id=campaign_id,
            since=_when(request.args.get("since"), zone, end=False),
            until=_when(request.args.get("until"), zone, end=True),
            redact=request.args.get("redact") == "1",
        )
        filters = recorded_filters(
            campaign=campaign_slug,
            since=request.args.get("since"),
            until=request.args.get("until"),
            redact=spec.redact,
        )
    body = recorded_exports.export(svc.db, spec, fmt, Exporter(me().email, me().id), filters)
    name = f"{slug}-responses-{utcnow():%Y%m%d-%H%M}.{fmt}"
    return Response(
        body,
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/exports")
@admins_only
def export_log() -> str:
    """Who exported what, and when, newest first."""
    with services().db.session_scope() as session:
        records = session.execute(
            select(ExportRecord, Community.slug, Community.name)
            .join(Community, Community.id == ExportRecord.community_id)
            .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc())
            .limit(500)
        ).all()
        return render_template("admin/export_log.html", records=records)
