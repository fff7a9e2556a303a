"""How far a campaign has got: the one funnel the community page, the campaign page and
`voices campaign list` show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from bot.insights.coverage import overall
from storage.models import Assignment, Campaign, OutboundMessage
from storage.statuses import OutboxStatus

# Outbox statuses of a prompt message, by where it is in the funnel. "undelivered" left us and
# then failed, so it counts in both.
WAITING = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.HELD)
LEFT_US = (
    OutboxStatus.SENT,
    OutboxStatus.ACCEPTED,
    OutboxStatus.DELIVERED,
    OutboxStatus.READ,
    OutboxStatus.UNDELIVERED,
)
DELIVERED = (OutboxStatus.DELIVERED, OutboxStatus.READ)
FAILED = (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)


@dataclass(frozen=True)
class Funnel:
    """One campaign's prompts: asked, their messages by state, answered and stalled."""

    campaign: Campaign
    asked: int
    waiting: int
    sent: int
    delivered: int
    failed: int
    answered: int
    stalled: int
    residents_answered: int
    joined: int

    @property
    def heard_percent(self) -> int:
        """Residents who answered this campaign, as a share of the community's joined residents."""
        return round(100 * self.residents_answered / self.joined) if self.joined else 0


def funnel(session: Session, campaign: Campaign) -> Funnel:
    """Count one campaign's funnel from its assignments (which outlive retention) and messages."""
    by_status = dict(
        session.execute(
            select(Assignment.status, func.count())
            .where(Assignment.campaign_id == campaign.id)
            .group_by(Assignment.status)
        ).all()
    )
    residents_answered = session.scalar(
        select(func.count(distinct(Assignment.resident_id))).where(
            Assignment.campaign_id == campaign.id, Assignment.status == "answered"
        )
    )
    # A failed message with another attempt planned is still on its way.
    retrying = and_(
        OutboundMessage.status == "failed", OutboundMessage.next_attempt_at.is_not(None)
    )
    messages = session.execute(
        select(OutboundMessage.status, retrying, func.count())
        .where(OutboundMessage.campaign_id == campaign.id, OutboundMessage.kind == "prompt")
        .group_by(OutboundMessage.status, retrying)
    ).all()

    def count(statuses: tuple[str, ...], again: bool = False) -> int:
        return sum(
            n for status, retry, n in messages if status in statuses and bool(retry) == again
        )

    return Funnel(
        campaign=campaign,
        # A prompt a branch passed over was never put to the resident.
        asked=sum(n for status, n in by_status.items() if status != "skipped"),
        waiting=count(WAITING) + count(("failed",), again=True),
        sent=count(LEFT_US),
        delivered=count(DELIVERED),
        failed=count(FAILED),
        answered=by_status.get("answered", 0),
        stalled=by_status.get("stalled", 0),
        residents_answered=residents_answered or 0,
        joined=overall(session, campaign.community_id).joined,
    )
