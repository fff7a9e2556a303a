"""The pacer with a controlled clock: rate, burst and no catch-up after a stall."""

from __future__ import annotations

from bot.pacing import MAX_BURST, RATE_SHARE, Pacer, PacingLimits
from bot.texts import sms_segments


class Clock:
    """Time that moves only when the pacer sleeps, or when the test stalls the sender."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.oversleep = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        # A sleep may overrun once by `oversleep`: the process was starved of CPU meanwhile.
        self.now += seconds + self.oversleep
        self.oversleep = 0.0


def _most_in_any_window(times: list[float], weights: list[float], seconds: float = 1.0) -> float:
    pairs = sorted(zip(times, weights, strict=True))
    return max(
        sum(w for t, w in pairs[start:] if t < at + seconds) for start, (at, _) in enumerate(pairs)
    )


def _send(pacer: Pacer, clock: Clock, count: int, text: str = "hi") -> list[float]:
    granted = []
    for _ in range(count):
        assert pacer.wait("sms", "+447700900001", text, "+447700900000")
        granted.append(clock())
    return granted


def test_a_steady_sender_keeps_to_the_rate_and_uses_nearly_all_of_it():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=500), clock=clock, sleep=clock.sleep)
    granted = _send(pacer, clock, 3000)
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 500
    achieved = (len(granted) - 1) / (granted[-1] - granted[0])
    assert 500 * RATE_SHARE * 0.999 <= achieved <= 500


def test_a_stalled_sender_does_not_burst_past_rate_and_burst_afterwards():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=500), clock=clock, sleep=clock.sleep)
    before = _send(pacer, clock, 1000)
    # Stalled between two sends (a long pause in the process) ...
    clock.now += 0.75
    after_pause = _send(pacer, clock, 1000)
    # ... and starved in the middle of a wait: the sleep returns half a second late.
    clock.oversleep = 0.5
    after_oversleep = _send(pacer, clock, 1000)

    for resumed in (after_pause, after_oversleep):
        at_once = sum(1 for t in resumed if t == resumed[0])
        assert at_once <= MAX_BURST, "after a stall only the burst may go at once"
        # The first second after the stall: the rate plus the burst, never a catch-up.
        first_second = sum(1 for t in resumed if t < resumed[0] + 1.0)
        assert first_second <= 500 * RATE_SHARE + MAX_BURST
    granted = before + after_pause + after_oversleep
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 500


def test_at_low_rates_no_burst_passes_the_limit():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=10), clock=clock, sleep=clock.sleep)
    granted = _send(pacer, clock, 30)
    clock.now += 3.0
    granted += _send(pacer, clock, 30)
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 10


def test_messages_of_several_segments_count_each_segment():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=10), clock=clock, sleep=clock.sleep)
    long_text = "A message long enough to need three SMS segments. " * 7
    segments = sms_segments(long_text)[0]
    assert segments == 3
    granted = _send(pacer, clock, 20, long_text)
    clock.now += 2.0
    granted += _send(pacer, clock, 20, long_text)
    assert _most_in_any_window(granted, [float(segments)] * len(granted)) <= 10


def test_telegram_keeps_one_a_second_per_chat_within_its_overall_rate():
    clock = Clock()
    pacer = Pacer(PacingLimits(telegram_per_second=30), clock=clock, sleep=clock.sleep)
    granted: dict[str, list[float]] = {}
    for n in range(300):
        chat = str(n % 10)
        assert pacer.wait("telegram", chat, "hi")
        granted.setdefault(chat, []).append(clock())
    every = sorted(t for times in granted.values() for t in times)
    assert _most_in_any_window(every, [1.0] * len(every)) <= 30
    for times in granted.values():
        assert _most_in_any_window(times, [1.0] * len(times)) <= 1
