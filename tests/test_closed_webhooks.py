"""Closed questions through the real webhooks: Twilio form bodies and Telegram Update JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Response
from tests.conftest import load_telegram, load_twilio, post_twilio
from tests.helpers import add_campaign, add_community
from tests.test_sms_webhook import sid, twiml_messages
from tests.test_telegram_webhook import CHAT, post

PARK = (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text()
SMS = "/webhooks/twilio/sms"


def _answers(services) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.execute(select(Response.text, Response.choice).order_by(Response.id)).all()


@pytest.mark.parametrize("fixture", ["sms_answer", "whatsapp_text"])
def test_a_choice_answered_by_text_branches_and_keeps_the_words(client, services, fixture):
    add_community(services)
    add_campaign(services, source=PARK)
    base = load_twilio(fixture)
    sender = {"From": base["From"], "To": base["To"]}

    def text(body: str) -> list[str]:
        params = load_twilio(fixture, Body=body, MessageSid=sid(), SmsSid="", SmsMessageSid="")
        params.update(sender)
        response = post_twilio(client, SMS, params)
        assert response.status_code == 200
        return twiml_messages(response)

    text("CUMNOCK")
    asked = text("YES")[-1]
    assert asked.splitlines()[-1] == "Reply 1, 2, 3 or 4"
    assert text("Not very safe") == ["What would make the park feel safer, or better for you?"]
    assert _answers(services) == [("Not very safe", "Not very safe")]


def _pressed(data: str, number: int) -> dict:  # type: ignore[type-arg]
    update = copy.deepcopy(load_telegram("callback_join"))
    update["update_id"] += number
    update["callback_query"]["id"] = f"46184217865748936{number:02d}"
    update["callback_query"]["data"] = data
    return update


def test_telegram_shows_the_choices_as_buttons_and_a_press_answers(
    live_client, live_services, telegram_api
):
    add_community(live_services)
    add_campaign(live_services, source=PARK)
    assert post(live_client, load_telegram("start_payload")).status_code == 200
    assert post(live_client, _pressed("YES", 1)).status_code == 200
    question = telegram_api.calls_for("sendMessage")[-1].params
    keyboard = question["reply_markup"]
    if isinstance(keyboard, str):
        keyboard = json.loads(keyboard)
    rows = keyboard["inline_keyboard"]
    assert [[button["text"] for button in row] for row in rows] == [
        ["Very safe"],
        ["Quite safe"],
        ["Not very safe"],
        ["Not at all safe"],
    ]
    assert post(live_client, _pressed(rows[3][0]["callback_data"], 2)).status_code == 200
    assert telegram_api.sent_texts(CHAT)[-1] == (
        "What would make the park feel safer, or better for you?"
    )
    assert _answers(live_services) == [("Not at all safe", "Not at all safe")]
