"""Finding, creating and erasing residents; contact details only ever stored encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, joinedload

from storage.crypto import Vault
from storage.models import Community, InboundMessage, Resident, utcnow

REACHABLE = ("joined",)


def find_community_by_keyword(session: Session, word: str) -> Community | None:
    """The community whose SMS keyword (or slug, for Telegram deep links) is `word`."""
    word = word.strip()
    if not word:
        return None
    found = session.scalar(select(Community).where(Community.keyword == word.upper()))
    if found is None:
        found = session.scalar(select(Community).where(Community.slug == word.lower()))
    return found


def candidates(session: Session, address_hash: str) -> list[Resident]:
    """Every resident record with this contact, most recently active first."""
    # The community comes in the same query: every caller needs it next (one round trip less).
    rows = session.scalars(
        select(Resident)
        .options(joinedload(Resident.community))
        .where(Resident.address_hash == address_hash)
    ).all()
    return sorted(
        rows,
        key=lambda r: (r.last_inbound_at or r.created_at, r.id),
        reverse=True,
    )


def choose_resident(session: Session, address_hash: str, to: str | None) -> Resident | None:
    """The record a message belongs to: the community of the number texted, else the latest."""
    found = candidates(session, address_hash)
    if not found:
        return None
    if to:
        for resident in found:
            if resident.community.sms_number and resident.community.sms_number == to:
                return resident
    return found[0]


def get_or_create(
    session: Session,
    vault: Vault,
    community: Community,
    channel: str,
    address: str,
    language: str | None,
) -> tuple[Resident, bool]:
    """The resident for this contact in `community`, created (not yet joined) if new."""
    address_hash = vault.address_hash(channel, address)
    resident = session.scalar(
        select(Resident).where(
            Resident.community_id == community.id, Resident.address_hash == address_hash
        )
    )
    if resident is not None:
        return resident, False
    resident = Resident(
        community_id=community.id,
        community=community,
        channel=channel,
        address_enc=vault.encrypt(address),
        address_hash=address_hash,
        pseudonym=vault.pseudonym(community.slug, address_hash),
        status="invited",
        language=language,
    )
    session.add(resident)
    session.flush()
    return resident, True


def erase_contact(
    session: Session | Connection, address_hash: str, keep_inbound_id: int | None
) -> int:
    """Erase every resident record, response and message of one contact; return how many records."""
    records = session.execute(
        select(Resident.id, Resident.community_id).where(Resident.address_hash == address_hash)
    ).all()
    for record in records:
        session.execute(
            update(Community)
            .where(Community.id == record.community_id)
            .values(erased_count=Community.erased_count + 1)
        )
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
    if isinstance(session, Session):
        session.expunge_all()
    return len(ids)


def touch(resident: Resident, when: datetime | None = None) -> None:
    """Record that the resident was in touch."""
    resident.last_inbound_at = when or utcnow()


def count_by_status(session: Session, community_id: int) -> dict[str, int]:
    """How many residents of a community are in each status."""
    rows = session.execute(
        select(Resident.status, func.count())
        .where(Resident.community_id == community_id)
        .group_by(Resident.status)
    ).all()
    return {status: count for status, count in rows}
