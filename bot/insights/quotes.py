"""Which answers may be quoted on the public page: one definition for the organiser's list and
the page. Only answers from residents whose consent to be quoted stands, never a safeguarding
message, always redacted (storage.themes.quotable)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from bot.conversation.consent import QUOTES
from storage.models import ApprovedQuote, Consent, Response
from storage.themes import quotable

# The organiser's list shows this many answers at most, approved ones first.
CANDIDATES_SHOWN = 60


@dataclass(frozen=True)
class Quote:
    """An answer as it may be shown publicly: redacted, with no link to who said it."""

    response_id: int
    text: str
    approved: bool


def _consents_to_quotes() -> object:
    return exists().where(
        Consent.resident_id == Response.resident_id,
        Consent.purpose == QUOTES,
        Consent.withdrawn_at.is_(None),
    )


def quotable_answers(campaign_id: int) -> Select[tuple[int, str, bool]]:
    """The campaign's answers whose resident agreed to be quoted, approved ones first."""
    approved = exists().where(ApprovedQuote.response_id == Response.id)
    return (
        select(Response.id, Response.text, approved.label("approved"))
        .where(
            Response.campaign_id == campaign_id,
            Response.safeguarding.is_(False),
            _consents_to_quotes(),  # type: ignore[arg-type]
        )
        .order_by(approved.desc(), Response.id.desc())
    )


def candidates(session: Session, campaign_id: int) -> list[Quote]:
    """Answers an organiser may approve for the page, as the page would show them."""
    rows = session.execute(quotable_answers(campaign_id).limit(CANDIDATES_SHOWN))
    return [
        Quote(response_id, shown, bool(approved))
        for response_id, text, approved in rows
        if (shown := quotable(text or "")) is not None
    ]


def approved_quotes(session: Session, campaign_id: int) -> list[Quote]:
    """The approved quotes the page shows, oldest approval first; consent withdrawn hides one."""
    rows = session.execute(
        select(Response.id, Response.text)
        .join(ApprovedQuote, ApprovedQuote.response_id == Response.id)
        .where(
            Response.campaign_id == campaign_id,
            Response.safeguarding.is_(False),
            _consents_to_quotes(),  # type: ignore[arg-type]
        )
        .order_by(ApprovedQuote.approved_at, Response.id)
    )
    return [
        Quote(response_id, shown, True)
        for response_id, text in rows
        if (shown := quotable(text or "")) is not None
    ]


def may_quote(session: Session, campaign_id: int, response_id: int) -> bool:
    """Whether this answer belongs to the campaign and its resident agreed to be quoted."""
    found = session.scalar(
        select(Response.id).where(
            Response.id == response_id,
            Response.campaign_id == campaign_id,
            Response.safeguarding.is_(False),
            _consents_to_quotes(),  # type: ignore[arg-type]
        )
    )
    return found is not None
