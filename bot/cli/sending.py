"""Sending: `voices worker` (scheduler and outbox sender) and `voices campaign report-back`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from bot.cli.base import Context, campaign_id_or_fail, cli, community_or_fail, fail, pass_ctx
from bot.cli.commands import campaign, community

if TYPE_CHECKING:
    from bot.sending.pacing import PacingLimits
    from bot.sending.sender import OutboxSender, SenderPolicy
    from bot.services import Services
    from bot.worker.scheduler import Worker


log = logging.getLogger(__name__)


def build_sender(
    services: Services, limits: PacingLimits | None = None, policy: SenderPolicy | None = None
) -> OutboxSender:
    """An outbox sender over every channel the services have switched on."""
    from bot.channels.base import Sender
    from bot.channels.twilio_calls import TwilioCaller
    from bot.sending.pacing import Pacer, PacingLimits
    from bot.sending.sender import OutboxSender, SenderPolicy, SimulatorSender
    from bot.sending.twilio_outbox import TwilioChannelSender

    senders: dict[str, Sender] = {"simulator": SimulatorSender()}
    names: dict[str, str] = {}
    if services.twilio is not None:
        twilio = TwilioChannelSender(services.twilio)
        senders["sms"] = senders["whatsapp"] = twilio
        names["sms"] = names["whatsapp"] = names["voice"] = services.twilio.sender
        voice = f"{services.settings.public_base_url}/webhooks/twilio/voice"
        senders["voice"] = TwilioCaller(services.twilio, voice, f"{voice}/status")
    if services.telegram is not None:
        senders["telegram"] = services.telegram
    try:
        limits = limits or PacingLimits.from_env()
        policy = policy or SenderPolicy.from_env()
    except ValueError as exc:
        fail(str(exc))
    return OutboxSender(
        services.db,
        services.vault,
        senders,
        pacer=Pacer(limits, in_flight=policy.threads_per_lane),
        policy=policy,
        sender_names=names,
    )


def build_worker(services: Services) -> Worker:
    """The scheduler with every registered job plus one sending lane per channel."""
    from bot.worker import jobs  # registers the feature jobs (safeguarding alerts, retention)
    from bot.worker.scheduler import JobContext, Worker

    if services.settings.retention_days:
        jobs.enable_retention(services.settings.retention_days)
    outbox = build_sender(services)
    return Worker(JobContext(services.db, services.vault, outbox))


@cli.command()
@pass_ctx
def worker(ctx: Context) -> None:
    """Production scheduler and outbound sender (the Procfile's worker)."""
    from storage.db_errors import keep_values_out_of_logs  # SQLAlchemy only when it runs

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    keep_values_out_of_logs()
    for line in ctx.services.channel_lines():
        click.echo(line)
    running = build_worker(ctx.services)
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing messages in flight, then stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    running.start()
    click.echo("worker: sending and scheduling; stop with SIGTERM or Ctrl+C")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("worker: stopped; nothing left half-sent")


@campaign.command("report-back")
@click.argument("campaign_slug")
@click.option("--community", "slug", required=True)
@click.option("--text", "body", required=True, help="What you did with what you heard.")
@click.option("--another", is_flag=True, help="Send a further update after one was sent already.")
@pass_ctx
def campaign_report_back(
    ctx: Context, campaign_slug: str, slug: str, body: str, another: bool
) -> None:
    """Send "you said, we did" to everyone who answered and has not opted out."""
    from bot.campaigns import operations

    with ctx.services.db.session_scope() as session:
        campaign_id = campaign_id_or_fail(session, community_or_fail(session, slug), campaign_slug)
    assert campaign_id is not None
    try:
        queued = operations.report_back(
            ctx.services.db,
            campaign_id,
            body,
            another=another,
            public_base_url=ctx.settings.public_base_url,
        )
    except operations.ReportBackError as exc:
        fail(str(exc))
    click.echo(
        f"report-back queued for {queued} resident(s) who answered {campaign_slug}; "
        "the worker sends it outside quiet hours"
    )


@community.command("whatsapp-template")
@click.argument("slug")
@click.argument("content_sid")
@pass_ctx
def community_whatsapp_template(ctx: Context, slug: str, content_sid: str) -> None:
    """Set the approved WhatsApp template (HX… Content SID, or off) for prompts after 24 hours."""
    value = None if content_sid.lower() == "off" else content_sid.strip()
    if value is not None and not (value.startswith("HX") and len(value) == 34):
        fail(f"{content_sid!r} is not a Twilio Content SID like HX followed by 32 characters")
    with ctx.services.db.session_scope() as session:
        community_or_fail(session, slug).whatsapp_content_sid = value
    if value is None:
        click.echo(f"{slug}: WhatsApp prompts wait until a resident writes after 24 hours")
    else:
        click.echo(f"{slug}: WhatsApp prompts after 24 hours use template {value}")
