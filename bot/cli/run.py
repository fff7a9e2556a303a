"""Running the app: serve, demo data, and the Telegram connection."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.base import Context, cli, fail, pass_ctx

if TYPE_CHECKING:
    from bot.channels import telegram
    from bot.config import Settings


DEMO_EMAIL = "demo@example.org"
# The name says on every page that nothing here was said by real people.
DEMO_NAME = "Demo Town (demo data)"
PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
DEMO_PROMPTS = PROMPTS_DIR / "where-you-live.yaml"
log = logging.getLogger(__name__)


@cli.command()
@pass_ctx
def demo(ctx: Context) -> None:
    """Load a demo community, campaign and made-up answers when the database is empty."""
    from sqlalchemy import select

    from bot.campaigns import prompt_files
    from bot.cli import demo_data
    from storage import users
    from storage.models import DEFAULT_QUIET_HOURS, Community
    from storage.publishing import results_link

    with ctx.services.db.session_scope() as session:
        if session.scalar(select(Community.id).limit(1)) is not None:
            click.echo("demo: the database already has communities; nothing loaded")
            return
        town = Community(
            slug="demo",
            name=DEMO_NAME,
            keyword="DEMO",
            timezone="Europe/London",
            quiet_start=DEFAULT_QUIET_HOURS[0],
            quiet_end=DEFAULT_QUIET_HOURS[1],
        )
        session.add(town)
        session.flush()
        spec = prompt_files.load_prompt_file(DEMO_PROMPTS)
        campaign = prompt_files.launch(session, town, spec)
        answers = demo_data.load(session, ctx.services.vault, town, campaign)
        demo_data.publish_results(session, town, campaign)
        login = None
        if not ctx.settings.is_production:
            password = secrets.token_urlsafe(12)
            users.create_user(session, DEMO_EMAIL, password, "admin", ["demo"])
            login = demo_login_file(ctx.settings)
            login.write_text(f"{DEMO_EMAIL} {password}\n")
            login.chmod(0o600)
    click.echo(
        f"demo: loaded community 'demo' (text DEMO) with the campaign {spec.slug} and "
        f"{answers} made-up answers from {demo_data.RESIDENTS} pretend residents"
    )
    click.echo(f"demo: public results page at {results_link(ctx.settings.public_base_url, 'demo')}")
    if login is not None:
        click.echo(f"demo: organiser login {DEMO_EMAIL}, password kept in {login}")


def demo_login(ctx: Context) -> tuple[str, str] | None:
    """The demo organiser's e-mail and password, when the database served has that user."""
    from sqlalchemy import select

    from storage import users
    from storage.models import User

    login = demo_login_file(ctx.settings)
    if ctx.settings.is_production or not login.exists():
        return None
    email, _, password = login.read_text().strip().partition(" ")
    with ctx.services.db.session_scope() as session:
        found = session.scalar(select(User.id).where(User.email == users.normalise_email(email)))
    return (email, password) if found is not None else None


def demo_login_file(settings: Settings) -> Path:
    """Where development keeps the demo organiser's login, so `voices serve` can show it."""
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return settings.instance_path / "demo_login.txt"


@cli.group("telegram")
def telegram_group() -> None:
    """The Telegram channel."""


def _telegram(ctx: Context) -> telegram.TelegramClient:
    client = ctx.services.telegram
    if client is None:
        fail("Telegram is off: set TELEGRAM_BOT_TOKEN (from @BotFather) first")
    return client


@telegram_group.command("set-webhook")
@pass_ctx
def set_webhook(ctx: Context) -> None:
    """Register this app's webhook with Telegram, with the secret token."""
    from bot.conversation import updates

    client = _telegram(ctx)
    settings = ctx.settings
    if not settings.public_base_url.startswith("https://"):
        fail("PUBLIC_BASE_URL must be the https:// address the world reaches this app at")
    if not settings.telegram_webhook_secret:
        fail("TELEGRAM_WEBHOOK_SECRET must be set (letters, digits, _ and -, up to 256)")
    url = f"{settings.public_base_url}/webhooks/telegram"
    try:
        client.run(
            client.bot.set_webhook(
                url=url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=list(updates.ALLOWED_UPDATES),
            )
        )
        me = client.run(client.bot.get_me())
    finally:
        client.close()
    click.echo(
        f"Telegram webhook set to {url}; residents join at https://t.me/{me.username}?start=SLUG"
    )


@telegram_group.command("poll")
@click.option("--once", is_flag=True, help="Fetch one batch of updates and stop.")
@pass_ctx
def poll(ctx: Context, once: bool) -> None:
    """Run Telegram by long polling: no public URL needed."""
    from bot.conversation import updates

    client = _telegram(ctx)
    services = ctx.services
    client.run(client.bot.delete_webhook(drop_pending_updates=False))
    me = client.run(client.bot.get_me())
    click.echo(
        f"polling Telegram as @{me.username}; residents join at https://t.me/{me.username}?start=SLUG"
    )
    offset = 0
    try:
        while True:
            try:
                batch = client.run(
                    client.bot.get_updates(
                        offset=offset,
                        timeout=0 if once else 25,
                        allowed_updates=list(updates.ALLOWED_UPDATES),
                    )
                )
            except Exception as exc:
                log.warning("getUpdates failed: %s", exc)
                if once:
                    raise
                time.sleep(3)
                continue
            for update in batch:
                offset = max(offset, update.update_id + 1)
                updates.handle(
                    services.db,
                    services.vault,
                    client,
                    update.to_dict(),
                    limits=services.limits(),
                )
            if once:
                break
    finally:
        client.close()
