"""What an organiser does to a campaign, written once for the web views and the CLI commands.

Each operation owns its transactions; callers look the community or campaign up (with their own
access checks and ways of saying "not found"), call the operation and show what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.campaigns import fanout, progress, prompt_files, updates
from bot.conversation import choices
from bot.texts import SEGMENT_BUDGET, sms_segments
from storage.db import Database
from storage.models import Assignment, Campaign, Community, Resident, utcnow
from storage.publishing import published_link
from storage.statuses import AssignmentStatus, CampaignStatus, ResidentStatus, UpdateStatus

# Raised by launch() and report_back(); their messages are one sentence a user can act on.
LaunchError = prompt_files.LaunchError
ReportBackError = progress.ReportBackError

# Most SMS segments one campaign text may cost unless the organiser allows long texts knowingly;
# the form's live counter (webhooks/static/admin.js) reads it from the page.
# A start typed to the minute is a little in the past by the time it is sent.
START_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Launched:
    """A launched campaign: running now (its first prompt queued) or scheduled from `starts_at`."""

    slug: str
    title: str
    running: bool
    starts_at: datetime
    prompts: int
    # Residents the first prompt was queued for; 0 for a scheduled launch.
    queued: int
    # Joined residents with another campaign's question open: they get this one after answering.
    waiting: int


@dataclass(frozen=True)
class Closed:
    """A closed campaign; `already` when it was closed before this request."""

    slug: str
    title: str
    already: bool


def past_start(starts_at: datetime | None, zone: ZoneInfo) -> str | None:
    """The sentence refusing a start time already gone, or None when it is empty or to come."""
    if starts_at is None or starts_at >= utcnow() - START_GRACE:
        return None
    local = starts_at.astimezone(zone)
    return (
        f"the start {local:%Y-%m-%d %H:%M} {zone.key} is in the past; leave it empty to start now"
    )


def campaign_texts(spec: prompt_files.CampaignSpec) -> dict[str, list[str]]:
    """Every text residents may get from the campaign, by what an organiser calls it."""
    named = {f"prompt {p.key!r}": asked_texts(p, spec.language) for p in spec.prompts}
    if spec.nudge_text:
        named["the nudge text"] = list(spec.nudge_text.values())
    if spec.thanks:
        named["the thank-you text"] = list(spec.thanks.values())
    return named


def asked_texts(prompt: prompt_files.PromptSpec, default: str) -> list[str]:
    """A prompt in each of its languages as residents get it: a closed one with its choices."""
    form = choices.QuestionForm.of(prompt.form, default)
    return [choices.ask(prompt.text, form, key, default).text for key in prompt.text]


def segments_over_budget(texts: dict[str, list[str]]) -> dict[str, int]:
    """Each named text whose longest language costs more SMS segments than the budget."""
    counts = {
        name: max((sms_segments(t)[0] for t in found), default=0) for name, found in texts.items()
    }
    return {name: count for name, count in counts.items() if count > SEGMENT_BUDGET}


def slug_taken(session: Session, community_id: int, slug: str) -> bool:
    """Whether the community already has a campaign with this short name."""
    found = select(Campaign.id).where(Campaign.community_id == community_id, Campaign.slug == slug)
    return session.scalar(found) is not None


def launch_problems(
    community: Community,
    spec: prompt_files.CampaignSpec,
    starts_at: datetime | None,
    allow_long: bool,
) -> list[str]:
    """Every reason not to launch, each one sentence; empty when the launch may go ahead."""
    problems = [past] if (past := past_start(starts_at, ZoneInfo(community.timezone))) else []
    if not allow_long:
        problems += [
            f"{name} is {count} SMS segments, over the budget of {SEGMENT_BUDGET}; "
            "shorten it or allow long texts"
            for name, count in segments_over_budget(campaign_texts(spec)).items()
        ]
    return problems


def launch(
    db: Database,
    community_id: int,
    spec: prompt_files.CampaignSpec,
    starts_at: datetime | None = None,
    allow_long: bool = False,
) -> Launched:
    """Create the campaign and commit it; when it runs now, queue its first prompt to everyone.

    Committed before the fan-out so that a large launch can be queued in parts
    (fanout.activate_due); raises LaunchError for a start in the past, texts over the segment
    budget (unless `allow_long`) or a slug the community already ran.
    """
    with db.session_scope() as session:
        community = session.get(Community, community_id)
        if community is None:
            raise LaunchError(f"community {community_id} no longer exists")
        if problems := launch_problems(community, spec, starts_at, allow_long):
            raise LaunchError("; ".join(problems))
        made = prompt_files.launch(session, community, spec, starts_at, fan_out_now=False)
        campaign_id, running = made.id, made.status == CampaignStatus.ACTIVE
        title, start = made.title, made.starts_at
    queued = waiting = 0
    if running:
        with db.session_scope() as session:
            queued = fanout.activate_due(session, campaign_id=campaign_id)
            waiting = _waiting_on_another_question(session, community_id, campaign_id)
    return Launched(spec.slug, title, running, start, len(spec.prompts), queued, waiting)


def _waiting_on_another_question(session: Session, community_id: int, campaign_id: int) -> int:
    """Joined residents whose one open question belongs to another campaign."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .join(Resident, Resident.id == Assignment.resident_id)
            .where(
                Resident.community_id == community_id,
                Resident.status == ResidentStatus.JOINED,
                Assignment.status == AssignmentStatus.PENDING,
                Assignment.campaign_id != campaign_id,
            )
        )
        or 0
    )


def close(db: Database, campaign_id: int) -> Closed:
    """Stop asking the campaign's questions; closing a closed campaign changes nothing."""
    with db.session_scope() as session:
        found = session.get(Campaign, campaign_id)
        if found is None:
            raise LookupError(f"campaign {campaign_id} no longer exists")
        already = found.status == CampaignStatus.CLOSED
        if not already:
            found.status = CampaignStatus.CLOSED
            found.closed_at = utcnow()
        return Closed(found.slug, found.title, already)


def report_back(
    db: Database,
    campaign_id: int,
    text: str,
    *,
    another: bool = False,
    public_base_url: str | None = None,
    author_id: int | None = None,
) -> int:
    """Queue "you said, we did" to everyone who answered and is still joined; return how many.

    When the community's results page is published the text ends with its link, and the update
    is recorded there (done, today) either way. Raises ReportBackError for an empty or over-long
    text, and for a second update to the same campaign unless the organiser confirms it
    (`another`): each one costs a text to everyone.
    """
    with db.session_scope() as session:
        found = session.get(Campaign, campaign_id)
        if found is None:
            raise LookupError(f"campaign {campaign_id} no longer exists")
        sent_at = progress.reported_back_at(session, found)
        if sent_at is not None and not another:
            raise ReportBackError(
                f"an update for this campaign was already sent on {sent_at:%d %b %Y}; "
                "confirm that you want to send another"
            )
        link = (
            published_link(session, public_base_url, found.community_id)
            if public_base_url
            else None
        )
        queued = progress.report_back(session, found, text, link)
        today = utcnow().astimezone(ZoneInfo(found.community.timezone)).date()
        draft = updates.UpdateDraft(text.strip(), today, UpdateStatus.DONE)
        updates.add_update(session, found, draft, author_id, sent_at=utcnow())
        return queued
