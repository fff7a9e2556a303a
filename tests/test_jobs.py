"""The worker runs every feature's job: nudges, safeguarding alerts and retention."""

from __future__ import annotations

from bot import jobs
from bot.scheduler import JOBS


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
