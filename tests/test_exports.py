"""Export rows: in order, whole, and the PostgreSQL read-ahead thread never outlives its reader."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest
from sqlalchemy import func, select

from storage import exports
from storage.export_read_ahead import read_ahead
from storage.models import Response
from tests.helpers import Phone, add_campaign, add_community

TEXT = exports.COLUMNS.index("text")
CHOICE = exports.COLUMNS.index("choice")


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-read-ahead"]


def _counting(batches: int, closed: list[bool], fail_at: int | None = None) -> Generator[list[int]]:
    try:
        for number in range(batches):
            if number == fail_at:
                raise RuntimeError("the database went away")
            yield [number * 10 + i for i in range(10)]
    finally:
        closed.append(True)


def test_read_ahead_hands_every_batch_over_in_order():
    closed: list[bool] = []
    got = [row for batch in read_ahead(_counting(50, closed)) for row in batch]
    assert got == list(range(500))
    assert closed == [True]
    assert not _threads()


def test_a_reader_that_stops_early_stops_the_thread_and_closes_the_source():
    closed: list[bool] = []
    reader = read_ahead(_counting(1000, closed), depth=2)
    assert next(reader) == list(range(10))
    reader.close()
    assert closed == [True]
    assert not _threads()


def test_an_error_while_reading_reaches_the_reader():
    closed: list[bool] = []
    reader = read_ahead(_counting(10, closed, fail_at=3))
    seen = []
    with pytest.raises(RuntimeError, match="went away"):
        for batch in reader:
            seen.extend(batch)
    assert seen == list(range(30))
    assert closed == [True]
    assert not _threads()


def _answers(services, count: int) -> int:
    community_id = add_community(services)
    add_campaign(services)
    for number in range(count):
        phone = Phone(services, address=f"+4477009{number:05d}")
        phone.join()
        phone.send(f'answer {number}, with a comma and "quotes"\nand a line 🌳')
    return community_id


def test_every_response_is_exported_once_oldest_first(services, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 3)  # several database batches, on either database
    community_id = _answers(services, 8)
    with services.db.session_scope() as session:
        exported = list(exports.rows(session, exports.ExportFilter(community_id=community_id)))
        stored = session.scalar(select(func.count(Response.id)))
    assert len(exported) == stored == 8
    assert [row[TEXT] for row in exported] == [
        f'answer {n}, with a comma and "quotes"\nand a line 🌳' for n in range(8)
    ]
    assert [row[0] for row in exported] == sorted(row[0] for row in exported)
    assert all(row[8].endswith("Z") and row[8][10] == "T" and len(row[8]) == 20 for row in exported)


def test_a_download_cut_short_leaves_the_session_usable(services, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)
    community_id = _answers(services, 7)
    with services.db.session_scope() as session:
        records = exports.rows(session, exports.ExportFilter(community_id=community_id))
        first = next(records)
        records.close()
        assert not _threads()
        assert session.scalar(select(func.count(Response.id))) == 7
    assert first[TEXT].startswith("answer 0")


def test_the_prompt_asked_is_chosen_by_language_as_the_bot_chose_it(services):
    """PostgreSQL picks the asked text in SQL; it must agree with pick_text."""
    from datetime import UTC, datetime, timedelta

    from storage.languages import pick_text
    from storage.models import Campaign, Prompt, Resident

    community_id = add_community(services)
    campaign_id = add_campaign(services)
    Phone(services, address="+447700900555").join()
    texts = {
        "two": {"en": "What about the park?", "cy": "Beth am y parc?"},
        # No text in the campaign's language: the file's first text is the fallback.
        "foreign": {"fr": "Et les poubelles ?", "de": "Und der Müll?"},
    }
    cases = [("two", None), ("two", "cy"), ("two", "cy-GB"), ("two", "fr"), ("two", "")]
    cases += [("foreign", "de"), ("foreign", "en"), ("foreign", None), (None, "cy")]
    started = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with services.db.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        resident = session.scalar(select(Resident))
        prompts = {}
        for position, (key, text) in enumerate(texts.items(), start=50):
            prompts[key] = Prompt(campaign_id=campaign_id, position=position, key=key, text=text)
            session.add(prompts[key])
        session.flush()
        session.query(Response).delete()
        for number, (key, language) in enumerate(cases):
            session.add(
                Response(
                    community_id=community_id,
                    resident_id=resident.id,
                    channel="sms",
                    language=language,
                    text=f"reply {number}",
                    received_at=started + timedelta(minutes=number),
                    campaign_id=campaign_id if key else None,
                    prompt_id=prompts[key].id if key else None,
                )
            )
        campaign_language = campaign.language
    with services.db.session_scope() as session:
        exported = list(exports.rows(session, exports.ExportFilter(community_id=community_id)))
    assert [(row[3], row[4], row[7]) for row in exported] == [
        (
            key or "",
            pick_text(texts[key], language, campaign_language) if key else "",
            language or "",
        )
        for key, language in cases
    ]
    assert [row[4] for row in exported][:5] == [
        "What about the park?",
        "Beth am y parc?",
        "Beth am y parc?",
        "What about the park?",
        "What about the park?",
    ]
    assert [row[4] for row in exported][5:8] == [
        "Und der Müll?",
        "Et les poubelles ?",
        "Et les poubelles ?",
    ]
    assert [row[2] for row in exported] == ["festival-ideas"] * 8 + [""]


AWKWARD_CHOICES = [None, "Not at all safe", 'Quite "safe", mostly', "5", "", "Très sûr 🌳"]


def _choice(number: int) -> str | None:
    """A matched choice for some responses (awkward ones too), none for open answers."""
    return AWKWARD_CHOICES[number % len(AWKWARD_CHOICES)]


def _responses(services, texts: list[str]) -> int:  # type: ignore[no-untyped-def]
    """One resident's responses with these texts, a second apart from 09:00:00 UTC."""
    from datetime import UTC, datetime, timedelta

    from storage.models import Resident

    community_id = add_community(services)
    add_campaign(services)
    Phone(services, address="+447700900556").join()
    started = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with services.db.session_scope() as session:
        resident = session.scalar(select(Resident))
        session.query(Response).delete()
        for number, text in enumerate(texts):
            session.add(
                Response(
                    community_id=community_id,
                    resident_id=resident.id,
                    channel="telegram",
                    language=None if number % 2 else "cy",
                    text=text,
                    choice=_choice(number),
                    received_at=started + timedelta(seconds=number),
                )
            )
    return community_id


def test_since_and_until_mean_utc_whatever_the_database_session_s_time_zone(services):
    from datetime import UTC, datetime

    from sqlalchemy import text

    community_id = _responses(services, [f"answer {n}" for n in range(6)])
    spec = exports.ExportFilter(
        community_id=community_id,
        since=datetime(2026, 11, 2, 9, 0, 2, tzinfo=UTC),
        until=datetime(2026, 11, 2, 9, 0, 4, tzinfo=UTC),
    )
    with services.db.session_scope() as session:
        if services.db.is_postgresql:
            session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        exported = [row[TEXT] for row in exports.rows(session, spec)]
        csv_lines = "".join(exports.csv_chunks(exports.rows(session, spec))).splitlines()
    assert exported == ["answer 2", "answer 3"]
    assert len(csv_lines) == 3
    with services.db.session_scope() as session:
        if services.db.is_postgresql:
            session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        written = b"".join(exports.csv_export(session, spec)).decode().splitlines()
    assert written == csv_lines


AWKWARD_TEXTS = [
    "plain",
    "",
    '"',
    '""',
    "a, b",
    'she said "yes"',
    "two\nlines",
    "windows\r\nline",
    "lone\rreturn",
    "\\.",
    "\\N",
    "NULL",
    "  spaces  ",
    "tab\there",
    "back\\slash",
    "emoji 🌳 and Gàidhlig",
    "\n",
    ",",
]


@pytest.mark.parametrize("redact", [False, True])
def test_csv_from_the_database_is_byte_for_byte_what_the_csv_module_writes(services, redact):
    """On PostgreSQL COPY writes the CSV; it must match csv_chunks, and read back unaltered."""
    import csv
    import io

    community_id = _responses(services, [*AWKWARD_TEXTS, "call me on 07700 900123"])
    spec = exports.ExportFilter(community_id=community_id, redact=redact)
    with services.db.session_scope() as session:
        written = b"".join(exports.csv_export(session, spec))
        expected = "".join(exports.csv_chunks(exports.rows(session, spec))).encode()
    assert written == expected
    parsed = list(csv.reader(io.StringIO(written.decode(), newline="")))
    assert parsed[0] == list(exports.COLUMNS)
    assert [row[TEXT] for row in parsed[1:-1]] == AWKWARD_TEXTS
    assert ("07700 900123" in parsed[-1][TEXT]) is not redact
    assert [row[CHOICE] for row in parsed[1:]] == [_choice(n) or "" for n in range(len(parsed) - 1)]
    assert written.count(b"\r\n") >= len(AWKWARD_TEXTS) + 2


def test_a_csv_download_cut_short_leaves_the_session_usable(services, monkeypatch):
    monkeypatch.setattr(exports, "CSV_CHUNK", 10)  # a chunk a row
    community_id = _responses(services, [f"answer {n}" for n in range(40)])
    with services.db.session_scope() as session:
        chunks = exports.csv_export(session, exports.ExportFilter(community_id=community_id))
        first = next(chunks)
        next(chunks)
        chunks.close()
        assert session.scalar(select(func.count(Response.id))) == 40
        # The same connection can export again, whole.
        again = b"".join(
            exports.csv_export(session, exports.ExportFilter(community_id=community_id))
        )
    assert first.startswith(b"response_id,community,")
    assert again.count(b"\r\n") == 41


GAELIC_FIRST = """\
slug: park-safety
title: The park after dark
language: en
prompts:
  - id: park
    text:
      en: How safe does the park feel after dark?
      gd: Dè cho sàbhailte 's a tha a' phàirc an dèidh dorcha?
"""


def test_the_export_shows_the_prompt_in_the_language_it_was_asked_in(services):
    """A resident asked in Gaelic who later switches to English: the export keeps the Gaelic."""
    from sqlalchemy import update

    from bot.campaigns.prompt_files import launch, parse_prompt_file
    from storage.models import Assignment, Community, Resident
    from tests.helpers import deliver_queued

    community_id = add_community(services)
    phone = Phone(services, address="+447700900557")
    phone.join()
    with services.db.session_scope() as session:
        session.execute(update(Resident).values(language="gd"))
        launch(session, session.get(Community, community_id), parse_prompt_file(GAELIC_FIRST))
    with services.db.session_scope() as session:
        assert session.scalar(select(Assignment.language)) == "gd"
    deliver_queued(services)
    with services.db.session_scope() as session:
        session.execute(update(Resident).values(language="en"))
    phone.send("Brighter lamps by the gate")
    with services.db.session_scope() as session:
        exported = list(exports.rows(session, exports.ExportFilter(community_id=community_id)))
    assert [(row[3], row[4], row[7], row[TEXT], row[CHOICE]) for row in exported] == [
        (
            "park",
            "Dè cho sàbhailte 's a tha a' phàirc an dèidh dorcha?",
            "gd",
            "Brighter lamps by the gate",
            "",
        )
    ]
