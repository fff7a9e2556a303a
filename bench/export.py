"""Export speed and memory: many responses as CSV, JSON Lines and Excel via storage/exports.py.

Run from the repository root:  .venv/bin/python -m bench.export --rows 100000
The last line of output is one JSON object with the figures (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from storage import exports
from storage.db import Database
from storage.models import Campaign, Community, Prompt, Response

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESIDENTS = 5000
WORDS = (
    "more benches",
    "a bigger bus shelter",
    "lanterns 🏮 by the river",
    'the "old" library',
    "safer crossings, please",
    "a youth club\nthat opens late",
    "fewer potholes",
    "trees",
    "a market on Saturdays",
    "café for everyone",
    "music in the square",
    "cleaner paths",
)
COLUMNS = "community_id, campaign_id, prompt_id, resident_id, channel, language, text, received_at"
MB = 1024 * 1024


def rss_mb() -> float:
    """Resident memory of this process now."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def seed(url: str, rows: int) -> int:
    """Migrate and fill one community with `rows` responses; return its id."""
    db = Database(url)
    db.upgrade()
    with db.session_scope() as session:
        town = Community(slug="exporttown", name="Export Town", keyword="EXPORTTOWN")
        session.add(town)
        session.flush()
        campaign = Campaign(community_id=town.id, slug="big", title="Big", language="en")
        campaign.prompts = [
            Prompt(position=n, key=f"q{n}", text={"en": f"Question {n}?", "gd": f"Ceist {n}?"})
            for n in range(5)
        ]
        session.add(campaign)
        session.flush()
        town_id, campaign_id = town.id, campaign.id
        prompt_ids = [p.id for p in campaign.prompts]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO residents (community_id, channel, address_enc, address_hash, pseudonym,"
            " status, created_at) VALUES (%s, 'sms', 'x', %s, %s, 'joined', %s)".replace(
                "%s", "?" if db.engine.dialect.name == "sqlite" else "%s"
            ),
            [
                (town_id, f"hash-{n}", f"r-{secrets.token_hex(6)}", datetime(2025, 1, 1))
                for n in range(RESIDENTS)
            ],
        )
        cursor.execute(f"SELECT id FROM residents WHERE community_id = {int(town_id)}")
        resident_ids = [row[0] for row in cursor.fetchall()]
        raw.commit()
        _fill_responses(db, raw, rows, town_id, campaign_id, prompt_ids, resident_ids)
        raw.commit()
    finally:
        raw.close()
    db.dispose()
    return town_id


def _fill_responses(
    db: Database,
    raw: Any,
    rows: int,
    town_id: int,
    campaign_id: int,
    prompt_ids: list[int],
    resident_ids: list[int],
) -> None:
    generator = random.Random(7)
    start = datetime(2024, 1, 1)

    def row(n: int) -> tuple[Any, ...]:
        answered = n % 5 != 0
        return (
            town_id,
            campaign_id if answered else None,
            generator.choice(prompt_ids) if answered else None,
            generator.choice(resident_ids),
            "telegram" if n % 3 == 0 else "sms",
            "gd" if n % 11 == 0 else "en",
            f"{generator.choice(WORDS)} #{n}",
            start + timedelta(seconds=n * 17),
        )

    if db.engine.dialect.name == "sqlite":
        sql = f"INSERT INTO responses ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        raw.cursor().executemany(sql, (row(n) for n in range(rows)))
        return
    with raw.cursor().copy(f"COPY responses ({COLUMNS}) FROM STDIN") as copy:
        for n in range(rows):
            copy.write_row(row(n))


def export_once(url: str, community_id: int, fmt: str) -> dict[str, Any]:
    """Export every response of the community in one format; time it and watch memory."""
    db = Database(url)
    target = Path(tempfile.mkdtemp(prefix="voices-export-")) / f"responses.{fmt}"
    memory_at: dict[int, float] = {}
    count = 0

    def watched(records: Any) -> Any:
        nonlocal count
        for count, record in enumerate(records, start=1):
            if count % 100_000 == 0:
                memory_at[count] = round(rss_mb(), 1)
            yield record

    before = rss_mb()
    cpu_started = time.process_time()
    started = time.perf_counter()
    with db.session_scope() as session:
        spec = exports.ExportFilter(community_id=community_id)
        if fmt == "csv":
            # Bytes straight from the database: memory is read at each chunk, against the bytes
            # written so far, and put against rows below (rows are much of a size).
            count = session.scalar(
                select(func.count())
                .select_from(Response)
                .where(Response.community_id == community_id)
            )
            written, at_bytes = 0, []
            with target.open("wb") as sink:
                for chunk in exports.csv_export(session, spec):
                    sink.write(chunk)
                    written += len(chunk)
                    at_bytes.append((written, rss_mb()))
            for step in range(100_000, count + 1, 100_000):
                reached = next(rss for done, rss in at_bytes if done * count >= step * written)
                memory_at[step] = round(reached, 1)
        elif fmt == "xlsx":
            exports.write_xlsx(watched(exports.rows(session, spec)), str(target))
        else:
            chunks = exports.jsonl_chunks(watched(exports.rows(session, spec)))
            with target.open("w", encoding="utf-8", newline="") as sink:
                for chunk in chunks:
                    sink.write(chunk)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    size = target.stat().st_size
    target.unlink()
    db.dispose()
    return {
        "format": fmt,
        "rows": count,
        "seconds": round(seconds, 2),
        "rows_per_s": round(count / seconds),
        "cpu_seconds": round(cpu_seconds, 2),
        "rows_per_cpu_s": round(count / max(cpu_seconds, 1e-9)),
        "bytes": size,
        "rss_before_mb": round(before, 1),
        "rss_at_rows_mb": memory_at,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "COMMUNITY_ID", "FORMAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, community_id, fmt = args.child
        print(json.dumps(export_once(url, int(community_id), fmt)))
        return
    workdir = Path(tempfile.mkdtemp(prefix="voices-export-bench-"))
    admin, schema = None, ""
    if args.db == "sqlite":
        url = f"sqlite:///{workdir / 'export.db'}"
    else:
        schema = f"bench_{secrets.token_hex(4)}"
        admin = create_engine(args.database_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(args.database_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    try:
        started = time.perf_counter()
        community_id = seed(url, args.rows)
        print(f"seeded {args.rows} responses in {time.perf_counter() - started:.1f}s", flush=True)
        results = {}
        for fmt in exports.FORMATS:
            # Each format in a fresh process, so its peak memory is its own.
            out = subprocess.run(
                [sys.executable, "-m", "bench.export", "--child", url, str(community_id), fmt],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[fmt] = json.loads(out.strip().splitlines()[-1])
            print(json.dumps(results[fmt]), flush=True)
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        for leftover in workdir.glob("*"):
            leftover.unlink()
        workdir.rmdir()
    print(
        json.dumps(
            {
                "rows": results["csv"]["rows"],
                "csv_rows_per_s": results["csv"]["rows_per_s"],
                "jsonl_rows_per_s": results["jsonl"]["rows_per_s"],
                "xlsx_rows_per_s": results["xlsx"]["rows_per_s"],
                "peak_mb": max(r["peak_mb"] for r in results.values()),
                "database": args.db,
            }
        )
    )


if __name__ == "__main__":
    main()
