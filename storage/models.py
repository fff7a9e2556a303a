"""Typed SQLAlchemy models: communities, residents, campaigns, messages and responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.statuses import AssignmentStatus, CampaignStatus, OutboxStatus, ResidentStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


DEFAULT_QUIET_HOURS = ("20:00", "09:00")


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, hand back aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        bytes: LargeBinary,
    }


class Community(Base):
    """A place whose residents we want to hear from."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    keyword: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    # No column default: None means "no quiet hours" and must stay None (a default would
    # replace it). Creators pass DEFAULT_QUIET_HOURS explicitly.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    sms_number: Mapped[str | None] = mapped_column(String(64))
    # An approved WhatsApp template (Twilio Content SID) for prompts outside the 24-hour window.
    whatsapp_content_sid: Mapped[str | None] = mapped_column(String(64))
    erased_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Safeguarding (issue 6): young people's communities ask an age band before joining.
    young_people: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    safeguarding_lead_channel: Mapped[str | None] = mapped_column(String(16))
    safeguarding_lead_enc: Mapped[str | None] = mapped_column(Text)
    safeguarding_words: Mapped[list[str] | None] = mapped_column(JSON)
    help_contacts: Mapped[str | None] = mapped_column(Text)
    # Nudges (issue 4): silence before a check-in, and the least time between two nudges.
    checkin_after_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    nudge_gap_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")


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
    # Safeguarding (issue 6): the question a whole-message answer is awaited for, if any.
    consent_question: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(8))
    quotes_asked_at: Mapped[datetime | None]
    # Nudges (issue 4): when the latest nudge or check-in goes out, and the latest check-in.
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
    # both parents for each row was a third of its time. Prompts and campaigns are never
    # deleted; a resident's rows still go with the resident (erasure).
    prompt_id: Mapped[int] = mapped_column(Integer)
    # Lookups by campaign use ix_assignments_campaign_status_assigned, which starts with it.
    campaign_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.PENDING)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    nudges_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_nudged_at: Mapped[datetime | None]
    # The language the prompt was asked in (storage.languages.asked_language), kept so exports
    # show the text the resident saw instead of choosing it again.
    language: Mapped[str | None] = mapped_column(String(16))

    prompt: Mapped[Prompt] = relationship(primaryjoin="foreign(Assignment.prompt_id) == Prompt.id")


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
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Matched a safeguarding warning phrase: left out of routine exports.
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
        # The sender's claim, in its order: without it every claim sorted the whole queue.
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
    # writes one row per resident, and checking three parents for each was most of its time.
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


# -- organiser and staff logins (issue 5) -----------------------------------------------------


class User(Base):
    """A web login for an organiser, staff member or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Sessions carry the version they were opened under; logging out moves it on, ending them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")


class UserCommunity(Base):
    """A community a user may see."""

    __tablename__ = "user_communities"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )


class LoginFailure(Base):
    """A failed login, kept a short while to slow down password guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_lookup", "email", "ip", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportRecord(Base):
    """Who exported which responses of which community, when, with which filters."""

    __tablename__ = "export_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_email: Mapped[str] = mapped_column(String(254))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafeguardingAlert(Base):
    """A message that matched a warning phrase, waiting for the community's designated lead."""

    __tablename__ = "safeguarding_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    response_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("responses.id", ondelete="CASCADE"),
        index=True,
    )
    inbound_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("inbound_messages.id", ondelete="CASCADE"),
        index=True,
    )
    categories: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))


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


class WorkerProcess(Base):
    """A running `voices worker` (or `voices serve`), seen by its heartbeat.

    The providers' rate limits are for the whole deployment, so each live worker paces itself to
    its share of them (bot/presence.py).
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
