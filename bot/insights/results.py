"""What a community's public results page shows, built once per cache fill from the database.

Privacy first: a campaign answered by fewer than SMALL_GROUP residents shows neither its count
nor its themes and quotes; a theme held by fewer than SMALL_GROUP residents is folded away; only
approved quotes appear (bot.insights.quotes), redacted, with nothing that links to a resident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.conversation.choices import QuestionForm
from bot.insights.quotes import approved_quotes
from bot.insights.tallies import QuestionTally, tallies
from storage.models import Campaign, CampaignUpdate, Community, Prompt, Response
from storage.small_groups import SMALL_GROUP
from storage.statuses import CampaignStatus
from storage.themes import ThemeFilter, find_themes, select_answers

# The most recent campaigns the page shows; older ones stay in the organisers' pages.
CAMPAIGNS_SHOWN = 12


@dataclass(frozen=True)
class ThemeShown:
    """A theme held by enough residents to show, with the approved quotes that fall in it."""

    label: str
    residents: int
    quotes: list[str]


@dataclass(frozen=True)
class UpdateShown:
    """A "you said, we did" update as the page shows it."""

    text: str
    happened_on: date
    status: str


@dataclass(frozen=True)
class ChoiceShown:
    """A closed question's answer held by enough residents to show: its key, count and share."""

    key: str
    count: int
    percent: int


@dataclass(frozen=True)
class QuestionResults:
    """One question: its text in every language, the themes of its answers, and for a closed
    question the answers held by at least SMALL_GROUP residents (the rest folded away)."""

    key: str
    texts: dict[str, Any]
    themes: list[ThemeShown] = field(default_factory=list)
    form: QuestionForm | None = None
    choices: list[ChoiceShown] = field(default_factory=list)
    answered: int = 0


@dataclass(frozen=True)
class CampaignResults:
    """One campaign's section of the page; texts keep every language for the visitor to pick."""

    campaign_id: int
    slug: str
    title: str
    status: str
    default_language: str
    started: datetime
    closed: datetime | None
    questions: list[QuestionResults]
    # None when fewer than SMALL_GROUP residents answered: the page says "fewer than 5".
    answered: int | None
    # Approved quotes in no theme shown (their theme folded away, or none).
    other_quotes: list[str] = field(default_factory=list)
    updates: list[UpdateShown] = field(default_factory=list)


@dataclass(frozen=True)
class ResultsPage:
    """Everything the public page shows for one community."""

    slug: str
    name: str
    languages: list[str]
    campaigns: list[CampaignResults]


def results_page(session: Session, community: Community) -> ResultsPage:
    """The page's content for a community (published or not: the caller decides)."""
    shown = session.scalars(
        select(Campaign)
        .where(
            Campaign.community_id == community.id,
            Campaign.status.in_([CampaignStatus.ACTIVE, CampaignStatus.CLOSED]),
        )
        .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
        .limit(CAMPAIGNS_SHOWN)
    ).all()
    sections = [_campaign_results(session, campaign) for campaign in shown]
    return ResultsPage(community.slug, community.name, _languages(sections), sections)


def _languages(sections: list[CampaignResults]) -> list[str]:
    """Every language the campaigns' questions are written in, the first default first."""
    found: dict[str, None] = {}
    for section in sections:
        found.setdefault(section.default_language)
        for question in section.questions:
            for key in question.texts:
                found.setdefault(key)
    return list(found)


def _campaign_results(session: Session, campaign: Campaign) -> CampaignResults:
    answered = _residents_answered(session, campaign.id)
    enough = answered >= SMALL_GROUP
    quotes = (
        {q.response_id: q.text for q in approved_quotes(session, campaign.id)} if enough else {}
    )
    tallied = {tally.prompt_key: tally for tally in tallies(session, campaign)} if enough else {}
    questions = [
        _question(session, campaign, prompt, quotes, tallied.get(prompt.key), enough)
        for prompt in campaign.prompts
    ]
    return CampaignResults(
        campaign_id=campaign.id,
        slug=campaign.slug,
        title=campaign.title,
        status=campaign.status,
        default_language=campaign.language,
        started=campaign.starts_at,
        closed=campaign.closed_at,
        questions=questions,
        answered=answered if enough else None,
        other_quotes=list(quotes.values()),
        updates=_updates(session, campaign.id),
    )


def _question(
    session: Session,
    campaign: Campaign,
    prompt: Prompt,
    quotes: dict[int, str],
    tally: QuestionTally | None,
    enough: bool,
) -> QuestionResults:
    form = QuestionForm.of(prompt.form, campaign.language)
    shown: list[ChoiceShown] = []
    answered = tally.answered if tally is not None else 0
    if tally is not None and answered >= SMALL_GROUP:
        # Shares stay of everyone who answered; an answer fewer than 5 gave is not shown at all.
        shown = [
            ChoiceShown(answer.key, answer.count, answer.percent)
            for answer in tally.answers
            if answer.count >= SMALL_GROUP
        ]
    themes = _themes_with_quotes(session, campaign, prompt.key, quotes) if enough else []
    return QuestionResults(
        prompt.key, dict(prompt.text), themes, form, shown, answered if shown else 0
    )


def _residents_answered(session: Session, campaign_id: int) -> int:
    counted = select(func.count(func.distinct(Response.resident_id))).where(
        Response.campaign_id == campaign_id
    )
    return session.scalar(counted) or 0


def _themes_with_quotes(
    session: Session, campaign: Campaign, prompt_key: str, quotes: dict[int, str]
) -> list[ThemeShown]:
    """A question's themes of at least SMALL_GROUP residents; each approved quote moves out of
    `quotes` into the theme it is in."""
    spec = ThemeFilter(
        community_id=campaign.community_id, campaign_id=campaign.id, prompt_key=prompt_key
    )
    found = find_themes(select_answers(session, spec), min_residents=SMALL_GROUP)
    return [
        ThemeShown(
            theme.label,
            theme.residents,
            [quotes.pop(rid) for rid in theme.response_ids if rid in quotes],
        )
        for theme in found.themes
    ]


def campaign_updates(session: Session, campaign_id: int) -> list[CampaignUpdate]:
    """The campaign's "you said, we did" updates, latest first."""
    return list(
        session.scalars(
            select(CampaignUpdate)
            .where(CampaignUpdate.campaign_id == campaign_id)
            .order_by(CampaignUpdate.happened_on.desc(), CampaignUpdate.id.desc())
        )
    )


def _updates(session: Session, campaign_id: int) -> list[UpdateShown]:
    return [
        UpdateShown(row.text, row.happened_on, row.status)
        for row in campaign_updates(session, campaign_id)
    ]
