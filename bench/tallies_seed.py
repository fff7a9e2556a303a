"""A city for the tallies benchmark: residents in self-described groups, a campaign of four closed
questions every resident answered (some unmatched, some changed their mind), and an unrelated
campaign of as many open answers, with the assignments and prompt messages a launch leaves."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, insert

from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.conversation import profile
from bot.conversation.consent import QUOTES
from storage import users
from storage.db import Database
from storage.models import (
    Assignment,
    Community,
    Consent,
    OutboundMessage,
    ProfileAnswer,
    Resident,
    Response,
)

SLUG = "bigtown"
STAFF_EMAIL = "staff@example.org"
STAFF_PASSWORD = "bench staff password"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CHUNK = 20_000

# Four closed questions of four choices, in the format of prompts/park-after-dark.yaml.
CLOSED = """\
slug: city-services
title: How the city serves you
language: en
prompts:
  - id: park
    text: How safe does the park feel after dark?
    choices: [Very safe, Quite safe, Not very safe, Not at all safe]
  - id: buses
    text: How often do the buses come when they say?
    choices: [Always, Mostly, Sometimes, Never]
  - id: bins
    text: How clean are the streets where you live?
    choices: [Very clean, Clean enough, Dirty, Very dirty]
  - id: library
    text: How often do you use the library?
    choices: [Every week, Every month, A few times a year, Never]
thanks: Thank you! Your answers go to the council.
"""
OPEN = """\
slug: library-hours
title: When the library should open
language: en
prompts:
  - id: when
    text: When would you use the library if it were open?
  - id: what
    text: What would bring you in?
  - id: who
    text: Who else in your street would come?
  - id: help
    text: Would you help run an evening session? Tell us how.
"""
# How the answers fall: each question's choices, most to least common.
WEIGHTS = ((30, 40, 20, 10), (15, 45, 30, 10), (10, 50, 30, 10), (20, 25, 30, 25))
AREAS = ("North", "South", "East", "West", "Centre", "Islands")
AGES = ("Under 25", "25 to 64", "65 and over")
WORDS = ("not sure", "depends on the day", "it's complicated", "ask my neighbour", "meh")
WISHES = ("after work on Thursdays", "Sunday mornings", "homework club", "a warm place to sit")


def chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of `size`, so a million rows never sit in memory at once."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_all(connection: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Core inserts in chunks (COPY on PostgreSQL, three times faster); return the row count."""
    if connection.dialect.name == "postgresql":
        return _copy(connection, table, rows)
    count = 0
    for batch in chunks(rows):
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def _copy(connection: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """COPY the rows in; datetimes go in as naive UTC, as storage.models.base stores them."""
    # What a Core insert would fill in: the columns' Python-side defaults (utcnow, 0, ...).
    defaults = {
        column.name: column.default.arg(None) if column.default.is_callable else column.default.arg
        for column in table.columns
        if column.default is not None and not column.primary_key
    }
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    count = 0
    columns: list[str] = []
    with contextlib.ExitStack() as stack:
        for row in rows:
            if not columns:
                columns = list(dict.fromkeys([*row, *defaults]))
                names = ", ".join(columns)
                copy = stack.enter_context(cursor.copy(f"COPY {table.name} ({names}) FROM STDIN"))
            full = defaults | row
            copy.write_row([_naive(full.get(column)) for column in columns])
            count += 1
    return count


def _naive(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def seed(url: str, residents: int) -> dict[str, int]:
    """Migrate and build the city; return how many rows each table got."""
    db = Database(url)
    db.upgrade()
    with db.session_scope() as session:
        town = Community(slug=SLUG, name="Big Town", keyword="BIGTOWN")
        session.add(town)
        session.flush()
        area = profile.set_question(session, town.id, "area", "Where do you live?", list(AREAS))
        age = profile.set_question(session, town.id, "age", "How old are you?", list(AGES))
        closed = launch(session, town, parse_prompt_file(CLOSED))
        other = launch(session, town, parse_prompt_file(OPEN))
        users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD, "staff", [SLUG])
        ids = {
            "town": town.id,
            "area": area.id,
            "age": age.id,
            "closed": closed.id,
            "open": other.id,
        }
        closed_prompts = [prompt.id for prompt in closed.prompts]
        open_prompts = [prompt.id for prompt in other.prompts]
    counts: dict[str, int] = {}
    with db.engine.begin() as connection:
        counts["residents"] = insert_all(
            connection, Resident.__table__, _residents(ids["town"], residents)
        )
        counts["profile_answers"] = insert_all(
            connection, ProfileAnswer.__table__, _profile_answers(ids, residents)
        )
        counts["consents"] = insert_all(connection, Consent.__table__, _consents(residents))
        closed_rows = insert_all(
            connection,
            Response.__table__,
            _closed_answers(ids["town"], ids["closed"], closed_prompts, residents),
        )
        open_rows = insert_all(
            connection,
            Response.__table__,
            _open_answers(ids["town"], ids["open"], open_prompts, residents, closed_rows),
        )
        counts["responses"] = closed_rows + open_rows
        asked = [(ids["closed"], p) for p in closed_prompts] + [
            (ids["open"], p) for p in open_prompts
        ]
        counts["assignments"] = insert_all(
            connection, Assignment.__table__, _assignments(asked, residents)
        )
        counts["outbound_messages"] = insert_all(
            connection, OutboundMessage.__table__, _prompt_messages(ids["town"], asked, residents)
        )
    if db.is_postgresql:
        # A table in use has been vacuumed and analysed by autovacuum; a fresh load has not.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    db.dispose()
    return counts


def _residents(town_id: int, residents: int) -> Iterator[dict[str, Any]]:
    for n in range(1, residents + 1):
        yield {
            "id": n,
            "community_id": town_id,
            "channel": "sms" if n % 3 else "telegram",
            "address_enc": "x",
            "address_hash": f"h{n}",
            "pseudonym": f"r-big{n:07d}",
            "status": "joined",
            "joined_at": T0 - timedelta(days=30),
        }


def _profile_answers(ids: dict[str, int], residents: int) -> Iterator[dict[str, Any]]:
    """Most residents said where they live (a few on the islands) and most their age."""
    for n in range(1, residents + 1):
        if n % 10 != 0:  # one in ten was never asked
            islands = n % 25_000 == 1
            area = None if n % 20 == 1 else AREAS[5 if islands else n % 5]
            yield {"resident_id": n, "question_id": ids["area"], "choice": area, "asked_at": T0}
        if n % 10 < 7:
            age = AGES[n % 3] if n % 30 != 2 else None
            yield {"resident_id": n, "question_id": ids["age"], "choice": age, "asked_at": T0}


def _consents(residents: int) -> Iterator[dict[str, Any]]:
    """One resident in five agreed to be quoted."""
    for n in range(5, residents + 1, 5):
        yield {
            "resident_id": n,
            "purpose": QUOTES,
            "wording": "May we quote you?",
            "wording_version": "q1",
            "channel": "sms",
            "given_at": T0,
        }


def _closed_answers(
    town_id: int, campaign_id: int, prompt_ids: list[int], residents: int
) -> Iterator[dict[str, Any]]:
    """Every resident answers every question; about one answer in ten matches no choice (half
    of those are followed by one that does), one in twenty changes their mind, a few are
    flagged by safeguarding."""
    generator = random.Random(7)
    row = {"community_id": town_id, "campaign_id": campaign_id, "channel": "sms", "language": "en"}
    spec = parse_prompt_file(CLOSED)
    for n in range(1, residents + 1):
        for q, prompt_id in enumerate(prompt_ids):
            keys = [choice["en"] for choice in spec.prompts[q].form["choices"]]
            at = T0 + timedelta(seconds=7 * n + 60 * q)
            said = [(None, generator.choice(WORDS))] if generator.random() < 0.1 else []
            if not said or generator.random() < 0.5:
                said.append((generator.choices(keys, WEIGHTS[q])[0], None))
            if generator.random() < 0.05:
                said.append((generator.choice(keys), None))
            for step, (choice, words) in enumerate(said):
                yield row | {
                    "prompt_id": prompt_id,
                    "resident_id": n,
                    "text": words or choice,
                    "choice": choice,
                    "received_at": at + timedelta(minutes=step),
                    "safeguarding": generator.random() < 0.001,
                }


def _open_answers(
    town_id: int, campaign_id: int, prompt_ids: list[int], residents: int, rows: int
) -> Iterator[dict[str, Any]]:
    """As many open answers as the closed campaign has, spread over its residents and prompts."""
    row = {"community_id": town_id, "campaign_id": campaign_id, "channel": "sms", "language": "en"}
    for i in range(rows):
        yield row | {
            "prompt_id": prompt_ids[i % len(prompt_ids)],
            "resident_id": 1 + (i // len(prompt_ids)) % residents,
            "text": f"{WISHES[i % len(WISHES)]}, answer {i}",
            "received_at": T0 + timedelta(days=10, seconds=5 * i),
        }


def _assignments(asked: list[tuple[int, int]], residents: int) -> Iterator[dict[str, Any]]:
    for campaign_id, prompt_id in asked:
        for n in range(1, residents + 1):
            yield {
                "resident_id": n,
                "prompt_id": prompt_id,
                "campaign_id": campaign_id,
                "status": "answered",
                "assigned_at": T0,
                "answered_at": T0 + timedelta(seconds=7 * n),
                "language": "en",
            }


def _prompt_messages(
    town_id: int, asked: list[tuple[int, int]], residents: int
) -> Iterator[dict[str, Any]]:
    for campaign_id, prompt_id in asked:
        for n in range(1, residents + 1):
            yield {
                "community_id": town_id,
                "resident_id": n,
                "channel": "sms",
                "kind": "prompt",
                "text": "A question for you",
                "status": "delivered",
                "campaign_id": campaign_id,
                "prompt_id": prompt_id,
                "created_at": T0,
                "sent_at": T0,
            }
