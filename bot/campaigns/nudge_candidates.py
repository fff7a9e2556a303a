"""Who is due a nudge or a check-in, and in which order the sweep serves them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from bot.campaigns.sweep_report import (
    CHECKIN,
    NUDGE_NEVER_HEARD,
    NUDGE_NEW_IN_CAMPAIGN,
    NUDGE_PROMPT,
    STALLED,
    SweepReport,
)
from bot.insights import coverage
from storage.models import Assignment, Campaign, Community, Resident, Response
from storage.statuses import AssignmentStatus, CampaignStatus, ResidentStatus

CHUNK = 5000


@dataclass
class Candidate:
    """A resident due a nudge (with the pending prompt) or a check-in, and their rank."""

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


def due_nudges(
    session: Session, community: Community, now: datetime, report: SweepReport, dry_run: bool
) -> list[Candidate]:
    """Pending prompts left unanswered for `after`; those past their last nudge become stalled."""
    found: list[Candidate] = []
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
            found.append(Candidate(resident, "nudge", assignment, campaign, silent_since))
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


def due_checkins(session: Session, community: Community, now: datetime) -> list[Candidate]:
    """Joined residents not heard for the community's check-in days, once per silence."""
    silent_before = now - timedelta(days=community.checkin_after_days)
    rows = session.scalars(due_checkins_query(community, silent_before)).all()
    return [
        Candidate(r, "checkin", None, None, r.last_heard_at or r.joined_at or now) for r in rows
    ]


def rank(
    session: Session,
    community: Community,
    candidates: list[Candidate],
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
