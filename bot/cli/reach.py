"""`voices nudge`, `voices coverage` and the community settings nudges and groups depend on."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, community_or_fail, fail, pass_ctx
from bot.cli.commands import community

ROW = "{:<24} {:>12} {:>7} {:>8} {:>8}"


@cli.command("nudge")
@click.option("--dry-run", is_flag=True, help="only count who would be nudged, and why")
@click.option("--limit", type=click.IntRange(min=1), help="at most this many per community")
@pass_ctx
def nudge(ctx: Context, dry_run: bool, limit: int | None) -> None:
    """One nudge sweep now; prints how many would be / were nudged and why, counts only."""
    from bot.campaigns import nudges
    from storage.models import utcnow

    with ctx.services.db.session_scope() as session:
        report = nudges.sweep(session, utcnow(), dry_run=dry_run, limit=limit)
    for line in report.lines():
        click.echo(line)


@cli.command("coverage")
@click.option("--community", "slug", required=True)
@pass_ctx
def coverage(ctx: Context, slug: str) -> None:
    """Who has and has not been heard, overall and per self-described group."""
    from bot.insights import coverage as reach
    from storage.small_groups import FEWER_THAN, SMALL_GROUP

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        found = reach.coverage(session, target.id)
    click.echo(f"{target.name} ({slug})")
    click.echo(ROW.format("group", "joined", "heard", "unheard", "heard %"))
    click.echo(ROW.format("everyone", *found.overall.cells()))
    if not found.groups:
        click.echo(
            "no self-described groups: voices community set-question SLUG --key K --text T "
            "--choices A,B"
        )
    for key, rows in found.groups.items():
        click.echo(f"by {key}:")
        for row in rows:
            click.echo(ROW.format(f"  {row.label}", *row.cells()))
    click.echo(f"groups under {SMALL_GROUP} people are shown as {FEWER_THAN}")


@community.command("set-question")
@click.argument("slug")
@click.option("--key", required=True, help="a short name for the question, like area or age")
@click.option("--text", "text", help="the question residents see")
@click.option("--choices", help="the answer choices, separated by commas")
@click.option("--remove", is_flag=True, help="stop asking this question and forget its answers")
@pass_ctx
def set_question(
    ctx: Context, slug: str, key: str, text: str | None, choices: str | None, remove: bool
) -> None:
    """Ask an optional self-described question right after someone joins (at most two)."""
    from bot.conversation import profile

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        if remove:
            if not profile.remove_question(session, target.id, key):
                fail(f"{slug} has no question {key!r}")
            click.echo(f"{slug} no longer asks {key}")
            return
        if not text or not choices:
            fail("give --text and --choices (or --remove)")
        try:
            question = profile.set_question(session, target.id, key, text, choices.split(","))
        except profile.ProfileError as exc:
            fail(str(exc))
        asked = profile.render(question.text, profile.choices_of(question))
        click.echo(f"{slug} asks after joining: {asked.text}")


@community.command("configure")
@click.argument("slug")
@click.option("--checkin-days", type=click.IntRange(1, 365), help="silence before a check-in")
@click.option(
    "--nudge-gap-hours", type=click.IntRange(1, 24 * 14), help="least time between two nudges"
)
@pass_ctx
def configure(
    ctx: Context, slug: str, checkin_days: int | None, nudge_gap_hours: int | None
) -> None:
    """Change how patiently a community's quiet residents are asked again."""
    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        if checkin_days is not None:
            target.checkin_after_days = checkin_days
        if nudge_gap_hours is not None:
            target.nudge_gap_hours = nudge_gap_hours
        click.echo(
            f"{slug}: check in after {target.checkin_after_days} quiet days; "
            f"at most one nudge every {target.nudge_gap_hours} hours"
        )
