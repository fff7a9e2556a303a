"""POST /webhooks/telegram with real Update JSON; replies go to a loopback Bot API server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.models import InboundMessage, OutboundMessage, Resident, Response
from tests.conftest import TELEGRAM_SECRET, load_telegram
from tests.helpers import add_campaign, add_community

PATH = "/webhooks/telegram"
CHAT = 5551234567


def post(client, update, secret=TELEGRAM_SECRET):  # type: ignore[no-untyped-def]
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post(
        PATH, data=json.dumps(update), content_type="application/json", headers=headers
    )


def count(services, model) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def town(live_services):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    return live_services


def test_deep_link_yes_and_answer_by_telegram(live_client, town, telegram_api):
    assert post(live_client, load_telegram("start_payload")).status_code == 200
    welcome = telegram_api.calls_for("sendMessage")[-1]
    assert welcome.params["chat_id"] == CHAT
    assert "YES" in welcome.params["text"]
    assert "reply_markup" in welcome.params  # the Join button
    assert post(live_client, load_telegram("callback_join")).status_code == 200
    assert telegram_api.calls_for("answerCallbackQuery")
    assert "What's one thing" in telegram_api.sent_texts(CHAT)[-1]
    post(live_client, load_telegram("text"))
    assert telegram_api.sent_texts(CHAT)[-1].startswith("Would you like to help")
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.text)).all() == ["Hello there"]
        sent = session.scalars(select(OutboundMessage.status)).all()
        assert set(sent) == {"sent"}


def test_a_wrong_or_missing_secret_gets_403_and_changes_nothing(live_client, town, telegram_api):
    assert post(live_client, load_telegram("start_payload"), secret="wrong").status_code == 403
    assert post(live_client, load_telegram("start_payload"), secret=None).status_code == 403
    assert count(town, InboundMessage) == 0
    assert count(town, Resident) == 0
    assert telegram_api.calls_for("sendMessage") == []


def test_a_body_that_is_not_json_is_a_400(live_client, town):
    response = live_client.post(
        PATH,
        data=b"{not json",
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 400
    assert count(town, InboundMessage) == 0


def test_one_reply_travels_in_the_webhook_answer_not_through_the_bot_api(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    api_calls = len(telegram_api.calls_for("sendMessage"))
    answer = post(live_client, load_telegram("text"))
    assert answer.status_code == 200
    call = answer.get_json()
    assert call["method"] == "sendMessage" and call["chat_id"] == CHAT
    assert call["text"].startswith("Would you like to help")
    assert len(telegram_api.calls_for("sendMessage")) == api_calls + 1
    assert telegram_api.calls_for("sendMessage")[-1].via == "webhook-answer"
    with town.db.session_scope() as session:
        reply = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    assert (reply.status, reply.provider_id, reply.attempts) == ("sent", "webhook-reply", 1)


def test_joining_and_coming_back_get_their_words_and_the_question_in_one_webhook_answer(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    through_api = [c for c in telegram_api.calls if c.via == "api"]
    joined = post(live_client, load_telegram("yes")).get_json()
    assert joined["text"].startswith("Thank you for joining Cumnock Voices!")
    assert "\n\nWhat's one thing" in joined["text"]
    post(live_client, load_telegram("stop_command"))
    start = load_telegram("yes", update_id=912345690)
    start["message"].update(message_id=290, text="START")
    back = post(live_client, start).get_json()
    assert back["text"].startswith("Welcome back to Cumnock Voices!")
    assert "\n\nWhat's one thing" in back["text"]
    # Each answer carried its one message: the Bot API was not called inside the request.
    assert [c for c in telegram_api.calls if c.via == "api"] == through_api


def test_erasure_is_confirmed_in_the_webhook_answer_and_nothing_of_it_is_kept(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    through_api = [c for c in telegram_api.calls if c.via == "api"]
    for number, words in enumerate(["DELETE", "CONFIRM"]):
        update = load_telegram("yes", update_id=912345700 + number)
        update["message"].update(message_id=300 + number, text=words)
        answer = post(live_client, update).get_json()
    assert "erased" in answer["text"].lower()
    assert [c for c in telegram_api.calls if c.via == "api"] == through_api
    assert count(town, Resident) == 0
    assert count(town, OutboundMessage) == 0


def test_a_redelivered_update_id_is_stored_once_and_not_answered_twice(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    first = post(live_client, load_telegram("text"))
    api_calls = [c for c in telegram_api.calls if c.via == "api"]
    # Telegram redelivers an update only when it did not get the answer, so it never ran the
    # call in it: the redelivery's answer carries the same reply, and nothing else is sent.
    again = post(live_client, load_telegram("text"))
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert [c for c in telegram_api.calls if c.via == "api"] == api_calls
    assert count(town, Response) == 1
    assert count(town, InboundMessage) == 3


def test_a_redelivered_update_whose_replies_went_through_the_bot_api_is_not_answered_again(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    # A photo with a caption answers the prompt: a word about photos and the next prompt.
    assert post(live_client, load_telegram("photo_caption")).get_data() == b""
    sent = len(telegram_api.sent_texts(CHAT))
    assert post(live_client, load_telegram("photo_caption")).get_data() == b""
    assert len(telegram_api.sent_texts(CHAT)) == sent
    assert count(town, Response) == 1


IGNORED = ["edited_message", "my_chat_member", "sticker"]


@pytest.mark.parametrize("name", IGNORED, ids=IGNORED)
def test_updates_it_ignores_still_get_200(live_client, town, telegram_api, name):
    assert post(live_client, load_telegram(name)).status_code == 200
    assert telegram_api.calls_for("sendMessage") == []
    assert count(town, InboundMessage) == 0


def test_a_photo_with_a_caption_is_kept_with_its_file_reference(live_client, town, telegram_api):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    update = load_telegram("photo_caption")
    post(live_client, update)
    assert "Words help" in telegram_api.sent_texts(CHAT)[-2] or "Words help" in " ".join(
        telegram_api.sent_texts(CHAT)[-2:]
    )
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.text)).all() == [update["message"]["caption"]]
        raw = session.scalar(
            select(InboundMessage.raw_enc).where(
                InboundMessage.provider_id == str(update["update_id"])
            )
        )
    largest = update["message"]["photo"][-1]["file_id"]
    assert largest.encode() in town.vault.decrypt_bytes(raw)


def test_the_update_is_kept_exactly_as_telegram_sent_it(live_client, town, telegram_api):
    """The stored payload is the received JSON, with fields python-telegram-bot does not know."""
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    update = load_telegram("text", some_future_field={"kept": ["as", "sent"]})
    update["message"]["another_new_field"] = 7
    assert post(live_client, update).status_code == 200
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.text)).all() == [update["message"]["text"]]
        raw = session.scalar(
            select(InboundMessage.raw_enc).where(
                InboundMessage.provider_id == str(update["update_id"])
            )
        )
    assert json.loads(town.vault.decrypt_bytes(raw)) == update


def test_a_voice_note_is_kept_and_acknowledged(live_client, town, telegram_api):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    post(live_client, load_telegram("voice"))
    assert "Words help" in telegram_api.sent_texts(CHAT)[-1]
    assert count(town, Response) == 0
    assert count(town, InboundMessage) == 3


def test_start_without_a_payload_points_a_stranger_to_the_poster_link(
    live_client, town, telegram_api
):
    post(live_client, load_telegram("start_plain"))
    said = telegram_api.sent_texts(CHAT)[-1]
    assert "link on its poster" in said and "cumnock" not in said.lower()


def test_stop_command_opts_out_and_confirms(live_client, town, telegram_api):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    post(live_client, load_telegram("stop_command"))
    assert "START" in telegram_api.sent_texts(CHAT)[-1]
    with town.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "opted_out"


def test_gaelic_language_code_picks_the_gaelic_prompt(live_client, town, telegram_api):
    start = load_telegram("start_payload")
    chat = load_telegram("gaelic_language")["message"]["chat"]["id"]
    start["message"]["chat"]["id"] = chat
    start["message"]["from"]["id"] = chat
    start["message"]["from"]["language_code"] = "gd"
    post(live_client, start)
    yes = load_telegram("yes", update_id=start["update_id"] + 1000)
    yes["message"]["chat"]["id"] = chat
    yes["message"]["from"]["language_code"] = "gd"
    post(live_client, yes)
    post(live_client, load_telegram("gaelic_language"))
    assert telegram_api.sent_texts(chat)[-1].startswith("Am bu toigh leat")


def test_a_send_that_fails_is_left_for_retry_and_still_answers_200(live_client, town, telegram_api):
    post(live_client, load_telegram("start_payload"))
    telegram_api.fail_next("sendMessage", 500, "Internal Server Error")
    # A pressed button is answered through the Bot API (answerCallbackQuery, then the reply).
    assert post(live_client, load_telegram("callback_join")).status_code == 200
    with town.db.session_scope() as session:
        statuses = session.scalars(select(OutboundMessage.status).order_by(OutboundMessage.id))
        assert list(statuses)[-1] == "failed"


def test_blocking_the_bot_opts_the_resident_out(live_client, town, telegram_api):
    post(live_client, load_telegram("start_payload"))
    post(live_client, load_telegram("yes"))
    assert post(live_client, load_telegram("my_chat_member")).status_code == 200
    with town.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "opted_out"
