"""The migrations build exactly the schema the models describe, and keep the rows they find."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, insert, make_url, select, text

from storage.db import EXPRESSION_INDEXES, Database
from storage.models import Base


def test_models_and_migrations_agree(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        # On SQLite this leaves out the expression indexes (it cannot reflect them; see
        # pyproject.toml's filterwarnings): the next two tests check them directly.
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_checkin_index_is_there_with_its_expression_and_condition(db):
    assert {"ix_residents_checkin_due"} == EXPRESSION_INDEXES
    # The comparison above cannot see it on SQLite: check what the migration built directly.
    with db.engine.connect() as connection:
        if db.is_postgresql:
            definition = connection.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND indexname = 'ix_residents_checkin_due'"
                )
            )
        else:
            definition = connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_residents_checkin_due'")
            )
    assert definition is not None
    folded = " ".join(definition.lower().replace('"', "").split())
    assert "community_id, status, coalesce(last_heard_at, joined_at)" in folded
    assert "last_checkin_at is null" in folded
    assert "last_checkin_at < coalesce(last_heard_at, joined_at)" in folded


def test_due_checkins_can_be_a_range_scan_of_that_index(db):
    # The sweep's own query, planned with sequential scans priced out: the partial index must
    # be provably usable for it (its condition implied by the query's), not just present.
    from bot.campaigns import nudges
    from storage.models import Community, utcnow

    with db.session_scope() as session:
        community = Community(slug="idx", name="Idx", keyword="IDX")
        session.add(community)
        session.flush()
        query = nudges.due_checkins_query(community, utcnow() - timedelta(days=30))
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    with db.engine.connect() as connection, connection.begin() as transaction:
        if db.is_postgresql:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            # With the statistics earlier tests leave, another index can be as cheap: with the
            # others gone (rolled back below), the plan shows whether this one is usable at all.
            _drop_other_indexes(connection, "residents", keep="ix_residents_checkin_due")
            plan = "\n".join(connection.scalars(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(
                str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
        transaction.rollback()
    assert "ix_residents_checkin_due" in plan, plan


def _drop_other_indexes(connection, table: str, keep: str) -> None:  # type: ignore[no-untyped-def]
    rows = connection.execute(
        text(
            "SELECT i.relname, c.conname FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid"
            " WHERE x.indrelid = CAST(:table AS regclass) AND NOT x.indisprimary"
        ),
        {"table": table},
    ).all()
    for index, constraint in rows:
        if index == keep:
            continue
        if constraint:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}" CASCADE'))
        else:
            connection.execute(text(f'DROP INDEX "{index}"'))


@pytest.fixture
def fresh_database(tmp_path):  # type: ignore[no-untyped-def]
    """An empty database of its own (a schema of its own on PostgreSQL), to migrate step by step."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield database
        database.dispose()
        return
    schema = f"fresh_{secrets.token_hex(4)}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    database = Database(url.render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_0010_keeps_every_row_and_fills_in_heard_and_the_language_asked(fresh_database):
    from storage.models import Assignment, Campaign, Community, Prompt, Resident, Response

    fresh_database.upgrade("0009")
    heard_before, first, second, later = (
        datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in (1, 2, 3, 20)
    )
    with fresh_database.engine.begin() as connection:
        # Rows as the previous head stored them: Core inserts name only columns it had.
        connection.execute(
            insert(Community.__table__).values(
                id=1, slug="cumnock", name="Cumnock", keyword="CUMNOCK"
            )
        )
        connection.execute(
            insert(Campaign.__table__).values(id=1, community_id=1, slug="park", title="Park")
        )
        connection.execute(
            insert(Prompt.__table__),
            [
                {
                    "id": 1,
                    "campaign_id": 1,
                    "position": 0,
                    "key": "safe",
                    "text": {"en": "Safe?", "cy": "Diogel?"},
                },
                {
                    "id": 2,
                    "campaign_id": 1,
                    "position": 1,
                    "key": "bins",
                    "text": {"fr": "Les poubelles ?", "de": "Der Müll?"},
                },
            ],
        )
        residents = [
            (1, "cy-GB", None),  # answered before last_heard_at was kept
            (2, None, None),  # never said anything
            (3, "de", later),  # heard, and later than their oldest response still stored
        ]
        connection.execute(
            insert(Resident.__table__),
            [
                {
                    "id": number,
                    "community_id": 1,
                    "channel": "sms",
                    "address_enc": "x",
                    "address_hash": f"h{number}",
                    "pseudonym": f"p{number}",
                    "status": "joined",
                    "language": language,
                    "last_heard_at": heard,
                }
                for number, language, heard in residents
            ],
        )
        asked = [(1, 1), (2, 1), (3, 2), (1, 2)]
        connection.execute(
            insert(Assignment.__table__),
            [
                {
                    "resident_id": resident,
                    "prompt_id": prompt,
                    "campaign_id": 1,
                    "status": "answered" if resident != 2 else "pending",
                }
                for resident, prompt in asked
            ],
        )
        words = [
            (1, 1, first, "Not at night"),
            (1, 2, second, "Pas assez"),
            (3, 2, heard_before, "Nein"),
        ]
        connection.execute(
            insert(Response.__table__),
            [
                {
                    "community_id": 1,
                    "resident_id": resident,
                    "campaign_id": 1,
                    "prompt_id": prompt,
                    "channel": "sms",
                    "text": said,
                    "received_at": at,
                }
                for resident, prompt, at, said in words
            ],
        )
        counts_before = {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
            if table.name
            not in ("workers", "erased_messages", "campaign_updates", "approved_quotes")
        }

    fresh_database.upgrade("0010")

    with fresh_database.engine.connect() as connection:
        counts_after = {
            name: connection.scalar(text(f"SELECT count(*) FROM {name}")) for name in counts_before
        }
        heard = dict(connection.execute(select(Resident.id, Resident.last_heard_at)).all())
        languages = {
            (row.resident_id, row.prompt_id): row.language
            for row in connection.execute(
                select(Assignment.resident_id, Assignment.prompt_id, Assignment.language)
            )
        }
        said = connection.scalars(select(Response.text).order_by(Response.received_at)).all()
    assert counts_after == counts_before
    assert said == ["Nein", "Not at night", "Pas assez"]
    assert heard == {1: second, 2: None, 3: later}
    # As pick_text chooses: the language, its base, the campaign's, else the file's first text.
    assert languages == {(1, 1): "cy", (2, 1): "en", (3, 2): "de", (1, 2): "fr"}


def _a_message_from_before(database, revision: str, words: str) -> None:  # type: ignore[no-untyped-def]
    """Migrate to `revision`, store one message as the code of then did, migrate to the head."""
    database.upgrade(revision)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inbound_messages (channel, provider_id, address_hash, text, "
                "received_at) VALUES ('sms', 'SM1', 'h1', :words, '2026-12-01 10:00:00')"
            ),
            {"words": words},
        )
    database.upgrade()


def test_0011_keeps_every_message_and_adds_the_erasure_keys(fresh_database):  # type: ignore[no-untyped-def]
    _a_message_from_before(fresh_database, "0010", "Before 0011")
    with fresh_database.engine.connect() as connection:
        assert connection.scalar(text("SELECT text FROM inbound_messages")) == "Before 0011"
        assert connection.scalar(text("SELECT count(*) FROM erased_messages")) == 0


def test_0016_keeps_every_message_and_leaves_older_keys_to_erasure(fresh_database):  # type: ignore[no-untyped-def]
    _a_message_from_before(fresh_database, "0015", "Before 0016")
    with fresh_database.engine.connect() as connection:
        row = connection.execute(text("SELECT text, erased_key FROM inbound_messages")).one()
    assert tuple(row) == ("Before 0016", None)
