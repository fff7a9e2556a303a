"""The conversation as residents experience it, through the real inbox and engine."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.conversation.engine import read_command
from storage.models import Assignment, Consent, InboundMessage, Resident, Response
from tests.helpers import FESTIVAL, Phone, add_campaign, add_community


@pytest.fixture
def town(services):
    add_community(services)
    add_campaign(services)
    return services


def responses(services):
    with services.db.session_scope() as session:
        return session.execute(
            select(Response.text, Response.prompt_id.is_not(None)).order_by(Response.id)
        ).all()


def test_keyword_welcomes_with_a_privacy_line_and_asks_for_yes(town):
    replies = Phone(town).send("cumnock")
    assert len(replies) == 1
    assert "Cumnock" in replies[0]
    assert "private" in replies[0]
    assert "YES" in replies[0]


def test_joining_gets_the_first_prompt_and_each_answer_the_next_then_thanks(town):
    phone = Phone(town)
    phone.send("CUMNOCK")
    joined = phone.send("yes")
    assert joined == [
        "Thank you for joining Cumnock Voices! Here's our question: "
        "What's one thing that would make the festival feel like yours?"
    ]  # one SMS, not two
    assert phone.send("A ceilidh in the square") == [
        "Would you like to help make it happen? Tell us how, or reply NO."
    ]
    assert phone.send("NO") == ["Thank you! Your words go straight to the planning group."]
    assert responses(town) == [("A ceilidh in the square", True), ("NO", True)]


def test_join_records_consent_with_the_exact_wording_shown(town):
    phone = Phone(town)
    welcome = phone.send("CUMNOCK")[0]
    phone.send("YES")
    with town.db.session_scope() as session:
        consent = session.scalars(select(Consent).where(Consent.purpose == "questions")).one()
        assert consent.wording == welcome
        assert consent.purpose == "questions"
        assert consent.channel == "sms"
        assert consent.wording_version.startswith("w-")


def test_an_unknown_number_is_asked_which_community_not_guessed_nor_told_them_all(town):
    add_community(town, slug="blacklands", name="Blacklands")
    replies = Phone(town, address="+447700900999").send("hello, is this the council?")
    assert len(replies) == 1
    assert "poster" in replies[0]
    assert "BLACKLANDS" not in replies[0].upper() and "CUMNOCK" not in replies[0].upper()
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        # The words are still kept as delivered.
        assert session.scalar(select(InboundMessage.text)) == "hello, is this the council?"


def test_text_before_joining_is_not_an_answer(town):
    phone = Phone(town)
    phone.send("CUMNOCK")
    replies = phone.send("what is this?")
    assert "YES" in replies[0]
    assert responses(town) == []


def test_stop_then_any_message_gets_nothing_and_start_brings_them_back(town):
    phone = Phone(town)
    phone.join()
    assert phone.send("STOP") == []  # Twilio confirms SMS opt-outs itself
    assert phone.send("Are you still there?") == []
    assert phone.send("HELP") == []
    back = phone.send("start")
    assert "Welcome back" in back[0]
    assert back[1] == "What's one thing that would make the festival feel like yours?"


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT"])
def test_every_stop_word_opts_out(town, word):
    phone = Phone(town)
    phone.join()
    phone.send(f"  {word} ")
    with town.db.session_scope() as session:
        resident = session.scalars(select(Resident)).one()
        assert resident.status == "opted_out"
        assert all(c.withdrawn_at is not None for c in session.scalars(select(Consent)))


def test_stop_on_telegram_is_confirmed_because_telegram_does_not(town):
    phone = Phone(town, address="5551234567", channel="telegram")
    phone.send("/start cumnock")
    phone.send("YES")
    replies = phone.send("/stop")
    assert replies and "START" in replies[0]


def test_help_says_how_to_stop_and_erase(town):
    phone = Phone(town)
    phone.join()
    reply = phone.send("info")[0]
    assert "STOP" in reply and "DELETE" in reply


def test_no_pending_prompt_keeps_an_open_response_and_acknowledges(services):
    add_community(services)
    phone = Phone(services)
    assert "We'll text" in phone.join()[0]
    reply = phone.send("The bus to Ayr is always late")
    assert "kept your words" in reply[0]
    assert responses(services) == [("The bus to Ayr is always late", False)]


def test_open_response_is_followed_by_the_current_prompt_of_a_new_campaign(services):
    add_community(services)
    phone = Phone(services)
    phone.join()
    add_campaign(services)
    replies = phone.send("hello again")
    assert replies[-1] == "What's one thing that would make the festival feel like yours?"


def test_a_resident_has_at_most_one_pending_prompt_and_gets_the_next_campaign_after(town):
    second = FESTIVAL.replace("festival-ideas", "bus-times").replace(
        "What's one thing that would make the festival feel like yours?", "How is the bus?"
    )
    phone = Phone(town)
    phone.join()
    add_campaign(town, source=second)
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).where(Assignment.status == "pending")) == 1
    phone.send("idea")
    replies = phone.send("no")
    assert replies[0].startswith("Thank you!")
    assert replies[1] == "How is the bus?"


def test_the_residents_language_picks_the_prompt_text(town):
    phone = Phone(town, address="5551234568", channel="telegram", language="gd")
    phone.send("/start cumnock")
    phone.send("YES")
    assert phone.send("Cèilidh")[0].startswith("Am bu toigh leat")


def test_a_retried_message_is_stored_once_and_answered_the_same(town):
    phone = Phone(town)
    phone.send("CUMNOCK")
    phone.send("YES")
    first = phone.send("A bandstand", external_id="SMdup")
    again = phone.send("A bandstand", external_id="SMdup")
    assert first == again
    assert responses(town) == [("A bandstand", True)]


def test_media_without_words_is_kept_and_acknowledged_kindly(town):
    phone = Phone(town)
    phone.join()
    reply = phone.send("", media=("https://api.twilio.com/x/Media/ME1",))
    assert "Words help" in reply[0]
    assert responses(town) == []


def test_media_with_a_caption_answers_the_prompt_with_the_caption(town):
    phone = Phone(town)
    phone.join()
    phone.send("Our park bench is broken", media=("telegram-file:abc",))
    assert responses(town) == [("Our park bench is broken", True)]


def test_an_empty_message_is_acknowledged_not_stored_as_an_answer(town):
    phone = Phone(town)
    phone.join()
    assert "empty" in phone.send("")[0]
    assert responses(town) == []


def test_delete_then_confirm_erases_everything_and_says_so(town):
    phone = Phone(town)
    phone.join()
    phone.send("Fireworks please")
    assert "CONFIRM" in phone.send("DELETE")[0]
    assert "erased" in phone.send("confirm")[0]
    with town.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        texts = session.scalars(select(InboundMessage.text)).all()
        assert texts == [""]  # only the tombstone of the CONFIRM that did the erasing


@pytest.mark.parametrize(
    ("text", "word", "payload"),
    [
        ("/start cumnock", "START", "cumnock"),
        ("/stop@voices_bot", "STOP", ""),
        (" yes ", "YES", ""),
    ],
)
def test_commands_are_read_whole_message_any_case(text, word, payload):
    assert read_command(text) == read_command(text)  # stable
    command = read_command(text)
    assert (command.word, command.payload) == (word, payload)
