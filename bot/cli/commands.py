"""The sub-commands of `voices`."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

import click

from bot.cli.base import (
    Context,
    campaign_id_or_fail,
    cli,
    community_or_fail,
    fail,
    local_day_bounds,
    parse_timezone,
    parse_when,
    pass_ctx,
)
from bot.conversation.words import keyword_problem
from bot.texts import SEGMENT_BUDGET

# The heavy libraries are imported inside the commands that need them: `voices --help` stays fast.
EXPORT_FORMATS = ("csv", "jsonl", "xlsx")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@cli.command()
def keygen() -> None:
    """Print a new VOICES_DATA_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply migrations."""
    ctx.services.db.upgrade()
    click.echo("database is up to date")


@cli.group()
def community() -> None:
    """Communities."""


@community.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The name residents see.")
@click.option("--keyword", help="The word residents text to join (default: the slug in capitals).")
@click.option("--timezone", "tz", default="Europe/London", show_default=True)
@click.option("--quiet-hours", default="20:00-09:00", show_default=True, help="HH:MM-HH:MM or off")
@click.option("--sms-number", help="The Twilio number residents text, in E.164.")
@click.option("--young-people", is_flag=True, help="Ask an age band first; under-13s are not kept.")
@pass_ctx
def community_add(
    ctx: Context,
    slug: str,
    name: str,
    keyword: str | None,
    tz: str,
    quiet_hours: str,
    sms_number: str | None,
    young_people: bool,
) -> None:
    """Create a community."""
    from sqlalchemy import select

    from storage.models import Community

    if not SLUG_RE.match(slug):
        fail(f"slug {slug!r} must be lower-case letters, digits and dashes, like cumnock")
    name = name.strip()
    if not name or len(name) > 60:
        fail("--name must be 1 to 60 characters")
    keyword = (keyword or slug.replace("-", "")).upper()
    problem = keyword_problem(keyword)
    if problem:
        fail(f"keyword {keyword!r}: {problem}")
    parse_timezone(tz)
    quiet_start = quiet_end = None
    if quiet_hours.lower() != "off":
        match = HOURS_RE.match(quiet_hours)
        if not match or quiet_hours[:5] == quiet_hours[6:]:
            fail(f"--quiet-hours {quiet_hours!r} must look like 20:00-09:00, or be off")
        quiet_start, quiet_end = quiet_hours[:5], quiet_hours[6:]
    with ctx.services.db.session_scope() as session:
        if session.scalar(select(Community).where(Community.slug == slug)):
            fail(f"community {slug!r} already exists")
        if session.scalar(select(Community).where(Community.keyword == keyword)):
            fail(f"keyword {keyword!r} is already used by another community")
        session.add(
            Community(
                slug=slug,
                name=name,
                keyword=keyword,
                timezone=tz,
                quiet_start=quiet_start,
                quiet_end=quiet_end,
                sms_number=sms_number,
                young_people=young_people,
            )
        )
    click.echo(f"created {slug}: residents text {keyword} to join (Telegram: /start {slug})")
    if young_people:
        click.echo("young people: joining asks an age band first; under-13s are not kept")


@community.command("publish")
@click.argument("slug")
@click.option("--off", is_flag=True, help="Take the page down: /results/SLUG answers 404.")
@pass_ctx
def community_publish(ctx: Context, slug: str, off: bool) -> None:
    """Publish (or take down) the community's public results page, /results/SLUG."""
    from storage.publishing import results_link, set_published

    with ctx.services.db.session_scope() as session:
        found = community_or_fail(session, slug)
        changed = set_published(session, found.id, not off)
    link = results_link(ctx.settings.public_base_url, slug)
    if off:
        click.echo(f"{slug}: results page taken down" + ("" if changed else " (it was not up)"))
    else:
        click.echo(f"{slug}: results page published at {link}" + ("" if changed else " (already)"))
    click.echo("other web workers show the change within a few seconds")


@community.command("list")
@pass_ctx
def community_list(ctx: Context) -> None:
    """Communities with residents, heard and unheard counts."""
    from sqlalchemy import select

    from bot.insights import coverage
    from storage.models import Community

    with ctx.services.db.session_scope() as session:
        found = session.scalars(select(Community).order_by(Community.slug)).all()
        if not found:
            click.echo("no communities yet: voices community add SLUG --name NAME")
            return
        click.echo(
            f"{'community':<20} {'keyword':<12} {'joined':>7} {'heard':>7} {'unheard':>8} "
            f"{'heard %':>8} {'erased':>7}"
        )
        for item in found:
            counts = coverage.overall(session, item.id)
            joined, heard, unheard, share = counts.cells()
            click.echo(
                f"{item.slug:<20} {item.keyword:<12} {joined:>7} {heard:>7} {unheard:>8} {share:>8}"
                f" {item.erased_count:>7}"
            )


@cli.group()
def campaign() -> None:
    """Prompt campaigns."""


@campaign.command("launch")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--community", "slug", required=True)
@click.option("--start", help="ISO 8601; without an offset it is the community's local time.")
@click.option(
    "--allow-long",
    is_flag=True,
    help=f"Allow texts over {SEGMENT_BUDGET} SMS segments (each costs more).",
)
@pass_ctx
def campaign_launch(
    ctx: Context, file: Path, slug: str, start: str | None, allow_long: bool
) -> None:
    """Load a prompt file and run it now or from a time."""
    from bot.campaigns import operations, prompt_files

    try:
        spec = prompt_files.load_prompt_file(file)
    except prompt_files.PromptFileError as exc:
        fail(str(exc))
    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        zone = parse_timezone(target.timezone)
        starts_at = parse_when(start, zone, "--start") if start else None
        community_id = target.id
    try:
        launched = operations.launch(ctx.services.db, community_id, spec, starts_at, allow_long)
    except operations.LaunchError as exc:
        fail(str(exc))
    local = launched.starts_at.astimezone(zone)
    when = (
        "now"
        if launched.running
        else f"from {local:%Y-%m-%d %H:%M} {zone.key} "
        f"({launched.starts_at.astimezone(UTC):%Y-%m-%dT%H:%M}Z)"
    )
    click.echo(f"launched {spec.slug} in {slug} {when}: {launched.prompts} prompt(s)")
    if launched.running:
        line = f"queued the first prompt for {launched.queued} resident(s)"
        if launched.waiting:
            line += (
                f"; {launched.waiting} with another campaign's question open get it after "
                "answering that one"
            )
        click.echo(line)


@campaign.command("close")
@click.argument("campaign_slug")
@click.option("--community", "slug", required=True)
@pass_ctx
def campaign_close(ctx: Context, campaign_slug: str, slug: str) -> None:
    """Stop asking a campaign's questions."""
    from bot.campaigns import operations

    with ctx.services.db.session_scope() as session:
        campaign_id = campaign_id_or_fail(session, community_or_fail(session, slug), campaign_slug)
    assert campaign_id is not None
    closed = operations.close(ctx.services.db, campaign_id)
    if closed.already:
        click.echo(f"{campaign_slug} in {slug} was already closed")
    else:
        click.echo(f"closed {campaign_slug} in {slug}: no more of its questions will be asked")


@campaign.command("list")
@click.option("--community", "slug")
@pass_ctx
def campaign_list(ctx: Context, slug: str | None) -> None:
    """Campaigns and their progress."""
    from sqlalchemy import select

    from bot.insights.funnel import funnel
    from storage.models import Campaign

    with ctx.services.db.session_scope() as session:
        query = select(Campaign).order_by(Campaign.starts_at)
        if slug:
            query = query.where(Campaign.community_id == community_or_fail(session, slug).id)
        found = session.scalars(query).all()
        if not found:
            click.echo("no campaigns yet: voices campaign launch FILE --community SLUG")
            return
        click.echo(
            f"{'campaign':<24} {'community':<16} {'status':<10} {'queued':>7} {'sent':>7} "
            f"{'delivered':>9} {'failed':>7} {'answered':>9} {'heard':>6}"
        )
        for item in found:
            numbers = funnel(session, item)
            click.echo(
                f"{item.slug:<24} {item.community.slug:<16} {item.status:<10} "
                f"{numbers.waiting:>7} {numbers.sent:>7} {numbers.delivered:>9} "
                f"{numbers.failed:>7} {numbers.answered:>9} {numbers.heard_percent:>5}%"
            )


@cli.command("export")
@click.option("--community", "slug", required=True)
@click.option("--campaign", "campaign_slug")
@click.option("--since", help="a date or time; dates are the community's local days")
@click.option("--until", help="a date or time; a date includes that whole day")
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True
)
@click.option("--redact", is_flag=True, help="mask phone numbers, e-mail addresses and postcodes")
@click.option(
    "--include-safeguarding",
    is_flag=True,
    help="also export messages that matched a safeguarding phrase (left out by default)",
)
@click.option("--output", default="-", show_default=True, help="a file, or - for standard output")
@pass_ctx
def export(
    ctx: Context,
    slug: str,
    campaign_slug: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    redact: bool,
    include_safeguarding: bool,
    output: str,
) -> None:
    """Export responses."""
    if fmt == "xlsx" and output == "-" and sys.stdout.isatty():
        fail("an Excel file would fill the terminal with binary: add --output responses.xlsx")
    from bot.insights import recorded_exports
    from bot.insights.recorded_exports import Exporter, recorded_filters
    from storage import exports

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        zone = parse_timezone(target.timezone)
        spec = exports.ExportFilter(
            community_id=target.id,
            campaign_id=campaign_id_or_fail(session, target, campaign_slug),
            since=local_day_bounds(since, zone, "--since", end=False) if since else None,
            until=local_day_bounds(until, zone, "--until", end=True) if until else None,
            redact=redact,
            include_safeguarding=include_safeguarding,
        )
    filters = recorded_filters(campaign_slug, since, until, redact, include_safeguarding)
    with _opened(output) as stream:
        by = Exporter.command_line()
        for chunk in recorded_exports.export(ctx.services.db, spec, fmt, by, filters):
            stream.write(chunk)
        stream.flush()
    if output != "-":
        click.echo(f"wrote {output}", err=True)


@contextmanager
def _opened(output: str) -> Iterator[BinaryIO]:
    """Standard output for "-", otherwise the file, opened before anything is recorded."""
    if output == "-":
        yield sys.stdout.buffer
        return
    try:
        with open(output, "wb") as handle:
            yield handle
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
