"""The worker: its scheduler starts launches and sends them, one leader at a time, SIGTERM-safe."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from bot.worker.scheduler import JOBS, Job, JobContext, Leadership, Worker
from storage.db import Database
from storage.models import Campaign, OutboundMessage, utcnow
from tests.conftest import DATA_KEY
from tests.helpers import add_community
from tests.outbox_support import add_residents, fast_sender
from tests.test_campaign_sending import ALWAYS_OPEN, FIRST_PROMPT, TEST_LIMITS, _launch

ROOT = Path(__file__).parent.parent


def _wait_for(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_campaign_whose_start_time_comes_is_sent_by_the_worker(live_services, telegram_api):
    town = add_community(live_services, **ALWAYS_OPEN)
    chats = [str(9_000_000 + n) for n in range(6)]
    add_residents(live_services, town, "telegram", chats)
    campaign_id = _launch(live_services, town, starts_at=utcnow() + timedelta(hours=1))
    # The start time comes: the activation job (run at once when the worker starts) fans out.
    with live_services.db.session_scope() as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(starts_at=utcnow() - timedelta(seconds=1))
        )
    sender = fast_sender(live_services, TEST_LIMITS)
    # A lock key of its own: other test runs may share this PostgreSQL server.
    leadership = Leadership(live_services.db, key=secrets.randbits(48))
    worker = Worker(
        JobContext(live_services.db, live_services.vault, sender), leadership=leadership
    )
    worker.start()
    try:
        _wait_for(lambda: len(telegram_api.sent_texts()) == 6)
    finally:
        worker.stop()
    assert Counter(telegram_api.sent_texts()) == {FIRST_PROMPT: 6}
    with live_services.db.session_scope() as session:
        assert set(session.scalars(select(OutboundMessage.status))) == {"sent"}


def test_other_features_can_register_jobs_that_the_worker_runs(services):
    runs: list[int] = []
    sender = fast_sender(services, TEST_LIMITS)
    sweep = Job("nudge-sweep", lambda context: runs.append(1), 0.1)
    worker = Worker(JobContext(services.db, services.vault, sender), jobs=[sweep])
    worker.start()
    try:
        _wait_for(lambda: len(runs) >= 2, seconds=5)
    finally:
        worker.stop()
    assert {job.name for job in JOBS} >= {"activate-campaigns", "housekeeping"}


def test_only_one_worker_at_a_time_runs_the_scheduled_jobs(db):
    if not db.is_postgresql:
        pytest.skip("SQLite has a single worker process; the lock is PostgreSQL's")
    key = secrets.randbits(48)
    first, second = Leadership(db, key=key), Leadership(db, key=key)
    try:
        assert first.is_leader()
        assert not second.is_leader()
        assert first.is_leader(), "the holder keeps it"
        first.release()  # a worker stopping hands the lock over at once
        assert second.is_leader()
        assert not first.is_leader()
        second._drop()  # a worker dying: PostgreSQL frees the lock when its connection ends
        _wait_for(first.is_leader, seconds=10)
    finally:
        first.release()
        second.release()


def test_the_default_scheduler_lock_is_per_schema(db):
    if not db.is_postgresql:
        pytest.skip("SQLite has a single worker process; the lock is PostgreSQL's")
    # Workers of this schema share one lock; another schema (another deployment or test run
    # on the same server) has its own, so it can neither block nor steal this one.
    first, second = Leadership(db), Leadership(db)
    public = make_url(db.url).update_query_dict({"options": "-csearch_path=public"})
    other_schema = Database(public.render_as_string(hide_password=False))
    other = Leadership(other_schema)
    try:
        assert first.is_leader()
        assert not second.is_leader()
        assert other.is_leader()
    finally:
        for leadership in (first, second, other):
            leadership.release()
        other_schema.dispose()


@pytest.mark.slow
def test_voices_worker_stops_cleanly_on_sigterm(database_url, db, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.update(
        DATABASE_URL=database_url,
        VOICES_DATA_KEY=DATA_KEY,
        SECRET_KEY="x",
        VOICES_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "voices"), "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if b"worker: sending" in line:
                break
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "worker: stopped" in output
    assert "Traceback" not in output


def test_the_log_does_not_list_every_job_run_but_keeps_warnings(services, caplog):
    import logging

    caplog.set_level(logging.INFO)
    runs: list[int] = []
    sender = fast_sender(services, TEST_LIMITS)
    sweep = Job("often", lambda context: runs.append(1), 0.1)
    worker = Worker(JobContext(services.db, services.vault, sender), jobs=[sweep])
    worker.start()
    try:
        _wait_for(lambda: len(runs) >= 3, seconds=5)
    finally:
        worker.stop()
    from_apscheduler = [r for r in caplog.records if r.name.startswith("apscheduler")]
    assert from_apscheduler == [], [r.getMessage() for r in from_apscheduler]
    assert logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.WARNING)
    assert any(r.getMessage().startswith("scheduler started") for r in caplog.records)
