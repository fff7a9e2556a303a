"""APScheduler wiring: which job runs when, and which worker may run the scheduled jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.campaigns import fanout
from bot.sending import outbox
from bot.sending.presence import HEARTBEAT_SECONDS, STALE_SECONDS, Presence
from bot.sending.sender import OutboxSender
from storage.crypto import Vault
from storage.db import Database

log = logging.getLogger(__name__)

# The leader lock is pg_try_advisory_lock(SCHEMA_LOCK_CLASS, hashtext(current_schema())): one
# leader per schema ("voic" in ASCII; the two-int form never collides with bigint keys).
SCHEMA_LOCK_CLASS = 0x766F6963
MISFIRE_GRACE_SECONDS = 60
# How long an idle sending lane waits before looking for due rows again.
SEND_POLL_SECONDS = 1.0


@dataclass
class JobContext:
    """What a job gets: the database, the vault and the outbox sender."""

    db: Database
    vault: Vault
    sender: OutboxSender


@dataclass(frozen=True)
class Job:
    """A job run every `seconds`; `leader_only` jobs run on one worker at a time."""

    name: str
    run: Callable[[JobContext], object]
    seconds: float
    leader_only: bool = True


JOBS: list[Job] = []


def register(name: str, seconds: float, *, leader_only: bool = True) -> Callable:
    """Decorator: run `function(context)` every `seconds` in every worker's scheduler.

    Other features add their sweeps here, e.g. ``@register("nudges", 60)`` on a function in
    their own module; jobs should only enqueue outbox rows with a dedupe key.
    """

    def add(function: Callable[[JobContext], object]) -> Callable[[JobContext], object]:
        JOBS[:] = [job for job in JOBS if job.name != name]
        JOBS.append(Job(name, function, seconds, leader_only))
        return function

    return add


@register("activate-campaigns", 15)
def activate_campaigns(context: JobContext) -> int:
    """Start campaigns whose time has come and queue their first prompt to every resident."""
    with context.db.session_scope() as session:
        return fanout.activate_due(session)


@register("housekeeping", 60)
def housekeeping(context: JobContext) -> int:
    """Queue again rows a dead sender left behind and WhatsApp rows whose window reopened."""
    timeout = context.sender.policy.sending_timeout
    return outbox.reclaim_stuck(context.db, timeout) + outbox.release_held_whatsapp(context.db)


class Leadership:
    """One worker at a time holds a PostgreSQL advisory lock; SQLite has only one process."""

    def __init__(self, db: Database, key: int | None = None) -> None:
        self.db = db
        # Without an explicit key the lock is per schema: two deployments (or test runs) that
        # share one PostgreSQL database in different schemas each get a leader of their own.
        self.key = key
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        """True while this process holds the lock; tries to take it when free."""
        if not self.db.is_postgresql:
            return True
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    self._connection.commit()
                    return True
                except Exception:
                    log.warning("lost the scheduler lock's connection; trying again")
                    self._drop()
            connection = self.db.engine.connect()
            try:
                taken = connection.execute(
                    text(f"SELECT pg_try_advisory_lock({self._lock_args})"), {"key": self.key}
                ).scalar()
                connection.commit()
            except Exception:
                connection.invalidate()
                connection.close()
                raise
            if taken:
                log.info("this worker now runs the scheduled jobs")
                self._connection = connection
                return True
            connection.close()
            return False

    @property
    def _lock_args(self) -> str:
        if self.key is not None:
            return ":key"
        # The two-int form: "voic" in ASCII, and the schema the connection works in.
        return f"{SCHEMA_LOCK_CLASS}, hashtext(coalesce(current_schema(), ''))"

    def _drop(self) -> None:
        if self._connection is not None:
            # Closing the database connection is what frees a session-level advisory lock.
            self._connection.invalidate()
            self._connection.close()
            self._connection = None

    def release(self) -> None:
        """Give the lock up so another worker takes over at once."""
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text(f"SELECT pg_advisory_unlock({self._lock_args})"), {"key": self.key}
                    )
                    self._connection.commit()
                except Exception:
                    log.info("could not unlock explicitly; closing the connection frees it")
            self._drop()


class Worker:
    """The scheduler plus the sender, as `voices worker` and `voices serve` run them."""

    def __init__(
        self,
        context: JobContext,
        jobs: list[Job] | None = None,
        leadership: Leadership | None = None,
        presence: Presence | None = None,
    ) -> None:
        self.context = context
        self.leadership = leadership or Leadership(context.db)
        self.presence = presence or Presence(context.db, context.sender.pacer)
        self.jobs = list(JOBS if jobs is None else jobs)
        self._first_send_after = 0.0
        # Every worker, leader or not, keeps its heartbeat and its share of the limits fresh, on a
        # thread of its own (as a scheduler job it would log two lines every five seconds).
        self._heartbeats = threading.Thread(target=self._beat_loop, name="presence")
        # The sender loop runs on threads of its own, one per lane, on every worker: a lane can
        # drain for many seconds, longer than any job interval.
        self._lanes = [
            threading.Thread(target=self._send_loop, args=(lane,), name=f"send-{lane}")
            for lane in context.sender.lanes()
        ]
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max(4, len(self.jobs) + 1))},
            job_defaults={
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                "coalesce": True,
                "max_instances": 1,
            },
        )

    def start(self) -> None:
        """Start every job now and then at its interval."""
        # APScheduler logs every job run at INFO (160 lines in ten minutes); keep its warnings.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
        if self._heartbeat() > 1:
            # The workers already sending pace to their new share at their next heartbeat: wait
            # for it rather than add this worker's share to their whole ones meanwhile.
            self._first_send_after = HEARTBEAT_SECONDS
        now = datetime.now(UTC)
        for job in self.jobs:
            self.scheduler.add_job(
                self._guarded(job),
                "interval",
                seconds=job.seconds,
                id=job.name,
                name=job.name,
                next_run_time=now,
            )
        self.scheduler.start()
        self._heartbeats.start()
        for thread in self._lanes:
            thread.start()
        log.info(
            "scheduler started: %s; sending on %s",
            ", ".join(job.name for job in self.jobs),
            ", ".join(thread.name for thread in self._lanes),
        )

    def _heartbeat(self) -> int:
        try:
            return self.presence.beat()
        except Exception:
            log.exception("heartbeat failed; pacing to 1/%d as before", self.presence.workers)
            return self.presence.workers

    def _beat_loop(self) -> None:
        while not self.context.sender.stopping.wait(HEARTBEAT_SECONDS):
            self._heartbeat()

    def _send_loop(self, lane: str) -> None:
        sender = self.context.sender
        if self._first_send_after:
            sender.stopping.wait(self._first_send_after)
        while not sender.stopping.is_set():
            try:
                sent = sender.drain_lane(lane)
            except Exception:
                log.exception("sending on %s failed; trying again shortly", lane)
                sent = 0
            if not sent:
                sender.stopping.wait(SEND_POLL_SECONDS)

    def _guarded(self, job: Job) -> Callable[[], Any]:
        def run() -> Any:
            if self.context.sender.stopping.is_set():
                return None
            if job.leader_only and not self.leadership.is_leader():
                return None
            try:
                return job.run(self.context)
            except Exception:
                log.exception("job %s failed", job.name)
                return None

        return run

    def stop(self) -> None:
        """Finish what is in flight, hand unsent claims back, stop the jobs, free the lock."""
        self.context.sender.stopping.set()
        for thread in self._lanes:
            thread.join()
        if self._heartbeats.is_alive():
            self._heartbeats.join()
        self.scheduler.shutdown(wait=True)
        self.context.sender.stop()
        self.leadership.release()
        try:
            self.presence.leave()
        except Exception:
            log.exception(
                "could not remove this worker's heartbeat; it goes stale in %ss", STALE_SECONDS
            )
        log.info("scheduler stopped")
