"""Self-described groups: asked once after joining, optional, and shown only as safe counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.campaigns import nudges
from bot.conversation import profile
from bot.insights import coverage
from storage import exports
from storage.models import OutboundMessage, ProfileAnswer, Response
from tests.helpers import Phone, add_campaign, add_community, deliver_queued
from tests.test_nudges import PARK, T0, at, queued, resident_id, sweep

AREA = ("area", "Which part of town do you live in?", ["North", "South", "Centre"])
AGE = ("age", "Which age group are you in?", ["Under 16", "16-24", "25+"])
FIRST_PROMPT = "What would make the park better?"


def ask(services, *questions) -> int:  # type: ignore[no-untyped-def]
    """A community asking `questions` after joining, running the park campaign."""
    with at(T0 - timedelta(days=10)):
        community_id = add_community(services)
        add_campaign(services, source=PARK)
    with services.db.session_scope() as session:
        for key, text, choices in questions:
            profile.set_question(session, community_id, key, text, choices)
    return community_id


def choices(services) -> list[str | None]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(session.scalars(select(ProfileAnswer.choice).order_by(ProfileAnswer.id)))


def test_no_questions_by_default_so_yes_brings_the_first_prompt(services):
    ask(services)
    with at(T0):
        assert Phone(services).join()[-1].endswith(FIRST_PROMPT)


def test_the_optional_question_comes_right_after_yes_and_before_the_first_prompt(services):
    ask(services, AREA)
    phone = Phone(services)
    with at(T0):
        joined = phone.join()
        assert "optional question" in joined[0]
        assert joined[1] == (
            "Which part of town do you live in? Reply 1 North, 2 South, 3 Centre. Or reply SKIP."
        )
        assert phone.send("2") == [f"Thank you! Here's our question: {FIRST_PROMPT}"]
    assert choices(services) == ["South"]


def test_two_questions_answered_by_words_and_skip(services):
    ask(services, AREA, AGE)
    phone = Phone(services)
    with at(T0):
        phone.join()
        assert phone.send(" north ")[0].startswith("Which age group are you in?")
        assert phone.send("skip")[-1].endswith(FIRST_PROMPT)
    assert choices(services) == ["North", None]


def test_telegram_offers_the_choices_and_skip_as_buttons(services):
    ask(services, AREA)
    with at(T0):
        Phone(services, address="5550001", channel="telegram").join()
    with services.db.session_scope() as session:
        asked = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()[-1]
        assert asked.options == {"buttons": ["North", "South", "Centre", "SKIP"]}


def test_words_that_are_not_a_choice_are_kept_and_the_first_prompt_follows(services):
    ask(services, AREA, AGE)
    phone = Phone(services)
    with at(T0):
        phone.join()
        replies = phone.send("I live by the old mill")
    assert "kept your words" in replies[0]
    assert replies[-1] == FIRST_PROMPT
    assert choices(services) == [None]  # counted as skipped; the second question is not asked
    with services.db.session_scope() as session:
        assert session.scalars(select(Response.text)).one() == "I live by the old mill"


def test_group_answers_are_not_responses_and_never_exported(services):
    community_id = ask(services, AREA)
    phone = Phone(services)
    with at(T0):
        phone.join()
        phone.send("Centre")
        phone.send("A pond")
    with services.db.session_scope() as session:
        exported = list(exports.rows(session, exports.ExportFilter(community_id=community_id)))
        assert len(exported) == 1
        assert not any("Centre" in str(cell) for row in exported for cell in row)


def test_someone_coming_back_is_not_asked_again(services):
    ask(services, AREA)
    phone = Phone(services)
    with at(T0):
        phone.join()
        phone.send("1")
        phone.send("STOP")
        assert phone.send("START")[-1] == FIRST_PROMPT
    assert choices(services) == ["North"]


def test_an_unanswered_question_does_not_hold_back_the_first_prompt(services):
    ask(services, AREA)
    phone = Phone(services)
    with at(T0):
        phone.join()
    assert sweep(services, T0 + timedelta(hours=23)).queued() == 0
    report = sweep(services, T0 + timedelta(days=1))
    assert report.counts["cumnock"][nudges.FIRST_PROMPT] == 1
    assert [row[0] for row in queued(services, "prompt")] == [FIRST_PROMPT]
    assert sweep(services, T0 + timedelta(days=1, minutes=5)).queued() == 0
    deliver_queued(services)  # the worker's sender delivers it
    with at(T0 + timedelta(days=2)):
        assert phone.send("Swings")[-1] == "When do you use the park?"


@pytest.mark.parametrize(
    ("key", "text", "choices", "reason"),
    [
        ("Area!", "Where?", ["A", "B"], "--key"),
        ("area", "Where?", ["Only one"], "2 to 8 choices"),
        ("area", "Where?", ["A", "a"], "different"),
        ("area", "Where?", ["1", "B"], "cannot be a number or SKIP"),
        ("area", "Where?", ["A" * 25, "B"], "at most 24"),
        ("area", "Where? " * 60, ["A", "B"], "two text messages"),
    ],
)
def test_a_question_that_does_not_fit_is_refused_with_the_reason(
    services, key, text, choices, reason
):
    community_id = add_community(services)
    with services.db.session_scope() as session, pytest.raises(profile.ProfileError) as refused:
        profile.set_question(session, community_id, key, text, choices)
    assert reason in str(refused.value)


def test_at_most_two_questions_and_setting_one_again_replaces_it(services):
    community_id = ask(services, AREA, AGE)
    with services.db.session_scope() as session:
        with pytest.raises(profile.ProfileError, match="at most 2"):
            profile.set_question(session, community_id, "tenure", "Rent or own?", ["Rent", "Own"])
        profile.set_question(session, community_id, "area", "Where?", ["East", "West"])
        assert [q.key for q in profile.questions(session, community_id)] == ["area", "age"]
        assert profile.choices_of(profile.questions(session, community_id)[0]) == ["East", "West"]


def join_group(services, address: str, choice: str, answer: str | None = None) -> Phone:  # type: ignore[no-untyped-def]
    phone = Phone(services, address=address)
    phone.join()
    phone.send(choice)
    if answer:
        phone.send(answer)
    return phone


def test_coverage_counts_groups_and_never_shows_one_under_five_exactly(services):
    community_id = ask(services, AREA)
    with at(T0):
        for number in range(7):
            join_group(
                services, f"+4477009001{number:02}", "North", "Benches" if number < 3 else None
            )
        for number in range(3):
            join_group(services, f"+4477009002{number:02}", "South", "Trees")
        join_group(services, "+447700900300", "SKIP", "Lights")
    with services.db.session_scope() as session:
        found = coverage.coverage(session, community_id)
    assert found.overall.cells() == ("11", "7", "4", "64%")
    rows = {row.label: row.cells() for row in found.groups["area"]}
    assert rows["North"] == ("7", "3", "4", "43%")
    assert rows["South"] == ("fewer than 5", "-", "-", "-")
    assert rows["Centre"] == ("fewer than 5", "-", "-", "-")
    assert rows["no answer"] == ("fewer than 5", "-", "-", "-")


def test_a_lone_small_group_hides_the_next_smallest_so_it_cannot_be_subtracted():
    rows = coverage.suppress_small(
        [coverage.Reach("North", 9, 3), coverage.Reach("South", 3, 1), coverage.Reach("x", 6, 2)]
    )
    assert [row.suppressed for row in rows] == [False, True, True]


def test_nudges_favour_the_group_least_heard(services):
    ask(services, AREA)
    with at(T0 - timedelta(days=3)):
        quiet_north = join_group(services, "+447700900100", "North")
        for number in range(3):
            join_group(services, f"+44770090011{number}", "North", "Benches")
    with at(T0 - timedelta(days=2, hours=12)):
        quiet_south = join_group(services, "+447700900200", "South")
    sweep(services, T0)
    # Both never heard; the one in the quieter group goes first though silent for less time.
    order = [row[2] for row in queued(services)]
    assert order[:2] == [resident_id(services, quiet_south), resident_id(services, quiet_north)]
