"""The status values stored in the database, one enum per table; members equal the stored text.

In `literal()` give the type, `literal(OutboxStatus.QUEUED, String)`: SQLAlchemy infers no type
for a member (NullType), as it does VARCHAR for a plain string.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an outbound message is: waiting, on its way, at the resident, or stopped."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    HELD = "held"
    CANCELLED = "cancelled"
    # Twilio's own words, which its status callbacks may store verbatim.
    # https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    CANCELED = "canceled"


class AssignmentStatus(StrEnum):
    """A prompt put to a resident: waiting for an answer, answered, given up on by nudges, or
    passed over because an earlier answer branched around it (never asked)."""

    PENDING = "pending"
    ANSWERED = "answered"
    STALLED = "stalled"
    SKIPPED = "skipped"


class ResidentStatus(StrEnum):
    """Whether a resident has joined, and whether we may still write to them."""

    INVITED = "invited"
    JOINED = "joined"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"


class CampaignStatus(StrEnum):
    """A campaign waiting for its start, running, or closed by an organiser."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    CLOSED = "closed"


class UpdateStatus(StrEnum):
    """How far a "you said, we did" update has got."""

    PLANNED = "planned"
    DOING = "doing"
    DONE = "done"
