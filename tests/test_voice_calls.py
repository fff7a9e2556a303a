"""Calls in: a resident who never texts joins, answers and stops by phone (signed requests)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Consent, InboundMessage, Resident, Response
from tests.conftest import load_twilio, post_twilio
from tests.helpers import add_campaign, add_community
from tests.voice_support import VOICE, Call, gather, said

THREE_QUESTIONS = """\
slug: park-voices
title: The park
language: en
prompts:
  - id: like
    text: What do you like about the park?
  - id: change
    text: What one thing would you change?
  - id: story
    text:
      en: Tell us a story about the park.
      gd: Innis sgeulachd dhuinn mun phàirc.
thanks: Thank you! Your words go straight to the park group.
"""


@pytest.fixture
def town(services):  # type: ignore[no-untyped-def]
    add_community(services, sms_number="+447700900000")
    add_campaign(services, source=THREE_QUESTIONS)
    return services


def answers(services) -> list[Response]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        rows = session.scalars(select(Response).order_by(Response.id)).all()
        session.expunge_all()
        return list(rows)


def test_a_caller_joins_answers_by_speech_and_recording_and_stops(client, town):
    call = Call(client)
    welcome = call.start()
    assert any("Press 1 to join" in line for line in said(welcome))
    assert gather(welcome).get("input") == "dtmf"
    joined = call.press("1")
    lines = said(joined)
    assert any("What do you like about the park?" in line for line in lines)
    assert sum("3 to stop calls" in line for line in lines) == 1
    assert gather(joined).get("input") == "speech dtmf"
    assert joined.find("Record") is not None
    second = call.say("The big trees and the pond.")
    assert "What one thing would you change?" in said(second)
    third = call.say("Lights on the path at night.", confidence="0.62")
    assert "Tell us a story about the park." in said(third)
    after = call.record("RE8c1a3f0b2d4e6a7c9b1d3f5e7a9c0b2d")
    assert any("quote your words" in line for line in said(after))
    stopped = call.press("3")
    assert any("won't get more calls" in line for line in said(stopped))
    assert stopped.find("Hangup") is not None and gather(stopped) is None
    whole_call = [line for step in call.history for line in said(step)]
    assert sum("3 to stop calls" in line for line in whole_call) == 1

    stored = answers(town)
    assert [row.channel for row in stored] == ["voice"] * 3
    assert [row.text for row in stored[:2]] == [
        "The big trees and the pond.",
        "Lights on the path at night.",
    ]
    assert [row.confidence for row in stored] == [pytest.approx(0.9123554), 0.62, None]
    assert stored[2].recording == "RE8c1a3f0b2d4e6a7c9b1d3f5e7a9c0b2d"
    assert [row.prompt_id is not None for row in stored] == [True, True, True]
    with town.db.session_scope() as session:
        resident = session.scalar(select(Resident))
        assert resident.status == "opted_out"
        assert resident.channel == "voice"
        wording = session.scalar(select(Consent.wording).where(Consent.purpose != "quotes"))
        assert "Press 1 to join" in wording
        assert "Reply YES" not in wording


def test_a_retried_step_is_stored_once_and_answered_the_same(client, town):
    call = Call(client)
    call.start()
    call.press("1")
    action = call.action()
    body = load_twilio("voice_speech", SpeechResult="A bench by the pond.")
    first = post_twilio(client, action, body)
    again = post_twilio(client, action, body)
    assert first.data == again.data
    assert [row.text for row in answers(town)] == ["A bench by the pond."]
    with town.db.session_scope() as session:
        count = select(func.count()).select_from(InboundMessage)
        assert session.scalar(count.where(InboundMessage.channel == "voice")) == 3


def test_a_joined_caller_hears_their_question_at_once(client, town):
    first = Call(client)
    first.start()
    first.press("1")
    again = Call(client, call_sid="CA" + "1" * 32)
    lines = said(again.start())
    assert lines[0].startswith("Hello from Cumnock Voices")
    assert "What do you like about the park?" in lines


@pytest.mark.parametrize(
    ("key", "heard"),
    [("9", "What do you like about the park?"), ("0", "asks short questions")],
    ids=["9 repeats the question", "0 is help"],
)
def test_keys_that_always_work(client, town, key, heard):
    call = Call(client)
    call.start()
    call.press("1")
    lines = said(call.press(key))
    assert any(heard in line for line in lines)
    assert gather(call.last) is not None
    assert answers(town) == []


def test_delete_by_keypad_needs_a_spoken_confirmation(client, town):
    call = Call(client)
    call.start()
    call.press("1")
    call.say("Swings for older children.")
    asked = call.press("7")
    assert any("press 7 again" in line for line in said(asked))
    kept = call.press("1")
    assert any("What one thing would you change?" in line for line in said(kept))
    assert len(answers(town)) == 1
    call.press("7")
    done = call.press("7")
    assert any("erased" in line for line in said(done))
    assert done.find("Hangup") is not None
    assert answers(town) == []
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_a_forged_call_gets_403_and_stores_nothing(client, town):
    body = load_twilio("voice_incoming")
    assert post_twilio(client, VOICE, body, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert client.post(VOICE, data=body).status_code == 403
    step = VOICE + "/step?n=1&stage=join&keys=0"
    signed_elsewhere = post_twilio(client, VOICE + "/step?n=1&stage=answer&keys=0", body)
    assert signed_elsewhere.status_code == 200
    from tests.conftest import twilio_signature

    wrong = twilio_signature(VOICE + "/step?n=1&stage=answer&keys=0", body)
    assert post_twilio(client, step, body, signature=wrong).status_code == 403
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


@pytest.mark.parametrize(
    ("language", "said_in"),
    [("en", "en-GB"), ("cy", "cy-GB"), ("fr-CA", "fr-FR"), ("gd", "en-GB"), (None, "en-GB")],
    ids=["english", "welsh", "a regional code", "gaelic falls back", "no language"],
)
def test_each_language_is_read_by_a_twilio_voice_or_in_british_english(language, said_in):
    from bot.channels.voice import say_language

    assert say_language(language) == said_in


def test_a_gaelic_question_is_read_in_english_and_heard_in_english(client, services):
    add_community(services, sms_number="+447700900000")
    add_campaign(services, source=THREE_QUESTIONS.replace("language: en", "language: gd"))
    call = Call(client)
    call.start()
    joined = call.press("1")
    question = next(
        el for el in joined.iter("Say") if "pàirc" in (el.text or "") or "park" in (el.text or "")
    )
    assert question.get("language") == "en-GB"
    assert gather(joined).get("language") == "en-GB"


def test_a_spoken_stop_stops_calls(client, town):
    call = Call(client)
    call.start()
    call.press("1")
    stopped = call.say("Stop.")
    assert any("won't get more calls" in line for line in said(stopped))
    assert answers(town) == []


def test_a_caller_agrees_to_be_quoted_with_1_in_the_words_they_heard(client, town):
    call = Call(client)
    call.start()
    call.press("1")
    call.say("The trees.")
    call.say("More bins.")
    asked = call.say("A picnic with my grandchildren.")
    assert any("Press 1 for yes" in line for line in said(asked))
    agreed = call.press("1")
    assert any("We may quote your words" in line for line in said(agreed))
    with town.db.session_scope() as session:
        wording = session.scalar(select(Consent.wording).where(Consent.purpose == "quotes"))
        assert wording is not None and "Press 1 for yes" in wording


def test_a_young_caller_gives_their_age_with_a_key_before_joining(client, services):
    add_community(services, sms_number="+447700900000", young_people=True)
    add_campaign(services, source=THREE_QUESTIONS)
    call = Call(client)
    asked = call.start()
    assert any("Press 1 for under 13" in line for line in said(asked))
    welcome = call.press("3")
    assert any("Press 1 to join" in line for line in said(welcome))
    joined = call.press("1")
    assert any("What do you like about the park?" in line for line in said(joined))
    with services.db.session_scope() as session:
        assert session.scalar(select(Resident.age_band)) is not None


def test_a_caller_under_13_is_not_kept(client, services):
    add_community(services, sms_number="+447700900000", young_people=True)
    call = Call(client)
    call.start()
    told = call.press("1")
    assert any("under 13" in line for line in said(told))
    assert told.find("Hangup") is not None and gather(told) is None
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def _park(services) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    add_community(services, sms_number="+447700900000")
    park = (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text()
    add_campaign(services, source=park)


def test_a_caller_answers_a_closed_question_on_the_keypad_and_its_branch_follows(client, services):
    _park(services)
    call = Call(client)
    call.start()
    asked = call.press("1")
    lines = said(asked)
    question = (
        "How safe does the park feel after dark? For Very safe, press 1. For Quite safe, press 2."
        " For Not very safe, press 3. For Not at all safe, press 4. Or say your answer."
    )
    assert any(line.endswith(question) for line in lines)
    assert "Press star to hear the question again, or 0 for help." in lines
    assert "stage=choice" in gather(asked).get("action")
    # 3 is the third choice here, not "stop".
    branched = call.press("3")
    assert "What would make the park feel safer, or better for you?" in said(branched)
    call.say("More lights by the gate.")
    stored = answers(services)
    assert [(row.text, row.choice) for row in stored] == [
        ("3", "Not very safe"),
        ("More lights by the gate.", None),
    ]
    with services.db.session_scope() as session:
        assert session.scalar(select(Resident.status)) == "joined"


def test_a_caller_says_a_choice_and_presses_a_scale_value(client, services):
    _park(services)
    call = Call(client)
    call.start()
    call.press("1")
    again = call.press("*")
    assert any(line.startswith("How safe does the park feel") for line in said(again))
    scale = call.say("Quite safe.")
    often = "How often do you use the park? Press or say a number from 1 (never) to 5 (every day)."
    assert any(line.endswith(often) for line in said(scale))
    call.press("5")
    assert [(row.text, row.choice) for row in answers(services)] == [
        ("Quite safe.", "Quite safe"),
        ("5", "5"),
    ]


def test_after_help_on_a_closed_question_its_keys_work_once(client, services):
    _park(services)
    call = Call(client)
    call.start()
    call.press("1")
    helped = call.press("0")
    assert "stage=answer" in gather(helped).get("action")
    stopped = call.press("3")
    assert any("won't get more calls" in line for line in said(stopped))
    assert answers(services) == []


@pytest.mark.parametrize("field", ["CallSid", "From", "To", "Digits"])
def test_a_nul_in_a_signed_call_step_gets_400_and_stores_nothing(client, town, field):  # type: ignore[no-untyped-def]
    body = load_twilio("voice_digits")
    body[field] += "\x00"
    response = post_twilio(client, f"{VOICE}/step?n=1&stage=join&keys=0", body)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
