"""Every change of an outbound message's status, each named for what happened to the message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.sending.outbox.keys import prompt_key
from storage.db import Database
from storage.models import OutboundMessage, Resident, utcnow
from storage.statuses import OutboxStatus

# A row 'sending' for longer than this was left by a sender that died.
SENDING_TIMEOUT = timedelta(minutes=5)
# WhatsApp allows free text within 24 hours of the resident's last message.
# https://www.twilio.com/docs/whatsapp/key-concepts#the-24-hour-window-or-24-hour-session
WHATSAPP_WINDOW = timedelta(hours=24)
# A reply that could not be sent at once is retried by the outbox sender after this long.
REPLY_RETRY_DELAY = timedelta(seconds=30)
# Rows the sender may claim: queued, or failed with a next attempt (NULL <= now is never true).
CLAIMABLE_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.FAILED)
# Rows that may still leave: cancelled when the resident stops being reachable.
OPEN_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.HELD, OutboxStatus.FAILED)
# Provider statuses in the order a message moves through them; callbacks can arrive out of order.
# https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
DELIVERY_RANK = {
    OutboxStatus.QUEUED: 0,
    OutboxStatus.ACCEPTED: 0,
    OutboxStatus.SCHEDULED: 0,
    OutboxStatus.SENDING: 1,
    OutboxStatus.SENT: 2,
    OutboxStatus.DELIVERED: 3,
    OutboxStatus.UNDELIVERED: 3,
    OutboxStatus.FAILED: 3,
    OutboxStatus.READ: 4,
    OutboxStatus.CANCELED: 3,
}


@dataclass(frozen=True)
class Sent:
    """A claimed row the provider accepted: what `record_sent` stores for it."""

    outbox_id: int
    provider_id: str
    attempts: int
    sent_at: datetime


def still_to_send(status: ColumnElement[str], next_attempt_at: ColumnElement) -> ColumnElement:
    """True for a row that has not left and may still: queued, held, or failed with a retry."""
    # Equalities, not IN: an IN list is re-rendered into the SQL text on every execution.
    return or_(
        status == OutboxStatus.QUEUED,
        status == OutboxStatus.HELD,
        and_(status == OutboxStatus.FAILED, next_attempt_at.is_not(None)),
    )


def _set(session: Session, ids: Iterable[int], **values: Any) -> int:
    ids = list(ids)
    if not ids:
        return 0
    table = OutboundMessage
    return session.execute(update(table).where(table.id.in_(ids)).values(**values)).rowcount or 0


# -- the sender's claim ------------------------------------------------------------------------


def claim(session: Session, ids: Iterable[int], now: datetime) -> None:
    """Mark claimed rows 'sending': other senders skip them until sent or reclaimed."""
    _set(session, ids, status=OutboxStatus.SENDING, claimed_at=now)


def defer(session: Session, outbox_id: int, until: datetime) -> None:
    """Leave a row queued until `until` (the community's quiet hours end then)."""
    _set(session, [outbox_id], status=OutboxStatus.QUEUED, next_attempt_at=until)


def hold(session: Session, ids: Iterable[int]) -> None:
    """Hold WhatsApp rows outside the 24-hour window until the resident writes again."""
    _set(
        session,
        ids,
        status=OutboxStatus.HELD,
        next_attempt_at=None,
        error="waiting for the resident",
    )


def cancel(session: Session, outbox_id: int, reason: str) -> None:
    """Cancel a row that must not leave any more, saying why."""
    _set(session, [outbox_id], status=OutboxStatus.CANCELLED, next_attempt_at=None, error=reason)


def release_claims(db: Database, ids: list[int]) -> None:
    """Hand claimed rows back to the queue untouched (stopping before they were sent)."""
    if not ids:
        return
    with db.session_scope() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.QUEUED, claimed_at=None)
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
                OutboundMessage.status == OutboxStatus.SENDING,
                OutboundMessage.claimed_at < now - timeout,
            )
            # next_attempt_at is still the time they first fell due, so they go first.
            .values(status=OutboxStatus.QUEUED, claimed_at=None)
        )
        return result.rowcount or 0


def release_held_whatsapp(db: Database, now: datetime | None = None) -> int:
    """Queue again WhatsApp rows held for a resident who has written in the last 24 hours."""
    now = now or utcnow()
    recent = select(Resident.id).where(Resident.last_inbound_at >= now - WHATSAPP_WINDOW)
    with db.session_scope() as session:
        result = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.status == OutboxStatus.HELD,
                OutboundMessage.resident_id.in_(recent),
            )
            .values(status=OutboxStatus.QUEUED, next_attempt_at=now, error=None)
        )
        return result.rowcount or 0


# -- cancelling what has not left ----------------------------------------------------------------


def withdraw_unsent_prompt(session: Session | Connection, resident_id: int, prompt_id: int) -> bool:
    """Cancel the queued send of an assigned prompt that has not left yet; True if there was one."""
    table = OutboundMessage
    result = session.execute(
        update(table)
        .where(
            table.dedupe_key == prompt_key(resident_id, prompt_id),
            still_to_send(table.status, table.next_attempt_at),
        )
        .values(
            status=OutboxStatus.CANCELLED, next_attempt_at=None, error="sent as a reply instead"
        )
    )
    return bool(result.rowcount)


def cancel_for_resident(session: Session, resident_ids: Iterable[int], reason: str) -> int:
    """Cancel everything still to send to these residents; sent rows stay as they are."""
    ids = list(resident_ids)
    if not ids:
        return 0
    table = OutboundMessage
    result = session.execute(
        update(table)
        .where(table.resident_id.in_(ids), still_to_send(table.status, table.next_attempt_at))
        .values(status=OutboxStatus.CANCELLED, next_attempt_at=None, error=reason)
    )
    return result.rowcount or 0


# -- what happened to a send ---------------------------------------------------------------------


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
                    status=OutboxStatus.SENT,
                    sent_at=now,
                    provider_id=provider_id or via,
                    attempts=OutboundMessage.attempts + 1,
                )
            )


def record_sent(db: Database, sent: list[Sent]) -> int:
    """Record claimed rows the provider accepted, all in one statement; return how many."""
    if not sent:
        return 0
    records = [
        {
            "id": item.outbox_id,
            "status": OutboxStatus.SENT,
            "provider_id": item.provider_id,
            "sent_at": item.sent_at,
            "attempts": item.attempts,
            "next_attempt_at": None,
            "claimed_at": None,
            "error": None,
        }
        for item in sent
    ]
    with db.session_scope() as session:
        # ORM bulk UPDATE by primary key: one executemany for the whole batch.
        session.execute(update(OutboundMessage), records)
    return len(records)


def mark_failed(db: Database, outbox_id: int, error: str) -> None:
    """Record that a reply could not be delivered now; the sender will try it again later."""
    with db.session_scope() as session:
        _set(
            session,
            [outbox_id],
            status=OutboxStatus.FAILED,
            error=error[:500],
            attempts=OutboundMessage.attempts + 1,
            next_attempt_at=utcnow() + REPLY_RETRY_DELAY,
        )


def retry_later(
    db: Database, outbox_id: int, error: str, attempts: int, retry_at: datetime | None
) -> None:
    """Record a failed attempt; the sender tries again at `retry_at`, or never when it is None."""
    with db.session_scope() as session:
        _set(
            session,
            [outbox_id],
            status=OutboxStatus.FAILED,
            attempts=attempts,
            next_attempt_at=retry_at,
            claimed_at=None,
            error=error[:500],
        )


def give_up(session: Session, outbox_id: int, error: str, attempts: int) -> None:
    """Record that the provider refused a row for good: it is never tried again."""
    _set(
        session,
        [outbox_id],
        status=OutboxStatus.FAILED,
        attempts=attempts,
        next_attempt_at=None,
        claimed_at=None,
        error=error[:500],
    )


def record_delivery(session: Session, provider_id: str, status: str, error: str | None) -> int:
    """Move a sent row forward to the provider's reported status, never backwards.

    A status the outbox does not know is ignored; returns the rows changed (0 or 1).
    """
    if status not in DELIVERY_RANK:
        return 0
    rank = DELIVERY_RANK[OutboxStatus(status)]
    earlier = [name for name, other in DELIVERY_RANK.items() if other < rank]
    values: dict[str, object] = {"status": OutboxStatus(status)}
    if error:
        values["error"] = error
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.provider_id == provider_id, OutboundMessage.status.in_(earlier))
        .values(**values)
    )
    return result.rowcount or 0


def record_not_reached(session: Session, provider_id: str, reason: str) -> int:
    """A placed call that a machine answered: undelivered, with the reason, whatever came first.

    Twilio reports the call 'completed' either way, and that callback may arrive before or after
    the request that tells us a machine answered, so 'delivered' moves here too; returns the
    rows changed (0 or 1).
    """
    before = [
        name for name, rank in DELIVERY_RANK.items() if rank < DELIVERY_RANK[OutboxStatus.DELIVERED]
    ]
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.provider_id == provider_id,
            OutboundMessage.status.in_([*before, OutboxStatus.DELIVERED]),
        )
        .values(status=OutboxStatus.UNDELIVERED, error=reason[:500])
    )
    return result.rowcount or 0
