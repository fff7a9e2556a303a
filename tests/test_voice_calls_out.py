"""Calls out: residents who chose calls are called by the worker through the real Twilio client
(the loopback fake learns the Calls API), paced, never in quiet hours, never taken in by a
voicemail greeting; call status callbacks move the outbox row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from bot.sending.pacing import PacingLimits
from storage.models import Community, InboundMessage, OutboundMessage, Resident, Response
from tests.conftest import PUBLIC_BASE_URL, load_twilio, post_twilio
from tests.helpers import Phone, add_campaign, add_community
from tests.outbox_support import fast_sender, send_until_idle
from tests.voice_support import VOICE, Call, gather, said
from webhooks.app import create_app

LINE = "+447700900000"
CALLER = "+447700900123"
ALWAYS_OPEN = {"quiet_start": "00:00", "quiet_end": "00:00"}
FIRST_PROMPT = "What's one thing that would make the festival feel like yours?"
LIMITS = PacingLimits(twilio_segments_per_second=100, twilio_calls_per_second=50)


@pytest.fixture
def line(live_settings, live_services):  # type: ignore[no-untyped-def]
    """The app as Twilio reaches it, over services whose REST calls go to the fake."""
    app = create_app(live_settings, built=live_services, test_config={"TESTING": True})
    return app.test_client()


def _joined_by_phone(line, services, **quiet: str | None) -> None:  # type: ignore[no-untyped-def]
    add_community(services, sms_number=LINE, **(quiet or ALWAYS_OPEN))
    call = Call(line)
    call.start()
    assert any("no question just now" in text for text in said(call.press("1")))


def _placed(services, twilio_api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    add_campaign(services)
    sender = fast_sender(services, LIMITS)
    send_until_idle(sender, services)
    sender.stop()
    (placed,) = twilio_api.placed
    return placed


def test_a_resident_who_joined_by_phone_is_called_with_the_question(
    line, live_services, twilio_api
):
    _joined_by_phone(line, live_services)
    placed = _placed(live_services, twilio_api)
    assert (placed["To"], placed["From"]) == (CALLER, LINE)
    assert placed["MachineDetection"] == "Enable"
    assert placed["StatusCallback"] == f"{PUBLIC_BASE_URL}{VOICE}/status"
    assert placed["Url"].startswith(f"{PUBLIC_BASE_URL}{VOICE}?outbox=")
    assert twilio_api.messages() == []  # a call, not a text

    called = Call(line, call_sid=placed["Sid"])
    answered = called._post(placed["Url"][len(PUBLIC_BASE_URL) :], "voice_outbound_human")
    assert FIRST_PROMPT in said(answered)
    assert gather(answered) is not None
    called.say("Lanterns along the river.")
    with live_services.db.session_scope() as session:
        (row,) = session.scalars(select(Response)).all()
        assert (row.channel, row.text, row.prompt_id is not None) == (
            "voice",
            "Lanterns along the river.",
            True,
        )
        # The call placed for the first prompt; the next one went back in that call's TwiML.
        sent = session.scalar(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "prompt")
            .order_by(OutboundMessage.id)
            .limit(1)
        )
        assert (sent.channel, sent.provider_id) == ("voice", placed["Sid"])


def test_a_voicemail_greeting_is_never_taken_as_an_answer(line, live_services, twilio_api):
    _joined_by_phone(line, live_services)
    placed = _placed(live_services, twilio_api)
    machine = Call(line, call_sid=placed["Sid"])
    answered = machine._post(placed["Url"][len(PUBLIC_BASE_URL) :], "voice_outbound_machine")
    assert gather(answered) is None and answered.find("Record") is None
    assert answered.find("Hangup") is not None
    assert any("call us back" in text for text in said(answered))
    with live_services.db.session_scope() as session:
        stored = select(InboundMessage).where(InboundMessage.provider_id.like(placed["Sid"] + "%"))
        assert session.scalars(stored).all() == []


@pytest.mark.parametrize(
    ("fixture", "status"),
    [("voice_status_completed", "delivered"), ("voice_status_no_answer", "undelivered")],
    ids=["completed", "no answer"],
)
def test_call_status_callbacks_move_the_outbox_row(
    line, live_services, twilio_api, fixture, status
):
    _joined_by_phone(line, live_services)
    placed = _placed(live_services, twilio_api)
    body = load_twilio(fixture, CallSid=placed["Sid"])
    assert post_twilio(line, VOICE + "/status", body).status_code == 204
    forged = post_twilio(line, VOICE + "/status", body, signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status_code == 403
    with live_services.db.session_scope() as session:
        row = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "prompt"))
        assert row.status == status


def test_no_call_is_placed_in_quiet_hours(line, live_services, twilio_api):
    _joined_by_phone(line, live_services)
    with time_machine.travel(datetime(2026, 12, 1, 21, 0, tzinfo=UTC), tick=True):
        with live_services.db.session_scope() as session:
            community = session.scalar(select(Community))
            community.quiet_start, community.quiet_end = "20:00", "09:00"
        add_campaign(live_services)
        sender = fast_sender(live_services, LIMITS)
        assert sender.run_lane_once("calls") == 0
        sender.stop()
        with live_services.db.session_scope() as session:
            row = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "prompt"))
            assert (row.channel, row.status) == ("voice", "queued")
            assert row.next_attempt_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert twilio_api.placed == []


def _choose(call: Call, way: str):  # type: ignore[no-untyped-def]
    """Press the key, or say the words, the call's menu offered."""
    return call.press(way) if way.isdigit() else call.say(way)


def _channel(services) -> str:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        (resident,) = session.scalars(select(Resident)).all()
        return resident.channel


@pytest.mark.parametrize("way", ["4", "Call me.", "calls"], ids=["key 4", "call me", "calls"])
def test_a_texter_chooses_calls_in_a_call_by_key_or_by_saying_so(line, live_services, way):
    add_community(live_services, sms_number=LINE, **ALWAYS_OPEN)
    add_campaign(live_services)
    Phone(live_services, CALLER).join()
    call = Call(line)
    first = said(call.start())
    assert any("press 4, or say call me" in text for text in first)
    assert not any("press 5" in text for text in first)
    chosen = said(_choose(call, way))
    assert any("call you with our questions" in text for text in chosen)
    assert FIRST_PROMPT in chosen  # the question waits for its answer again
    assert _channel(live_services) == "voice"
    with live_services.db.session_scope() as session:
        assert session.scalars(select(Response)).all() == []


@pytest.mark.parametrize("way", ["5", "Texts.", "text me"], ids=["key 5", "texts", "text me"])
def test_a_resident_on_calls_goes_back_to_texts_in_a_call(line, live_services, twilio_api, way):
    _joined_by_phone(line, live_services)
    call = Call(line, call_sid="CA9d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a")
    first = said(call.start())
    assert sum("press 5, or say texts" in text for text in first) == 1
    assert not any("press 4" in text for text in first)
    assert any("text you our questions" in text for text in said(_choose(call, way)))
    assert _channel(live_services) == "sms"
    add_campaign(live_services)
    sender = fast_sender(live_services, LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    assert twilio_api.placed == []  # the next question came as a text, not a call
    assert [message.body for message in twilio_api.messages(CALLER)] == [FIRST_PROMPT]


def test_calls_or_texts_in_a_longer_answer_is_the_answer(line, live_services):
    add_community(live_services, sms_number=LINE, **ALWAYS_OPEN)
    add_campaign(live_services)
    Phone(live_services, CALLER).join()
    call = Call(line)
    call.start()
    call.say("Fewer texts and more phone calls from the council.")
    assert _channel(live_services) == "sms"
    with live_services.db.session_scope() as session:
        (answer,) = session.scalars(select(Response)).all()
        assert answer.text == "Fewer texts and more phone calls from the council."


def test_calls_are_paced_by_the_account_s_calls_per_second():
    from bot.sending.pacing import Pacer

    pacer = Pacer(PacingLimits(twilio_calls_per_second=1))
    assert pacer.buckets("voice", CALLER, "anything", LINE) == [("twilio-calls", 1, 1.0)]
    assert PacingLimits.from_env({"TWILIO_CALLS_PER_SECOND": "3"}).twilio_calls_per_second == 3


def test_a_quiet_caller_is_nudged_by_call_within_the_nudge_cap(live_services):
    from datetime import timedelta

    from tests.test_nudges import PARK, T0, at, sweep

    with at(T0 - timedelta(hours=1)):
        add_community(live_services, sms_number=LINE)
        add_campaign(live_services, source=PARK)
    with at(T0):
        Phone(live_services, CALLER, channel="voice").join()
    for days in (2, 4, 6, 8):
        sweep(live_services, T0 + timedelta(days=days))
    with live_services.db.session_scope() as session:
        rows = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "nudge")).all()
        assert [row.channel for row in rows] == ["voice", "voice"]


def test_a_caller_nudged_about_a_closed_question_hears_its_keys(live_services):
    from datetime import timedelta
    from pathlib import Path

    from tests.test_nudges import T0, at, sweep

    park = (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text()
    with at(T0 - timedelta(hours=1)):
        add_community(live_services, sms_number=LINE)
        add_campaign(live_services, source=park)
    with at(T0):
        Phone(live_services, CALLER, channel="voice").join()
    sweep(live_services, T0 + timedelta(days=2))
    with live_services.db.session_scope() as session:
        (nudge,) = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "nudge")
        ).all()
    assert nudge.channel == "voice"
    assert "For Quite safe, press 2." in nudge.text
    assert "1) Very safe" not in nudge.text
