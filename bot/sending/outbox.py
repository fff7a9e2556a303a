"""The outbox: every message that is not an immediate reply leaves through a row here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import OutboundMessage, Resident, utcnow

# Rows that may still leave: cancelled when the resident stops being reachable.
OPEN_STATUSES = ("queued", "held", "failed")
# A row 'sending' for longer than this was left by a sender that died.
SENDING_TIMEOUT = timedelta(minutes=5)
# WhatsApp allows free text within 24 hours of the resident's last message.
# https://www.twilio.com/docs/whatsapp/key-concepts#the-24-hour-window-or-24-hour-session
WHATSAPP_WINDOW = timedelta(hours=24)
# A reply that could not be sent at once is retried by the outbox sender after this long.
REPLY_RETRY_DELAY = timedelta(seconds=30)


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
        "status": "queued",
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


def prompt_key(resident_id: int, prompt_id: int, attempt: int = 1) -> str:
    """The dedupe key of a campaign prompt sent to a resident."""
    return f"prompt:{resident_id}:{prompt_id}:{attempt}"


def prompt_key_sql(resident_id: Any, prompt_id: Any) -> Any:
    """prompt_key as a SQL expression over two integer columns (launches and the snapshot)."""
    return (
        literal("prompt:")
        + cast(resident_id, String)
        + literal(":")
        + cast(prompt_id, String)
        + literal(":1")
    )


def withdraw_unsent_prompt(session: Session | Connection, resident_id: int, prompt_id: int) -> bool:
    """Cancel the queued send of an assigned prompt that has not left yet; True if there was one."""
    table = OutboundMessage
    result = session.execute(
        update(table)
        .where(
            table.dedupe_key == prompt_key(resident_id, prompt_id),
            or_(
                table.status.in_(("queued", "held")),
                and_(table.status == "failed", table.next_attempt_at.is_not(None)),
            ),
        )
        .values(status="cancelled", next_attempt_at=None, error="sent as a reply instead")
    )
    return bool(result.rowcount)


def stop_sending_to(session: Session, resident_id: int, status: str, now: datetime) -> None:
    """Mark a resident opted out or unreachable and cancel everything still queued for them."""
    values: dict[str, object] = {"status": status}
    if status == "opted_out":
        values["opted_out_at"] = now
    session.execute(update(Resident).where(Resident.id == resident_id).values(**values))
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.resident_id == resident_id,
            OutboundMessage.status.in_(OPEN_STATUSES),
            or_(OutboundMessage.status != "failed", OutboundMessage.next_attempt_at.is_not(None)),
        )
        .values(status="cancelled", next_attempt_at=None, error=f"resident is {status}")
    )


def reclaim_stuck(
    db: Database, timeout: timedelta = SENDING_TIMEOUT, now: datetime | None = None
) -> int:
    """Queue again rows left 'sending' by a sender that died; return how many."""
    now = now or utcnow()
    with db.session_scope() as session:
        result = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.status == "sending",
                OutboundMessage.claimed_at < now - timeout,
            )
            # next_attempt_at is still the time they first fell due, so they go first.
            .values(status="queued", claimed_at=None)
        )
        return result.rowcount or 0


def release_held_whatsapp(db: Database, now: datetime | None = None) -> int:
    """Queue again WhatsApp rows held for a resident who has written in the last 24 hours."""
    now = now or utcnow()
    recent = select(Resident.id).where(Resident.last_inbound_at >= now - WHATSAPP_WINDOW)
    with db.session_scope() as session:
        result = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "held", OutboundMessage.resident_id.in_(recent))
            .values(status="queued", next_attempt_at=now, error=None)
        )
        return result.rowcount or 0


def mark_sent(
    db: Database, outbox_ids: list[int], via: str, provider_ids: list[str | None] | None = None
) -> None:
    """Record that replies left, with the provider's ids where there are any."""
    if not outbox_ids:
        return
    now = utcnow()
    with db.session_scope() as session:
        for index, outbox_id in enumerate(outbox_ids):
            provider_id = provider_ids[index] if provider_ids else None
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbox_id)
                .values(
                    status="sent",
                    sent_at=now,
                    provider_id=provider_id or via,
                    attempts=OutboundMessage.attempts + 1,
                )
            )


def mark_failed(db: Database, outbox_id: int, error: str) -> None:
    """Record that a reply could not be delivered now; the sender will try it again later."""
    with db.session_scope() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbox_id)
            .values(
                status="failed",
                error=error[:500],
                attempts=OutboundMessage.attempts + 1,
                next_attempt_at=utcnow() + REPLY_RETRY_DELAY,
            )
        )
