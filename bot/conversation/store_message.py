"""Storing an inbound message once per provider id, and taking one a failed attempt left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.messages import Inbound, Outbound
from storage.erasures import ErasedMessage
from storage.models import InboundMessage, utcnow

_inbound = InboundMessage.__table__


class Duplicate(Exception):
    """The provider delivered this message before (a retry): it was stored then."""

    def __init__(self, inbound_id: int, processed: bool) -> None:
        super().__init__(f"message {inbound_id} stored before")
        self.inbound_id, self.processed = inbound_id, processed


class Erased(Exception):
    """A replay of a message whose sender was erased: nothing of it may come back."""


@dataclass(frozen=True)
class Message:
    """An inbound message as the store writes it: cleaned, its contact hashed, payload sealed."""

    inbound: Inbound
    address_hash: str
    raw_enc: bytes
    # The keyed hash of its provider id, as erasure keeps it (storage.erasures).
    erased_key: str


@dataclass(frozen=True)
class Applied:
    """What a store wrote: the message's id and the replies with their outbox ids."""

    inbound_id: int
    replies: tuple[Outbound, ...]
    in_answer: bool


_COLUMNS = (
    "channel",
    "provider_id",
    "address_hash",
    "text",
    "raw_enc",
    "received_at",
    "processed_at",
    "resident_id",
    "erased_key",
)


def _insert_inbound(dialect: str) -> Any:
    """INSERT the message unless its provider id was stored before or erased."""
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = select(*(bindparam(name, type_=_inbound.c[name].type) for name in _COLUMNS)).where(
        ~exists().where(ErasedMessage.key == bindparam("erased_key"))
    )
    return (
        maker(_inbound)
        .from_select(list(_COLUMNS), values)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(_inbound.c.id)
    )


INSERT_INBOUND = {name: _insert_inbound(name) for name in ("postgresql", "sqlite")}


def store_message(
    connection: Connection,
    message: Message,
    *,
    processed_at: datetime | None,
    resident_id: int | None = None,
) -> int:
    """Insert the message once; raise Duplicate when its provider id was stored before."""
    inbound = message.inbound
    inbound_id = connection.execute(
        INSERT_INBOUND[connection.dialect.name],
        {
            "channel": inbound.channel,
            "provider_id": inbound.external_id,
            "address_hash": message.address_hash,
            "text": inbound.text,
            "raw_enc": message.raw_enc,
            "received_at": inbound.received_at,
            "processed_at": processed_at,
            "resident_id": resident_id,
            "erased_key": message.erased_key,
        },
    ).scalar()
    if inbound_id is not None:
        return int(inbound_id)
    existing = connection.execute(
        select(_inbound.c.id, _inbound.c.processed_at).where(
            _inbound.c.channel == inbound.channel, _inbound.c.provider_id == inbound.external_id
        )
    ).first()
    if existing is None:
        raise Erased(f"message {inbound.external_id} was erased")
    raise Duplicate(existing.id, existing.processed_at is not None)


def claim(connection: Connection, inbound_id: int, resident_id: int | None) -> bool:
    """Take a message stored by an attempt that failed before processing it."""
    return bool(
        connection.execute(
            update(_inbound)
            .where(_inbound.c.id == inbound_id, _inbound.c.processed_at.is_(None))
            .values(processed_at=utcnow(), resident_id=resident_id)
        ).rowcount
    )
