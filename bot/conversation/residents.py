"""Erasing a contact: every record, response and message of theirs, nothing left to restore."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.erasures import ErasedMessage
from storage.models import Community, InboundMessage, Resident, utcnow

# What an erased message's tombstone keeps instead of its sender's hash.
ERASED_HASH = "erased"


def erase_contact(
    session: Session | Connection,
    address_hash: str,
    keep_inbound_id: int | None,
    message_key: Callable[[str, str], str] | None = None,
) -> int:
    """Erase every resident record, response and message of one contact; return how many records.

    With `message_key`, each erased message leaves only the keyed hash of its provider id, so a
    replay of it is known as a message seen before.
    """
    records = session.execute(
        select(Resident.id, Resident.community_id).where(Resident.address_hash == address_hash)
    ).all()
    if message_key is not None:
        _keep_message_keys(session, address_hash, message_key)
    if keep_inbound_id is not None:
        # The message that asked for erasure stays only as an empty tombstone, so a provider
        # retry of it is recognised as a duplicate instead of being processed again.
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == keep_inbound_id)
            .values(text="", raw_enc=None, address_hash=ERASED_HASH, resident_id=None)
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


def _message_keys(
    session: Session | Connection, address_hash: str, message_key: Callable[[str, str], str]
) -> set[str]:
    """The keyed hashes of the provider ids of every message this contact sent."""
    sent = session.execute(
        select(InboundMessage.erased_key, InboundMessage.channel, InboundMessage.provider_id).where(
            InboundMessage.address_hash == address_hash
        )
    ).all()
    # Messages stored before 0016 have no key on their row: the vault makes it now.
    return {key or message_key(channel, provider_id) for key, channel, provider_id in sent}


def _keep_message_keys(
    session: Session | Connection, address_hash: str, message_key: Callable[[str, str], str]
) -> None:
    keys = _message_keys(session, address_hash, message_key)
    if not keys:
        return
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else None
    dialect = dialect or session.dialect.name  # type: ignore[union-attr]
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        maker(ErasedMessage.__table__).on_conflict_do_nothing(),
        [{"key": key, "erased_at": utcnow()} for key in sorted(keys)],
    )
