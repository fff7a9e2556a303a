"""The running workers, seen by their heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class WorkerProcess(Base):
    """A running `voices worker` (or `voices serve`), seen by its heartbeat.

    The providers' rate limits are for the whole deployment, so each live worker paces itself to
    its share of them (bot/sending/presence.py).
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
