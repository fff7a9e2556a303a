"""Tallies of a campaign's closed questions at a city's scale: bot.insights.tallies.tallies() and
the campaign page that shows them (GET through Flask's test client, logged in as staff).

Run from the repository root:
    .venv/bin/python -m bench.tallies --db sqlite --residents 100000
    .venv/bin/python -m bench.tallies --db postgresql --database-url URL --explain
Each figure is the median of --runs runs after one warm-up. The last line of output is one JSON
object with the figures (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from bench.inbound_setup import BenchDatabase
from bench.tallies_seed import SLUG, STAFF_EMAIL, STAFF_PASSWORD, seed
from storage.db import Database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGE = f"/admin/communities/{SLUG}/campaigns/city-services/"


@contextmanager
def statements(engine: Engine) -> Iterator[list[dict[str, Any]]]:
    """Every SQL statement run on `engine` meanwhile, with its parameters and milliseconds."""
    seen: list[dict[str, Any]] = []
    started: list[float] = []

    def before(*args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        ms = (time.perf_counter() - started.pop()) * 1000
        seen.append({"sql": statement, "parameters": parameters, "ms": ms})

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def timed(run: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Milliseconds of each of `runs` calls after one warm-up, and the last call's result."""
    result = run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def summary(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
    }


def measure_tallies(db: Database, runs: int) -> dict[str, Any]:
    """tallies() on the seeded campaign: time, its statements, and a fingerprint of its figures."""
    from bot.insights.tallies import tallies
    from storage.models import Campaign

    def run() -> Any:
        with db.session_scope() as session:
            found = session.scalars(select(Campaign).where(Campaign.slug == "city-services")).one()
            return tallies(session, found)

    times, found = timed(run, runs)
    with statements(db.engine) as seen:
        run()
    return {
        **summary(times),
        "statements": seen,
        "fingerprint": hashlib.sha256(repr(found).encode()).hexdigest()[:16],
        "answered": [tally.answered for tally in found],
        "unmatched_residents": [tally.unmatched_residents for tally in found],
    }


def measure_page(url: str, workdir: Path, runs: int) -> dict[str, Any]:
    """The campaign page as staff see it: time per view and the SQL it runs."""
    from bot.config import load_settings
    from tests.admin_support import log_in
    from webhooks.app import create_app

    environ = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "VOICES_DATA_KEY": Fernet.generate_key().decode(),
        "VOICES_INSTANCE_PATH": str(workdir),
        "PUBLIC_BASE_URL": "https://voices.example.org",
    }
    app = create_app(load_settings(environ, read_dotenv=False))
    client = app.test_client()
    assert log_in(client, STAFF_EMAIL, STAFF_PASSWORD).status_code == 302, "staff login failed"

    def view() -> str:
        answered = client.get(PAGE)
        assert answered.status_code == 200, answered.status_code
        return answered.get_data(as_text=True)

    times, html = timed(view, runs)
    assert 'id="tally-park"' in html, "the page shows no tally"
    with statements(app.extensions["voices"].db.engine) as seen:
        view()
    app.extensions["voices"].db.dispose()
    return {
        **summary(times),
        "queries": len(seen),
        "sql_ms": round(sum(s["ms"] for s in seen), 1),
        "slowest": sorted(seen, key=lambda s: -s["ms"])[:5],
    }


def explain(db: Database, statement: dict[str, Any]) -> str:
    """The plan of one captured statement: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL."""
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.is_postgresql else "EXPLAIN QUERY PLAN "
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + statement["sql"], statement["parameters"])
        rows = cursor.fetchall()
    finally:
        raw.close()
    if db.is_postgresql:
        return "\n".join(row[0] for row in rows)
    return "\n".join(str(row[-1]) for row in rows)


def one_line(sql: str, width: int = 110) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server to use")
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the tally queries' plans")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        database = BenchDatabase(args.db, args.database_url, Path(folder))
        try:
            figures = run(database, args, Path(folder))
        finally:
            database.drop()
    print(json.dumps(figures))


def run(database: BenchDatabase, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    rows = seed(database.url, args.residents)
    load_before = round(os.getloadavg()[0], 2)
    seeded_s = time.perf_counter() - started
    print(f"seeded in {seeded_s:.1f}s: " + ", ".join(f"{n:,} {t}" for t, n in rows.items()))
    db = Database(database.url)
    counted = measure_tallies(db, args.runs)
    print(f"tallies(): median {counted['median_ms']} ms ({counted['min_ms']}-{counted['max_ms']})")
    for statement in counted["statements"]:
        print(f"  {statement['ms']:8.1f} ms  {one_line(statement['sql'])}")
    if args.explain:  # the statements that read the answers; the rest read a row or two
        for number, statement in enumerate(counted["statements"], start=1):
            if "responses" in statement["sql"]:
                print(f"--- plan of statement {number} ({statement['ms']:.1f} ms) ---")
                print(explain(db, statement))
    db.dispose()
    page = measure_page(database.url, workdir, args.runs)
    print(
        f"campaign page: median {page['median_ms']} ms ({page['min_ms']}-{page['max_ms']}), "
        f"{page['queries']} queries, {page['sql_ms']} ms in SQL; slowest:"
    )
    for statement in page["slowest"]:
        print(f"  {statement['ms']:8.1f} ms  {one_line(statement['sql'])}")
    return {
        "db": args.db,
        "load_1min": [load_before, round(os.getloadavg()[0], 2)],
        "residents": args.residents,
        "responses": rows["responses"],
        "seed_s": round(seeded_s, 1),
        "tallies_ms": counted["median_ms"],
        "tally_queries": len(counted["statements"]),
        "tally_query_ms": [round(s["ms"], 1) for s in counted["statements"]],
        "page_ms": page["median_ms"],
        "page_queries": page["queries"],
        "page_sql_ms": page["sql_ms"],
        "answered": counted["answered"],
        "unmatched_residents": counted["unmatched_residents"],
        "fingerprint": counted["fingerprint"],
    }


if __name__ == "__main__":
    main()
