"""A Telegram Bot API that hangs does not hold the webhook answer for long."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from storage.models import OutboundMessage, Resident
from tests.conftest import TELEGRAM_SECRET, load_telegram
from tests.helpers import add_campaign, add_community

pytestmark = pytest.mark.slow
PATH = "/webhooks/telegram"
FEW_SECONDS = 7.0


def post(client, update):  # type: ignore[no-untyped-def]
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return client.post(
        PATH, data=json.dumps(update), content_type="application/json", headers=headers
    )


@pytest.fixture
def town(live_services):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    return live_services


def test_a_hanging_bot_api_answers_the_webhook_within_seconds_and_keeps_the_reply(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    telegram_api.hang_next("sendMessage", 60, count=5)

    started = time.monotonic()
    # A pressed button (YES) is answered through the Bot API: the joining reply and the prompt.
    answer = post(live_client, load_telegram("callback_join"))
    took = time.monotonic() - started

    assert answer.status_code == 200
    assert took < FEW_SECONDS
    with town.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "joined"
        stuck = session.scalars(
            select(OutboundMessage.status)
            .where(OutboundMessage.kind == "prompt")
            .order_by(OutboundMessage.id)
        ).all()
    assert stuck[-1] == "failed"  # kept for the sender to try again


def test_a_hanging_bot_api_costs_one_timeout_even_when_two_replies_are_due(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    telegram_api.hang_next("sendMessage", 60, count=5)

    started = time.monotonic()
    # A photo with a caption answers the prompt: a kind word about photos and the next prompt.
    answer = post(live_client, load_telegram("photo_caption"))
    took = time.monotonic() - started

    assert answer.status_code == 200
    assert took < FEW_SECONDS
    with town.db.session_scope() as session:
        statuses = session.scalars(
            select(OutboundMessage.status).order_by(OutboundMessage.id)
        ).all()
    assert statuses[-2:] == ["failed", "failed"]  # both kept, in order, for the sender
