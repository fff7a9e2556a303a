"""Replies over time: responses per local day, for the community page's chart."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Community, Response, utcnow

CHART_DAYS = 30


def replies_per_day(
    session: Session, community: Community, days: int = CHART_DAYS
) -> list[tuple[date, int]]:
    """Responses per local day over the last `days` days, oldest first, empty days included."""
    zone = ZoneInfo(community.timezone)
    today = utcnow().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    counts = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
    since = utcnow() - timedelta(days=days + 1)
    received = session.execute(
        select(Response.received_at)
        .where(Response.community_id == community.id, Response.received_at >= since)
        .execution_options(yield_per=2000)
    ).scalars()
    for at in received:
        day = at.astimezone(zone).date()
        if day in counts:
            counts[day] += 1
    return sorted(counts.items())
