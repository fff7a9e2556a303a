"""An organiser approves an answer for the public page, or hides it again."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.insights.quotes import may_quote
from storage.models import ApprovedQuote, Campaign
from storage.publishing import results_changed


def approve(session: Session, campaign: Campaign, response_id: int, user_id: int | None) -> None:
    """Show the answer on the public page; LookupError when it may not be quoted."""
    if not may_quote(session, campaign.id, response_id):
        raise LookupError(f"answer {response_id} may not be quoted from this campaign")
    found = select(ApprovedQuote.response_id).where(ApprovedQuote.response_id == response_id)
    if session.scalar(found) is None:
        session.add(
            ApprovedQuote(response_id=response_id, campaign_id=campaign.id, approved_by=user_id)
        )
        results_changed(session, campaign.community_id)


def hide(session: Session, campaign: Campaign, response_id: int) -> None:
    """Take the answer off the public page (hidden is where every answer starts)."""
    gone = session.execute(
        delete(ApprovedQuote).where(
            ApprovedQuote.response_id == response_id, ApprovedQuote.campaign_id == campaign.id
        )
    ).rowcount
    if gone:
        results_changed(session, campaign.community_id)
