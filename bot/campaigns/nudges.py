"""Who has not been heard, and when to ask again: the nudge and check-in sweep.

The sweep only queues outbox rows (kinds "nudge" and "checkin"); the sender delivers them.
Register `sweep` with the worker every few minutes; each run is safe to repeat.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from bot import texts
from bot.conversation import profile
from bot.conversation.snapshot_query import next_prompt
from bot.insights import coverage
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
from storage.models import (
    Assignment,
    Campaign,
    Community,
    ProfileAnswer,
    Prompt,
    Resident,
    Response,
    utcnow,
)
from storage.statuses import AssignmentStatus, CampaignStatus, ResidentStatus

CHUNK = 5000
PROFILE_WAIT = timedelta(days=1)

NUDGE_NEVER_HEARD = "nudge: never heard"
NUDGE_NEW_IN_CAMPAIGN = "nudge: not heard in this campaign"
NUDGE_PROMPT = "nudge: not answered this prompt"
CHECKIN = "check-in: quiet for a long time"
FIRST_PROMPT = "first question, group question unanswered"
STALLED = "stalled after the last nudge"
WAIT_QUIET = "waiting: quiet hours"
WAIT_GAP = "waiting: nudged recently"
WAIT_BUDGET = "waiting: over this sweep's limit"


@dataclass
class SweepReport:
    """What one sweep did (or, dry, would do): counts per community and reason."""

    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, community: str, reason: str, number: int = 1) -> None:
        if number:
            self.counts.setdefault(community, Counter())[reason] += number

    def queued(self, community: str | None = None) -> int:
        """How many nudges, check-ins and first questions were (or would be) queued."""
        queuing = (NUDGE_NEVER_HEARD, NUDGE_NEW_IN_CAMPAIGN, NUDGE_PROMPT, CHECKIN, FIRST_PROMPT)
        selected = [self.counts.get(community, Counter())] if community else self.counts.values()
        return sum(counter[reason] for counter in selected for reason in queuing)

    def lines(self) -> list[str]:
        """One line per community, then one per reason: counts only, never who."""
        verb = "would queue" if self.dry_run else "queued"
        out = []
        for slug in sorted(self.counts):
            out.append(f"{slug}: {verb} {self.queued(slug)}")
            for reason, number in sorted(self.counts[slug].items()):
                out.append(f"  {number:>6}  {reason}")
        return out or [f"nothing to do: {verb} 0"]


@dataclass
class _Candidate:
    resident: Resident
    kind: str  # "nudge" or "checkin"
    assignment: Assignment | None
    campaign: Campaign | None
    silent_since: datetime
    tier: int = 2
    share: float = 1.0

    @property
    def reason(self) -> str:
        if self.kind == "checkin":
            return CHECKIN
        return (NUDGE_NEVER_HEARD, NUDGE_NEW_IN_CAMPAIGN, NUDGE_PROMPT)[self.tier]


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
    candidates = _due_nudges(session, community, now, report, dry_run)
    nudged = {c.resident.id for c in candidates}
    candidates += [c for c in _due_checkins(session, community, now) if c.resident.id not in nudged]
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
    _rank(session, community, ready, now, dry_run)
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


def _due_nudges(
    session: Session, community: Community, now: datetime, report: SweepReport, dry_run: bool
) -> list[_Candidate]:
    """Pending prompts left unanswered for `after`; those past their last nudge become stalled."""
    found: list[_Candidate] = []
    campaigns = session.scalars(
        select(Campaign).where(
            Campaign.community_id == community.id,
            Campaign.status == CampaignStatus.ACTIVE,
            Campaign.starts_at <= now,
            Campaign.nudge_after_seconds.is_not(None),
        )
    ).all()
    for campaign in campaigns:
        after = timedelta(seconds=campaign.nudge_after_seconds or 0)
        rows = session.execute(
            select(Assignment, Resident)
            .join(Resident, Resident.id == Assignment.resident_id)
            .where(
                Assignment.campaign_id == campaign.id,
                Assignment.status == AssignmentStatus.PENDING,
                Resident.status == ResidentStatus.JOINED,
                # Implied by the next line (a nudge follows the assignment), but lets the index
                # on (campaign_id, status, assigned_at) narrow the scan to prompts old enough.
                Assignment.assigned_at <= now - after,
                func.coalesce(Assignment.last_nudged_at, Assignment.assigned_at) <= now - after,
            )
        ).all()
        for assignment, resident in rows:
            if assignment.nudges_sent >= campaign.nudge_max:
                report.add(community.slug, STALLED)
                if not dry_run:
                    assignment.status = AssignmentStatus.STALLED
                continue
            silent_since = resident.last_heard_at or resident.joined_at or assignment.assigned_at
            found.append(_Candidate(resident, "nudge", assignment, campaign, silent_since))
    return found


def due_checkins_query(community: Community, silent_before: datetime) -> Select[Any]:
    """Joined residents silent since before `silent_before` and not checked in since.

    A range scan of ix_residents_checkin_due, whose condition is the last clause here.
    """
    silent_since = func.coalesce(Resident.last_heard_at, Resident.joined_at)
    return select(Resident).where(
        Resident.community_id == community.id,
        Resident.status == ResidentStatus.JOINED,
        silent_since <= silent_before,
        or_(Resident.last_checkin_at.is_(None), Resident.last_checkin_at < silent_since),
    )


def _due_checkins(session: Session, community: Community, now: datetime) -> list[_Candidate]:
    """Joined residents not heard for the community's check-in days, once per silence."""
    silent_before = now - timedelta(days=community.checkin_after_days)
    rows = session.scalars(due_checkins_query(community, silent_before)).all()
    return [
        _Candidate(r, "checkin", None, None, r.last_heard_at or r.joined_at or now) for r in rows
    ]


def _rank(
    session: Session,
    community: Community,
    candidates: list[_Candidate],
    now: datetime,
    dry_run: bool,
) -> None:
    """Never heard first, then not heard in this campaign, quietest groups, longest silence."""
    if not candidates:
        return
    ids = [c.resident.id for c in candidates]
    campaign_ids = sorted({c.campaign.id for c in candidates if c.campaign is not None})
    heard_in: set[tuple[int, int]] = set()  # (resident id, campaign id)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Response.resident_id, Response.campaign_id)
            .where(
                Response.resident_id.in_(ids[start : start + CHUNK]),
                Response.campaign_id.in_(campaign_ids),
            )
            .distinct()
        )
        heard_in.update((resident_id, campaign_id) for resident_id, campaign_id in rows)
    # From the counts the "group-counts" job keeps (at most COUNTS_MAX_AGE old), not live; a dry
    # run that finds them stale counts live and writes nothing.
    shares = coverage.lowest_share_by_resident(
        session, community.id, ids, counted_at=now, store=not dry_run
    )
    for candidate in candidates:
        resident = candidate.resident
        if resident.last_heard_at is None:
            candidate.tier = 0
        elif candidate.campaign is None or (resident.id, candidate.campaign.id) not in heard_in:
            candidate.tier = 1
        candidate.share = shares.get(resident.id, 1.0)
    candidates.sort(key=lambda c: (c.tier, c.share, c.silent_since, c.resident.id))


def _outbox_row(
    session: Session,
    community: Community,
    candidate: _Candidate,
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
        body = pick_text(campaign.nudge_text, resident.language, campaign.language) or _asked(
            assignment, resident
        )
        return outbox_row(
            resident,
            body or "",
            kind="nudge",
            dedupe_key=nudge_key(resident.id, prompt.id, number),
            campaign_id=campaign.id,
            prompt_id=prompt.id,
            not_before=not_before,
        )
    body, prompt = _checkin_text(session, community, resident, now, pending.get(resident.id))
    day = not_before.astimezone(SendingHours.of(community).zone).date()
    return outbox_row(
        resident,
        body,
        kind="checkin",
        dedupe_key=checkin_key(resident.id, day),
        campaign_id=prompt.campaign_id if prompt is not None else None,
        prompt_id=prompt.id if prompt is not None else None,
        not_before=not_before,
    )


def _record(session: Session, queued: list[_Candidate], when: datetime) -> None:
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


def _pending_of(session: Session, checkins: list[_Candidate]) -> dict[int, Assignment]:
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
) -> tuple[str, Prompt | None]:
    """The check-in: a warm line and the resident's current prompt (put to them if need be)."""
    prompt = pending.prompt if pending is not None else next_prompt(session, resident, utcnow())
    if prompt is None:
        return texts.text("checkin_open", name=community.name), None
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
    question = _asked(pending, resident)
    return f"{texts.text('checkin', name=community.name)} {question}", prompt


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
        body = _asked(assignment, resident)
        enqueue(
            session,
            resident,
            body,
            kind="prompt",
            dedupe_key=prompt_key(resident.id, prompt.id),
            campaign_id=prompt.campaign_id,
            prompt_id=prompt.id,
            not_before=now,
        )


def _asked(assignment: Assignment, resident: Resident) -> str:
    """The assignment's prompt in the resident's language, noting that language on it."""
    prompt = assignment.prompt
    assignment.language = asked_language(resident.language, prompt.text, prompt.campaign.language)
    return pick_text(prompt.text, assignment.language, prompt.campaign.language) or ""
