"""The campaigns a community's pages list (the figures they show are in bot/insights)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Campaign
from storage.statuses import CampaignStatus


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
