"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage.db import EXPRESSION_INDEXES
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
        if db.is_postgresql:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(
                str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    assert "ix_residents_checkin_due" in plan, plan
