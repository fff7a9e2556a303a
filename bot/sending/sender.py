"""The outbox sender: claim due rows, send them outside the transaction, record what happened."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels.base import PermanentSendError, Sender, SendError, TransientSendError
from bot.channels.twilio_calls import TwilioCaller
from bot.messages import Outbound
from bot.sending import outbox
from bot.sending.claims import Claimed, claim_due
from bot.sending.outbox import SENDING_TIMEOUT
from bot.sending.pacing import Pacer
from bot.sending.twilio_outbox import TwilioChannelSender
from storage.crypto import Vault
from storage.db import Database
from storage.models import utcnow
from storage.statuses import ResidentStatus

log = logging.getLogger(__name__)

# Sent rows are recorded at least every FLUSH_EVERY messages or FLUSH_SECONDS seconds.
FLUSH_EVERY = 100
FLUSH_SECONDS = 0.5
# Each lane sends on its own thread so a slow channel never holds up a fast one.
LANES: dict[str, tuple[str, ...]] = {
    "telegram": ("telegram",),
    "twilio": ("sms", "whatsapp"),
    "calls": ("voice",),
    "simulator": ("simulator",),
}


class SimulatorSender:
    """The simulator has no provider: its page shows any row that is no longer queued."""

    channel = "simulator"

    def send(self, outbound: Outbound) -> str | None:
        return None


@dataclass(frozen=True)
class SenderPolicy:
    """How many rows to claim at once, how long a claim lasts, how to back off."""

    batch_size: int = 50
    sending_timeout: timedelta = SENDING_TIMEOUT
    max_attempts: int = 8
    base_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 3600.0
    threads_per_lane: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SenderPolicy:
        """The defaults, with VOICES_SENDING_TIMEOUT_SECONDS (how long a claim lasts) if set.

        A worker that dies leaves its claimed rows 'sending'; the housekeeping job queues them
        again once the claim is this old. Keep it well above the slowest send (providers
        time out after 10 s): a shorter claim could let a live send be repeated.
        """
        env = os.environ if environ is None else environ
        raw = env.get("VOICES_SENDING_TIMEOUT_SECONDS", "").strip()
        if not raw:
            return cls()
        seconds = float(raw)
        if seconds <= 0:
            raise ValueError("VOICES_SENDING_TIMEOUT_SECONDS must be more than zero")
        return cls(sending_timeout=timedelta(seconds=seconds))

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never sooner than the provider asked."""
        ceiling = min(
            self.max_backoff_seconds, self.base_backoff_seconds * 2 ** max(attempts - 1, 0)
        )
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        return max(delay, retry_after or 0.0)


class OutboxSender:
    """Sends due outbox rows on every configured channel at each channel's pace."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        senders: Mapping[str, Sender],
        pacer: Pacer | None = None,
        policy: SenderPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        sender_names: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.vault = vault
        self.senders = dict(senders)
        self.policy = policy or SenderPolicy()
        self.pacer = pacer or Pacer(in_flight=self.policy.threads_per_lane)
        if self.pacer.in_flight < self.policy.threads_per_lane:
            # The pacer's margin for messages on the wire must cover every sending thread.
            raise ValueError(
                f"the pacer allows for {self.pacer.in_flight} messages in flight, "
                f"but each lane sends on {self.policy.threads_per_lane} threads"
            )
        self.clock = clock
        self.sender_names = dict(sender_names or {})
        self.stopping = threading.Event()
        self._pools: dict[str, tuple[ThreadPoolExecutor, threading.Semaphore]] = {}
        # Sent rows are recorded in small batches: far less database work per message, at the
        # cost that a crash can lose the record of (and so repeat) at most one batch.
        self._sent: list[outbox.Sent] = []
        self._sent_lock = threading.Lock()
        self._oldest_unrecorded = 0.0

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, channels: tuple[str, ...], limit: int | None = None) -> list[Claimed]:
        """Mark up to `limit` due rows 'sending' and commit; skip rows other senders hold."""
        channels = tuple(c for c in channels if c in self.senders)
        return claim_due(self.db, channels, limit or self.policy.batch_size, self.clock())

    def release(self, items: list[Claimed]) -> None:
        """Hand claimed rows back to the queue untouched (stopping before they were sent)."""
        outbox.release_claims(self.db, [item.id for item in items])

    # -- sending -----------------------------------------------------------------------------

    def deliver(self, item: Claimed) -> str:
        """Send one claimed row and record the outcome: 'sent', 'retry' or 'failed'."""
        sender = self.senders[item.channel]
        try:
            outbound = Outbound(
                channel=item.channel,
                address=self.vault.decrypt(item.address_enc),
                text=item.text,
                kind=item.kind,
                buttons=item.buttons,
                resident_id=item.resident_id,
                outbox_id=item.id,
            )
            if isinstance(sender, TwilioChannelSender | TwilioCaller):
                provider_id = sender.send(outbound, item.from_number, item.template_sid)
            else:
                provider_id = sender.send(outbound)
        except PermanentSendError as exc:
            self._give_up(item, str(exc), exc.resident_status)
            return "failed"
        except TransientSendError as exc:
            if exc.retry_after:
                self.pacer.hold(item.channel, exc.retry_after)
            return self._retry(item, str(exc), exc.retry_after)
        except (SendError, ValueError) as exc:
            return self._retry(item, str(exc), None)
        except Exception as exc:  # a bug or an unexpected provider answer: keep the row
            log.exception("outbox %s: unexpected error while sending", item.id)
            return self._retry(item, f"{type(exc).__name__}: {exc}", None)
        record = outbox.Sent(item.id, provider_id or item.channel, item.attempts + 1, self.clock())
        with self._sent_lock:
            self._sent.append(record)
            if len(self._sent) == 1:
                self._oldest_unrecorded = time.monotonic()
            due = (
                len(self._sent) >= FLUSH_EVERY
                or time.monotonic() - self._oldest_unrecorded >= FLUSH_SECONDS
            )
        if due:
            # Soon, too: Twilio's status callbacks can only find a row once its SID is stored.
            self.flush_sent()
        return "sent"

    def flush_sent(self) -> int:
        """Record the messages that left since the last flush, in one statement."""
        with self._sent_lock:
            records, self._sent = self._sent, []
        return outbox.record_sent(self.db, records)

    def _retry(self, item: Claimed, error: str, retry_after: float | None) -> str:
        attempts = item.attempts + 1
        final = attempts >= self.policy.max_attempts
        next_at = None
        if not final:
            next_at = self.clock() + timedelta(seconds=self.policy.backoff(attempts, retry_after))
        log.info("outbox %s: attempt %d failed (%s)", item.id, attempts, error)
        outbox.retry_later(self.db, item.id, error, attempts, next_at)
        return "failed" if final else "retry"

    def _give_up(self, item: Claimed, error: str, resident_status: str | None) -> None:
        log.info("outbox %s: not sendable (%s)", item.id, error)
        now = self.clock()
        with self.db.session_scope() as session:
            outbox.give_up(session, item.id, error, item.attempts + 1)
            if resident_status is not None:
                outbox.opt_out(session, [item.resident_id], ResidentStatus(resident_status), now)

    # -- loops -------------------------------------------------------------------------------

    def _pool(self, lane: str) -> tuple[ThreadPoolExecutor, threading.Semaphore]:
        if lane not in self._pools:
            threads = self.policy.threads_per_lane
            pool = ThreadPoolExecutor(
                threads,
                thread_name_prefix=f"send-{lane}",
                initializer=self._prepare_thread,
                initargs=(lane,),
            )
            # Start every thread (and build its client) now, not between a paced slot and its
            # send: a first send that is late lands in the provider's next second with the rest.
            started = threading.Event()
            for _ in range(threads):
                pool.submit(started.wait, 5.0)
            started.set()
            self._pools[lane] = (pool, threading.Semaphore(threads))
        return self._pools[lane]

    def _prepare_thread(self, lane: str) -> None:
        for channel in LANES[lane]:
            prepare = getattr(self.senders.get(channel), "prepare_thread", None)
            if prepare is None:
                continue
            try:
                prepare()
            except Exception:  # an initializer that raises would break the whole pool
                log.exception("%s: preparing a sending thread failed", lane)

    def _dispatch(
        self, lane: str, items: list[Claimed] | None = None
    ) -> tuple[int, list[Future[str]]]:
        """Hand each row of a batch (claimed now if not given) to the lane's threads at its pace."""
        if items is None:
            items = self.claim(LANES[lane])
        if not items:
            return 0, []
        pool, free = self._pool(lane)
        futures: list[Future[str]] = []
        for index, item in enumerate(items):
            # Take a free thread first, so a paced message starts the moment it is allowed
            # (a queue inside the pool would release a burst later).
            while not free.acquire(timeout=0.25):
                if self.stopping.is_set():
                    break
            else:
                sender_name = item.from_number or self.sender_names.get(item.channel, "")
                if not self.stopping.is_set() and self.pacer.wait(
                    item.channel, item.address_enc, item.text, sender_name, self.stopping.is_set
                ):
                    future = pool.submit(self.deliver, item)
                    future.add_done_callback(lambda _: free.release())
                    futures.append(future)
                    continue
                free.release()
            self.release(items[index:])
            break
        return len(futures), futures

    def run_lane_once(self, lane: str) -> int:
        """Claim one batch for a lane, send it at the lane's pace, record it; return rows sent."""
        handled, futures = self._dispatch(lane)
        for future in futures:
            future.result()
        self.flush_sent()
        return handled

    def drain_lane(self, lane: str, max_seconds: float = 30.0) -> int:
        """Send a lane's due rows until none are left, time is up, or the sender stops.

        The next batch is claimed while the current one is paced out, so sending never pauses
        for a claim; the pacer, not the claims, sets the pace. A batch claimed but not sent
        (stopping, time up) is handed back.
        """
        started = time.monotonic()
        total = 0
        in_flight: list[Future[str]] = []
        upcoming: Future[list[Claimed]] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix=f"claim-{lane}") as claimer:
            try:
                upcoming = claimer.submit(self.claim, LANES[lane])
                while not self.stopping.is_set():
                    items = upcoming.result()
                    upcoming = None
                    if not items:
                        break
                    if time.monotonic() - started <= max_seconds:
                        upcoming = claimer.submit(self.claim, LANES[lane])
                    handled, futures = self._dispatch(lane, items)
                    total += handled
                    in_flight = [f for f in in_flight if not f.done()] + futures
                    if not handled or upcoming is None:
                        break
            finally:
                if upcoming is not None:
                    try:
                        unsent = upcoming.result()
                    except Exception:  # the claim failed: its transaction claimed nothing
                        unsent = []
                    self.release(unsent)
                for future in in_flight:
                    future.result()
                self.flush_sent()
        return total

    def lanes(self) -> list[str]:
        """Lanes with at least one configured channel."""
        return [
            lane for lane, channels in LANES.items() if any(c in self.senders for c in channels)
        ]

    def stop(self) -> None:
        """Finish the messages in flight, hand back the rest, and stop."""
        self.stopping.set()
        for pool, _ in self._pools.values():
            pool.shutdown(wait=True)
        self._pools.clear()
        self.flush_sent()
