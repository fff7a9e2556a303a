"""How long one nudge sweep takes on PostgreSQL over a large community.

Builds, in a throw-away schema, one community of --residents joined residents (default
1,000,000) with --responses responses (default 5,000,000), a self-described group question, and
a running campaign with nudges (after 2d, max 2). The state is the steady state of a worker that
sweeps every five minutes: pending prompts' next nudge times are spread over the coming two days
(so about five minutes' worth are due now), and long-silent residents have had their check-in.
It then times the real sweep (a dry run, then a real one that queues) and prints the query plans
of its selecting queries.

    .venv/bin/python bench/sweep_scale.py [--residents 1000000] [--responses 5000000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot import nudges
from storage.db import Database

NOW = datetime(2026, 6, 3, 11, 0, tzinfo=UTC)  # a Wednesday, 12:00 in London: sending hours
AFTER = timedelta(days=2)
SWEEP_EVERY = timedelta(minutes=5)


def populate(db: Database, residents: int, responses: int) -> None:
    """Fill the schema with generated rows, set-based, in PostgreSQL itself."""
    now = NOW.replace(tzinfo=None)
    statements = [
        "INSERT INTO communities (id, slug, name, keyword, timezone, quiet_start, quiet_end,"
        " erased_count, created_at, checkin_after_days, nudge_gap_hours)"
        " VALUES (1, 'big', 'Big Town', 'BIG', 'Europe/London', '20:00', '09:00', 0,"
        " :now - interval '400 days', 30, 24)",
        "INSERT INTO campaigns (id, community_id, slug, title, language, status, starts_at,"
        " nudge_after_seconds, nudge_max, nudge_text, created_at)"
        " SELECT g, 1, 'c' || g, 'Campaign ' || g, 'en', CASE WHEN g = 6 THEN 'active'"
        " ELSE 'closed' END, :now - (interval '60 days' * (7 - g)), 172800, 2,"
        " '{\"en\": \"Still keen to hear from you.\"}', :now - interval '400 days'"
        " FROM generate_series(1, 6) AS g",
        "INSERT INTO prompts (id, campaign_id, position, key, text)"
        " SELECT g, g, 0, 'q', '{\"en\": \"What would make things better?\"}'"
        " FROM generate_series(1, 6) AS g",
        # Response g is resident 1 + (g - 1) % residents's, at a scattered time in the last
        # 300 days; each resident's last_heard_at is the latest of theirs, computed up front.
        "INSERT INTO residents (id, community_id, channel, address_enc, address_hash, pseudonym,"
        " status, created_at, joined_at, last_heard_at, last_checkin_at)"
        " SELECT g, 1, 'sms', 'x', md5(g::text), 'r-' || g,"
        " CASE WHEN g % 50 = 0 THEN 'opted_out' ELSE 'joined' END,"
        " :now - interval '365 days', :now - interval '365 days', heard,"
        # Long-silent residents already had their check-in, except the last five minutes' worth.
        " CASE WHEN coalesce(heard, :now - interval '365 days')"
        " < :now - interval '30 days 5 minutes'"
        " THEN coalesce(heard, :now - interval '365 days') + interval '30 days' END"
        " FROM (SELECT g, (SELECT :now - interval '1 second'"
        "   * min(((g + k * :residents)::bigint * 7919) % 25920000)"
        "   FROM generate_series(0, :responses / :residents) AS k"
        "   WHERE g + k * :residents <= :responses) AS heard"
        " FROM generate_series(1, :residents) AS g) AS s",
        "INSERT INTO responses (id, community_id, campaign_id, prompt_id, resident_id, channel,"
        " text, received_at)"
        " SELECT g, 1, 1 + g % 5, 1 + g % 5, 1 + (g - 1) % :residents, 'sms', 'words',"
        " :now - interval '1 second' * ((g::bigint * 7919) % 25920000)"
        " FROM generate_series(1, :responses) AS g",
        "INSERT INTO profile_questions (id, community_id, position, key, text, choices,"
        " created_at) VALUES (1, 1, 1, 'area', 'Which part of town?',"
        ' \'{"choices": ["North", "South", "Centre"]}\', :now)',
        "INSERT INTO profile_answers (resident_id, question_id, choice, asked_at, answered_at)"
        " SELECT id, 1, (ARRAY['North', 'South', 'Centre', NULL])[1 + id % 4],"
        " joined_at, joined_at FROM residents WHERE id % 10 <> 0",
        # The running campaign: a third of residents have its prompt pending; their next nudge
        # falls anywhere in the coming two days, so about five minutes' worth are due now.
        "INSERT INTO assignments (resident_id, prompt_id, campaign_id, status, assigned_at,"
        " answered_at, nudges_sent, last_nudged_at)"
        " SELECT id, 6, 6, CASE WHEN id % 3 = 0 THEN 'pending' ELSE 'answered' END,"
        " :now - :after - :every + (interval '1 second' * (abs(hashtext('a' || id))"
        " % (172800 + 300))), NULL, 0, NULL FROM residents",
    ]
    values = {
        "now": now,
        "residents": residents,
        "responses": responses,
        "after": AFTER,
        "every": SWEEP_EVERY,
    }
    with db.engine.begin() as connection:
        for statement in statements:
            began = time.perf_counter()
            connection.execute(text(statement), values)
            print(f"  {time.perf_counter() - began:6.1f} s  {statement[:60]}", flush=True)
        for table in ("communities", "campaigns", "prompts", "residents", "responses"):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        tables = "residents, responses, assignments, profile_answers, campaigns, communities"
        connection.execute(text(f"VACUUM ANALYZE {tables}"))


PLANS = {
    "due nudges": (
        "SELECT a.id FROM assignments a JOIN residents r ON r.id = a.resident_id"
        " WHERE a.campaign_id = 6 AND a.status = 'pending' AND r.status = 'joined'"
        " AND a.assigned_at <= :cutoff"
        " AND coalesce(a.last_nudged_at, a.assigned_at) <= :cutoff"
    ),
    "due check-ins": (
        "SELECT id FROM residents WHERE community_id = 1 AND status = 'joined'"
        " AND coalesce(last_heard_at, joined_at) <= :silence AND (last_checkin_at IS NULL"
        " OR last_checkin_at < coalesce(last_heard_at, joined_at))"
    ),
    "heard in this campaign": (
        "SELECT DISTINCT resident_id, campaign_id FROM responses"
        " WHERE resident_id IN (3, 6, 9, 12) AND campaign_id IN (6)"
    ),
    "group heard shares": (
        "SELECT pa.question_id, pa.choice, count(*), count(r.last_heard_at)"
        " FROM profile_answers pa JOIN residents r ON r.id = pa.resident_id"
        " WHERE r.community_id = 1 AND r.status = 'joined' AND pa.choice IS NOT NULL"
        " GROUP BY pa.question_id, pa.choice"
    ),
}


def plans(db: Database) -> dict[str, str]:
    """The plan of each selecting query, as PostgreSQL chose it."""
    found = {}
    values = {
        "cutoff": (NOW - AFTER).replace(tzinfo=None),
        "silence": (NOW - timedelta(days=30)).replace(tzinfo=None),
    }
    with db.engine.connect() as connection:
        for name, query in PLANS.items():
            rows = connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {query}"), values)
            found[name] = "\n".join(row[0] for row in rows)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=5_000_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args(argv)
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        db.upgrade()
        began = time.perf_counter()
        populate(db, args.residents, args.responses)
        print(
            f"built {args.residents} residents, {args.responses} responses in "
            f"{time.perf_counter() - began:.0f} s"
        )
        for name, plan in plans(db).items():
            print(f"--- {name}\n{plan}")
        timings = {}
        for label, dry in (("dry_run", True), ("sweep", False)):
            began = time.perf_counter()
            with db.session_scope() as session:
                report = nudges.sweep(session, NOW, dry_run=dry)
            timings[label] = time.perf_counter() - began
            print(f"{label}: {timings[label]:.3f} s")
            for line in report.lines():
                print(f"  {line}")
        print(
            json.dumps(
                {
                    "residents": args.residents,
                    "responses": args.responses,
                    "dry_run_seconds": round(timings["dry_run"], 3),
                    "sweep_seconds": round(timings["sweep"], 3),
                    "queued": report.queued(),
                }
            )
        )
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
