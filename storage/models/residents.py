"""Residents, the consents they gave, and the index the nudge sweep reads them by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow
from storage.models.communities import Community
from storage.statuses import ResidentStatus


class Resident(Base):
    """One person in one community on one channel; staff only ever see the pseudonym."""

    __tablename__ = "residents"
    __table_args__ = (
        UniqueConstraint("community_id", "address_hash"),
        Index("ix_residents_community_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address_enc: Mapped[str] = mapped_column(Text)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ResidentStatus.INVITED)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    last_heard_at: Mapped[datetime | None]
    delete_requested_at: Mapped[datetime | None]
    # Safeguarding: the question a whole-message answer is awaited for, if any.
    consent_question: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(8))
    quotes_asked_at: Mapped[datetime | None]
    # Nudges: when the latest nudge or check-in goes out, and the latest check-in.
    last_nudged_at: Mapped[datetime | None]
    last_checkin_at: Mapped[datetime | None]

    community: Mapped[Community] = relationship()


# Joined residents owed a check-in once they have been silent long enough (never checked in,
# or heard since their last check-in), by how long they have been silent: the nudge sweep's
# due check-ins are a range scan of it. SQLite cannot reflect an expression index, so the
# migrations-match-models comparison leaves it out there and tests check it directly
# (storage.db.EXPRESSION_INDEXES).
CHECKIN_DUE_WHERE = (
    "last_checkin_at IS NULL OR last_checkin_at < coalesce(last_heard_at, joined_at)"
)
Index(
    "ix_residents_checkin_due",
    Resident.community_id,
    Resident.status,
    func.coalesce(Resident.last_heard_at, Resident.joined_at),
    postgresql_where=text(CHECKIN_DUE_WHERE),
    sqlite_where=text(CHECKIN_DUE_WHERE),
)


class Consent(Base):
    """What a resident agreed to, when, on which channel, in which exact words."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    wording: Mapped[str] = mapped_column(Text)
    wording_version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
