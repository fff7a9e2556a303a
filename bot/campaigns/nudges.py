"""Who has not been heard, and when to ask again: the nudge and check-in sweep.

The sweep only queues outbox rows (kinds "nudge" and "checkin"); the sender delivers them.
Register `sweep` with the worker every few minutes; each run is safe to repeat.
Who is due, and in which order, is `nudge_candidates`; what a sweep did, `sweep_report`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import texts
from bot.campaigns.nudge_candidates import (
    CHUNK,
    Candidate,
    due_checkins,
    due_checkins_query,
    due_nudges,
    rank,
)
from bot.campaigns.sweep_report import (
    CHECKIN,
    FIRST_PROMPT,
    NUDGE_NEVER_HEARD,
    NUDGE_NEW_IN_CAMPAIGN,
    NUDGE_PROMPT,
    STALLED,
    WAIT_BUDGET,
    WAIT_GAP,
    WAIT_QUIET,
    SweepReport,
)
from bot.conversation import choices, profile
from bot.conversation.prompt_order import next_prompt
from bot.sending.outbox import (
    checkin_key,
    enqueue,
    enqueue_many,
    nudge_key,
    outbox_row,
    prompt_key,
)
from bot.sending.quiet_hours import SendingHours
from storage.languages import asked_language, pick_text
from storage.models import Assignment, Campaign, Community, ProfileAnswer, Prompt, Resident, utcnow
from storage.statuses import AssignmentStatus, ResidentStatus

__all__ = [
    "CHECKIN",
    "FIRST_PROMPT",
    "NUDGE_NEVER_HEARD",
    "NUDGE_NEW_IN_CAMPAIGN",
    "NUDGE_PROMPT",
    "STALLED",
    "WAIT_BUDGET",
    "WAIT_GAP",
    "WAIT_QUIET",
    "SweepReport",
    "due_checkins_query",
    "sweep",
]

PROFILE_WAIT = timedelta(days=1)


def sweep(
    session: Session, now: datetime, dry_run: bool = False, limit: int | None = None
) -> SweepReport:
    """Queue the nudges and check-ins due at `now` in every community; `limit` caps each one."""
    report = SweepReport(dry_run=dry_run)
    for community in session.scalars(select(Community).order_by(Community.slug)).all():
        _sweep_community(session, community, now, report, dry_run, limit)
    return report


def _sweep_community(
    session: Session,
    community: Community,
    now: datetime,
    report: SweepReport,
    dry_run: bool,
    limit: int | None,
) -> None:
    hours = SendingHours.of(community)
    quiet = hours.is_quiet(now)
    candidates = due_nudges(session, community, now, report, dry_run)
    nudged = {c.resident.id for c in candidates}
    candidates += [c for c in due_checkins(session, community, now) if c.resident.id not in nudged]
    if not quiet:
        _first_prompts(session, community, now, report, dry_run)

    gap = timedelta(hours=community.nudge_gap_hours)
    ready = []
    for candidate in candidates:
        last = candidate.resident.last_nudged_at
        if last is not None and now - last < gap:
            report.add(community.slug, WAIT_GAP)
        else:
            ready.append(candidate)
    if quiet:
        report.add(community.slug, WAIT_QUIET, len(ready))
        return
    rank(session, community, ready, now, dry_run)
    if limit is not None:
        report.add(community.slug, WAIT_BUDGET, max(0, len(ready) - limit))
        ready = ready[:limit]
    not_before = hours.next_open(now)
    pending = {} if dry_run else _pending_of(session, [c for c in ready if c.kind == "checkin"])
    rows = []
    for candidate in ready:
        report.add(community.slug, candidate.reason)
        if not dry_run:
            rows.append(_outbox_row(session, community, candidate, now, not_before, pending))
    if not dry_run:
        # One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING: a repeated sweep queues nothing
        # twice, and only what went in is recorded (a sweep racing another records nothing).
        added = enqueue_many(session, rows)
        _record(
            session,
            [c for c, row in zip(ready, rows, strict=True) if row["dedupe_key"] in added],
            not_before,
        )


def _outbox_row(
    session: Session,
    community: Community,
    candidate: Candidate,
    now: datetime,
    not_before: datetime,
    pending: dict[int, Assignment],
) -> dict[str, Any]:
    """The outbox row of one nudge or check-in (a check-in may assign its prompt first)."""
    resident = candidate.resident
    if candidate.kind == "nudge":
        assignment, campaign = candidate.assignment, candidate.campaign
        assert assignment is not None and campaign is not None
        number = assignment.nudges_sent + 1
        prompt = assignment.prompt
        asked = _asked(assignment, resident)
        nudge = pick_text(campaign.nudge_text, resident.language, campaign.language)
        # The nudge text was written for the campaign's opening question; on any other (a branch
        # may have led there) the resident is reminded of the question they are actually on.
        if nudge and (prompt.form is not None or prompt.position != _first_position(campaign)):
            nudge = f"{texts.text('nudge_on_question', name=community.name)}\n{asked.text}"
        body = nudge or asked.text
        return outbox_row(
            resident,
            body or "",
            buttons=asked.buttons,
            kind="nudge",
            dedupe_key=nudge_key(resident.id, prompt.id, number),
            campaign_id=campaign.id,
            prompt_id=prompt.id,
            not_before=not_before,
        )
    body, prompt, buttons = _checkin_text(
        session, community, resident, now, pending.get(resident.id)
    )
    day = not_before.astimezone(SendingHours.of(community).zone).date()
    return outbox_row(
        resident,
        body,
        buttons=buttons,
        kind="checkin",
        dedupe_key=checkin_key(resident.id, day),
        campaign_id=prompt.campaign_id if prompt is not None else None,
        prompt_id=prompt.id if prompt is not None else None,
        not_before=not_before,
    )


def _record(session: Session, queued: list[Candidate], when: datetime) -> None:
    """Note the queued nudges and check-ins in a few set-based updates, not one per resident."""
    nudged = [c.assignment.id for c in queued if c.assignment is not None]
    checked_in = [c.resident.id for c in queued if c.kind == "checkin"]
    everyone = [c.resident.id for c in queued]
    for start in range(0, len(everyone), CHUNK):
        part = everyone[start : start + CHUNK]
        session.execute(update(Resident).where(Resident.id.in_(part)).values(last_nudged_at=when))
    for start in range(0, len(checked_in), CHUNK):
        part = checked_in[start : start + CHUNK]
        session.execute(update(Resident).where(Resident.id.in_(part)).values(last_checkin_at=when))
    for start in range(0, len(nudged), CHUNK):
        session.execute(
            update(Assignment)
            .where(Assignment.id.in_(nudged[start : start + CHUNK]))
            .values(nudges_sent=Assignment.nudges_sent + 1, last_nudged_at=when)
        )


def _pending_of(session: Session, checkins: list[Candidate]) -> dict[int, Assignment]:
    """The pending assignment (at most one) of each resident due a check-in, by resident id."""
    ids = [c.resident.id for c in checkins]
    found: dict[int, Assignment] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.scalars(
            select(Assignment).where(
                Assignment.resident_id.in_(ids[start : start + CHUNK]),
                Assignment.status == AssignmentStatus.PENDING,
            )
        )
        found.update((row.resident_id, row) for row in rows)
    return found


def _checkin_text(
    session: Session,
    community: Community,
    resident: Resident,
    now: datetime,
    pending: Assignment | None,
) -> tuple[str, Prompt | None, tuple[str, ...]]:
    """The check-in: a warm line and the resident's current prompt (put to them if need be)."""
    prompt = pending.prompt if pending is not None else next_prompt(session, resident, utcnow())
    if prompt is None:
        return texts.text("checkin_open", name=community.name), None, ()
    if pending is None:
        # The check-in is the gentle one-off: the prompt it carries gets no nudges of its own.
        pending = Assignment(
            resident_id=resident.id,
            prompt_id=prompt.id,
            campaign_id=prompt.campaign_id,
            status=AssignmentStatus.PENDING,
            assigned_at=now,
            nudges_sent=prompt.campaign.nudge_max,
            prompt=prompt,
        )
        session.add(pending)
        session.flush()
    asked = _asked(pending, resident)
    return f"{texts.text('checkin', name=community.name)} {asked.text}", prompt, asked.buttons


def _first_prompts(
    session: Session, community: Community, now: datetime, report: SweepReport, dry_run: bool
) -> None:
    """Residents who let a group question go unanswered for a day still get the first prompt."""
    waiting = session.scalars(
        select(Resident)
        .join(ProfileAnswer, ProfileAnswer.resident_id == Resident.id)
        .where(
            Resident.community_id == community.id,
            Resident.status == ResidentStatus.JOINED,
            ProfileAnswer.answered_at.is_(None),
            ProfileAnswer.asked_at <= now - PROFILE_WAIT,
        )
    ).all()
    for resident in waiting:
        pending = session.scalar(
            select(Assignment.id).where(
                Assignment.resident_id == resident.id, Assignment.status == AssignmentStatus.PENDING
            )
        )
        prompt = None if pending is not None else next_prompt(session, resident, utcnow())
        report.add(community.slug, FIRST_PROMPT, int(prompt is not None))
        if dry_run:
            continue
        profile.close_unanswered(session, resident.id, now)
        if prompt is None:
            continue
        assignment = Assignment(
            resident_id=resident.id,
            prompt_id=prompt.id,
            campaign_id=prompt.campaign_id,
            status=AssignmentStatus.PENDING,
            assigned_at=now,
            prompt=prompt,
        )
        session.add(assignment)
        session.flush()
        asked = _asked(assignment, resident)
        enqueue(
            session,
            resident,
            asked.text,
            buttons=asked.buttons,
            kind="prompt",
            dedupe_key=prompt_key(resident.id, prompt.id),
            campaign_id=prompt.campaign_id,
            prompt_id=prompt.id,
            not_before=now,
        )


def _asked(assignment: Assignment, resident: Resident) -> choices.Asked:
    """The assignment's prompt in the resident's language (with any choices), noting that
    language on it."""
    prompt = assignment.prompt
    default = prompt.campaign.language
    assignment.language = asked_language(resident.language, prompt.text, default)
    form = choices.QuestionForm.of(prompt.form, default)
    # Residents who chose calls hear it: each choice with its key, not a numbered list.
    spoken = resident.channel == "voice"
    return choices.ask(prompt.text, form, assignment.language, default, spoken=spoken)


def _first_position(campaign: Campaign) -> int:
    return min((prompt.position for prompt in campaign.prompts), default=0)
