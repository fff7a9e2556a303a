"""Closing the loop: "you said, we did" to those who answered (how far a campaign has got is
bot/insights/funnel.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import String, func, literal, select
from sqlalchemy.orm import Session

from bot.sending.outbox import report_back_key_sql
from bot.sending.quiet_hours import SendingHours
from bot.texts import sms_segments
from storage.db import insert_missing
from storage.models import Campaign, Community, OutboundMessage, Resident, Response, utcnow
from storage.statuses import OutboxStatus, ResidentStatus

MAX_REPORT_BACK_SEGMENTS = 2


class ReportBackError(ValueError):
    """A report-back that cannot be sent; the message says why in one sentence."""


def with_link(body: str, link: str | None) -> str:
    """The text residents get: the update, then the results page's link when it is published."""
    return f"{body} {link}" if link else body


def check_report_back_text(text: str, link: str | None = None) -> str:
    """The stripped text, or ReportBackError when it is empty or, with the results page's link
    after it, longer than two SMS segments."""
    body = text.strip()
    if not body:
        raise ReportBackError("the report-back text is empty; say what you did with what you heard")
    segments, encoding = sms_segments(with_link(body, link))
    if segments > MAX_REPORT_BACK_SEGMENTS:
        limit = (306 if encoding == "GSM-7" else 134) - (len(link) + 1 if link else 0)
        room = "; the results page's link takes the rest" if link else ""
        raise ReportBackError(
            f"the report-back text is {len(body)} characters, {segments} SMS segments; "
            f"keep it within {limit} characters ({MAX_REPORT_BACK_SEGMENTS} segments{room})"
        )
    return body


def reported_back_at(session: Session, campaign: Campaign) -> datetime | None:
    """When the campaign's first "you said, we did" was queued, if it has been."""
    return session.scalar(
        select(func.min(OutboundMessage.created_at)).where(
            OutboundMessage.campaign_id == campaign.id, OutboundMessage.kind == "report_back"
        )
    )


def report_back(session: Session, campaign: Campaign, text: str, link: str | None = None) -> int:
    """Queue "you said, we did" to everyone who answered the campaign and is still joined,
    ending with `link` (the results page) when given.

    Returns how many were queued; running it again with the same text queues nothing twice.
    """
    body = with_link(check_report_back_text(text, link), link)
    community = session.get(Community, campaign.community_id)
    assert community is not None
    now = utcnow()
    send_at = SendingHours.of(community).next_open(now)
    version = f"{abs(hash_text(body)):x}"
    answered = select(Response.resident_id).where(Response.campaign_id == campaign.id)
    columns = OutboundMessage.__table__.c
    rows = select(
        literal(campaign.community_id),
        Resident.id,
        Resident.channel,
        literal("report_back"),
        literal(body),
        literal(OutboxStatus.QUEUED, String),
        report_back_key_sql(campaign.id, version, Resident.id),
        literal(campaign.id),
        literal(0),
        literal(send_at, type_=columns.next_attempt_at.type),
        literal(now, type_=columns.created_at.type),
    ).where(
        Resident.community_id == campaign.community_id,
        Resident.status == ResidentStatus.JOINED,
        Resident.id.in_(answered),
    )
    return insert_missing(
        session,
        OutboundMessage,
        [
            "community_id",
            "resident_id",
            "channel",
            "kind",
            "text",
            "status",
            "dedupe_key",
            "campaign_id",
            "attempts",
            "next_attempt_at",
            "created_at",
        ],
        rows,
    )


def hash_text(body: str) -> int:
    """A stable short fingerprint of a text (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(body.encode()).digest()[:6], "big")
