"""The contract every channel adapter keeps: turn provider payloads into Inbound, send Outbound."""

from __future__ import annotations

from typing import Protocol

from bot.messages import Outbound


class SendError(Exception):
    """A message could not be sent."""


class TransientSendError(SendError):
    """Try again later: rate limits, provider hiccups, network trouble."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Do not retry; `resident_status` says what it means for the resident (None: nothing)."""

    def __init__(self, message: str, resident_status: str | None = "unreachable") -> None:
        super().__init__(message)
        self.resident_status = resident_status


class Sender(Protocol):
    """Sends one message and returns the provider's id for it."""

    channel: str

    def send(self, outbound: Outbound) -> str | None: ...
