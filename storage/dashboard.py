"""What the community page shows: who joined, who was heard, replies per day, campaign funnels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Assignment,
    Campaign,
    Community,
    OutboundMessage,
    Resident,
    Response,
    utcnow,
)
from storage.statuses import AssignmentStatus, CampaignStatus, OutboxStatus, ResidentStatus

CHART_DAYS = 30


@dataclass(frozen=True)
class Coverage:
    """Joined residents, and how many of them have said something."""

    joined: int
    heard: int

    @property
    def unheard(self) -> int:
        return self.joined - self.heard

    @property
    def heard_percent(self) -> int:
        return round(100 * self.heard / self.joined) if self.joined else 0


@dataclass
class Funnel:
    """How far a campaign has got: asked, message statuses as recorded, answered, stalled."""

    campaign: Campaign
    asked: int = 0
    answered: int = 0
    stalled: int = 0
    message_statuses: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        """Campaign messages that have left us (whatever happened to them after)."""
        left = (
            OutboxStatus.SENT,
            OutboxStatus.DELIVERED,
            OutboxStatus.UNDELIVERED,
            OutboxStatus.READ,
        )
        return sum(self.message_statuses.get(status, 0) for status in left)

    @property
    def delivered(self) -> int:
        """Campaign messages the provider says reached the phone."""
        return sum(
            self.message_statuses.get(status, 0)
            for status in (OutboxStatus.DELIVERED, OutboxStatus.READ)
        )

    @property
    def waiting(self) -> int:
        """Campaign messages still to go out (queued, or being sent now)."""
        return sum(
            self.message_statuses.get(status, 0)
            for status in (OutboxStatus.QUEUED, OutboxStatus.SENDING)
        )

    @property
    def failed(self) -> int:
        """Campaign messages that could not be delivered."""
        return sum(
            self.message_statuses.get(status, 0)
            for status in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)
        )


def coverage(session: Session, community_id: int) -> Coverage:
    """Joined residents and how many of them have answered at least once."""
    joined = session.scalar(
        select(func.count()).where(
            Resident.community_id == community_id, Resident.status == ResidentStatus.JOINED
        )
    )
    heard = session.scalar(
        select(func.count(func.distinct(Response.resident_id)))
        .join(Resident, Resident.id == Response.resident_id)
        .where(Response.community_id == community_id, Resident.status == ResidentStatus.JOINED)
    )
    return Coverage(joined or 0, heard or 0)


def replies_per_day(
    session: Session, community: Community, days: int = CHART_DAYS
) -> list[tuple[date, int]]:
    """Responses per local day over the last `days` days, oldest first, empty days included."""
    zone = ZoneInfo(community.timezone)
    today = utcnow().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    counts = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
    since = utcnow() - timedelta(days=days + 1)
    received = session.execute(
        select(Response.received_at)
        .where(Response.community_id == community.id, Response.received_at >= since)
        .execution_options(yield_per=2000)
    ).scalars()
    for at in received:
        day = at.astimezone(zone).date()
        if day in counts:
            counts[day] += 1
    return sorted(counts.items())


def funnel(session: Session, campaign: Campaign) -> Funnel:
    """Count what has happened in one campaign from the rows that record it."""
    result = Funnel(campaign)
    by_status = dict(
        session.execute(
            select(Assignment.status, func.count())
            .where(Assignment.campaign_id == campaign.id)
            .group_by(Assignment.status)
        ).all()
    )
    result.asked = sum(by_status.values())
    result.answered = by_status.get(AssignmentStatus.ANSWERED, 0)
    result.stalled = by_status.get(AssignmentStatus.STALLED, 0)
    result.message_statuses = dict(
        session.execute(
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.campaign_id == campaign.id)
            .group_by(OutboundMessage.status)
            .order_by(OutboundMessage.status)
        ).all()
    )
    return result


def campaigns(session: Session, community_id: int) -> list[Campaign]:
    """A community's campaigns, newest first."""
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.community_id == community_id)
            .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
        )
    )


def active_campaigns(session: Session, community_id: int) -> list[Campaign]:
    """Campaigns running or waiting to start."""
    return [
        c
        for c in campaigns(session, community_id)
        if c.status in (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)
    ]
