"""Themes over many answers: read them from the database and find their themes, timed.

Run from the repository root:  .venv/bin/python -m bench.themes [--answers 50000] [--repeat 3]
The last line of output is one JSON object with the figures (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sklearn
from sqlalchemy import insert, select

from storage.db import Database
from storage.models import Campaign, Community, Prompt, Resident, Response
from storage.themes import Answer, ThemeFilter, find_themes, select_answers
from tests.theme_answers import JOINERS, NOISE, OPENERS, SAID_ONCE, TAILS, TOPICS

TARGET_SECONDS = 10.0
# More topics than the tests use, so the vocabulary looks like a real town's.
MORE_TOPICS = {
    "bins": (
        ["The bins are only emptied every three weeks", "recycling bins overflowing", "bin day"],
        ["foxes get into the rubbish", "the street stinks in summer", "nobody collects them"],
    ),
    "dog fouling": (
        ["Dog fouling on every pavement", "owners never pick up after their dogs"],
        ["the school path is covered", "fine the owners", "more dog bins please"],
    ),
    "potholes": (
        ["Potholes on the main road", "the road to the farm is full of potholes"],
        ["burst my tyre", "cyclists will get hurt", "patched and broken again in a week"],
    ),
    "street lights": (
        ["Street lights out on Glebe Road", "the lane by the station has no lights"],
        ["it's pitch black walking home", "women feel unsafe at night", "reported it twice"],
    ),
}
STREETS = ["Glebe Road", "Townhead", "Barrhill", "Mill Brae", "Lugar", "Netherthird", "Craigens"]


def written_answers(count: int, seed: int = 50) -> list[tuple[int, str]]:
    """`count` answers as (resident number, text): topics, dialect, emoji, contacts and noise."""
    rng = random.Random(seed)
    topics = list(TOPICS.values()) + list(MORE_TOPICS.values())
    residents = max(50, count // 3)
    made: list[tuple[int, str]] = []
    for _ in range(count):
        resident = rng.randrange(residents)
        roll = rng.random()
        if roll < 0.1:
            text = rng.choice(NOISE)
        elif roll < 0.12:
            text = rng.choice(SAID_ONCE)
        else:
            starts, ends = rng.choice(topics)
            text = (
                f"{rng.choice(OPENERS)}{rng.choice(starts)}{rng.choice(JOINERS)}"
                f"{rng.choice(ends)}{rng.choice(TAILS)}"
            )
            if rng.random() < 0.2:
                text += f", near {rng.choice(STREETS)}"
        made.append((resident, text))
    return made


def load(database: Database, made: list[tuple[int, str]]) -> int:
    """Store the answers as one campaign's responses; return the community id."""
    with database.session_scope() as session:
        community = Community(slug="bench", name="Bench", keyword="BENCH")
        session.add(community)
        session.flush()
        campaign = Campaign(community_id=community.id, slug="bench", title="Bench")
        session.add(campaign)
        session.flush()
        prompt = Prompt(campaign_id=campaign.id, position=0, key="idea", text={"en": "Ideas?"})
        session.add(prompt)
        session.flush()
        numbers = sorted({resident for resident, _ in made})
        session.execute(
            insert(Resident),
            [
                {
                    "community_id": community.id,
                    "channel": "sms",
                    "address_enc": "sealed",
                    "address_hash": f"bench-{number}",
                    "pseudonym": f"bench-{number}",
                    "status": "joined",
                }
                for number in numbers
            ],
        )
        ids = dict(session.execute(select(Resident.pseudonym, Resident.id)).all())
        session.execute(
            insert(Response),
            [
                {
                    "community_id": community.id,
                    "campaign_id": campaign.id,
                    "prompt_id": prompt.id,
                    "resident_id": ids[f"bench-{resident}"],
                    "channel": "sms",
                    "text": text,
                }
                for resident, text in made
            ],
        )
        return community.id


def measure(database: Database, community_id: int, repeat: int) -> dict[str, Any]:
    """Time reading the answers and finding their themes, `repeat` times."""
    reads: list[float] = []
    finds: list[float] = []
    cpu: list[float] = []
    result = None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        with database.session_scope() as session:
            answers: list[Answer] = select_answers(session, ThemeFilter(community_id=community_id))
        read = time.perf_counter()
        result = find_themes(answers)
        finds.append(time.perf_counter() - read)
        reads.append(read - began)
        cpu.append(time.process_time() - began_cpu)
    assert result is not None
    totals = [read + find for read, find in zip(reads, finds, strict=True)]
    return {
        "answers": result.answers,
        "themes": len(result.themes),
        "other": len(result.other_response_ids),
        "said_once": len(result.said_once),
        "labels": [theme.label for theme in result.themes],
        "read_s_median": round(statistics.median(reads), 3),
        "themes_s_median": round(statistics.median(finds), 3),
        "total_s_median": round(statistics.median(totals), 3),
        "total_s_max": round(max(totals), 3),
        # CPU seconds of this process: what the wall time would be on an idle machine, roughly.
        "total_cpu_s_median": round(statistics.median(cpu), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="an empty database to fill (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        database = Database(url)
        database.upgrade()
        began = time.perf_counter()
        community_id = load(database, written_answers(args.answers))
        loaded = time.perf_counter() - began
        figures = measure(database, community_id, args.repeat)
        database.dispose()
    for label in figures.pop("labels"):
        print(f"theme: {label}")
    figures.update(
        {
            "database": url.split(":", 1)[0],
            "load_s": round(loaded, 2),
            "repeat": args.repeat,
            "target_s": TARGET_SECONDS,
            "within_target": figures["total_s_max"] < TARGET_SECONDS,
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "scikit_learn": sklearn.__version__,
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
