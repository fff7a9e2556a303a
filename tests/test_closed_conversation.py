"""Closed questions as residents live them: choices numbered, answers matched, branches followed,
and every word they send kept exactly as they sent it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot import texts
from bot.conversation import inbox
from bot.messages import Inbound
from storage.models import Assignment, Prompt, Response, utcnow
from tests.helpers import Phone, add_campaign, add_community

PARK = (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text()
CHANNELS = ["sms", "whatsapp", "telegram", "simulator"]
ADDRESSES = {
    "sms": "+447700900301",
    "whatsapp": "whatsapp:+447700900302",
    "telegram": "5550301",
    "simulator": "sim-301",
}


@pytest.fixture
def park(services):
    add_community(services)
    add_campaign(services, source=PARK)
    return services


def _answers(services) -> list[tuple[str, str, str | None]]:
    with services.db.session_scope() as session:
        return session.execute(
            select(Prompt.key, Response.text, Response.choice)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .order_by(Response.id)
        ).all()


def _statuses(services) -> dict[str, str]:
    with services.db.session_scope() as session:
        rows = session.execute(
            select(Prompt.key, Assignment.status).join(Prompt, Prompt.id == Assignment.prompt_id)
        ).all()
    return dict(rows)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_choice_that_branches_skips_ahead_and_the_words_are_kept(park, channel):
    phone = Phone(park, address=ADDRESSES[channel], channel=channel)
    asked = phone.join()[-1]
    assert asked.splitlines()[-5:] == [
        "1) Very safe",
        "2) Quite safe",
        "3) Not very safe",
        "4) Not at all safe",
        "Reply 1, 2, 3 or 4",
    ]
    # "Not at al safe" is choice 4, which leads to "why": "often" is never asked.
    assert phone.send("not at al safe!") == [
        "What would make the park feel safer, or better for you?"
    ]
    assert phone.send("More lights by the gate") == [
        "Thank you! Your answers go to the park's friends group and the council."
    ]
    assert _answers(park) == [
        ("park", "not at al safe!", "Not at all safe"),
        ("why", "More lights by the gate", None),
    ]
    assert _statuses(park) == {"park": "answered", "often": "skipped", "why": "answered"}


def test_other_answers_go_on_in_file_order_through_a_scale(park):
    phone = Phone(park)
    phone.join()
    scale = phone.send("B")
    assert scale == [
        "How often do you use the park?\nReply a number from 1 (never) to 5 (every day)"
    ]
    assert phone.send("five")[0].startswith("What would make the park feel safer")
    phone.send("A bench")
    assert _answers(park) == [
        ("park", "B", "Quite safe"),
        ("often", "five", "5"),
        ("why", "A bench", None),
    ]


def test_an_unmatched_answer_is_kept_then_asked_once_more_and_a_second_moves_on(park):
    phone = Phone(park)
    phone.join()
    again = phone.send("It depends who's about")
    assert len(again) == 1
    assert again[0].startswith("Thank you, we've kept your words. Which one is closest?")
    assert again[0].endswith("Reply 1, 2, 3 or 4")
    assert _statuses(park) == {"park": "pending"}
    following = phone.send("honestly no idea")
    assert following[0].startswith("How often do you use the park?")
    assert _answers(park) == [
        ("park", "It depends who's about", None),
        ("park", "honestly no idea", None),
    ]
    assert _statuses(park)["park"] == "answered"


def test_a_matched_answer_after_an_unmatched_one_counts_and_branches(park):
    phone = Phone(park)
    phone.join()
    phone.send("hmm")
    assert phone.send("3")[0].startswith("What would make the park feel safer")
    assert [choice for _, _, choice in _answers(park)] == [None, "Not very safe"]


def test_telegram_gets_the_choices_as_buttons_and_a_button_press_answers(park):
    phone = Phone(park, address="5550777", channel="telegram")
    phone.send("/start cumnock")
    message = Inbound(
        channel="telegram",
        address="5550777",
        text="YES",
        external_id="cb-1",
        received_at=utcnow(),
        raw={},
    )
    joined = inbox.receive(park.db, park.vault, message)
    assert joined.replies[-1].buttons == (
        "Very safe",
        "Quite safe",
        "Not very safe",
        "Not at all safe",
    )
    pressed = Inbound(
        channel="telegram",
        address="5550777",
        text="Quite safe",
        external_id="cb-2",
        received_at=utcnow(),
        raw={},
    )
    scale = inbox.receive(park.db, park.vault, pressed)
    assert scale.replies[0].buttons == ("1", "2", "3", "4", "5")
    assert _answers(park) == [("park", "Quite safe", "Quite safe")]


def test_a_retried_choice_answer_is_stored_once(park):
    phone = Phone(park)
    phone.join()
    phone.send("2", external_id="SMretry")
    phone.send("2", external_id="SMretry")
    assert _answers(park) == [("park", "2", "Quite safe")]


def test_a_launch_sends_a_closed_first_question_with_its_choices_and_buttons(services):
    from storage.models import OutboundMessage

    add_community(services)
    Phone(services).join()
    Phone(services, address="5550888", channel="telegram").send("/start cumnock")
    Phone(services, address="5550888", channel="telegram").send("YES")
    add_campaign(services, source=PARK)
    with services.db.session_scope() as session:
        queued = session.execute(
            select(OutboundMessage.channel, OutboundMessage.text, OutboundMessage.options)
            .where(OutboundMessage.kind == "prompt")
            .order_by(OutboundMessage.channel)
        ).all()
    assert [row.channel for row in queued] == ["sms", "telegram"]
    for row in queued:
        assert row.text.splitlines()[-1] == "Reply 1, 2, 3 or 4"
        assert row.options == {
            "buttons": ["Very safe", "Quite safe", "Not very safe", "Not at all safe"]
        }


def test_a_nudge_asks_the_question_the_resident_is_actually_on_with_its_choices(services):
    from datetime import timedelta

    import time_machine

    from bot.campaigns import nudges
    from storage.models import OutboundMessage
    from tests.test_nudges import T0

    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        add_community(services)
        add_campaign(services, source=PARK.replace("after: 2d", "after: 1d"))
    on_choice, on_branch = Phone(services), Phone(services, address="+447700900444")
    with time_machine.travel(T0, tick=False):
        on_choice.join()
        on_branch.join()
        on_branch.send("4")  # led by its branch to "why", the campaign's last question
    moment = T0 + timedelta(days=1)
    with time_machine.travel(moment, tick=False), services.db.session_scope() as session:
        nudges.sweep(session, moment)
    with services.db.session_scope() as session:
        sent = dict(
            session.execute(
                select(OutboundMessage.prompt_id, OutboundMessage.text).where(
                    OutboundMessage.kind == "nudge"
                )
            ).all()
        )
        keys = dict(session.execute(select(Prompt.id, Prompt.key)).all())
    texts_by_key = {keys[prompt_id]: text for prompt_id, text in sent.items()}
    assert texts_by_key["park"].splitlines()[-1] == "Reply 1, 2, 3 or 4"
    assert texts_by_key["park"].startswith("Still keen to hear from you at Cumnock Voices!")
    assert texts_by_key["why"].endswith("What would make the park feel safer, or better for you?")
    for text in texts_by_key.values():
        assert texts.sms_segments(text)[0] <= 2


def test_a_campaign_that_branches_to_end_goes_on_to_the_next_campaign(services):
    ends = PARK.replace(
        "next: {Not very safe: why, Not at all safe: why}",
        "next: {Not very safe: why, Not at all safe: why, Very safe: end}",
    )
    later = """slug: bins
title: Bins
prompts:
  - id: bins
    text: What would make bin day easier?
"""
    add_community(services)
    add_campaign(services, source=ends)
    add_campaign(services, source=later)
    phone = Phone(services)
    phone.join()
    replies = phone.send("1")
    assert replies == [
        "Thank you! Your answers go to the park's friends group and the council.",
        "What would make bin day easier?",
    ]
    assert _statuses(services) == {
        "park": "answered",
        "often": "skipped",
        "why": "skipped",
        "bins": "pending",
    }


def test_tallies_and_the_export_count_what_residents_really_answered(park):
    import csv
    import io

    from bot.insights.tallies import tallies
    from storage.exports import ExportFilter, csv_export
    from storage.models import Campaign

    replies = ["4", "not at all safe", "quite safe", "b", "it depends", "Very safe", "1"]
    for number, words in enumerate(replies):
        phone = Phone(park, address=f"+4477009005{number:02d}")
        phone.join()
        phone.send(words)
    with park.db.session_scope() as session:
        campaign = session.scalar(select(Campaign))
        park_tally = tallies(session, campaign)[0]
        exported = b"".join(csv_export(session, ExportFilter(campaign.community_id)))
    counts = {answer.key: answer.count for answer in park_tally.answers}
    assert counts == {"Very safe": 2, "Quite safe": 2, "Not very safe": 0, "Not at all safe": 2}
    assert park_tally.unmatched == ["it depends"]
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert sorted(row["choice"] for row in rows if row["choice"]) == sorted(
        ["Not at all safe"] * 2 + ["Quite safe"] * 2 + ["Very safe"] * 2
    )
    assert [row["text"] for row in rows if not row["choice"]] == ["it depends"]
