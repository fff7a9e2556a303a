"""Engine creation, the one place sessions commit or roll back, and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import storage.erasures  # noqa: F401  (the erasure table belongs to the schema the app uses)

MIGRATIONS = Path(__file__).parent / "migrations"
POOL_RECYCLE_SECONDS = 600
# The largest id or number an integer column holds (PostgreSQL's integer; SQLite's is wider).
MAX_INTEGER = 2**31 - 1

# Indexes on expressions. SQLite's reflection cannot read them, so SQLAlchemy and Alembic warn
# that they skip them there (PostgreSQL compares them); pyproject.toml lets exactly those
# warnings through in tests, and tests/test_migrations.py checks these indexes directly.
EXPRESSION_INDEXES = frozenset({"ix_residents_checkin_due"})


def insert_missing(session: Session, table: type, columns: list[str], rows: Any) -> int:
    """INSERT ... SELECT skipping rows that hit a unique constraint; return how many went in.

    Works on PostgreSQL and SQLite (both have ON CONFLICT DO NOTHING). SQLAlchemy 2.1 only
    reports the row count of an INSERT ... SELECT when asked to preserve it.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = maker(table).from_select(columns, rows).on_conflict_do_nothing()
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return result.rowcount or 0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with sensible settings for SQLite (WAL, foreign keys) and PostgreSQL."""
    # Errors logged with their statement must not carry e-mails tried or residents' words.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. on every webhook. After a
    # database restart the first statement on a stale connection fails instead; SQLAlchemy then
    # invalidates the whole pool (so the next checkout connects afresh), the webhook answers 503
    # (webhooks/errors.py) and the provider retries. pool_recycle replaces connections before
    # idle timeouts on the way (firewalls, proxies) can silently cut them.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """Return True when the database answers a trivial query.

        A pooled connection left over from before a database restart fails once and
        invalidates the pool; the second try then connects afresh.
        """
        for _attempt in range(2):
            try:
                with self.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return True
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    return False
            except Exception:
                return False
        return False

    def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to `revision`."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        command.upgrade(config, revision)

    def dispose(self) -> None:
        self.engine.dispose()
