"""The outbox: every message that is not an immediate reply leaves through a row here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OutboundMessage, Resident, utcnow


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
