"""Profile questions asked after joining, residents' answers, and the groups' counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ProfileQuestion(Base):
    """An optional self-described question a community asks right after someone joins."""

    __tablename__ = "profile_questions"
    __table_args__ = (UniqueConstraint("community_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[dict[str, Any]]  # {"choices": ["North", "South", ...]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileAnswer(Base):
    """A resident's choice for one profile question; None when skipped, unanswered while asked."""

    __tablename__ = "profile_answers"
    __table_args__ = (UniqueConstraint("resident_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("profile_questions.id", ondelete="CASCADE"), index=True
    )
    choice: Mapped[str | None] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class GroupCount(Base):
    """Joined and heard residents of a community (question None) or of one group, as counted.

    Internal: it orders nudges by the groups' heard shares and is never shown, so it keeps the
    exact counts (coverage and the dashboard count live and hide groups under five). Recounted
    by the "group-counts" job every few minutes, and by the sweep when missing or stale.
    """

    __tablename__ = "group_counts"
    __table_args__ = (UniqueConstraint("community_id", "question_id", "choice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("profile_questions.id", ondelete="CASCADE"), index=True
    )
    choice: Mapped[str | None] = mapped_column(String(64))
    joined: Mapped[int] = mapped_column(Integer)
    heard: Mapped[int] = mapped_column(Integer)
    counted_at: Mapped[datetime]
