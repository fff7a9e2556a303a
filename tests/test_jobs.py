"""The worker runs every feature's job: nudges, safeguarding alerts and retention."""

from __future__ import annotations

from bot.worker import jobs
from bot.worker.scheduler import JOBS


def test_the_worker_knows_the_nudge_sweep_and_the_safeguarding_alerts():
    names = {job.name: job.seconds for job in JOBS}
    assert names["nudges"] <= 300
    assert names["safeguarding-alerts"] <= 60
    assert "activate-campaigns" in names


def test_retention_runs_only_when_configured():
    assert "retention" not in {job.name for job in JOBS}
    jobs.enable_retention(365)
    try:
        assert "retention" in {job.name for job in JOBS}
    finally:
        JOBS[:] = [job for job in JOBS if job.name != "retention"]


def test_the_workers_alert_job_tells_the_lead_through_the_real_twilio_client(
    live_services, twilio_api
):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bot.cli.sending import build_sender
    from bot.conversation import safeguarding
    from bot.worker.scheduler import JobContext
    from storage.models import Community
    from tests.helpers import Phone, add_community

    lead = "+447700900777"
    add_community(live_services)
    with live_services.db.session_scope() as session:
        safeguarding.set_lead(
            session, live_services.vault, session.scalar(select(Community)), "sms", lead
        )
    phone = Phone(live_services)
    phone.join()
    phone.send("he hits me when he's drunk")
    context = JobContext(live_services.db, live_services.vault, build_sender(live_services))
    assert jobs.send_safeguarding_alerts(context) == 1
    [alert] = twilio_api.messages(to=lead)
    assert "safeguarding" in alert.body and "hits" not in alert.body
    assert jobs.send_safeguarding_alerts(context) == 0
