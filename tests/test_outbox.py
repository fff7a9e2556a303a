"""The outbox's keys, statuses and opt-out: the same result whichever way a resident leaves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.sending import outbox
from storage.models import Consent, OutboundMessage, Resident, utcnow
from storage.statuses import OutboxStatus, ResidentStatus
from tests.conftest import TELEGRAM_SECRET, load_telegram
from tests.helpers import add_community
from tests.outbox_support import add_residents, fast_sender
from tests.test_campaign_sending import ALWAYS_OPEN, TEST_LIMITS

PHONE = "+447700900321"
# The chat of tests/fixtures/telegram/my_chat_member.json, whose update says "kicked".
CHAT = "5551234567"


def test_keys_built_in_sql_equal_the_keys_built_in_python(services):
    town = add_community(services, **ALWAYS_OPEN)
    [resident_id] = add_residents(services, town, "sms", [PHONE])
    with services.db.session_scope() as session:
        row = select(
            outbox.prompt_key_sql(Resident.id, Resident.community_id),
            outbox.prompt_key_sql(Resident.id, 42),
            outbox.reply_key_sql(Resident.id, Resident.community_id),
            outbox.report_back_key_sql(7, "9a0f", Resident.id),
        ).where(Resident.id == resident_id)
        in_sql = tuple(session.execute(row).one())
    assert in_sql == (
        outbox.prompt_key(resident_id, town),
        outbox.prompt_key(resident_id, 42),
        outbox.reply_key(resident_id, town),
        outbox.report_back_key(7, "9a0f", resident_id),
    )
    assert in_sql[1] == f"prompt:{resident_id}:42:1"


def test_statuses_are_stored_as_the_words_already_in_the_database(services):
    town = add_community(services, **ALWAYS_OPEN)
    [resident_id] = add_residents(services, town, "sms", [PHONE])
    _queue_for(services, resident_id, "sms")
    with services.db.session_scope() as session:
        outbox.opt_out(session, [resident_id], ResidentStatus.UNREACHABLE)
    with services.db.engine.connect() as connection:
        resident = connection.exec_driver_sql("SELECT status FROM residents").scalar_one()
        messages = connection.exec_driver_sql("SELECT status FROM outbound_messages").scalars()
        assert resident == "unreachable"
        assert sorted(messages) == ["cancelled"] * 4 + ["failed", "sent"]


def _queue_for(services, resident_id: int, channel: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A resident's outbox in every state, and one consent; return row ids by name."""
    now = utcnow()
    rows = {
        "due": (OutboxStatus.QUEUED, now - timedelta(seconds=1)),
        "sent": (OutboxStatus.SENT, None),
        "later": (OutboxStatus.QUEUED, now + timedelta(days=1)),
        "held": (OutboxStatus.HELD, None),
        "retrying": (OutboxStatus.FAILED, now + timedelta(hours=1)),
        "given_up": (OutboxStatus.FAILED, None),
    }
    ids = {}
    with services.db.session_scope() as session:
        session.add(
            Consent(
                resident_id=resident_id,
                purpose="take_part",
                wording="reply YES to join",
                wording_version="1",
                channel=channel,
            )
        )
        for name, (status, next_at) in rows.items():
            ids[name] = session.scalar(
                insert(OutboundMessage)
                .values(
                    resident_id=resident_id,
                    channel=channel,
                    kind="prompt" if name == "due" else "nudge",
                    text=f"the {name} message",
                    status=status,
                    dedupe_key=f"test:{name}",
                    attempts=0,
                    next_attempt_at=next_at,
                    created_at=now,
                )
                .returning(OutboundMessage.id)
            )
    return ids


def _send_due(lane: str):  # type: ignore[no-untyped-def]
    def route(services, client, resident_id):  # type: ignore[no-untyped-def]
        sender = fast_sender(services, TEST_LIMITS)
        try:
            sender.run_lane_once(lane)
        finally:
            sender.stop()

    return route


def _kicked(services, client, resident_id):  # type: ignore[no-untyped-def]
    response = client.post(
        "/webhooks/telegram",
        data=json.dumps(load_telegram("my_chat_member")),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 200


def _called(services, client, resident_id):  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        assert outbox.opt_out(session, [resident_id]) == 1


ROUTES = [
    ("sms", PHONE, _send_due("twilio"), True),
    ("telegram", CHAT, _send_due("telegram"), True),
    ("telegram", CHAT, _kicked, False),
    ("telegram", CHAT, _called, False),
]


@pytest.mark.parametrize(
    ("channel", "address", "route", "at_send"),
    ROUTES,
    ids=[
        "twilio says the recipient unsubscribed (21610)",
        "telegram says the bot was blocked (403)",
        "telegram update: the bot was kicked",
        "opt_out called",
    ],
)
def test_a_resident_who_opts_out_any_way_is_sent_nothing_more_and_keeps_their_history(
    live_services, live_client, twilio_api, telegram_api, channel, address, route, at_send
):
    town = add_community(live_services, **ALWAYS_OPEN)
    [resident_id] = add_residents(live_services, town, channel, [address])
    ids = _queue_for(live_services, resident_id, channel)
    twilio_api.fail_next(400, 21610, "Attempt to send to unsubscribed recipient", to=PHONE)
    telegram_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")

    route(live_services, live_client, resident_id)

    with live_services.db.session_scope() as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        assert resident.status == ResidentStatus.OPTED_OUT
        assert resident.opted_out_at is not None
        consents = session.scalars(select(Consent.withdrawn_at)).all()
        assert consents and None not in consents
        statuses = {
            name: session.scalar(select(OutboundMessage.status).where(OutboundMessage.id == id_))
            for name, id_ in ids.items()
        }
    # The message being sent when the provider refused it failed; one never tried is cancelled.
    assert statuses.pop("due") == (OutboxStatus.FAILED if at_send else OutboxStatus.CANCELLED)
    assert statuses == {
        "sent": OutboxStatus.SENT,
        "later": OutboxStatus.CANCELLED,
        "held": OutboxStatus.CANCELLED,
        "retrying": OutboxStatus.CANCELLED,
        "given_up": OutboxStatus.FAILED,
    }


def test_opting_out_again_keeps_the_first_opt_out_time(services):
    town = add_community(services, **ALWAYS_OPEN)
    [resident_id] = add_residents(services, town, "sms", [PHONE])
    first = utcnow() - timedelta(days=3)
    with services.db.session_scope() as session:
        assert outbox.opt_out(session, [resident_id], now=first) == 1
    with services.db.session_scope() as session:
        assert outbox.opt_out(session, [resident_id]) == 0
        resident = session.get(Resident, resident_id)
        assert resident is not None and resident.opted_out_at is not None
        assert abs(resident.opted_out_at.replace(tzinfo=None) - first.replace(tzinfo=None)) < (
            timedelta(seconds=1)
        )


def test_joined_is_not_a_way_to_opt_out(services):
    with services.db.session_scope() as session, pytest.raises(ValueError):
        outbox.opt_out(session, [1], ResidentStatus.JOINED)
