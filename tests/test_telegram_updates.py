"""Every Telegram update ends the same whether it came by webhook or by long polling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import InboundMessage, OutboundMessage, Resident, Response
from tests.conftest import DATA_KEY, TELEGRAM_SECRET, TELEGRAM_TOKEN, load_telegram
from tests.helpers import add_campaign, add_community
from webhooks.cli import cli

BY_WEBHOOK, BY_POLLING = 7000000001, 7000000002
UPDATE_ID_OFFSET = {BY_WEBHOOK: 1_000_000_000, BY_POLLING: 2_000_000_000}
# The resident answers the welcome first, so that the update under test meets a joined resident.
JOINED = ("start_payload", "yes")
# (label, updates sent before, the update under test, the resident's status afterwards,
#  the start of the last reply to it, or None when it gets none)
CASES = [
    ("deep link", (), "start_payload", "invited", "Hello from Cumnock Voices"),
    ("plain /start", (), "start_plain", None, "Hello"),
    ("join button", ("start_payload",), "callback_join", "joined", "Thank you for joining"),
    ("text answer", JOINED, "text", "joined", "Would you like to help"),
    ("photo with caption", JOINED, "photo_caption", "joined", "Would you like to help"),
    ("voice note", JOINED, "voice", "joined", "Thank you for sending that! Words help"),
    ("/stop", JOINED, "stop_command", "opted_out", "You won't get"),
    ("edited message", JOINED, "edited_message", "joined", None),
    ("sticker", JOINED, "sticker", "joined", None),
    ("blocked the bot", JOINED, "my_chat_member", "opted_out", None),
]


def as_chat(name: str, chat: int) -> dict[str, Any]:
    """A fixture as if sent by another resident: every chat and sender id is theirs."""
    update = load_telegram(name)
    update["update_id"] += UPDATE_ID_OFFSET[chat]  # Telegram never reuses an update id
    text = json.dumps(update).replace("5551234567", str(chat)).replace("5551234568", str(chat))
    return json.loads(text)


def what_they_see(services, telegram_api, chat: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The rows kept about one resident and the replies that reached their chat."""
    address_hash = services.vault.address_hash("telegram", str(chat))
    with services.db.session_scope() as session:
        resident = session.scalar(select(Resident).where(Resident.address_hash == address_hash))
        mine = OutboundMessage.resident_id == (resident.id if resident else None)
        return {
            "status": resident.status if resident else None,
            "inbound": session.scalars(
                select(InboundMessage.text)
                .where(InboundMessage.address_hash == address_hash)
                .order_by(InboundMessage.id)
            ).all(),
            "responses": session.scalars(
                select(Response.text).join(Resident).where(Resident.address_hash == address_hash)
            ).all(),
            "outbound": session.execute(
                select(OutboundMessage.kind, OutboundMessage.text, OutboundMessage.status)
                .where(mine)
                .order_by(OutboundMessage.id)
            ).all(),
            "replies": telegram_api.sent_texts(chat),
        }


@pytest.fixture
def polling_env(monkeypatch, database_url, telegram_api, tmp_path):  # type: ignore[no-untyped-def]
    """`voices telegram poll` pointed at the test database and the loopback Bot API."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.base_url)
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.chdir(tmp_path)
    return telegram_api


def poll_once() -> None:
    result = CliRunner().invoke(cli, ["telegram", "poll", "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def send_both_ways(client, fake, names: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Post the updates to the webhook as one resident, and poll them once as another."""
    for name in names:
        answer = client.post(
            "/webhooks/telegram",
            data=json.dumps(as_chat(name, BY_WEBHOOK)),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
        assert answer.status_code == 200
        fake.queue_update(as_chat(name, BY_POLLING))
    poll_once()


@pytest.mark.parametrize(("before", "name", "status", "reply"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_an_update_ends_the_same_by_webhook_and_by_polling(
    live_client, live_services, polling_env, before, name, status, reply
):
    add_community(live_services)
    add_campaign(live_services)
    send_both_ways(live_client, polling_env, before)
    earlier = len(polling_env.sent_texts(BY_WEBHOOK))
    assert len(polling_env.sent_texts(BY_POLLING)) == earlier
    send_both_ways(live_client, polling_env, (name,))

    by_webhook = what_they_see(live_services, polling_env, BY_WEBHOOK)
    assert what_they_see(live_services, polling_env, BY_POLLING) == by_webhook
    assert by_webhook["status"] == status
    replies = by_webhook["replies"][earlier:]
    if reply is None:
        assert replies == []
    else:
        assert replies and replies[-1].startswith(reply), replies


def test_a_resident_who_blocks_the_bot_while_polling_is_sent_nothing_more(
    live_services, polling_env
):
    add_community(live_services)
    add_campaign(live_services)
    for name in (*JOINED, "my_chat_member"):
        polling_env.queue_update(load_telegram(name))
    poll_once()
    with live_services.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "opted_out"


def test_polling_asks_telegram_for_the_same_kinds_of_update_as_the_webhook(
    polling_env, monkeypatch, db
):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://voices.example.org")
    result = CliRunner().invoke(cli, ["telegram", "set-webhook"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    poll_once()
    webhook_kinds = polling_env.calls_for("setWebhook")[-1].params["allowed_updates"]
    assert "my_chat_member" in webhook_kinds and "callback_query" in webhook_kinds
    assert polling_env.calls_for("getUpdates")[-1].params["allowed_updates"] == webhook_kinds
