"""Claiming outbox rows: which due rows may go now, and which wait, are held or are cancelled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.sending import outbox
from bot.sending.quiet_hours import SendingHours
from storage.db import Database
from storage.models import Community, OutboundMessage, Resident
from storage.statuses import ResidentStatus

# Kinds that answer a message the resident just sent: no quiet hours, no "joined" check.
REPLY_KINDS = frozenset({"reply"})


@dataclass
class Claimed:
    """One claimed row with what is needed to send it."""

    id: int
    resident_id: int
    channel: str
    kind: str
    text: str
    buttons: tuple[str, ...]
    address_enc: str
    attempts: int
    template_sid: str | None = None
    from_number: str | None = None


@dataclass
class _Triage:
    send: list[Claimed] = field(default_factory=list)
    later: dict[int, datetime] = field(default_factory=dict)
    held: list[int] = field(default_factory=list)
    cancelled: dict[int, str] = field(default_factory=dict)


def claim_due(db: Database, channels: tuple[str, ...], limit: int, now: datetime) -> list[Claimed]:
    """Mark up to `limit` due rows 'sending' and commit; skip rows other senders hold."""
    if not channels:
        return []
    message, resident = OutboundMessage, Resident
    due = (
        select(
            message.id,
            message.kind,
            message.channel,
            message.text,
            message.options,
            message.attempts,
            resident.id.label("resident_id"),
            resident.status.label("resident_status"),
            resident.community_id,
            resident.address_enc,
            resident.last_inbound_at,
        )
        .join(Resident, Resident.id == OutboundMessage.resident_id)
        .where(
            OutboundMessage.channel.in_(channels),
            # Failed rows with no next attempt (given up) never pass this: NULL <= now is not
            # true. Written this way, ix_outbound_messages_claim gives the rows in order.
            OutboundMessage.status.in_(outbox.CLAIMABLE_STATUSES),
            OutboundMessage.next_attempt_at <= now,
        )
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(limit)
    )
    if db.is_postgresql:
        due = due.with_for_update(skip_locked=True, of=OutboundMessage)
    with db.session_scope() as session:
        rows = session.execute(due).all()
        triage = _triage(session, rows, now)
        _apply(session, triage, now)
    return triage.send


def _triage(session: Session, rows: list, now: datetime) -> _Triage:
    triage = _Triage()
    communities: dict[int, tuple[SendingHours, Community]] = {}

    def community_of(community_id: int) -> tuple[SendingHours, Community]:
        if community_id not in communities:
            community = session.get(Community, community_id)
            assert community is not None
            communities[community_id] = (SendingHours.of(community), community)
        return communities[community_id]

    for row in rows:
        if row.kind not in REPLY_KINDS:
            if row.resident_status != ResidentStatus.JOINED:
                triage.cancelled[row.id] = f"resident is {row.resident_status}"
                continue
            opens = community_of(row.community_id)[0].next_open(now)
            if opens > now:
                triage.later[row.id] = opens
                continue
        template_sid = None
        if row.channel == "whatsapp" and not _in_window(row.last_inbound_at, now):
            if row.kind == "prompt":
                template_sid = community_of(row.community_id)[1].whatsapp_content_sid
            if template_sid is None:
                triage.held.append(row.id)
                continue
        triage.send.append(
            Claimed(
                id=row.id,
                resident_id=row.resident_id,
                channel=row.channel,
                kind=row.kind,
                text=row.text,
                buttons=tuple((row.options or {}).get("buttons", ())),
                address_enc=row.address_enc,
                attempts=row.attempts,
                template_sid=template_sid,
                # SMS and calls leave from the number the community's residents text, if it has one.
                from_number=community_of(row.community_id)[1].sms_number
                if row.channel in ("sms", "voice")
                else None,
            )
        )
    return triage


def _apply(session: Session, triage: _Triage, now: datetime) -> None:
    outbox.claim(session, [item.id for item in triage.send], now)
    for row_id, opens in triage.later.items():
        outbox.defer(session, row_id, opens)
    # WhatsApp allows free text only within 24 hours of the resident's last message:
    # wait until they write (the housekeeping job queues these again).
    outbox.hold(session, triage.held)
    for row_id, reason in triage.cancelled.items():
        outbox.cancel(session, row_id, reason)


def _in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    return last_inbound_at is not None and now - last_inbound_at <= outbox.WHATSAPP_WINDOW
