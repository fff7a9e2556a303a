"""A community: the place whose residents we want to hear from, and its settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

DEFAULT_QUIET_HOURS = ("20:00", "09:00")


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
    # Safeguarding: young people's communities ask an age band before joining.
    young_people: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    safeguarding_lead_channel: Mapped[str | None] = mapped_column(String(16))
    safeguarding_lead_enc: Mapped[str | None] = mapped_column(Text)
    safeguarding_words: Mapped[list[str] | None] = mapped_column(JSON)
    help_contacts: Mapped[str | None] = mapped_column(Text)
    # Nudges: silence before a check-in, and the least time between two nudges.
    checkin_after_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    nudge_gap_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # The public results page (/results/SLUG) shows only when an organiser publishes it.
    results_published: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Moved on by anything that changes the public page, so every worker's cache sees it.
    results_version: Mapped[int] = mapped_column(Integer, server_default="0")
