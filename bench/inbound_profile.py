"""CPU per message of the webhook path in one process (Flask test client), optionally profiled.

Run:  .venv/bin/python -m bench.inbound_profile --messages 2000 --db postgresql [--cprofile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import event, text

from bench import procstat
from bench.inbound import (
    DEFAULT_PG,
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeTelegram,
    Messages,
)
from bench.inbound_setup import BenchDatabase, seed
from bot.config import Settings
from webhooks.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--channel", choices=["sms", "telegram", "both"], default="both")
    parser.add_argument("--cprofile", action="store_true", help="print the top functions")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voices-profile-"))
    database = BenchDatabase(args.db, args.database_url, workdir)
    fake = FakeTelegram()
    data_key = Fernet.generate_key().decode()
    try:
        senders = seed(database.url, data_key, 2000, 100)
        if args.channel != "both":
            senders = [s for s in senders if s.channel == args.channel]
        settings = Settings(
            database_url=database.url,
            secret_key="x",
            data_key=data_key,
            env="production",
            public_base_url=PUBLIC_BASE_URL,
            twilio_account_sid=TWILIO_SID,
            twilio_auth_token=TWILIO_TOKEN,
            twilio_from="+447700900000",
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_base_url=fake.base_url,
            instance_path=workdir,
        )
        app = create_app(settings)
        client = app.test_client()
        engine = app.extensions["voices"].db.engine
        counts = {"statements": 0, "checkouts": 0, "commits": 0}

        @event.listens_for(engine, "before_cursor_execute")
        def _count_statement(*_args: object) -> None:
            counts["statements"] += 1

        @event.listens_for(engine, "checkout")
        def _count_checkout(*_args: object) -> None:
            counts["checkouts"] += 1

        @event.listens_for(engine, "commit")
        def _count_commit(*_args: object) -> None:
            counts["commits"] += 1

        messages = Messages(senders)

        def post_one() -> None:
            key, (path, headers, body) = messages.make()  # type: ignore[misc]
            answer = client.post(path, data=body, headers=headers)
            assert answer.status_code == 200, answer.status_code
            messages.release(key)

        for _ in range(50):
            post_one()
        # The backends behind the pool's connections (the test client runs requests one at a
        # time, so the pool holds one or two): their CPU is PostgreSQL's share of each message.
        backend_pids: set[int] = set()
        if args.db == "postgresql":
            held = [engine.connect() for _ in range(engine.pool.size() + 2)]
            for connection in held:
                backend_pids.add(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            for connection in held:
                connection.close()
        backends = procstat.PidCpuTracker()
        backends.sample(sorted(backend_pids), baseline=True)
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None
        cpu, wall = time.process_time(), time.perf_counter()
        counts.update(statements=0, checkouts=0, commits=0)
        if profiler:
            profiler.enable()
        for _ in range(args.messages):
            post_one()
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        backends.sample(sorted(backend_pids))
        db_cpu = (
            f"; PostgreSQL backends {backends.used() * 1000 / args.messages:.3f} ms CPU "
            f"per message (/proc of {len(backend_pids)} backends, 10 ms ticks)"
            if backend_pids
            else ""
        )
        print(
            f"{args.db} {args.channel}: {cpu * 1000 / args.messages:.3f} ms CPU and "
            f"{wall * 1000 / args.messages:.3f} ms wall per message (in-process, no gunicorn); "
            f"{counts['statements'] / args.messages:.1f} statements, "
            f"{counts['commits'] / args.messages:.1f} explicit COMMITs and "
            f"{counts['checkouts'] / args.messages:.1f} pool checkouts per message "
            f"({'each one ping' if engine.pool._pre_ping else 'no pings'}){db_cpu}"
        )
        if args.db == "postgresql":
            # psycopg prepares a statement on a connection after 5 executions (prepare_threshold);
            # PostgreSQL then plans it once (generic plan) if that plan is no costlier.
            with engine.connect() as connection:
                for name, generic, custom, statement in connection.execute(
                    text(
                        "SELECT name, generic_plans, custom_plans, statement"
                        " FROM pg_prepared_statements ORDER BY name"
                    )
                ):
                    first = " ".join(statement.split())[:70]
                    print(f"  prepared {name}: {generic} generic, {custom} custom plans: {first}")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(30)
    finally:
        fake.stop()
        database.drop()


if __name__ == "__main__":
    main()
