"""Sending hours: campaign sends and nudges never reach residents at night, local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _parse(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class SendingHours:
    """A community's quiet window (for example 20:00-09:00) in its own timezone."""

    def __init__(self, timezone: str, quiet_start: str | None, quiet_end: str | None) -> None:
        self.zone = ZoneInfo(timezone)
        self.quiet = None
        if quiet_start and quiet_end and quiet_start != quiet_end:
            self.quiet = (_parse(quiet_start), _parse(quiet_end))

    @classmethod
    def of(cls, community: object) -> SendingHours:
        """The sending hours of a Community row."""
        return cls(
            community.timezone,  # type: ignore[attr-defined]
            community.quiet_start,  # type: ignore[attr-defined]
            community.quiet_end,  # type: ignore[attr-defined]
        )

    def is_quiet(self, moment: datetime) -> bool:
        """True when `moment` falls in the quiet window, local time (windows may cross midnight)."""
        if self.quiet is None:
            return False
        local = moment.astimezone(self.zone).time()
        start, end = self.quiet
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when sending is allowed, else the (UTC) instant the quiet window ends."""
        if not self.is_quiet(moment):
            return moment
        assert self.quiet is not None
        end = self.quiet[1]
        local = moment.astimezone(self.zone)
        for days in (0, 1, 2):
            day = (local + timedelta(days=days)).date()
            # Wall-clock end of the window on that day; zoneinfo resolves clock changes
            # (a 09:00 end is 09:00 local whether the day has 23, 24 or 25 hours).
            candidate = datetime.combine(day, end, tzinfo=self.zone)
            if candidate > local and not self.is_quiet(candidate):
                return candidate.astimezone(UTC)
        raise AssertionError("a quiet window always ends within two days")
