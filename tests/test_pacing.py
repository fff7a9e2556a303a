"""The pacer with a controlled clock: rate, room for messages in flight, and catch-up."""

from __future__ import annotations

from bot.sending.pacing import (
    CATCH_UP_SECONDS,
    IN_FLIGHT,
    MAX_BURST,
    RATE_SHARE,
    Pacer,
    PacingLimits,
)
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


def test_a_steady_sender_keeps_under_the_limit_less_what_is_in_flight_and_uses_it_all():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=500), clock=clock, sleep=clock.sleep)
    granted = _send(pacer, clock, 3000)
    # Four messages may still be on the wire from the second before: 496 + 4 = 500.
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 500 - IN_FLIGHT
    in_five_seconds = sum(1 for t in granted if t < granted[0] + 5.0)
    assert in_five_seconds >= 5 * (500 - IN_FLIGHT) * 0.999


def test_more_sending_threads_leave_more_room_under_the_limit():
    clock = Clock()
    pacer = Pacer(
        PacingLimits(twilio_segments_per_second=500), clock=clock, sleep=clock.sleep, in_flight=7
    )
    granted = _send(pacer, clock, 2000)
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 493


def _sent_in_five_seconds(stall: float = 0.0, oversleep: float = 0.0) -> list[float]:
    """Grants over five seconds at 500/s, the sender stalled after one second and starved after
    two (a sleep that returns late)."""
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=500), clock=clock, sleep=clock.sleep)
    granted = _send(pacer, clock, 500)
    clock.now += stall
    granted += _send(pacer, clock, 500)
    clock.oversleep = oversleep
    while clock.now < granted[0] + 5.0:
        granted += _send(pacer, clock, 1)
    return [t for t in granted if t < granted[0] + 5.0]


def test_a_short_stall_is_made_up_within_the_limit_and_a_long_one_is_not():
    cap = 500 - IN_FLIGHT
    steady = len(_sent_in_five_seconds())
    # 80 ms stalled between two sends (a wait for the GIL, a page fault), then a sleep 60 ms late:
    short = _sent_in_five_seconds(stall=0.08, oversleep=0.06)
    assert len(short) == steady, "time lost to a short stall is made up"
    assert _most_in_any_window(short, [1.0] * len(short)) <= cap
    catch_up = max(short.count(t) for t in short)
    assert 1 < catch_up <= cap * CATCH_UP_SECONDS + 1, "a catch-up is at most CATCH_UP_SECONDS"

    long = _sent_in_five_seconds(stall=0.75)
    assert _most_in_any_window(long, [1.0] * len(long)) <= cap
    # A long stall is lost for all but about CATCH_UP_SECONDS of it.
    assert steady - len(long) >= cap * (0.75 - 2 * CATCH_UP_SECONDS)


def test_a_stalled_sender_at_a_slow_limit_does_not_catch_up():
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=100), clock=clock, sleep=clock.sleep)
    before = _send(pacer, clock, 200)
    clock.now += 0.75
    after_pause = _send(pacer, clock, 200)
    clock.oversleep = 0.5
    after_oversleep = _send(pacer, clock, 200)

    for resumed in (after_pause, after_oversleep):
        at_once = sum(1 for t in resumed if t == resumed[0])
        assert at_once <= MAX_BURST, "after a stall only the burst may go at once"
        # The first second after the stall: the rate plus the burst, never a catch-up.
        first_second = sum(1 for t in resumed if t < resumed[0] + 1.0)
        assert first_second <= 100 * RATE_SHARE + MAX_BURST
    granted = before + after_pause + after_oversleep
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 100


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


def test_two_workers_each_send_half_and_together_never_more_than_the_limit():
    """Each pacer alone keeps to its share; the provider sees both workers' sends together."""
    clock = Clock()
    first = Pacer(PacingLimits(twilio_segments_per_second=10), clock=clock, sleep=clock.sleep)
    second = Pacer(PacingLimits(twilio_segments_per_second=10), clock=clock, sleep=clock.sleep)
    first.share(2)
    second.share(2)
    granted = []
    for _ in range(100):  # the two workers take turns at the same provider
        for pacer in (first, second):
            assert pacer.wait("sms", "+447700900001", "hi", "+447700900000")
            granted.append(clock())
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 10
    assert granted[-1] - granted[0] < 200 / (10 * RATE_SHARE) * 1.05


def test_a_new_share_keeps_what_was_sent_in_the_last_second():
    """Going from one worker to two halves the rate without a fresh burst at the change."""
    clock = Clock()
    pacer = Pacer(PacingLimits(twilio_segments_per_second=10), clock=clock, sleep=clock.sleep)
    before = _send(pacer, clock, 30)
    pacer.share(2)
    after = _send(pacer, clock, 30)
    granted = before + after
    assert _most_in_any_window(granted, [1.0] * len(granted)) <= 10
    # After the change, five a second at most (its window of 1.01 s keeps at most 5).
    assert _most_in_any_window(after, [1.0] * len(after)) <= 5
    assert after[-1] - after[0] >= 29 / 5 * 0.95
    pacer.share(1)
    again = _send(pacer, clock, 30)
    assert again[-1] - again[0] < 29 / 10 * 1.1
