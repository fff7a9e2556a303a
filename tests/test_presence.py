"""Workers share the providers' limits: each paces to 1/n, n the workers with a fresh heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.sending.pacing import Pacer, PacingLimits
from bot.sending.presence import STALE_SECONDS, Presence
from bot.worker.scheduler import JobContext, Worker
from storage.models import WorkerProcess


class Moment:
    """A clock each worker reads, moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _rows(db) -> int:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(WorkerProcess)) or 0


def test_workers_split_the_limits_while_they_beat_and_take_them_back_when_one_leaves(db):
    clock = Moment()
    first, second = Pacer(PacingLimits()), Pacer(PacingLimits())
    one, two = Presence(db, first, clock), Presence(db, second, clock)
    assert one.beat() == 1 and first.workers == 1
    assert two.beat() == 2 and second.workers == 2
    assert one.beat() == 2 and first.workers == 2
    two.leave()
    assert _rows(db) == 1
    assert one.beat() == 1 and first.workers == 1


def test_a_worker_that_died_stops_counting_once_its_heartbeat_is_stale(db):
    clock, late = Moment(), Moment()
    survivor, dead = Presence(db, Pacer(), clock), Presence(db, Pacer(), late)
    dead.beat()
    assert survivor.beat() == 2
    clock.now += timedelta(seconds=STALE_SECONDS - 1)
    assert survivor.beat() == 2, "not yet stale"
    clock.now += timedelta(seconds=2)
    assert survivor.beat() == 1
    assert survivor.pacer.workers == 1
    # A row left for a day by a worker killed outright is removed by the next worker to start.
    clock.now += timedelta(days=1, seconds=1)
    survivor.beat()
    Presence(db, Pacer(), clock).beat()
    assert _rows(db) == 2


def test_a_worker_joining_others_waits_for_them_to_take_their_new_share(services):
    from bot.cli.sending import build_sender  # the real sender, as `voices worker` builds it

    already = Presence(services.db, Pacer())
    already.beat()
    worker = Worker(JobContext(services.db, services.vault, build_sender(services)), jobs=[])
    worker.start()
    try:
        assert worker.presence.workers == 2
        assert worker.context.sender.pacer.workers == 2
        assert worker._first_send_after > 0
        assert _rows(services.db) == 2
    finally:
        worker.stop()
    assert _rows(services.db) == 1, "a worker that stops removes its own row"


def test_a_restart_after_a_kill_does_not_count_the_killed_worker(db):
    import socket
    import subprocess
    import sys

    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    clock = Moment()
    with db.session_scope() as session:
        here, there = socket.gethostname()[:255], "another-machine"
        for row_id, host in (("killed-here", here), ("alive-there", there)):
            session.add(
                WorkerProcess(
                    id=row_id, host=host, pid=killed.pid, started_at=clock.now, seen_at=clock.now
                )
            )
    restarted = Presence(db, Pacer(), clock)
    assert restarted.beat() == 2, "the killed worker here is not counted; the other machine's is"
    with db.session_scope() as session:
        assert set(session.scalars(select(WorkerProcess.id))) == {restarted.id, "alive-there"}
