"""The two shapes every channel speaks: what a resident sent, and what we send back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CHANNELS = ("sms", "whatsapp", "telegram", "voice", "simulator")


@dataclass(frozen=True)
class Inbound:
    """One message from a resident, as any channel hands it to the engine."""

    channel: str
    address: str
    text: str
    external_id: str
    received_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    media: tuple[str, ...] = ()
    to: str | None = None
    # A phone call's answer: the recogniser's confidence in `text`, or the RecordingSid of
    # the recording kept when nothing was recognised.
    confidence: float | None = None
    recording: str | None = None


@dataclass(frozen=True)
class Outbound:
    """One message to a resident; `buttons` become quick replies where the channel has them."""

    channel: str
    address: str
    text: str
    kind: str = "reply"
    buttons: tuple[str, ...] = ()
    resident_id: int | None = None
    outbox_id: int | None = None
    campaign_id: int | None = None
    prompt_id: int | None = None
