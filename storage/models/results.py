"""What organisers add for the public results page: "you said, we did" updates, approved quotes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow
from storage.statuses import UpdateStatus


class CampaignUpdate(Base):
    """A "you said, we did" update on a campaign: what was done, when, and how far it has got."""

    __tablename__ = "campaign_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    happened_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=UpdateStatus.DONE)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it also went by SMS/Telegram to everyone who answered (a report-back).
    sent_at: Mapped[datetime | None]


class ApprovedQuote(Base):
    """An answer an organiser approved for the public page; erasing the answer removes it."""

    __tablename__ = "approved_quotes"

    response_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("responses.id", ondelete="CASCADE"),
        primary_key=True,
    )
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
