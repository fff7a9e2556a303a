"""The conversation's rules with no database: a snapshot and a message in, effects out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.conversation.effects import (
    AskQuotes,
    AssignPrompt,
    CreateResident,
    Erase,
    OptOut,
    RecordConsent,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.engine import decide
from bot.conversation.snapshot import CommunityView, PromptView, ResidentView, Snapshot
from bot.messages import Inbound

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOWN = CommunityView(id=7, slug="cumnock", name="Cumnock")
FIRST = PromptView(
    prompt_id=1,
    campaign_id=3,
    text={"en": "What would you change?", "gd": "Dè dh'atharraicheadh tu?"},
    campaign_language="en",
    thanks={"en": "Thank you!"},
    assignment_id=11,
)
SECOND = PromptView(
    prompt_id=2, campaign_id=3, text={"en": "Would you help?"}, campaign_language="en"
)
JOINED = ResidentView(
    id=5,
    community=TOWN,
    status="joined",
    pending=FIRST,
    next_prompt=SECOND,
    quotes_asked_at=NOW,
)


def message(text: str, channel: str = "sms", language: str | None = None) -> Inbound:
    return Inbound(channel, "+447700900101", text, "m-1", NOW, language=language)


def kinds(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [type(effect).__name__ for effect in decision.effects]


def replies(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [reply.text for reply in decision.replies]


def test_an_answer_is_stored_answers_the_prompt_and_asks_the_next():
    decision = decide(Snapshot(NOW, resident=JOINED), message("More benches"))
    answer = next(e for e in decision.effects if isinstance(e, StoreResponse))
    assert (answer.text, answer.assignment_id, answer.prompt_id) == ("More benches", 11, 1)
    assert AssignPrompt(2, 3, "en") in decision.effects
    assert replies(decision) == ["Would you help?"]
    assert decision.resident_id == 5


def test_the_last_answer_of_a_campaign_gets_its_thanks_and_the_quote_question_once():
    resident = replace(JOINED, next_prompt=None, quotes_asked_at=None)
    decision = decide(Snapshot(NOW, resident=resident), message("A pond"))
    assert replies(decision) == ["Thank you!"]
    assert any(isinstance(e, AskQuotes) for e in decision.effects)
    asked_again = replace(resident, quotes_asked_at=NOW - timedelta(days=1))
    assert not decide(Snapshot(NOW, resident=asked_again), message("A pond")).has(AskQuotes)


def test_a_telegram_resident_in_gaelic_is_asked_in_gaelic_and_their_language_kept():
    resident = replace(JOINED, pending=None, next_prompt=FIRST)
    decision = decide(
        Snapshot(NOW, resident=resident), message("An dràsta", "telegram", language="gd")
    )
    assert replies(decision)[-1] == "Dè dh'atharraicheadh tu?"
    update = next(e for e in decision.effects if isinstance(e, UpdateResident))
    assert update.values["language"] == "gd"


def test_words_sent_before_a_queued_prompt_arrived_are_an_open_response_then_that_prompt():
    resident = replace(JOINED, pending=replace(FIRST, unsent=True))
    decision = decide(Snapshot(NOW, resident=resident), message("Hello there"))
    answer = next(e for e in decision.effects if isinstance(e, StoreResponse))
    assert answer.assignment_id is None
    assert WithdrawUnsentPrompt(1) in decision.effects
    assert replies(decision)[-1] == "What would you change?"


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "quit"])
def test_stop_opts_out_and_sms_sends_nothing_because_the_provider_confirms(word):
    decision = decide(Snapshot(NOW, resident=JOINED), message(word))
    assert kinds(decision) == ["UpdateResident", "OptOut"]
    telegram = decide(Snapshot(NOW, resident=JOINED), message(word, "telegram"))
    assert len(telegram.replies) == 1 and telegram.has(OptOut)


def test_an_opted_out_resident_is_sent_nothing_whatever_they_say():
    resident = replace(JOINED, status="opted_out", opted_out_at=NOW)
    decision = decide(Snapshot(NOW, resident=resident), message("what about the park"))
    assert decision.replies == [] and not decision.has(StoreResponse)


def test_a_stranger_is_pointed_to_the_poster_and_nothing_is_kept_of_them():
    decision = decide(Snapshot(NOW), message("hello"))
    assert len(decision.replies) == 1 and "poster" in replies(decision)[0]
    assert decision.resident_id is None and not decision.has(CreateResident)
    assert all(not reply.to_resident for reply in decision.replies)


def test_a_keyword_from_a_new_contact_invites_them_with_the_privacy_line():
    decision = decide(Snapshot(NOW, join_community=TOWN), message("CUMNOCK"))
    created = decision.effects[0]
    assert isinstance(created, CreateResident)
    assert (created.community_id, created.values["status"]) == (7, "invited")
    assert "private" in replies(decision)[0] and decision.replies[0].buttons == ("YES",)


def test_yes_to_the_welcome_records_consent_to_exactly_the_words_shown():
    invited = replace(JOINED, status="invited", pending=None, next_prompt=FIRST)
    decision = decide(Snapshot(NOW, resident=invited), message("yes"))
    consent = next(e for e in decision.effects if isinstance(e, RecordConsent))
    assert consent.purposes == ("questions", "report_backs")
    assert consent.wording.startswith("Hello from Cumnock Voices!")
    assert AssignPrompt(1, 3, "en") in decision.effects


def test_confirm_within_fifteen_minutes_erases_and_later_does_not():
    asked = replace(JOINED, delete_requested_at=NOW - timedelta(minutes=14))
    assert decide(Snapshot(NOW, resident=asked), message("CONFIRM")).erased
    late = replace(JOINED, delete_requested_at=NOW - timedelta(minutes=16))
    decision = decide(Snapshot(NOW, resident=late), message("CONFIRM"))
    assert not decision.erased and not decision.has(Erase)


def test_a_disclosure_gets_the_help_reply_first_and_reaches_the_lead():
    decision = decide(Snapshot(NOW, resident=JOINED), message("I want to die"))
    assert "Samaritans" in replies(decision)[0]
    order = kinds(decision)
    # The alert follows the stored words, so the lead's queue links to them.
    assert order.index("StoreResponse") < order.index("RaiseAlert")


def test_past_the_reply_limit_everything_is_kept_but_nothing_is_sent():
    flooded = Snapshot(NOW, resident=JOINED, recent_messages=20, reply_limit=20)
    decision = decide(flooded, message("More benches"))
    assert decision.replies == [] and decision.replies_withheld == 1
    assert decision.has(StoreResponse) and decision.has(AssignPrompt)
    under = Snapshot(NOW, resident=JOINED, recent_messages=19, reply_limit=20)
    assert len(decide(under, message("More benches")).replies) == 1
