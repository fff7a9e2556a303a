"""App CPU per message of each kind, in process: inbox.receive on PostgreSQL, one thread.

No web server, no load generator: what the conversation itself costs the app (Python and the
database client) for each kind of message, so two trees can be compared side by side.

    .venv/bin/python -m bench.conversation_ab                      # this tree
    .venv/bin/python bench/conversation_ab.py --root /path/to/other/checkout

Run the two alternately (A, B, A, B) on the same machine; the figures are CPU milliseconds.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KINDS = ("stranger", "keyword", "yes", "answer", "help", "stop", "start", "delete", "confirm")
WORDS = {
    "stranger": "hello",
    "keyword": "BENCHTOWN",
    "yes": "YES",
    "help": "HELP",
    "stop": "STOP",
    "start": "START",
    "delete": "DELETE",
    "confirm": "CONFIRM",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--residents", type=int, default=150)
    parser.add_argument("--answers", type=int, default=4, help="answers per resident")
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--profile", choices=KINDS, help="print where this kind's CPU goes")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    run(args)


def run(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bot.messages import Inbound
    from storage.crypto import Vault
    from storage.db import Database
    from storage.models import Community

    try:
        from bot.campaigns.prompt_files import launch, parse_prompt_file
        from bot.conversation import inbox
    except ImportError:  # a checkout from before the conversation package
        from bot import inbox  # type: ignore[no-redef]
        from bot.campaigns import launch, parse_prompt_file  # type: ignore[no-redef]

    schema = f"ab_{secrets.token_hex(4)}"
    admin = Database(args.database_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        db.upgrade()
        vault = Vault(Fernet.generate_key().decode())
        prompts = "\n".join(
            f"  - id: p{n}\n    text: Question {n}, what would you change?" for n in range(40)
        )
        spec = parse_prompt_file(f"slug: bench\ntitle: Bench\nlanguage: en\nprompts:\n{prompts}\n")
        with db.session_scope() as session:
            town = Community(slug="benchtown", name="Bench Town", keyword="BENCHTOWN")
            session.add(town)
            session.flush()
            launch(session, town, spec)
        ids = iter(range(10**9))
        addresses = [f"+4477009{n:05d}" for n in range(args.residents)]

        def send(address: str, words: str) -> None:
            message = Inbound("sms", address, words, f"m{next(ids)}", datetime.now(UTC), raw={})
            inbox.receive(db, vault, message, "twiml")

        print(f"{args.root}: app CPU ms per message", flush=True)
        for kind in KINDS:
            rounds = args.answers if kind == "answer" else 1
            profiler = cProfile.Profile() if kind == args.profile else None
            started = time.process_time()
            if profiler:
                profiler.enable()
            for number in range(rounds):
                for address in addresses:
                    send(address, WORDS.get(kind, f"answer {number}"))
            if profiler:
                profiler.disable()
            spent = time.process_time() - started
            print(f"{kind:10} {1000 * spent / (rounds * len(addresses)):6.2f}", flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    finally:
        db.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
