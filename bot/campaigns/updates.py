""" "You said, we did": the updates organisers write for the public page, and what a report-back
records there. Every change moves the page's version on, so its caches show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from storage.models import Campaign, CampaignUpdate
from storage.publishing import results_changed
from storage.statuses import UpdateStatus

MAX_UPDATE_CHARS = 1000
STATUSES = tuple(status.value for status in UpdateStatus)


class UpdateError(ValueError):
    """An update that cannot be saved; the message says why in one sentence."""


@dataclass(frozen=True)
class UpdateDraft:
    """What an organiser typed for an update."""

    text: str
    happened_on: date
    status: str


def checked(draft: UpdateDraft) -> UpdateDraft:
    """The draft with its text tidied, or UpdateError saying what to fix."""
    text = draft.text.strip()
    if not text:
        raise UpdateError("the update is empty; say what was done with what you heard")
    if len(text) > MAX_UPDATE_CHARS:
        raise UpdateError(
            f"the update is {len(text)} characters; keep it within {MAX_UPDATE_CHARS}"
        )
    if draft.status not in STATUSES:
        raise UpdateError(f"the status must be one of {', '.join(STATUSES)}")
    return UpdateDraft(text, draft.happened_on, draft.status)


def add_update(
    session: Session,
    campaign: Campaign,
    draft: UpdateDraft,
    author_id: int | None,
    sent_at: datetime | None = None,
) -> CampaignUpdate:
    """Record an update on the campaign (flushed, so it has its id)."""
    good = checked(draft)
    row = CampaignUpdate(
        community_id=campaign.community_id,
        campaign_id=campaign.id,
        text=good.text,
        happened_on=good.happened_on,
        status=good.status,
        author_id=author_id,
        sent_at=sent_at,
    )
    session.add(row)
    session.flush()
    results_changed(session, campaign.community_id)
    return row


def edit_update(session: Session, campaign: Campaign, update_id: int, draft: UpdateDraft) -> None:
    """Change an update's text, date or status; LookupError when it is not this campaign's."""
    row = _update_of(session, campaign, update_id)
    good = checked(draft)
    row.text, row.happened_on, row.status = good.text, good.happened_on, good.status
    results_changed(session, campaign.community_id)


def delete_update(session: Session, campaign: Campaign, update_id: int) -> None:
    """Remove an update from the page; LookupError when it is not this campaign's."""
    session.delete(_update_of(session, campaign, update_id))
    results_changed(session, campaign.community_id)


def _update_of(session: Session, campaign: Campaign, update_id: int) -> CampaignUpdate:
    row = session.get(CampaignUpdate, update_id)
    if row is None or row.campaign_id != campaign.id:
        raise LookupError(f"update {update_id} is not one of this campaign's")
    return row
