"""A dump of the whole database after conversations on every channel holds no contact detail."""

from __future__ import annotations

import json

from sqlalchemy import MetaData, select

from bot.conversation import safeguarding
from storage.models import Base, Community
from tests.conftest import TELEGRAM_SECRET, load_telegram, load_twilio, post_twilio
from tests.helpers import add_campaign, add_community

SMS = "+447700900123"
WHATSAPP = "whatsapp:+447700900124"
LEAD_SMS = "+447700900555"
LEAD_TELEGRAM = "777000111"
CHAT = 5551234567


def needles(address: str) -> set[str]:
    """The ways a phone number or chat id could appear in clear text."""
    digits = "".join(ch for ch in address if ch.isdigit())
    found = {address, digits}
    if digits.startswith("44"):
        found |= {"0" + digits[2:], digits[2:], f"0{digits[2:6]} {digits[6:]}"}
    return found


def dump(engine) -> tuple[set[str], list[str]]:  # type: ignore[no-untyped-def]
    """Every table name and every non-empty value of every column, as text."""
    meta = MetaData()
    meta.reflect(bind=engine)
    values: list[str] = []
    with engine.connect() as connection:
        for table in meta.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        values.append(
                            value if isinstance(value, str) else json.dumps(value, default=str)
                        )
    return set(meta.tables), values


def test_no_phone_number_or_chat_id_is_stored_in_clear_text(live_client, live_services):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    add_community(live_services, slug="youth", name="Youth", young_people=True)
    with live_services.db.session_scope() as session:
        town, youth = session.scalars(select(Community).order_by(Community.id)).all()
        safeguarding.set_lead(session, live_services.vault, town, "sms", LEAD_SMS)
        safeguarding.set_lead(session, live_services.vault, youth, "telegram", LEAD_TELEGRAM)

    # SMS and WhatsApp through the signed Twilio webhook.
    for sender in (SMS, WHATSAPP):
        for number, body in enumerate(["CUMNOCK", "YES", "A ceilidh", "I want to die", "HELP"]):
            params = load_twilio(
                "sms_answer", From=sender, Body=body, MessageSid=f"SM{sender[-3:]}{number}"
            )
            assert post_twilio(live_client, "/webhooks/twilio/sms", params).status_code == 200
    status = {
        "MessageSid": "SM1230",
        "MessageStatus": "delivered",
        "To": SMS,
        "From": "+447700900000",
    }
    assert post_twilio(live_client, "/webhooks/twilio/status", status).status_code == 204

    # Telegram through the webhook, replies through the real Bot client to the loopback API.
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    for number, words in enumerate(["/start youth", "4", "YES", "he hits me", "/stop", "/start"]):
        update = load_telegram("text", update_id=500 + number)
        update["message"]["text"] = words
        response = live_client.post(
            "/webhooks/telegram",
            data=json.dumps(update),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200

    # The simulator, as a browser would use it.
    for number, words in enumerate(["CUMNOCK", "YES", "Lights on the high street"]):
        response = live_client.post(
            "/simulator/send", json={"text": words, "id": f"msg-000{number}"}
        )
        assert response.status_code == 200
    with live_client.session_transaction() as browser:
        simulated = browser["simulator_address"]

    tables, values = dump(live_services.db.engine)
    assert set(Base.metadata.tables) <= tables
    everything = "\n".join(values)
    assert "A ceilidh" in everything and "he hits me" in everything  # the dump is real
    secrets = needles(SMS) | needles(WHATSAPP) | needles(LEAD_SMS) | {LEAD_TELEGRAM, str(CHAT)}
    secrets.add(simulated)
    leaked = sorted(s for s in secrets if s in everything)
    assert leaked == []
