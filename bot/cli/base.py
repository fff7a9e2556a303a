"""What every `voices` sub-command shares: the group, its context, one-line user errors."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services


EXIT_USER_ERROR = 2


class UserError(click.ClickException):
    """A mistake the user can fix: one line on stderr, exit code 2."""

    exit_code = EXIT_USER_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"voices: {self.message}", err=True)


def fail(message: str) -> NoReturn:
    raise UserError(message)


class Context:
    """Settings and services, built on first use so `voices keygen` needs no database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._services: Services | None = None

    @property
    def settings(self) -> Settings:
        from bot.config import ConfigError, load_settings

        if self._settings is None:
            try:
                self._settings = load_settings()
            except ConfigError as exc:
                fail(str(exc))
        return self._settings

    @property
    def services(self) -> Services:
        from bot.services import Services

        if self._services is None:
            self._services = Services.build(self.settings)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Community Voices: hear from everyone in a place, by SMS and Telegram."""
    ctx.obj = Context()
    ctx.call_on_close(ctx.obj.close)


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown timezone {name!r}; use a name like Europe/London")


def parse_when(value: str, zone: ZoneInfo, option: str) -> datetime:
    """An ISO 8601 date or time; without an offset it is the community's local time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not an ISO 8601 date or time like 2026-12-01T10:00")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def community_or_fail(session: Any, slug: str) -> Any:
    from sqlalchemy import select

    from storage.models import Community

    community = session.scalar(select(Community).where(Community.slug == slug))
    if community is None:
        known = (
            ", ".join(session.scalars(select(Community.slug).order_by(Community.slug)))
            or "none yet"
        )
        fail(f"no community {slug!r} (known: {known})")
    return community


def campaign_id_or_fail(session: Any, community: Any, campaign_slug: str | None) -> int | None:
    """The id of the community's campaign with this slug (None when no slug was given)."""
    from sqlalchemy import select

    from storage.models import Campaign

    if not campaign_slug:
        return None
    found = session.scalar(
        select(Campaign.id).where(
            Campaign.community_id == community.id, Campaign.slug == campaign_slug
        )
    )
    if found is None:
        fail(f"no campaign {campaign_slug!r} in {community.slug}")
    return found


def local_day_bounds(value: str, zone: ZoneInfo, option: str, end: bool) -> datetime:
    """A date means the start of that local day (or the end of it, for --until)."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            start = datetime.combine(day, time(0), tzinfo=zone)
            return start + timedelta(days=1) if end else start
    except ValueError:
        fail(f"{option} {value!r} is not a date like 2026-12-01")
    return parse_when(value, zone, option)
