"""Retention: erase old words, and residents with nothing left and no recent contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import InboundMessage, Resident, Response, SafeguardingAlert, utcnow


@dataclass(frozen=True)
class RetentionResult:
    """How many records a retention sweep erased (or would erase, on a dry run)."""

    responses: int
    messages: int
    residents: int
    kept_for_safeguarding: int


def _open_alert_for_response() -> object:
    return exists().where(
        SafeguardingAlert.response_id == Response.id, SafeguardingAlert.acknowledged_at.is_(None)
    )


def _open_alert_for_message() -> object:
    return exists().where(
        SafeguardingAlert.inbound_id == InboundMessage.id,
        SafeguardingAlert.acknowledged_at.is_(None),
    )


def sweep(session: Session, older_than_days: int, *, dry_run: bool = False) -> RetentionResult:
    """Erase responses and stored messages received before the cut-off, then idle residents.

    Words behind a safeguarding alert the lead has not yet acknowledged are kept until they do:
    a disclosure must reach a person before it can expire.
    """
    if older_than_days < 1:
        raise ValueError("--older-than-days must be at least 1")
    cutoff: datetime = utcnow() - timedelta(days=older_than_days)
    old_responses = and_(Response.received_at < cutoff, ~_open_alert_for_response())
    old_messages = and_(InboundMessage.received_at < cutoff, ~_open_alert_for_message())
    held = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.received_at < cutoff, _open_alert_for_response())
    )
    responses = session.scalar(select(func.count()).select_from(Response).where(old_responses))
    messages = session.scalar(select(func.count()).select_from(InboundMessage).where(old_messages))
    if not dry_run:
        session.execute(delete(Response).where(old_responses))
        session.execute(delete(InboundMessage).where(old_messages))
    # Residents with no words left and no contact since the cut-off.
    no_words = ~exists().where(Response.resident_id == Resident.id)
    if dry_run:
        no_words = ~exists().where(Response.resident_id == Resident.id, ~old_responses)
    idle = and_(
        no_words,
        or_(
            Resident.last_inbound_at < cutoff,
            and_(Resident.last_inbound_at.is_(None), Resident.created_at < cutoff),
        ),
        ~exists().where(
            SafeguardingAlert.resident_id == Resident.id,
            SafeguardingAlert.acknowledged_at.is_(None),
        ),
    )
    idle_ids = session.scalars(select(Resident.id).where(idle)).all()
    if not dry_run and idle_ids:
        session.execute(delete(Resident).where(Resident.id.in_(idle_ids)))
    return RetentionResult(responses or 0, messages or 0, len(idle_ids), held or 0)


def retention_job(db: Database, older_than_days: int) -> RetentionResult:
    """One retention sweep in its own transaction: what the worker runs on a schedule."""
    with db.session_scope() as session:
        return sweep(session, older_than_days)
