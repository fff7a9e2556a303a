"""Telling the safeguarding lead: at once for a resident, then grouped, and never a flood.

Every alert stays in the lead's queue. Messages to the lead are fewer: one per resident per
hour (a queued one is updated with the count), and at most a set number per community per
hour, the rest in one digest sent when that hour ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot import texts
from bot.conversation.safeguarding import ALERT_KIND, LEAD_MARKER
from bot.sending import outbox
from storage.models import Community, OutboundMessage, SafeguardingAlert
from storage.statuses import OutboxStatus

HOUR = timedelta(hours=1)
_outbound = OutboundMessage.__table__
_alerts = SafeguardingAlert.__table__


def alert_the_lead(
    connection: Connection,
    community_id: int,
    resident_id: int,
    alert_id: int,
    now: datetime,
    per_hour: int | None,
) -> None:
    """Queue, group or digest the lead's message about a new alert."""
    c = Community.__table__
    community = connection.execute(
        select(c.c.name, c.c.safeguarding_lead_enc, c.c.safeguarding_lead_channel).where(
            c.c.id == community_id
        )
    ).one()
    if not (community.safeguarding_lead_enc and community.safeguarding_lead_channel):
        return
    first, count = connection.execute(
        select(func.min(_alerts.c.id), func.count()).where(
            _alerts.c.resident_id == resident_id, _alerts.c.created_at > now - HOUR
        )
    ).one()
    if first is not None and first != alert_id:
        # The lead heard about this resident within the hour: their message says how many now.
        connection.execute(
            update(_outbound)
            .where(
                _outbound.c.dedupe_key == outbox.safeguarding_key(first),
                _outbound.c.status == OutboxStatus.QUEUED,
            )
            .values(text=texts.text("safeguarding_alert_more", name=community.name, count=count))
        )
        return
    row = {
        "community_id": community_id,
        "resident_id": None,
        "channel": community.safeguarding_lead_channel,
        "kind": ALERT_KIND,
        "options": dict(LEAD_MARKER),
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "created_at": now,
    }
    if per_hour is not None and _messages_this_hour(connection, community_id, now) >= per_hour:
        _digest(connection, row, community.name, now)
        return
    connection.execute(
        _outbound.insert(),
        {
            **row,
            "text": texts.text("safeguarding_alert", name=community.name),
            "dedupe_key": outbox.safeguarding_key(alert_id),
            "next_attempt_at": now,
        },
    )


def _messages_this_hour(connection: Connection, community_id: int, now: datetime) -> int:
    return connection.execute(
        select(func.count()).where(
            _outbound.c.community_id == community_id,
            _outbound.c.kind == ALERT_KIND,
            _outbound.c.dedupe_key.like("safeguarding:%"),
            _outbound.c.created_at > now - HOUR,
        )
    ).scalar_one()


def _digest(connection: Connection, row: dict, name: str, now: datetime) -> None:
    """One message at the end of the hour, counting the alerts the lead was not sent."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    waiting = connection.execute(
        select(func.count()).where(
            _alerts.c.community_id == row["community_id"], _alerts.c.created_at >= hour
        )
    ).scalar_one() - _messages_this_hour(connection, row["community_id"], now)
    body = texts.text("safeguarding_digest", name=name, count=max(waiting, 1))
    maker = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = maker(_outbound).values(
        **row,
        text=body,
        dedupe_key=f"safeguarding-digest:{row['community_id']}:{hour:%Y%m%d%H}",
        next_attempt_at=hour + HOUR,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["dedupe_key"],
            set_={"text": body},
            where=_outbound.c.status == OutboxStatus.QUEUED,
        )
    )
