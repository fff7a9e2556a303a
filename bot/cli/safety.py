"""Safety sub-commands: the safeguarding queue and settings, and retention."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, community_or_fail, fail, pass_ctx
from bot.cli.terminal import inert


@cli.group("safeguarding")
def safeguarding_group() -> None:
    """Safeguarding: the designated lead's queue, contact, help contacts and warning phrases."""


@safeguarding_group.command("list")
@click.option("--community", "slug", required=True)
@click.option("--all", "show_all", is_flag=True, help="include acknowledged alerts")
@pass_ctx
def safeguarding_list(ctx: Context, slug: str, show_all: bool) -> None:
    """Messages waiting for the designated lead, oldest first."""
    from bot.conversation import safeguarding

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        entries = safeguarding.queue(session, target.id, include_acknowledged=show_all)
        if not entries:
            click.echo(f"no safeguarding alerts waiting in {slug}")
            return
        for entry in entries:
            state = "acknowledged" if entry.acknowledged else "OPEN"
            click.echo(
                f"#{entry.alert_id} {entry.created_at} {state} {entry.pseudonym} "
                f"[{entry.categories}]: {inert(entry.text)}"
            )


@safeguarding_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--community", "slug", required=True)
@click.option("--by", "by", default="lead", show_default=True, help="who looked at it")
@pass_ctx
def safeguarding_ack(ctx: Context, alert_id: int, slug: str, by: str) -> None:
    """Acknowledge an alert once a person has looked at it."""
    from bot.conversation import safeguarding

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        if not safeguarding.acknowledge(session, target.id, alert_id, by):
            fail(f"no open safeguarding alert #{alert_id} in {slug}")
    click.echo(f"acknowledged #{alert_id}")


@safeguarding_group.command("set")
@click.option("--community", "slug", required=True)
@click.option("--lead-sms", help="the designated lead's phone number, E.164")
@click.option("--lead-whatsapp", help="the designated lead's WhatsApp number, E.164")
@click.option("--lead-telegram", help="the designated lead's Telegram chat id")
@click.option("--help-contacts", help="the help line(s) a matching message is answered with")
@click.option("--add-phrase", "add", multiple=True, help="a warning phrase for this community")
@click.option(
    "--remove-phrase", "remove", multiple=True, help="drop one of this community's phrases"
)
@pass_ctx
def safeguarding_set(
    ctx: Context,
    slug: str,
    lead_sms: str | None,
    lead_whatsapp: str | None,
    lead_telegram: str | None,
    help_contacts: str | None,
    add: tuple[str, ...],
    remove: tuple[str, ...],
) -> None:
    """Set the lead's contact (stored encrypted), the help contacts and extra warning phrases."""
    from bot.conversation import safeguarding

    leads = [
        (channel, value)
        for channel, value in (
            ("sms", lead_sms),
            ("whatsapp", lead_whatsapp and f"whatsapp:{lead_whatsapp.removeprefix('whatsapp:')}"),
            ("telegram", lead_telegram),
        )
        if value
    ]
    if len(leads) > 1:
        fail("give one of --lead-sms, --lead-whatsapp or --lead-telegram")
    if lead_telegram and not lead_telegram.lstrip("-").isdigit():
        fail("--lead-telegram must be a numeric chat id")
    if help_contacts is not None and not help_contacts.strip():
        fail("--help-contacts must not be empty")
    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        if leads:
            safeguarding.set_lead(session, ctx.services.vault, target, *leads[0])
            click.echo(f"the designated lead is reached by {leads[0][0]} (stored encrypted)")
        if help_contacts is not None:
            target.help_contacts = help_contacts.strip()
            click.echo("help contacts set")
        if add or remove:
            phrases = [p for p in target.safeguarding_words or [] if p not in remove]
            phrases += [p.strip() for p in add if p.strip() and p.strip() not in phrases]
            target.safeguarding_words = phrases
            click.echo(f"{len(phrases)} community warning phrase(s) on top of the default list")
        if not (leads or help_contacts is not None or add or remove):
            lead = target.safeguarding_lead_channel or "not set"
            click.echo(
                f"lead: {lead}; help contacts: {safeguarding.list_for(target).help_contacts}"
            )
            click.echo(f"community phrases: {', '.join(target.safeguarding_words or []) or 'none'}")


@safeguarding_group.command("send-alerts")
@pass_ctx
def safeguarding_send_alerts(ctx: Context) -> None:
    """Send queued alerts to each community's designated lead now (cron or the worker)."""
    from bot.conversation import safeguarding

    svc = ctx.services
    senders = {"sms": svc.twilio, "whatsapp": svc.twilio, "telegram": svc.telegram}
    sent = safeguarding.deliver_lead_alerts(svc.db, svc.vault, senders)
    click.echo(f"sent {sent} safeguarding alert(s) to designated leads")


@cli.command("retention")
@click.option("--older-than-days", "days", type=int, required=True)
@click.option("--dry-run", is_flag=True, help="count what would be erased, erase nothing")
@pass_ctx
def retention_command(ctx: Context, days: int, dry_run: bool) -> None:
    """Erase responses older than N days, and residents with nothing left and no recent contact."""
    from bot.conversation import retention

    if days < 1:
        fail("--older-than-days must be at least 1")
    with ctx.services.db.session_scope() as session:
        result = retention.sweep(session, days, dry_run=dry_run)
        if dry_run:
            session.rollback()
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb} {result.responses} response(s), {result.messages} stored message(s) and "
        f"{result.residents} resident(s) older than {days} days"
    )
    if result.kept_for_safeguarding:
        click.echo(
            f"kept {result.kept_for_safeguarding} response(s) behind open safeguarding alerts"
        )
