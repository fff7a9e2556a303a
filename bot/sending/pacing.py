"""Pacing: never faster than a channel allows (Telegram per bot and per chat, Twilio per sender)."""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.texts import sms_segments

# https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
TELEGRAM_PER_SECOND = 30.0
TELEGRAM_PER_CHAT_PER_SECOND = 1.0
# Twilio counts segments per sender; UK long codes manage about 10 a second.
TWILIO_SEGMENTS_PER_SECOND = 10.0
# Twilio places an account's outbound calls at 1 a second unless the account's CPS is raised.
TWILIO_CALLS_PER_SECOND = 1.0
# Messages on the wire at once for one limit: the worker's sending threads per lane (a
# provider sees a message after we let it go and before it answers).
IN_FLIGHT = 4
# A fast limit (more than IN_FLIGHT / (1 - RATE_SHARE), about 270/s with 4 threads) lets at most
# limit - IN_FLIGHT messages go in any second, so the provider never counts more than the limit,
# and a sender that was stalled makes up to this much lost time afterwards.
CATCH_UP_SECONDS = 0.25
# A slower limit sends at this share of it (so network jitter between our clock and the
# provider's cannot push the provider's count for one second over the limit) ...
RATE_SHARE = 0.985
# ... with up to two messages back to back after a late wake-up, never more: a stalled sender
# does not catch up in a burst. Smaller where rate + burst would pass the limit.
MAX_BURST = 2.0
# ... and a log of the last sends keeps the total under the limit (messages of several SMS
# segments), measured over a slightly longer window for the same jitter.
WINDOW_SECONDS = 1.01
MAX_WINDOWS = 10_000


@dataclass(frozen=True)
class PacingLimits:
    """The configured rates, per second."""

    telegram_per_second: float = TELEGRAM_PER_SECOND
    telegram_per_chat_per_second: float = TELEGRAM_PER_CHAT_PER_SECOND
    twilio_segments_per_second: float = TWILIO_SEGMENTS_PER_SECOND
    twilio_calls_per_second: float = TWILIO_CALLS_PER_SECOND

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PacingLimits:
        """Read the rates from the environment (names below), falling back to the defaults."""
        # Defaults: Telegram 30/s overall and 1/s per chat; Twilio 10 segments/s per sender.
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            value = float(raw)
            if value <= 0:
                raise ValueError(f"{name} must be more than zero")
            return value

        return cls(
            telegram_per_second=number("TELEGRAM_MAX_PER_SECOND", TELEGRAM_PER_SECOND),
            telegram_per_chat_per_second=number(
                "TELEGRAM_MAX_PER_CHAT_PER_SECOND", TELEGRAM_PER_CHAT_PER_SECOND
            ),
            twilio_segments_per_second=number(
                "TWILIO_SEGMENTS_PER_SECOND", TWILIO_SEGMENTS_PER_SECOND
            ),
            twilio_calls_per_second=number("TWILIO_CALLS_PER_SECOND", TWILIO_CALLS_PER_SECOND),
        )


class TokenBucket:
    """Paces one limit: a token bucket inside a sliding window cap.

    Tokens refill at `rate` up to `burst`; a send of n units needs min(n, burst) tokens and takes
    n. A log of the sends keeps the units of any `window` seconds within `limit`.

    A fast limit (`per_second` - `in_flight` at least RATE_SHARE of it) lets at most
    `per_second` - `in_flight` go in any second. A message the provider counts in some second was
    let go in that second or was already on the wire when it began, and at most `in_flight` are on
    the wire at once, so the provider never counts more than `per_second`. The bucket spaces the
    sends evenly at that rate and holds CATCH_UP_SECONDS of them, so a sender stalled for a moment
    (a late wake-up, a wait for the GIL) makes the time up within the cap rather than losing it.

    A slower limit would lose too much to that margin, so it sends at RATE_SHARE of the limit with
    a burst of at most MAX_BURST and `burst + rate` within the limit: time spent idle or stalled
    earns at most the burst, not a catch-up, and any WINDOW_SECONDS holds at most the limit.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        if per_second - in_flight >= per_second * RATE_SHARE:
            self.window = 1.0
            self.limit = self.rate = per_second - in_flight
            self.burst = max(1.0, self.rate * CATCH_UP_SECONDS)
        else:
            self.window = WINDOW_SECONDS
            self.limit = per_second
            if per_second < 1:
                # Below one a second: one unit per 1/rate seconds.
                self.window, self.limit = WINDOW_SECONDS / per_second, 1.0
            self.rate = per_second * RATE_SHARE
            self.burst = max(1.0, min(MAX_BURST, per_second - self.rate))
        self.clock = clock
        self.per_second = per_second
        self.in_flight = in_flight
        self._tokens = self.burst
        self._updated: float | None = None
        self._log: collections.deque[tuple[float, float]] = collections.deque()
        self._used = 0.0

    def retuned(self, per_second: float) -> TokenBucket:
        """The same limit at another rate, remembering what was sent and the tokens left."""
        bucket = TokenBucket(per_second, self.clock, self.in_flight)
        bucket._tokens = min(bucket.burst, self._tokens)
        bucket._updated = self._updated
        bucket._log = self._log
        bucket._used = self._used
        return bucket

    def _refill(self, now: float) -> None:
        if self._updated is not None and now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        if self._updated is None or now > self._updated:
            self._updated = now

    def delay(self, units: float, now: float) -> float:
        """Seconds to wait before `units` may go (0 when they may go now)."""
        self._refill(now)
        wait = (min(units, self.burst) - self._tokens) / self.rate
        while self._log and self._log[0][0] <= now - self.window:
            self._used -= self._log.popleft()[1]
        if self._used + units > self.limit and self._log:
            # Wait until enough of the oldest entries have left the window.
            used = self._used
            until = self._log[-1][0]
            for at, amount in self._log:
                used -= amount
                if used + units <= self.limit:
                    until = at
                    break
            wait = max(wait, until + self.window - now)
        # Less than a microsecond is no wait: no sleep is that short, and the bucket keeps the
        # exact count, so the sends after it make up for it.
        return wait if wait >= 1e-6 else 0.0

    def record(self, units: float, now: float) -> None:
        self._refill(now)
        self._tokens -= units
        self._log.append((now, units))
        self._used += units

    def idle(self, now: float) -> bool:
        """Nothing sent for a whole window: the bucket is full again and can be forgotten."""
        return not self._log or self._log[-1][0] <= now - self.window


class Pacer:
    """Blocks each send until every limit it falls under allows it; safe across threads.

    `in_flight` is the most messages one limit can have on the wire at once: the sender's
    threads per lane. With `share(n)` it paces for 1/n of every limit: n worker processes send
    for one deployment, and the provider counts them all.
    """

    def __init__(
        self,
        limits: PacingLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.limits = limits or PacingLimits()
        self.in_flight = in_flight
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._windows: dict[str, TokenBucket] = {}
        self._held_until: dict[str, float] = {}
        self.workers = 1

    def _window(self, key: str, per_second: float) -> TokenBucket:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) > MAX_WINDOWS:
                self._forget_idle()
            window = self._windows[key] = TokenBucket(
                per_second / self.workers, self.clock, self.in_flight
            )
        return window

    def share(self, workers: int) -> None:
        """Pace for 1/`workers` of every limit from now on (sends already made still count)."""
        workers = max(1, workers)
        with self._lock:
            if workers != self.workers:
                scale, self.workers = self.workers / workers, workers
                for key, window in self._windows.items():
                    self._windows[key] = window.retuned(window.per_second * scale)

    def _forget_idle(self) -> None:
        now = self.clock()
        for key, window in list(self._windows.items()):
            if window.idle(now):
                del self._windows[key]

    def hold(self, channel: str, seconds: float) -> None:
        """Send nothing more on `channel` for `seconds` (the provider asked us to slow down)."""
        with self._lock:
            until = self.clock() + seconds
            self._held_until[channel] = max(until, self._held_until.get(channel, 0.0))

    def buckets(
        self, channel: str, address: str, text: str, sender: str
    ) -> list[tuple[str, float, float]]:
        """The (key, rate, units) limits one message counts against."""
        if channel == "telegram":
            return [
                ("telegram", self.limits.telegram_per_second, 1.0),
                (f"telegram:{address}", self.limits.telegram_per_chat_per_second, 1.0),
            ]
        if channel in ("sms", "whatsapp"):
            segments = float(sms_segments(text)[0]) if channel == "sms" else 1.0
            return [(f"twilio:{sender}", self.limits.twilio_segments_per_second, segments)]
        if channel == "voice":
            # Twilio's calls-per-second limit is the account's, whichever number calls.
            return [("twilio-calls", self.limits.twilio_calls_per_second, 1.0)]
        return []

    def wait(
        self,
        channel: str,
        address: str,
        text: str,
        sender: str = "",
        should_stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Wait for a slot and take it; False when asked to stop while waiting."""
        buckets = self.buckets(channel, address, text, sender)
        if not buckets:
            return True
        while True:
            with self._lock:
                now = self.clock()
                held = self._held_until.get(channel, 0.0) - now
                windows = [(self._window(key, rate), units) for key, rate, units in buckets]
                delay = max([held, *(window.delay(units, now) for window, units in windows)])
                if delay <= 0:
                    for window, units in windows:
                        window.record(units, now)
                    return True
            if should_stop():
                return False
            self.sleep(min(delay, 0.25))
