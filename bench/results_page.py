"""The public results page under gunicorn (as in the Procfile): views per second with the
in-process cache and without it, and database queries per view.

Run from the repository root:  .venv/bin/python -m bench.results_page --db sqlite --requests 3000
A run stops after --requests views or --seconds, whichever comes first. The last line of
output is one JSON object with the figures (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event, insert

from bench.inbound import Server
from bench.inbound_setup import BenchDatabase
from storage.db import Database
from storage.models import (
    ApprovedQuote,
    CampaignUpdate,
    Community,
    Consent,
    Resident,
    Response,
)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PATH = "/results/benchtown"
WORDS = (
    "more live music in the square",
    "lanterns along the river walk",
    "a warm place for older people to meet",
    "safer crossings by the school",
    "a market on Saturdays with local food",
    "fewer potholes on the main street",
)


def seed(url: str, residents: int) -> None:
    """A published town with one campaign, `residents` answers, approved quotes and updates."""
    from bot.campaigns.prompt_files import launch, parse_prompt_file
    from tests.helpers import FESTIVAL

    db = Database(url)
    db.upgrade()
    with db.session_scope() as session:
        town = Community(slug="benchtown", name="Bench Town", keyword="BENCHTOWN")
        town.results_published = True
        session.add(town)
        session.flush()
        campaign = launch(session, town, parse_prompt_file(FESTIVAL))
        town_id, campaign_id = town.id, campaign.id
        prompt_id = campaign.prompts[0].id
    with db.engine.begin() as connection:
        connection.execute(
            insert(Resident.__table__),
            [
                {"id": n, "community_id": town_id, "channel": "sms", "address_enc": "x",
                 "address_hash": f"h{n}", "pseudonym": f"bench-{n}", "status": "joined"}
                for n in range(1, residents + 1)
            ],
        )  # fmt: skip
        connection.execute(
            insert(Response.__table__),
            [
                {"id": n, "community_id": town_id, "campaign_id": campaign_id,
                 "prompt_id": prompt_id, "resident_id": n, "channel": "sms",
                 "text": f"{WORDS[n % len(WORDS)]}, idea {n}"}
                for n in range(1, residents + 1)
            ],
        )  # fmt: skip
        connection.execute(
            insert(Consent.__table__),
            [
                {"resident_id": n, "purpose": "quotes", "wording": "w", "wording_version": "w",
                 "channel": "sms"}
                for n in range(1, 21)
            ],
        )  # fmt: skip
        connection.execute(
            insert(ApprovedQuote.__table__),
            [{"response_id": n, "campaign_id": campaign_id} for n in range(1, 21)],
        )
    with db.session_scope() as session:
        for day in range(1, 4):
            session.add(
                CampaignUpdate(community_id=town_id, campaign_id=campaign_id, status="done",
                               text=f"We did thing {day}.", happened_on=_day(day))
            )  # fmt: skip
    db.dispose()


def _day(day: int) -> Any:
    from datetime import date

    return date(2026, 12, day)


def queries_per_view(url: str, views: int) -> dict[str, float]:
    """SQL statements per view in-process, with the cache (steady state) and without it."""
    from bot.config import load_settings
    from webhooks.app import create_app
    from webhooks.results import CACHE_KEY
    from webhooks.results_cache import ResultsCache

    app = create_app(load_settings())
    engine = app.extensions["voices"].db.engine
    counted: dict[str, float] = {}
    for name, cache in (("cached", ResultsCache()), ("uncached", uncached())):
        app.extensions[CACHE_KEY] = cache
        client = app.test_client()
        assert client.get(PATH).status_code == 200  # the first view fills the cache
        seen: list[str] = []

        def count(*args: Any, seen: list[str] = seen) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        for _ in range(views):
            client.get(PATH)
        event.remove(engine, "before_cursor_execute", count)
        counted[name] = round(len(seen) / views, 2)
    return counted


def uncached() -> Any:
    """A cache that trusts nothing: every view reads the version and rebuilds the page."""
    from webhooks.results_cache import ResultsCache

    return ResultsCache(check_seconds=0, max_age_seconds=0)


def uncached_app() -> Any:
    """The app as gunicorn serves it, with the cache turned off (for comparison only)."""
    from webhooks.app import create_app
    from webhooks.results import CACHE_KEY

    app = create_app()
    app.extensions[CACHE_KEY] = uncached()
    return app


async def _views(port: int, requests: int, seconds: float, connections: int) -> dict[str, Any]:
    """Keep-alive GETs from `connections` clients until `requests` are done or time is up."""
    done = statuses_ok = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def client() -> None:
        nonlocal done, statuses_ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: en\r\n\r\n"
        while done < requests and time.perf_counter() < deadline:
            done += 1
            sent = time.perf_counter()
            writer.write(request.encode())
            status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses_ok += status == 200
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "views": len(latencies),
        "ok": statuses_ok,
        "views_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server to use")
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = BenchDatabase(args.db, args.database_url, workdir)
        try:
            figures = run(database, args, workdir)
        finally:
            database.drop()
    for name in ("cached", "uncached"):
        seen, queries = figures[name], figures["queries_per_view"][name]
        print(
            f"{name:>9}: {seen['views_per_s']} views/s, p50 {seen['p50_ms']} ms, "
            f"p99 {seen['p99_ms']} ms, {queries} queries/view"
        )
    print(json.dumps(figures))


def run(database: BenchDatabase, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import os

    seed(database.url, args.residents)
    env = {
        "VOICES_ENV": "production",
        "DATABASE_URL": database.url,
        "VOICES_DATA_KEY": Fernet.generate_key().decode(),
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "PUBLIC_BASE_URL": "https://voices.example.org",
    }
    os.environ.update(env)
    figures: dict[str, Any] = {"db": args.db, "residents": args.residents}
    figures["queries_per_view"] = queries_per_view(database.url, 50)
    for name, spec in (
        ("cached", None),
        ("uncached", "bench.results_page:uncached_app()"),
    ):
        server = Server(env, workdir, spec)
        try:
            args_ = (server.port, args.requests, args.seconds, args.connections)
            figures[name] = asyncio.run(_views(*args_))
        finally:
            server.stop()
    return figures


if __name__ == "__main__":
    main()
