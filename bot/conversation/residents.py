"""Erasing a contact: every record, response and message of theirs, nothing left to restore."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import Community, InboundMessage, Resident


def erase_contact(
    session: Session | Connection, address_hash: str, keep_inbound_id: int | None
) -> int:
    """Erase every resident record, response and message of one contact; return how many records."""
    records = session.execute(
        select(Resident.id, Resident.community_id).where(Resident.address_hash == address_hash)
    ).all()
    if keep_inbound_id is not None:
        # The message that asked for erasure stays only as an empty tombstone, so a provider
        # retry of it is recognised as a duplicate instead of being processed again.
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == keep_inbound_id)
            .values(text="", raw_enc=None, address_hash="erased", resident_id=None)
        )
    session.execute(
        delete(InboundMessage).where(
            InboundMessage.address_hash == address_hash,
            InboundMessage.id != (keep_inbound_id or -1),
        )
    )
    ids = [record.id for record in records]
    if ids:
        session.execute(delete(Resident).where(Resident.id.in_(ids)))
    # The community's counter is a row every erasure there shares: taken last, it is held
    # only until the commit that follows.
    for record in records:
        session.execute(
            update(Community)
            .where(Community.id == record.community_id)
            .values(erased_count=Community.erased_count + 1)
        )
    if isinstance(session, Session):
        session.expunge_all()
    return len(ids)
