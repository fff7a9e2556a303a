"""Messages in and out, and the responses residents' words are kept as."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow
from storage.statuses import OutboxStatus


class InboundMessage(Base):
    """A message as the provider delivered it, stored once per provider id."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "provider_id", name="uq_inbound_provider"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    raw_enc: Mapped[bytes | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    # The keyed hash of the provider id that erasure keeps (storage.erasures); NULL before 0016.
    erased_key: Mapped[str | None] = mapped_column(String(64))


class Response(Base):
    """A resident's words, verbatim: an answer to a prompt, or an open response."""

    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_community_received", "community_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), unique=True
    )
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    prompt_id: Mapped[int | None] = mapped_column(ForeignKey("prompts.id", ondelete="SET NULL"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # A closed question's matched choice (file's default language) or scale value; else None.
    choice: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Matched a safeguarding warning phrase: left out of routine exports.
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Answers by phone call: the speech recogniser's confidence (0-1) in `text`, and the
    # RecordingSid of the call recording kept when no speech was recognised.
    confidence: Mapped[float | None] = mapped_column(Float)
    recording: Mapped[str | None] = mapped_column(String(64))


class OutboundMessage(Base):
    """A message to a resident: a reply, a prompt, a nudge or a report-back."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        # Rows a job looks for by status alone: left 'sending' by a dead sender, or 'held'.
        Index(
            "ix_outbound_messages_waiting",
            "status",
            "claimed_at",
            sqlite_where=text("status IN ('sending', 'held')"),
            postgresql_where=text("status IN ('sending', 'held')"),
        ),
        # The sender's claim, in its order: without it every claim sorts the whole queue.
        Index(
            "ix_outbound_messages_claim",
            "next_attempt_at",
            "id",
            sqlite_where=text("status IN ('queued', 'failed')"),
            postgresql_where=text("status IN ('queued', 'failed')"),
        ),
        # Only rows that have one are looked up by these: a launch's rows add nothing to them.
        Index(
            "ix_outbound_messages_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
        Index(
            "ix_outbound_messages_in_reply_to_id",
            "in_reply_to_id",
            sqlite_where=text("in_reply_to_id IS NOT NULL"),
            postgresql_where=text("in_reply_to_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # community, campaign and prompt are for reporting and carry no foreign keys: a launch
    # writes one row per resident, and checking three parents for each would be most of its time.
    # None of them is ever deleted; a resident's rows still go with the resident (erasure).
    community_id: Mapped[int | None] = mapped_column(Integer)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    prompt_id: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
