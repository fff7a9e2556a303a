"""The outbox: every message that is not an immediate reply leaves through a row here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Assignment, OutboundMessage, Resident, utcnow


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
        community_id=resident.community_id,
        resident_id=resident.id,
        channel=resident.channel,
        kind=kind,
        text=text,
        options={"buttons": list(buttons)} if buttons else None,
        status="queued",
        dedupe_key=dedupe_key,
        campaign_id=campaign_id,
        prompt_id=prompt_id,
        next_attempt_at=not_before or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def prompt_key(resident_id: int, prompt_id: int, attempt: int = 1) -> str:
    """The dedupe key of a campaign prompt sent to a resident."""
    return f"prompt:{resident_id}:{prompt_id}:{attempt}"


def withdraw_unsent_prompt(session: Session, assignment: Assignment) -> bool:
    """Cancel the queued send of an assigned prompt that has not left yet; True if there was one."""
    table = OutboundMessage
    result = session.execute(
        update(table)
        .where(
            table.dedupe_key == prompt_key(assignment.resident_id, assignment.prompt_id),
            or_(
                table.status.in_(("queued", "held")),
                and_(table.status == "failed", table.next_attempt_at.is_not(None)),
            ),
        )
        .values(status="cancelled", next_attempt_at=None, error="sent as a reply instead")
    )
    return bool(result.rowcount)
