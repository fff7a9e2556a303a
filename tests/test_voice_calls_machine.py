"""Calls a voicemail box answered: the resident did not hear the question, so the outbox row ends
undelivered with the reason (whichever of Twilio's requests comes first), staff count it as not
delivered, and nudges still follow, within the nudge cap and never in quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from bot.insights.funnel import funnel
from bot.sending.pacing import PacingLimits
from storage.models import Assignment, Campaign, OutboundMessage
from tests.conftest import PUBLIC_BASE_URL, load_twilio, post_twilio
from tests.helpers import add_campaign, add_community
from tests.outbox_support import fast_sender, send_until_idle
from tests.test_nudges import PARK, T0, at, sweep
from tests.voice_support import VOICE, Call, said

LINE = "+447700900000"
LIMITS = PacingLimits(twilio_segments_per_second=100, twilio_calls_per_second=50)


def _place_due(services, twilio_api, moment: datetime) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Run the worker's sender at `moment`; return the calls it placed."""
    before = len(twilio_api.placed)
    with time_machine.travel(moment, tick=True):
        sender = fast_sender(services, LIMITS)
        send_until_idle(sender, services)
        sender.stop()
    return twilio_api.placed[before:]


def _first_call(client, services, twilio_api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A resident joins by calling; the campaign's first question is then placed as a call."""
    with at(T0 - timedelta(hours=1)):
        add_community(services, sms_number=LINE)
        call = Call(client)
        call.start()
        assert any("no question just now" in text for text in said(call.press("1")))
    with at(T0):
        add_campaign(services, source=PARK)
    (placed,) = _place_due(services, twilio_api, T0)
    return placed


def _answered_by_machine(client, placed: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The call's first request: Twilio's answering machine detection says a machine answered."""
    machine = Call(client, call_sid=placed["Sid"], caller=LINE)
    answered = machine._post(placed["Url"][len(PUBLIC_BASE_URL) :], "voice_outbound_machine")
    assert any("call us back" in text for text in said(answered))


def _status(client, placed: dict[str, str], fixture: str, *, amd: bool = True) -> None:  # type: ignore[no-untyped-def]
    body = load_twilio(fixture, CallSid=placed["Sid"])
    if not amd:
        body.pop("AnsweredBy")  # a callback that does not carry detection's verdict
    assert post_twilio(client, VOICE + "/status", body).status_code == 204


def _rows(services) -> list[OutboundMessage]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind.in_(("prompt", "nudge")))
            .order_by(OutboundMessage.id)
        ).all()
        session.expunge_all()
        return list(rows)


ORDERS = {
    "step, then completed": ["step", "completed"],
    "step, then a completed callback without AnsweredBy": ["step", "completed plain"],
    "completed without AnsweredBy first, then the step": ["completed plain", "step"],
    "answered callback first, then step and completed": ["answered", "step", "completed"],
    "completed callback only": ["completed"],
}


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_a_call_a_machine_answered_ends_undelivered_with_the_reason(
    live_client, live_services, twilio_api, order
):
    placed = _first_call(live_client, live_services, twilio_api)
    for event in order:
        if event == "step":
            _answered_by_machine(live_client, placed)
        elif event == "answered":
            _status(live_client, placed, "voice_status_answered_machine")
        else:
            fixture = "voice_status_completed_machine"
            _status(live_client, placed, fixture, amd=event == "completed")
    (row,) = _rows(live_services)
    assert (row.channel, row.provider_id, row.status) == ("voice", placed["Sid"], "undelivered")
    assert "answered by a machine" in row.error
    with live_services.db.session_scope() as session:
        counted = funnel(session, session.scalar(select(Campaign)))
        assert (counted.delivered, counted.failed, counted.answered) == (0, 1, 0)


def test_a_call_a_person_answered_still_ends_delivered(live_client, live_services, twilio_api):
    placed = _first_call(live_client, live_services, twilio_api)
    Call(live_client, call_sid=placed["Sid"], caller=LINE)._post(
        placed["Url"][len(PUBLIC_BASE_URL) :], "voice_outbound_human"
    )
    _status(live_client, placed, "voice_status_completed")
    (row,) = _rows(live_services)
    assert (row.status, row.error) == ("delivered", None)


def test_a_resident_only_ever_reached_by_voicemail_is_nudged_within_the_cap(
    live_client, live_services, twilio_api
):
    placed = _first_call(live_client, live_services, twilio_api)
    _answered_by_machine(live_client, placed)
    _status(live_client, placed, "voice_status_completed_machine")
    # Two days on, at 9 pm, is in the community's quiet hours: nothing is queued or called.
    quiet = T0 + timedelta(days=2, hours=11)
    assert sweep(live_services, quiet).queued() == 0
    assert _place_due(live_services, twilio_api, quiet) == []
    for days in (3, 5, 7, 9):
        sweep(live_services, T0 + timedelta(days=days))
        for nudge in _place_due(live_services, twilio_api, T0 + timedelta(days=days)):
            _answered_by_machine(live_client, nudge)
            _status(live_client, nudge, "voice_status_completed_machine")
    rows = _rows(live_services)
    assert [(row.kind, row.channel, row.status) for row in rows] == [
        ("prompt", "voice", "undelivered"),
        ("nudge", "voice", "undelivered"),
        ("nudge", "voice", "undelivered"),
    ]
    assert all("answered by a machine" in row.error for row in rows)
    with live_services.db.session_scope() as session:
        assert session.scalar(select(Assignment.status)) == "stalled"
