"""POST /webhooks/twilio/sms with real Twilio webhook bodies, signed by the real validator."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from storage.models import InboundMessage, OutboundMessage, Resident, Response
from tests.conftest import load_twilio, post_twilio
from tests.helpers import add_campaign, add_community

PATH = "/webhooks/twilio/sms"


def sid() -> str:
    return "SM" + secrets.token_hex(16)


def twiml_messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    from xml.etree import ElementTree

    root = ElementTree.fromstring(response.data)
    return [el.text or "" for el in root.iter("Message")]


def stored_texts(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(session.scalars(select(Response.text).order_by(Response.id)))


@pytest.fixture
def town(services):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    return services


def join(client) -> None:  # type: ignore[no-untyped-def]
    assert post_twilio(client, PATH, load_twilio("sms_keyword")).status_code == 200
    assert post_twilio(client, PATH, load_twilio("sms_yes")).status_code == 200


def test_keyword_yes_answer_by_sms_walks_the_whole_journey(client, town):
    welcome = post_twilio(client, PATH, load_twilio("sms_keyword"))
    assert welcome.status_code == 200
    assert welcome.mimetype == "text/xml"
    assert "YES" in twiml_messages(welcome)[0]
    joined = twiml_messages(post_twilio(client, PATH, load_twilio("sms_yes")))
    assert "What's one thing" in joined[-1]
    answer = post_twilio(client, PATH, load_twilio("sms_answer"))
    assert twiml_messages(answer)[0].startswith("Would you like to help")
    assert stored_texts(town) == [load_twilio("sms_answer")["Body"]]


def test_a_forged_signature_gets_403_and_stores_nothing(client, town):
    response = post_twilio(
        client, PATH, load_twilio("sms_keyword"), signature="bm90IGEgc2lnbmF0dXJl"
    )
    assert response.status_code == 403
    unsigned = client.post(PATH, data=load_twilio("sms_keyword"))
    assert unsigned.status_code == 403
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_a_signature_for_another_url_is_refused(client, town):
    from twilio.request_validator import RequestValidator

    from tests.conftest import TWILIO_TOKEN

    params = load_twilio("sms_keyword")
    wrong = RequestValidator(TWILIO_TOKEN).compute_signature("https://evil.example" + PATH, params)
    assert post_twilio(client, PATH, params, signature=wrong).status_code == 403


def test_a_parameter_changed_after_signing_is_refused(client, town):
    params = load_twilio("sms_keyword")
    from tests.conftest import twilio_signature

    signature = twilio_signature(PATH, params)
    params["Body"] = "something else"
    assert post_twilio(client, PATH, params, signature=signature).status_code == 403


def test_a_retried_message_sid_is_stored_once_and_answered_the_same(client, town):
    join(client)
    body = load_twilio("sms_answer")
    first = post_twilio(client, PATH, body)
    again = post_twilio(client, PATH, body)
    assert first.data == again.data
    assert stored_texts(town) == [body["Body"]]
    with town.db.session_scope() as session:
        assert (
            session.scalar(
                select(func.count()).where(InboundMessage.provider_id == body["MessageSid"])
            )
            == 1
        )


TRICKY = {
    "emoji and gaelic": "Tha mi ag iarraidh fèis mhòr ❤️🎄 — slàinte!",
    "right to left": "نريد حديقة أكبر للأطفال",
    "hebrew mixed": "שלום, more benches please",
    "quotes": "She said \"it's 'fine'\" — it isn't",
    "sql looking": "'; DROP TABLE responses; --",
    "formula looking": '=HYPERLINK("http://x","click")',
    "whitespace kept": "  two spaces before\r\nand a new line after  ",
    "1600 characters": ("Long thoughts about the park. " * 60)[:1600],
    "zero width and combining": "cafe\u0301 \u200bspace",
}


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_words_are_stored_byte_for_byte(client, town, text):
    join(client)
    response = post_twilio(client, PATH, load_twilio("sms_answer", Body=text, MessageSid=sid()))
    assert response.status_code == 200
    assert stored_texts(town) == [text]


def test_emoji_fixture_is_stored_exactly(client, town):
    join(client)
    body = load_twilio("sms_emoji")
    post_twilio(client, PATH, body)
    assert stored_texts(town) == [body["Body"]]


def test_stop_is_recorded_and_answered_with_an_empty_response(client, town):
    join(client)
    response = post_twilio(client, PATH, load_twilio("sms_stop"))
    assert response.status_code == 200
    assert twiml_messages(response) == []
    assert b"<Response />" in response.data or b"<Response/>" in response.data
    later = post_twilio(client, PATH, load_twilio("sms_answer"))
    assert twiml_messages(later) == []
    with town.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "opted_out"
    back = twiml_messages(post_twilio(client, PATH, load_twilio("sms_start")))
    assert "Welcome back" in back[0]


def test_help_fixture_answers_with_how_to_stop_and_erase(client, town):
    join(client)
    reply = twiml_messages(post_twilio(client, PATH, load_twilio("sms_help")))[0]
    assert "STOP" in reply and "DELETE" in reply


def test_an_mms_photo_keeps_the_caption_and_the_media_reference(client, town):
    join(client)
    body = load_twilio("sms_mms_photo")
    reply = twiml_messages(post_twilio(client, PATH, body))
    assert "Words help" in reply[0]
    assert stored_texts(town) == [body["Body"]]
    with town.db.session_scope() as session:
        raw = session.scalar(
            select(InboundMessage.raw_enc).where(InboundMessage.provider_id == body["MessageSid"])
        )
    assert body["MediaUrl0"].encode() in town.vault.decrypt_bytes(raw)


def test_an_mms_without_words_is_kept_and_acknowledged(client, town):
    join(client)
    body = load_twilio("sms_mms_no_caption")
    reply = twiml_messages(post_twilio(client, PATH, body))
    assert "Words help" in reply[0]
    assert stored_texts(town) == []
    with town.db.session_scope() as session:
        assert (
            session.scalar(
                select(func.count()).where(InboundMessage.provider_id == body["MessageSid"])
            )
            == 1
        )


def test_an_empty_body_is_acknowledged_not_stored_as_an_answer(client, town):
    join(client)
    reply = twiml_messages(post_twilio(client, PATH, load_twilio("sms_empty")))
    assert "empty" in reply[0]
    assert stored_texts(town) == []


def test_whatsapp_through_the_same_webhook_is_channel_whatsapp(client, town):
    body = load_twilio("whatsapp_text", Body="CUMNOCK")
    assert "YES" in twiml_messages(post_twilio(client, PATH, body))[0]
    post_twilio(client, PATH, load_twilio("whatsapp_text", Body="YES", MessageSid=sid()))
    post_twilio(client, PATH, load_twilio("whatsapp_text", Body="Music!", MessageSid=sid()))
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.channel)).all() == ["whatsapp"]


def test_replies_given_in_twiml_are_recorded_as_sent(client, town):
    post_twilio(client, PATH, load_twilio("sms_keyword"))
    with town.db.session_scope() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert (row.status, row.kind, row.channel) == ("sent", "reply", "sms")


def test_a_body_without_message_sid_is_a_400(client, town):
    params = {"From": "+447700900123", "Body": "hi"}
    assert post_twilio(client, PATH, params).status_code == 400


def test_the_phone_number_is_never_stored_in_clear(client, town):
    join(client)
    post_twilio(client, PATH, load_twilio("sms_answer"))
    number = load_twilio("sms_answer")["From"]
    with town.db.engine.connect() as connection:
        from storage.models import Base

        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    assert number not in str(value), table.name
                    assert number.lstrip("+") not in str(value), table.name


def test_a_flood_from_one_number_is_stored_whole_but_answered_only_up_to_the_limit(
    client, services, caplog
):  # type: ignore[no-untyped-def]
    add_community(services)
    answered = 0
    for number in range(25):
        params = load_twilio("sms_answer", Body="HELP", MessageSid=f"SMflood{number}")
        answered += bool(twiml_messages(post_twilio(client, PATH, params)))
    assert answered == services.settings.reply_limit == 20
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 25
    assert "reply limit" in caplog.text
