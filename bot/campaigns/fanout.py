"""Launch fan-out: a campaign that starts puts its first prompt to every joined resident at once."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, case, cast, func, literal, null, select, text
from sqlalchemy.orm import Session

from bot.conversation import choices
from bot.sending.outbox import prompt_key_sql
from bot.sending.quiet_hours import SendingHours
from storage.db import insert_missing
from storage.languages import asked_language_sql
from storage.models import (
    Assignment,
    Campaign,
    Community,
    OutboundMessage,
    Prompt,
    Resident,
    utcnow,
)
from storage.statuses import AssignmentStatus, CampaignStatus, OutboxStatus, ResidentStatus

log = logging.getLogger(__name__)

# A launch queueing this many rows refreshes the planner's statistics of the tables it filled.
ANALYZE_AFTER = 1000
# On PostgreSQL a scheduled launch to at least this many residents is queued in parts of about
# PART_SIZE residents (by id), each part its own transaction, PARTS_AT_ONCE at a time.
PARTS_AFTER = 10_000
PART_SIZE = 25_000
PARTS_AT_ONCE = 2


def _text_in(texts: dict[str, str], language: object) -> object:
    """A SQL CASE giving the text in a language key already chosen (the assignment's)."""
    return case(*((language == key, literal(body)) for key, body in texts.items()), else_="")


def _options_in(buttons: dict[str, tuple[str, ...]], language: object, postgresql: bool) -> object:
    """The outbox options (a closed question's buttons) in the assignment's language."""
    if not buttons:
        return null()
    chosen = case(
        *(
            (language == key, literal(json.dumps({"buttons": list(b)})))
            for key, b in buttons.items()
        ),
        else_=literal("null"),
    )
    # SQLite keeps JSON as text; PostgreSQL needs the text cast to its json type.
    return cast(chosen, JSON) if postgresql else chosen


def fan_out(
    session: Session, campaign: Campaign, now: datetime | None = None, in_parts: bool = False
) -> int:
    """Assign the campaign's first prompt to every free joined resident and queue it; return count.

    Set-based (INSERT ... SELECT) so 100,000 residents take seconds. Residents who already have a
    pending prompt get this one from the engine after answering. Safe to run twice: assignments
    are unique per (resident, prompt) and outbox rows per dedupe key.

    With `in_parts` (the campaign row is committed, as for a scheduled launch) a large launch on
    PostgreSQL is queued in parts, each committed on its own connection: see _fan_out_in_parts.
    """
    now = now or utcnow()
    first = session.scalar(
        select(Prompt).where(Prompt.campaign_id == campaign.id).order_by(Prompt.position).limit(1)
    )
    if first is None:
        return 0
    community = session.get(Community, campaign.community_id)
    assert community is not None
    send_at = SendingHours.of(community).next_open(now)
    postgresql = session.get_bind().dialect.name == "postgresql"
    form = choices.QuestionForm.of(first.form, campaign.language)
    asked = {key: choices.ask(first.text, form, key, campaign.language) for key in dict(first.text)}
    launch = _Launch(
        campaign.id,
        campaign.community_id,
        campaign.language,
        first.id,
        {key: found.text for key, found in asked.items()},
        send_at,
        {key: found.buttons for key, found in asked.items() if found.buttons},
        postgresql,
    )
    parts = _parts(session, campaign.community_id) if in_parts and postgresql else []
    if len(parts) > 1:
        count = _fan_out_in_parts(session, launch, now, parts)
    else:
        count = _queue_first_prompt(session, launch, now)
    campaign.fanned_out_at = now
    session.flush()
    if count >= ANALYZE_AFTER and postgresql:
        # The planner's statistics still describe the tables from before the launch, so the
        # sender's claim would sort the whole launch each time; autovacuum catches up only after
        # the launch's busiest minutes. ANALYZE samples the tables (0.1-0.2 s at 100,000) and
        # counts this transaction's own rows; its statistics commit with them.
        session.execute(text("ANALYZE outbound_messages, assignments"))
    log.info("campaign %s: first prompt queued for %d resident(s)", campaign.slug, count)
    return count


def _parts(session: Session, community_id: int) -> list[tuple[int, int]]:
    """Resident id ranges [low, high) of about PART_SIZE joined residents each; [] when small."""
    joined = (Resident.community_id == community_id, Resident.status == ResidentStatus.JOINED)
    count, low, high = session.execute(
        select(func.count(), func.min(Resident.id), func.max(Resident.id)).where(*joined)
    ).one()
    if count < PARTS_AFTER:
        return []
    number = max(PARTS_AT_ONCE, -(-count // PART_SIZE))
    width = -(-(high + 1 - low) // number)
    return [(start, min(start + width, high + 1)) for start in range(low, high + 1, width)]


@dataclass(frozen=True)
class _Launch:
    """What the fan-out's statements need, as plain values that threads can share."""

    campaign_id: int
    community_id: int
    language: str | None
    prompt_id: int
    texts: dict[str, str]
    send_at: datetime
    # A closed question's buttons in each language (empty for an open question).
    buttons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    postgresql: bool = False


def _fan_out_in_parts(
    session: Session, launch: _Launch, now: datetime, parts: list[tuple[int, int]]
) -> int:
    """Queue the first prompt part by part, PARTS_AT_ONCE at a time on connections of their own.

    Foreign-key checks and index entries, row by row, are most of a launch's time, and one
    PostgreSQL backend does them on one core. Each part commits by itself: a launch that fails
    half-way (a dead worker) leaves whole parts queued and the campaign not marked fanned out,
    so the next activation queues the rest and nothing twice (the assignments already there
    exclude their residents). `session` keeps its lock on the campaign row meanwhile.
    """
    engine = session.get_bind()

    def queue_part(ids: tuple[int, int]) -> int:
        with Session(bind=engine, expire_on_commit=False) as part, part.begin():
            return _queue_first_prompt(part, launch, now, ids)

    with ThreadPoolExecutor(PARTS_AT_ONCE, thread_name_prefix="fan-out") as pool:
        return sum(pool.map(queue_part, parts))


def _queue_first_prompt(
    session: Session, launch: _Launch, now: datetime, ids: tuple[int, int] | None = None
) -> int:
    """The fan-out's two INSERT ... SELECTs, for every resident or those with ids in [low, high)."""
    in_part = (Resident.id >= ids[0], Resident.id < ids[1]) if ids else ()
    _assign_first_prompt(session, launch, now, in_part)
    return _queue_assigned_prompts(session, launch, now, in_part)


def _assign_first_prompt(
    session: Session, launch: _Launch, now: datetime, in_part: tuple[Any, ...]
) -> None:
    """Assign the first prompt, marked with `now`, to every joined resident free to take it."""
    # Residents with a pending prompt, or asked this one before, are left out by the unique
    # indexes on assignments (one pending per resident; one per resident and prompt) through
    # ON CONFLICT DO NOTHING: index lookups, not anti-joins whose plan hangs on statistics that
    # a launch itself makes stale.
    free_residents = select(
        Resident.id,
        literal(launch.prompt_id),
        literal(launch.campaign_id),
        literal(AssignmentStatus.PENDING, String),
        literal(now, type_=Assignment.__table__.c.assigned_at.type),
        literal(0),
        asked_language_sql(launch.texts, Resident.language, launch.language),
    ).where(
        Resident.community_id == launch.community_id,
        Resident.status == ResidentStatus.JOINED,
        *in_part,
    )
    insert_missing(
        session,
        Assignment,
        [
            "resident_id",
            "prompt_id",
            "campaign_id",
            "status",
            "assigned_at",
            "nudges_sent",
            "language",
        ],
        free_residents,
    )


def _queue_assigned_prompts(
    session: Session, launch: _Launch, now: datetime, in_part: tuple[Any, ...]
) -> int:
    """Queue the prompt to each resident the fan-out assigned it to at `now`; return count."""
    dedupe = prompt_key_sql(Resident.id, launch.prompt_id)
    columns = OutboundMessage.__table__.c
    queued = (
        select(
            literal(launch.community_id),
            Resident.id,
            Resident.channel,
            literal("prompt"),
            _text_in(launch.texts, Assignment.language),
            _options_in(launch.buttons, Assignment.language, launch.postgresql),
            literal(OutboxStatus.QUEUED, String),
            dedupe,
            literal(launch.campaign_id),
            literal(launch.prompt_id),
            literal(0),
            literal(launch.send_at, type_=columns.next_attempt_at.type),
            literal(now, type_=columns.created_at.type),
        )
        .join(Assignment, Assignment.resident_id == Resident.id)
        .where(
            Assignment.prompt_id == launch.prompt_id,
            Assignment.status == AssignmentStatus.PENDING,
            # Only the fan-out's own assignments: residents who joined on their own (and got
            # the prompt as a reply) are never sent it a second time.
            Assignment.assigned_at == literal(now, type_=columns.created_at.type),
            Resident.status == ResidentStatus.JOINED,
            *in_part,
        )
    )
    return insert_missing(
        session,
        OutboundMessage,
        [
            "community_id",
            "resident_id",
            "channel",
            "kind",
            "text",
            "options",
            "status",
            "dedupe_key",
            "campaign_id",
            "prompt_id",
            "attempts",
            "next_attempt_at",
            "created_at",
        ],
        queued,
    )


def activate_due(
    session: Session, now: datetime | None = None, campaign_id: int | None = None
) -> int:
    """Start every campaign whose time has come (or only this one) and fan it out once; return
    residents queued. Another worker activating the same campaign at once skips it."""
    now = now or utcnow()
    due = select(Campaign).where(
        Campaign.status.in_((CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE)),
        Campaign.starts_at <= now,
        Campaign.fanned_out_at.is_(None),
    )
    if campaign_id is not None:
        due = due.where(Campaign.id == campaign_id)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    total = 0
    for campaign in session.scalars(due.order_by(Campaign.starts_at, Campaign.id)).all():
        campaign.status = CampaignStatus.ACTIVE
        total += fan_out(session, campaign, now, in_parts=True)
    return total
