"""Workers that see each other: the providers' limits are shared by every live worker.

Telegram's 30 messages a second are per bot and Twilio's segments per second per sender, however
many `voices worker` processes send for them. Each worker writes a heartbeat row and paces
itself to 1/n of every limit, n being the workers whose heartbeat is fresh; a worker that stops
deletes its row, one that dies is left out once its heartbeat is stale, or at once when a worker
starting on the same host sees its process is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.sending.pacing import Pacer
from storage.db import Database
from storage.models import WorkerProcess, utcnow

log = logging.getLogger(__name__)

# A worker writes its heartbeat this often ...
HEARTBEAT_SECONDS = 5.0
# ... and counts the workers heard from within this long; rows of workers gone longer than a day
# (killed outright) are removed.
STALE_SECONDS = 20.0
FORGET_AFTER = timedelta(days=1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def _forget_the_dead_here(session: Session, host: str, own_id: str) -> None:
    """Remove rows of workers on this host whose process is gone (a restart after a kill)."""
    rows = session.execute(
        select(WorkerProcess.id, WorkerProcess.pid).where(
            WorkerProcess.host == host, WorkerProcess.id != own_id
        )
    ).all()
    dead = [row_id for row_id, pid in rows if not _alive(pid)]
    if dead:
        session.execute(delete(WorkerProcess).where(WorkerProcess.id.in_(dead)))


class Presence:
    """This worker's heartbeat row, and its share of the limits."""

    def __init__(self, db: Database, pacer: Pacer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.pacer = pacer
        self.clock = clock
        self.id = uuid.uuid4().hex
        self.workers = 1

    def beat(self) -> int:
        """Write the heartbeat, count the live workers, pace to a share; return the count."""
        now = self.clock()
        host = socket.gethostname()[:255]
        with self.db.session_scope() as session:
            seen = session.execute(
                update(WorkerProcess).where(WorkerProcess.id == self.id).values(seen_at=now)
            )
            if not seen.rowcount:
                session.add(
                    WorkerProcess(
                        id=self.id,
                        host=host,
                        pid=os.getpid(),
                        started_at=now,
                        seen_at=now,
                    )
                )
                session.execute(
                    delete(WorkerProcess).where(WorkerProcess.seen_at < now - FORGET_AFTER)
                )
                _forget_the_dead_here(session, host, self.id)
                session.flush()
            live = session.scalar(
                select(func.count()).where(
                    WorkerProcess.seen_at >= now - timedelta(seconds=STALE_SECONDS)
                )
            )
        live = max(1, live or 0)
        if live != self.workers:
            log.info("%d worker(s) share the providers' limits: pacing to 1/%d", live, live)
        self.workers = live
        self.pacer.share(live)
        return live

    def leave(self) -> None:
        """Remove this worker's row: the others take up its share at their next heartbeat."""
        with self.db.session_scope() as session:
            session.execute(delete(WorkerProcess).where(WorkerProcess.id == self.id))
