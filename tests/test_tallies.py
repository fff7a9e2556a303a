"""Tallies of closed questions: once per resident, every answer listed, small groups hidden."""

from __future__ import annotations

from sqlalchemy import event, select

from bot.insights import tallies
from storage.models import Campaign, Resident
from storage.small_groups import FEWER_THAN
from tests.tally_support import Seeded


def tally(seeded: Seeded) -> list[tallies.QuestionTally]:
    with seeded.services.db.session_scope() as session:
        return tallies.tallies(session, session.get(Campaign, seeded.campaign_id))


def counts(found: tallies.QuestionTally) -> dict[str, int]:
    return {answer.key: answer.count for answer in found.answers}


def test_each_resident_counts_once_with_their_latest_matched_answer(services):
    seeded = Seeded.start(services)
    changed = seeded.resident("North")
    seeded.reply(changed, "park", "very safe", "Very safe")
    seeded.reply(changed, "park", "4", "Not at all safe")
    matched_later = seeded.resident("South")
    seeded.reply(matched_later, "park", "dunno", None)
    seeded.reply(matched_later, "park", "2", "Quite safe")
    never = seeded.resident(None)
    seeded.reply(never, "park", "depends on the <b>lighting</b>", None)
    seeded.reply(never, "park", "hmm", None)
    flagged_later = seeded.resident("North")
    seeded.reply(flagged_later, "park", "1", "Very safe")
    seeded.reply(flagged_later, "park", "not very safe, someone hurt me", "Not very safe", True)
    flagged_only = seeded.resident("North")
    seeded.reply(flagged_only, "park", "he follows me home", None, safeguarding=True)

    park, often = tally(seeded)
    assert park.prompt_key == "park" and park.question == "How safe does the park feel after dark?"
    assert counts(park) == {
        "Very safe": 1,
        "Quite safe": 1,
        "Not very safe": 0,
        "Not at all safe": 1,
    }
    assert park.answered == 3
    assert [a.percent for a in park.answers] == [33, 33, 0, 33]
    # Only the resident none of whose replies matched, verbatim and newest first.
    assert park.unmatched_residents == 1
    assert park.unmatched == ["hmm", "depends on the <b>lighting</b>"]
    # A scale lists every value, with its labels, zeros included; the open question has no tally.
    assert [(a.key, a.label, a.count) for a in often.answers] == [
        ("1", "1 (never)", 0),
        ("2", "2", 0),
        ("3", "3", 0),
        ("4", "4", 0),
        ("5", "5 (every day)", 0),
    ]
    assert often.answered == 0 and often.unmatched == []


def test_a_group_of_four_is_fewer_than_5_and_a_group_of_five_is_shown(services):
    seeded = Seeded.start(services)
    seeded.answers("North", "Very safe", 3)
    seeded.answers("North", "Not at all safe", 2)
    seeded.answers("South", "Quite safe", 4)
    seeded.answers("Centre", "Quite safe", 6)
    (park, _) = tally(seeded)
    (area,) = park.groups
    assert area.key == "area"
    rows = {row.label: row for row in area.rows}
    assert list(rows) == ["North", "South", "Centre", "no answer"]
    assert rows["North"].cells() == ("5", "3 (60%)", "0 (0%)", "0 (0%)", "2 (40%)")
    assert rows["South"].cells() == (FEWER_THAN, "-", "-", "-", "-")
    assert rows["Centre"].cells() == ("6", "0 (0%)", "6 (100%)", "0 (0%)", "0 (0%)")
    assert rows["no answer"].suppressed
    assert counts(park)["Quite safe"] == 10


def test_a_lone_hidden_group_takes_the_next_smallest_with_it_as_coverage_does(services):
    seeded = Seeded.start(services)
    seeded.answers("North", "Very safe", 5)
    seeded.answers("South", "Very safe", 4)
    seeded.answers("Centre", "Very safe", 6)
    seeded.answers(None, "Very safe", 7)
    (park, _) = tally(seeded)
    hidden = [row.label for row in park.groups[0].rows if row.suppressed]
    # Everyone's 22 minus the others would give South's 4 away: North is hidden too.
    assert hidden == ["North", "South"]


def test_an_erased_resident_is_no_longer_counted(services):
    seeded = Seeded.start(services)
    seeded.answers("North", "Very safe", 5)
    (park, _) = tally(seeded)
    assert counts(park)["Very safe"] == 5
    with services.db.session_scope() as session:
        session.delete(session.scalars(select(Resident)).first())
    (park, _) = tally(seeded)
    assert counts(park)["Very safe"] == 4
    assert park.groups[0].rows[0].cells()[0] == FEWER_THAN


def test_report_back_sentences_quote_only_counts_of_five_or_more(services):
    seeded = Seeded.start(services)
    seeded.answers("North", "Not at all safe", 5)
    seeded.answers("South", "Very safe", 4)
    assert tallies.quotes(tally(seeded)) == [
        "Most of you (56%) said: Not at all safe",
        "5 of you said: Not at all safe",
    ]


def test_counting_takes_the_same_few_queries_for_ten_or_a_hundred_residents(services):
    """Counted by GROUP BY in the database, never a query or a loop per resident."""
    seeded = Seeded.start(services)
    statements: list[str] = []

    def count(*args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    seeded.answers("North", "Very safe", 10)
    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        tally(seeded)
        few = len(statements)
        seeded.answers("South", "Quite safe", 90)
        statements.clear()
        (park, _) = tally(seeded)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    assert len(statements) == few <= 8
    assert park.answered == 100


def test_with_two_group_questions_everyone_counts_once_overall_and_once_in_each(services):
    from bot.conversation import profile
    from storage.models import ProfileAnswer

    seeded = Seeded.start(services)
    seeded.answers("North", "Very safe", 6)
    seeded.answers("South", "Quite safe", 5)
    with services.db.session_scope() as session:
        age = profile.set_question(
            session, seeded.community_id, "age", "Which age group are you in?", ["Under 25", "25+"]
        )
        residents = session.scalars(select(Resident.id).order_by(Resident.id)).all()
        for number, resident_id in enumerate(residents):
            choice = "25+" if number < 7 else None  # four skipped the second question
            session.add(ProfileAnswer(resident_id=resident_id, question_id=age.id, choice=choice))
    (park, _) = tally(seeded)
    assert counts(park) == {
        "Very safe": 6,
        "Quite safe": 5,
        "Not very safe": 0,
        "Not at all safe": 0,
    }
    area, ages = park.groups
    assert [(row.label, row.counts[:2]) for row in area.rows] == [
        ("North", (6, 0)),
        ("South", (0, 5)),
        ("Centre", (0, 0)),
        ("no answer", (0, 0)),
    ]
    assert [(row.label, row.counts[:2]) for row in ages.rows] == [
        ("Under 25", (0, 0)),
        ("25+", (6, 1)),
        ("no answer", (0, 4)),
    ]
    assert [row.cells()[0] for row in ages.rows] == [FEWER_THAN, "7", FEWER_THAN]
