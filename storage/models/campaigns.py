"""Campaigns, their prompts, and the prompts put to each resident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow
from storage.models.communities import Community
from storage.statuses import AssignmentStatus, CampaignStatus


class Campaign(Base):
    """A set of prompts loaded from a prompt file and run in one community."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("community_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.ACTIVE)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    fanned_out_at: Mapped[datetime | None]
    nudge_after_seconds: Mapped[int | None]
    nudge_max: Mapped[int] = mapped_column(Integer, default=0)
    nudge_text: Mapped[dict[str, Any] | None]
    thanks: Mapped[dict[str, Any] | None]
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Community] = relationship()
    prompts: Mapped[list[Prompt]] = relationship(
        back_populates="campaign", order_by="Prompt.position", cascade="all, delete-orphan"
    )


class Prompt(Base):
    """One question of a campaign, its text per language."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(64))
    text: Mapped[dict[str, Any]]
    # A closed question's choices or scale (bot.conversation.choices.QuestionForm); None: open.
    form: Mapped[dict[str, Any] | None]
    # Where each answer leads: {choice or scale value: prompt key or "end"}, "*" for any answer.
    branches: Mapped[dict[str, Any] | None]

    campaign: Mapped[Campaign] = relationship(back_populates="prompts")


class Assignment(Base):
    """A prompt put to a resident: pending until answered; at most one pending per resident."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("resident_id", "prompt_id"),
        Index("ix_assignments_campaign_status_assigned", "campaign_id", "status", "assigned_at"),
        Index(
            "uq_assignments_one_pending",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    # No foreign keys on prompt and campaign: a launch writes one row per resident, and checking
    # both parents for each row would cost a third of its time. Prompts and campaigns are never
    # deleted; a resident's rows still go with the resident (erasure).
    prompt_id: Mapped[int] = mapped_column(Integer)
    # Lookups by campaign use ix_assignments_campaign_status_assigned, which starts with it.
    campaign_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.PENDING)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    nudges_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Answers to a closed question that matched no choice; the second one moves on.
    unmatched_answers: Mapped[int] = mapped_column(Integer, server_default="0")
    last_nudged_at: Mapped[datetime | None]
    # The language the prompt was asked in (storage.languages.asked_language), kept so exports
    # show the text the resident saw instead of choosing it again.
    language: Mapped[str | None] = mapped_column(String(16))

    prompt: Mapped[Prompt] = relationship(primaryjoin="foreign(Assignment.prompt_id) == Prompt.id")
