"""Queueing: every message that is not an immediate reply enters the outbox 'queued' here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import OutboundMessage, Resident, utcnow
from storage.statuses import OutboxStatus


def outbox_row(
    resident: Resident,
    text: str,
    *,
    kind: str,
    dedupe_key: str,
    campaign_id: int | None = None,
    prompt_id: int | None = None,
    not_before: datetime | None = None,
    buttons: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The column values of a queued message, as `enqueue` and `enqueue_many` store it."""
    now = utcnow()
    return {
        "community_id": resident.community_id,
        "resident_id": resident.id,
        "channel": resident.channel,
        "kind": kind,
        "text": text,
        "options": {"buttons": list(buttons)} if buttons else None,
        "status": OutboxStatus.QUEUED,
        "dedupe_key": dedupe_key,
        "campaign_id": campaign_id,
        "prompt_id": prompt_id,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }


def enqueue(
    session: Session,
    resident: Resident,
    text: str,
    *,
    kind: str,
    dedupe_key: str,
    campaign_id: int | None = None,
    prompt_id: int | None = None,
    not_before: datetime | None = None,
    buttons: tuple[str, ...] = (),
) -> OutboundMessage | None:
    """Queue one message for a resident; a row with the same dedupe key means it is already queued.

    The dedupe key names what the message is for, e.g. ``prompt:{resident}:{prompt}:1`` or
    ``nudge:{resident}:{prompt}:{n}``, so a double launch or a double job run queues nothing twice.
    Returns the new row, or None when it was already there.
    """
    exists = session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)
    )
    if exists is not None:
        return None
    row = OutboundMessage(
        **outbox_row(
            resident,
            text,
            kind=kind,
            dedupe_key=dedupe_key,
            campaign_id=campaign_id,
            prompt_id=prompt_id,
            not_before=not_before,
            buttons=buttons,
        )
    )
    session.add(row)
    session.flush()
    return row


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Queue many messages (built by `outbox_row`) with one INSERT per thousand rows.

    A row whose dedupe key is already in the outbox is skipped by the database (ON CONFLICT
    (dedupe_key) DO NOTHING), which also holds against another transaction queueing the same
    key at the same moment. The statement is compiled once and SQLAlchemy sends the rows as
    multi-row VALUES ("insertmanyvalues"), in the order given, so their ids keep that order.
    Returns the dedupe keys of the rows that went in.
    """
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OutboundMessage.__table__
    statement = (
        maker(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )
    return set(session.scalars(statement, rows))
