"""Sending hours in local time, across midnight and the Europe/London clock changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sending.quiet_hours import SendingHours

LONDON = SendingHours("Europe/London", "20:00", "09:00")


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        ("2026-12-01T08:59", True),  # winter: local = UTC
        ("2026-12-01T09:00", False),
        ("2026-12-01T19:59", False),
        ("2026-12-01T20:00", True),
        ("2026-12-01T23:30", True),  # across midnight
        ("2026-07-01T07:59", True),  # summer: 08:59 BST
        ("2026-07-01T08:00", False),  # 09:00 BST
        ("2026-07-01T19:00", True),  # 20:00 BST
    ],
)
def test_quiet_window_is_local_time(utc, quiet):
    assert LONDON.is_quiet(datetime.fromisoformat(utc).replace(tzinfo=UTC)) is quiet


def test_a_send_in_the_night_waits_for_nine_local():
    night = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    assert LONDON.next_open(night) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_the_spring_clock_change_night_ends_at_nine_bst():
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026.
    night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert LONDON.next_open(night) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def test_the_autumn_clock_change_night_ends_at_nine_gmt():
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    night = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert LONDON.next_open(night) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)


def test_outside_quiet_hours_sends_now_and_off_means_never_quiet():
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert LONDON.next_open(noon) == noon
    always = SendingHours("Europe/London", None, None)
    assert not always.is_quiet(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))


def test_a_daytime_quiet_window_that_does_not_cross_midnight():
    school = SendingHours("Europe/London", "09:00", "15:00")
    assert school.is_quiet(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert not school.is_quiet(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
