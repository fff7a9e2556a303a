"""What erasure keeps: a keyed hash of each erased message's provider id, and nothing else.

A provider retry, or a replay of a request captured before the erasure, is then recognised as
a message seen before and stores nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, InboundMessage, utcnow

# Finding a contact's messages (erasure, the reply limit) without reading every message.
Index(
    "ix_inbound_messages_address_received",
    InboundMessage.address_hash,
    InboundMessage.received_at,
)


class ErasedMessage(Base):
    """The keyed hash of an erased message's channel and provider id."""

    __tablename__ = "erased_messages"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
