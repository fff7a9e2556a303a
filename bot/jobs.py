"""Scheduled jobs of features beyond sending: nudges, safeguarding alerts and retention."""

from __future__ import annotations

import logging

from bot import nudges, safeguarding
from bot.retention import retention_job
from bot.scheduler import JobContext, register
from storage.models import utcnow

log = logging.getLogger(__name__)


@register("nudges", 300)
def nudge_sweep(context: JobContext) -> object:
    """Ask again, gently, the residents who have not been heard (queues outbox rows only)."""
    with context.db.session_scope() as session:
        report = nudges.sweep(session, utcnow())
    log.info("nudge sweep: %s", report)
    return report


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
