"""Scheduled jobs of features beyond sending: nudges, safeguarding alerts and retention."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.campaigns import nudges
from bot.conversation import safeguarding
from bot.conversation.retention import retention_job
from bot.insights import coverage
from bot.worker.scheduler import JobContext, register
from storage.models import ProfileQuestion, utcnow

log = logging.getLogger(__name__)


@register("nudges", 300)
def nudge_sweep(context: JobContext) -> object:
    """Ask again, gently, the residents who have not been heard (queues outbox rows only)."""
    with context.db.session_scope() as session:
        report = nudges.sweep(session, utcnow())
    log.info("nudge sweep: %s", report)
    return report


@register("group-counts", coverage.REFRESH_SECONDS)
def refresh_group_counts(context: JobContext) -> int:
    """Recount joined and heard residents per self-described group, which nudges are ranked by.

    The sweep reads these counts instead of counting a million residents itself; it recounts
    only when they are missing or older than coverage.COUNTS_MAX_AGE. Returns how many
    communities were recounted (those with profile questions).
    """
    now = utcnow()
    with context.db.session_scope() as session:
        asking = session.scalars(select(ProfileQuestion.community_id).distinct()).all()
    for community_id in sorted(asking):
        # One transaction per community: its row lock is held only while it is recounted.
        with context.db.session_scope() as session:
            coverage.refresh_counts(session, community_id, now)
    return len(asking)


@register("safeguarding-alerts", 30)
def send_safeguarding_alerts(context: JobContext) -> int:
    """Tell each community's designated lead, within the minute, that a message needs them."""
    return safeguarding.deliver_lead_alerts(context.db, context.vault, context.sender.senders)


def enable_retention(days: int) -> None:
    """Erase words older than `days` once an hour (VOICES_RETENTION_DAYS)."""

    @register("retention", 3600)
    def run_retention(context: JobContext) -> object:
        result = retention_job(context.db, days)
        log.info("retention sweep (%d days): %s", days, result)
        return result
