"""The tallies equal a count made by hand over every stored reply, for hundreds of residents who
answer again, tie to the second, fail to match, are flagged, and describe themselves or not."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import insert, select

from bot.conversation import profile
from bot.insights import tallies
from bot.insights.coverage import NO_ANSWER
from storage.models import Campaign, ProfileAnswer, Resident, Response
from tests.helpers import FESTIVAL, add_campaign
from tests.tally_support import AREA, T0, Seeded

RESIDENTS = 400
AGES = ("Under 25", "25+")
KEYS = {"park": ["Very safe", "Quite safe", "Not very safe", "Not at all safe"]}
KEYS["often"] = ["1", "2", "3", "4", "5"]


def seed_city(seeded: Seeded, generator: random.Random) -> dict[str, int]:
    """Residents with groups and replies straight into the tables; returns question ids."""
    with seeded.services.db.session_scope() as session:
        age = profile.set_question(session, seeded.community_id, "age", "Age?", list(AGES))
        area = profile.questions(session, seeded.community_id)[0]
        questions = {"area": area.id, "age": age.id}
    other = add_campaign(seeded.services, source=FESTIVAL)
    with seeded.services.db.session_scope() as session:
        open_prompt = session.scalar(select(Campaign).where(Campaign.id == other)).prompts[0].id
    with seeded.services.db.engine.begin() as connection:
        connection.execute(
            insert(Resident.__table__),
            [
                {"community_id": seeded.community_id, "channel": "sms", "address_enc": "x",
                 "address_hash": f"h{n}", "pseudonym": f"r-brute{n:04d}", "status": "joined"}
                for n in range(RESIDENTS)
            ],
        )  # fmt: skip
        ids = connection.scalars(select(Resident.id).order_by(Resident.pseudonym)).all()
    groups, replies = [], []
    for n in ids:
        for key, choices in (("area", AREA[2]), ("age", AGES)):
            if generator.random() < 0.8:  # the rest were never asked
                choice = generator.choice([*choices, None])  # None: skipped
                groups.append({"resident_id": n, "question_id": questions[key], "choice": choice})
        for prompt in KEYS:
            for _ in range(generator.choice((0, 1, 1, 1, 2, 3))):
                replies.append(reply(seeded, n, prompt, generator))
        replies.append(
            {"community_id": seeded.community_id, "campaign_id": other, "prompt_id": open_prompt,
             "resident_id": n, "channel": "sms", "text": "an idea", "choice": None,
             "safeguarding": False, "received_at": T0}
        )  # fmt: skip
    with seeded.services.db.engine.begin() as connection:
        connection.execute(insert(ProfileAnswer.__table__), groups)
        connection.execute(insert(Response.__table__), replies)
    return questions


def reply(
    seeded: Seeded, resident: int, prompt: str, generator: random.Random
) -> dict[str, object]:
    """One reply: mostly a choice, sometimes words that match none; a few flagged; sent within
    the same three seconds, so that later rows often tie on the time and the id decides."""
    matched = generator.random() < 0.6
    choice = generator.choice(KEYS[prompt]) if matched else None
    return {
        "community_id": seeded.community_id,
        "campaign_id": seeded.campaign_id,
        "prompt_id": seeded.prompts[prompt],
        "resident_id": resident,
        "channel": "sms",
        "text": choice or f"not sure {generator.randrange(10**6)}",
        "choice": choice,
        "safeguarding": generator.random() < 0.05,
        "received_at": T0 + timedelta(seconds=generator.randrange(3)),
    }


def by_hand(seeded: Seeded, questions: dict[str, int]) -> tuple[dict[str, dict[str, object]], int]:
    """Each prompt's figures counted in Python from every row, the way the tallies define them."""
    with seeded.services.db.engine.connect() as connection:
        rows = connection.execute(
            select(Response).where(Response.campaign_id == seeded.campaign_id)
        ).all()
        chosen = dict(
            ((answer.resident_id, answer.question_id), answer.choice)
            for answer in connection.execute(select(ProfileAnswer))
        )
    found: dict[str, dict[str, object]] = {}
    ties: set[int] = set()
    for prompt, prompt_id in seeded.prompts.items():
        last: dict[int, object] = {}
        if prompt not in KEYS:
            continue
        said = [row for row in rows if row.prompt_id == prompt_id and not row.safeguarding]
        newest_first = sorted(said, key=lambda row: (row.received_at, row.id), reverse=True)
        latest: dict[int, str] = {}
        for row in newest_first:
            if row.choice is not None:
                latest.setdefault(row.resident_id, row.choice)
                if (
                    latest[row.resident_id] != row.choice
                    and row.received_at == last[row.resident_id]
                ):
                    ties.add(row.resident_id)  # the same second, another answer: the id decides
                last.setdefault(row.resident_id, row.received_at)
        never = [row for row in newest_first if row.resident_id not in latest]
        groups = {}
        for key, question_id in questions.items():
            counted = Counter(
                (chosen.get((resident, question_id)) or NO_ANSWER, choice)
                for resident, choice in latest.items()
            )
            labels = [*(AREA[2] if key == "area" else AGES), NO_ANSWER]
            groups[key] = {
                label: tuple(counted[(label, answer)] for answer in KEYS[prompt])
                for label in labels
            }
        overall = Counter(latest.values())
        found[prompt] = {
            "answers": {answer: overall[answer] for answer in KEYS[prompt]},
            "groups": groups,
            "unmatched_residents": len({row.resident_id for row in never}),
            "unmatched": [row.text for row in never][: tallies.UNMATCHED_SHOWN],
        }
    return found, len(ties)


def test_the_tallies_equal_a_count_by_hand_over_every_reply(services):
    seeded = Seeded.start(services)
    questions = seed_city(seeded, random.Random(2026))
    with services.db.session_scope() as session:
        counted = tallies.tallies(session, session.get(Campaign, seeded.campaign_id))
        shown = {
            tally.prompt_key: {
                "answers": {answer.key: answer.count for answer in tally.answers},
                "groups": {
                    group.key: {row.label: row.counts for row in group.rows}
                    for group in tally.groups
                },
                "unmatched_residents": tally.unmatched_residents,
                "unmatched": tally.unmatched,
            }
            for tally in counted
        }
    expected, ties = by_hand(seeded, questions)
    assert shown == expected
    # The seed reaches every case: answers again, ties to the second, unmatched beyond the list.
    park = expected["park"]
    assert sum(park["answers"].values()) > 200 and park["unmatched_residents"] > 50
    assert len(park["unmatched"]) == tallies.UNMATCHED_SHOWN and ties > 10
