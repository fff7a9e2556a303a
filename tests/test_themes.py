"""Staff see what a community said: themes made of the answers residents actually wrote."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.themes import render_text
from storage.theme_groups import group_shares, groups_by_question
from storage.theme_words import content_words
from storage.themes import Answer, ThemeFilter, ThemeMap, find_themes, theme_map
from tests.theme_answers import Written, community_id, realistic_answers, store

CONTACT = re.compile(r"@|\d[\d\s().-]{5,}\d")


@pytest.fixture(scope="module")
def town() -> tuple[dict[int, Written], ThemeMap]:
    """A town's few hundred answers about a play park, bus times and a youth club, themed."""
    stored = dict(enumerate(realistic_answers(), start=1))
    answers = [Answer(rid, answer.resident, answer.text) for rid, answer in stored.items()]
    return stored, find_themes(answers)


def test_themes_read_from_the_database_are_those_of_the_answers_stored(db, town):
    stored = store(db, realistic_answers())
    with db.session_scope() as session:
        found = theme_map(session, ThemeFilter(community_id=community_id(db)))
    renumber = dict(zip(town[0], stored, strict=True))
    expected = town[1].as_json()
    for theme in expected["themes"]:
        theme["response_ids"] = sorted(renumber[rid] for rid in theme["response_ids"])
    expected["other"]["response_ids"] = sorted(
        renumber[rid] for rid in expected["other"]["response_ids"]
    )
    assert found.as_json() == expected


def topics_of(stored: dict[int, Written], ids: list[int]) -> Counter[str]:
    return Counter(stored[rid].topic for rid in ids)


def test_the_themes_are_the_topics_residents_wrote_about(town):
    stored, found = town
    assert len(found.themes) == 3
    theme_of_topic = {}
    for theme in found.themes:
        topic, count = topics_of(stored, theme.response_ids).most_common(1)[0]
        assert count >= 0.95 * theme.answers, f"{theme.label} mixes topics"
        theme_of_topic[topic] = theme
    assert set(theme_of_topic) == {"play park", "bus times", "youth club"}
    for topic, theme in theme_of_topic.items():
        written = sum(1 for answer in stored.values() if answer.topic == topic)
        assert topics_of(stored, theme.response_ids)[topic] >= 0.85 * written, topic
    assert "play park" in theme_of_topic["play park"].words
    assert "youth club" in theme_of_topic["youth club"].words
    assert any("bus" in word for word in theme_of_topic["bus times"].words)


def test_answers_in_dialect_or_with_emoji_land_with_their_topic(town):
    stored, found = town
    theme_of = {rid: theme.label for theme in found.themes for rid in theme.response_ids}
    label_of_topic = {
        topic: Counter(
            theme_of.get(rid) for rid in stored if stored[rid].topic == topic
        ).most_common(1)[0][0]
        for topic in ("play park", "bus times", "youth club")
    }
    marked = re.compile(r"weans|bairns|yoof|busses|playpark|playground|😡|👍")
    special = [rid for rid, answer in stored.items() if answer.topic in label_of_topic]
    special = [rid for rid in special if marked.search(stored[rid].text)]
    assert len(special) > 30
    landed = [rid for rid in special if theme_of.get(rid) == label_of_topic[stored[rid].topic]]
    assert len(landed) >= 0.9 * len(special)


def test_every_answer_is_counted_exactly_once(town):
    stored, found = town
    listed = [rid for theme in found.themes for rid in theme.response_ids]
    listed += found.other_response_ids
    assert sorted(listed) == sorted(stored)
    shape = found.as_json()
    assert shape["answers"] == len(stored)
    assert sum(t["answers"] for t in shape["themes"]) + shape["other"]["answers"] == len(stored)


def test_short_replies_and_emoji_count_as_other_and_are_never_dropped(town):
    stored, found = town
    noise = {rid for rid, answer in stored.items() if answer.topic == "noise"}
    assert {stored[rid].text for rid in noise} >= {"yes", "dunno", "👍"}
    assert noise <= set(found.other_response_ids)


def test_quotes_never_show_a_phone_number_or_email_address(town):
    stored, found = town
    assert sum(1 for answer in stored.values() if CONTACT.search(answer.text)) > 20
    shown = [quote for theme in found.themes for quote in theme.quotes]
    shown += [item.quote for item in found.said_once]
    assert all(2 <= len(theme.quotes) <= 3 for theme in found.themes)
    assert shown and not [quote for quote in shown if CONTACT.search(quote)]


def test_quotes_are_real_words_from_different_residents_of_the_theme(town):
    stored, found = town
    for theme in found.themes:
        writers = {stored[rid].resident for rid in theme.response_ids}
        texts = {stored[rid].text for rid in theme.response_ids}
        assert all(any(quote.split("[")[0] in text for text in texts) for quote in theme.quotes)
        assert len(writers) >= len(theme.quotes)


def test_unusual_answers_are_kept_as_said_once(town):
    stored, found = town
    said_once = {item.response_id for item in found.said_once}
    unusual = {rid for rid, answer in stored.items() if answer.topic == "said once"}
    assert unusual <= said_once
    assert said_once <= set(found.other_response_ids)


def test_dialect_spellings_read_as_the_everyday_word():
    assert "children" in content_words("the weans have naewhere tae play")
    assert "children" in content_words("For the bairns!!")
    assert content_words("busses dont run") == ["bus", "run"]
    assert content_words("the yoof club") == ["youth", "club"]
    assert content_words("Aye, dunno 🤷 tbh") == []
    assert content_words("Fèis in the sgoil") == content_words("feis in the sgoil")
    assert content_words("Tha am bus an-còmhnaidh fadalach agus tha e daor") == [
        "bus",
        "comhnaidh",
        "fadalach",
        "daor",
    ]


def test_a_theme_told_by_fewer_than_five_residents_is_folded_into_other():
    answers = [Answer(rid, w.resident, w.text) for rid, w in enumerate(realistic_answers(), 1)]
    dog_lines = [
        "dog fouling on the pavement outside the school is disgusting",
        "owners never pick up the dog fouling on the pavement",
        "dog fouling everywhere on the pavement by the shops",
        "fine the owners for dog fouling on the pavement",
        "the pavement is covered in dog fouling again",
    ]
    dogs = [
        Answer(10_000 + n, 9_000 + n % 4, line) for n, line in enumerate(dog_lines * 4)
    ]  # twenty answers, but from only four residents
    dog_ids = {answer.response_id for answer in dogs}
    everyone = find_themes(answers + dogs, min_residents=1)
    assert any(dog_ids <= set(theme.response_ids) for theme in everyone.themes)
    folded = find_themes(answers + dogs)
    assert dog_ids <= set(folded.other_response_ids)
    assert all(theme.residents >= 5 for theme in folded.themes)
    assert not any("fouling" in " ".join(theme.words) for theme in folded.themes)


def test_the_same_answers_give_the_same_themes_in_any_order():
    answers = [Answer(rid, w.resident, w.text) for rid, w in enumerate(realistic_answers(), 1)]
    first = find_themes(answers).as_json()
    again = find_themes(list(reversed(answers))).as_json()
    assert first == again
    assert [item.response_id for item in find_themes(answers).said_once] == [
        item.response_id for item in find_themes(list(reversed(answers))).said_once
    ]


def test_a_handful_of_answers_is_all_other_rather_than_a_made_up_theme():
    few = [Answer(1, 1, "more buses please"), Answer(2, 2, "fix the swings"), Answer(3, 3, "yes")]
    found = find_themes(few)
    assert found.themes == [] and found.other_response_ids == [1, 2, 3]
    assert find_themes([]).as_json() == {
        "answers": 0,
        "themes": [],
        "other": {"answers": 0, "response_ids": []},
    }


def test_when_everyone_says_the_same_short_thing_that_is_the_theme():
    said = ["more buses please", "More buses please!", "MORE BUSES", "buses are late"]
    answers = [Answer(n, n, said[n % 4]) for n in range(1, 41)]
    found = find_themes(answers)
    assert [(theme.words[0], theme.answers) for theme in found.themes] == [("bus", 40)]
    assert len(found.themes[0].quotes) >= 2


def test_hidden_messages_are_left_out_of_themes(db):
    stored = store(db, realistic_answers())
    hidden = frozenset(list(stored)[:10])
    with db.session_scope() as session:
        found = theme_map(
            session, ThemeFilter(community_id=community_id(db), hidden_response_ids=hidden)
        )
    listed = {rid for theme in found.themes for rid in theme.response_ids}
    listed |= set(found.other_response_ids)
    assert found.answers == len(stored) - 10 and not listed & hidden


def test_group_shares_suppress_small_groups_as_coverage_does():
    groups = {r: "under 25" for r in range(1, 11)}
    groups.update({r: "25 to 64" for r in range(11, 17)})
    groups.update({r: "over 65" for r in range(17, 20)})
    # Three over 65 are never shown exactly; as the only small group they would be a subtraction
    # away from the total, so the next smallest group is suppressed too.
    assert [(s.label, s.residents, s.share) for s in group_shares(range(1, 20), groups)] == [
        ("under 25", 10, 0.526),
        ("25 to 64", None, None),
        ("over 65", None, None),
    ]
    assert [(s.label, s.residents) for s in group_shares(range(1, 26), groups)] == [
        ("under 25", 10),
        ("no answer", 6),
        ("25 to 64", None),
        ("over 65", None),
    ]
    two_small = {r: "under 25" for r in range(1, 11)}
    two_small.update({r: "carer" for r in range(11, 14)} | {r: "student" for r in range(14, 17)})
    assert [(s.label, s.residents) for s in group_shares(range(1, 17), two_small)] == [
        ("under 25", 10),
        ("carer", None),
        ("student", None),
    ]


def test_group_shares_plug_into_self_described_groups_per_question():
    answers = {r: [("age", "under 25"), ("area", "Townhead")] for r in range(1, 8)}
    answers.update({r: [("age", "over 65")] for r in range(8, 14)})
    by_question = groups_by_question(answers)
    assert set(by_question) == {"age", "area"}
    text = render_text(
        find_themes(
            [Answer(r, r, "the buses never come on time") for r in range(1, 14)]
            + [Answer(100 + r, r, "the bus is late again") for r in range(1, 14)]
        ),
        by_question,
    )
    assert "age: under 25 54%, over 65 46%" in text
    assert "area: Townhead 54%, no answer 46%" in text


ANY_ANSWER = st.one_of(
    st.sampled_from([w.text for w in realistic_answers(per_topic=10, noise=10)]),
    st.text(max_size=80),
    st.text(alphabet="abc 😀🙂 àèìòù.,!?07@", max_size=40),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.tuples(st.integers(1, 30), ANY_ANSWER), max_size=60))
def test_whatever_residents_write_every_answer_lands_in_exactly_one_list(texts):
    answers = [Answer(rid, resident, text) for rid, (resident, text) in enumerate(texts, 1)]
    found = find_themes(answers)
    listed = [rid for theme in found.themes for rid in theme.response_ids]
    listed += found.other_response_ids
    assert sorted(listed) == [answer.response_id for answer in answers]
    assert all(theme.residents >= 5 for theme in found.themes)


def test_safeguarding_messages_never_appear_in_themes(db):
    from sqlalchemy import update

    from storage.models import Response

    stored = store(db, realistic_answers())
    flagged = set(list(stored)[:7])
    with db.session_scope() as session:
        session.execute(update(Response).where(Response.id.in_(flagged)).values(safeguarding=True))
        found = theme_map(session, ThemeFilter(community_id=community_id(db)))
    listed = {rid for theme in found.themes for rid in theme.response_ids}
    listed |= set(found.other_response_ids)
    assert found.answers == len(stored) - 7
    assert not listed & flagged


def test_words_many_people_sent_are_not_listed_as_said_once():
    answers = [Answer(rid, w.resident, w.text) for rid, w in enumerate(realistic_answers(), 1)]
    same = "The old church clock has been stuck at ten past four since the spring"
    repeats = [
        Answer(20_000 + n, 19_000 + n % 3, same if n % 2 else same.upper() + "!") for n in range(25)
    ]
    found = find_themes(answers + repeats)
    quotes = [item.quote.casefold() for item in found.said_once]
    assert not any("church clock" in quote for quote in quotes)
    assert len(quotes) == len(set(quotes)), "no sentence is listed twice"
    assert found.said_once, "the answers truly said once are still there"
