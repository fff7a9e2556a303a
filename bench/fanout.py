"""Benchmark: launch to many residents on PostgreSQL, then send at a configured rate on loopback.

Run from the repository root:

    .venv/bin/python -m bench.fanout                       # 100,000 residents, 60 s of sending
    .venv/bin/python -m bench.fanout --residents 5000 --seconds 5

It makes a schema of its own in BENCH_DATABASE_URL (default: the local test server), measures
(1) the time to enqueue the first prompt for every resident, (2) the sender's CPU per message with
a sender that does no network at all, and (3) the rate achieved against a configured limit, timed
by a loopback Twilio server, and ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.campaigns.fanout import activate_due
from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.channels.sms import TwilioSender
from bot.messages import Outbound
from bot.sending.pacing import Pacer, PacingLimits
from bot.sending.sender import OutboxSender, SenderPolicy
from bot.sending.twilio_outbox import TwilioChannelSender
from storage.crypto import Vault
from storage.db import Database
from storage.models import Community, OutboundMessage, Resident, utcnow

# Sending threads of the lane (the worker's default is 4). Each message reaches the server
# between the pacer's slot and the answer, so the server can see at most the threads' messages in
# flight on top of what the pacer let go in a second: rate + burst + threads stays under 500.
THREADS = int(os.environ.get("FANOUT_THREADS", str(SenderPolicy().threads_per_lane)))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROMPTS = """\
slug: bench-{n}
title: Benchmark
language: en
prompts:
  - id: first
    text: What's one thing that would make where you live better?
"""


class NoNetworkSender:
    """Accepts every message at once: what is left is the outbox's own work."""

    channel = "sms"

    def __init__(self) -> None:
        self.count = 0

    def send(self, outbound: Outbound) -> str | None:
        self.count += 1
        return f"SMbench{outbound.outbox_id}"


class TimedPacer(Pacer):
    """The real pacer, noting when each message was let go (to compare with the server's clock)."""

    def __init__(self, limits: PacingLimits, in_flight: int) -> None:
        super().__init__(limits, in_flight=in_flight)
        self.granted: list[float] = []

    def wait(self, *args: Any, **kwargs: Any) -> bool:
        allowed = super().wait(*args, **kwargs)
        if allowed:
            self.granted.append(time.monotonic())
        return allowed


def _schema_url(server: str, schema: str) -> str:
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def add_residents(db: Database, vault: Vault, community_id: int, count: int) -> None:
    """Insert `count` joined SMS residents, encrypted like real ones, in batches."""
    batch = []
    now = utcnow()
    for n in range(count):
        address = f"+4477{n:08d}"
        address_hash = vault.address_hash("sms", address)
        batch.append(
            {
                "community_id": community_id,
                "channel": "sms",
                "address_enc": vault.encrypt(address),
                "address_hash": address_hash,
                "pseudonym": f"r-{n:010d}",
                "status": "joined",
                "created_at": now,
                "joined_at": now,
            }
        )
        if len(batch) == 5000 or n == count - 1:
            with db.session_scope() as session:
                session.execute(insert(Resident), batch)
            batch = []


def settle(db: Database) -> None:
    """Leave the seeded residents as a town's would be at launch time.

    Residents join over weeks: autovacuum has long since vacuumed and analysed their rows and a
    checkpoint has written them out. 100,000 inserted a moment ago have neither, and the launch
    would pay for it (setting hint bits on every row it reads; the seeding's pages flushed by a
    checkpoint during the launch: 2.7 s and 3.7 s for the same code in two runs).
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) residents, communities"))
        try:
            connection.execute(text("CHECKPOINT"))
        except DBAPIError as error:  # needs a superuser or pg_checkpoint
            print(f"no CHECKPOINT before the launch: {error.orig}", file=sys.stderr)


def enqueue(db: Database, community_id: int, run: int) -> tuple[float, int]:
    """Launch a one-prompt campaign now, as `voices campaign launch` does (the campaign committed,
    then fanned out: in parts on PostgreSQL); return seconds taken and rows queued."""
    started = time.perf_counter()
    with db.session_scope() as session:
        community = session.get(Community, community_id)
        campaign = launch(
            session, community, parse_prompt_file(PROMPTS.format(n=run)), fan_out_now=False
        )
        campaign_id = campaign.id
    with db.session_scope() as session:
        activate_due(session, campaign_id=campaign_id)
    elapsed = time.perf_counter() - started
    with db.session_scope() as session:
        queued = session.scalar(select(func.count()).where(OutboundMessage.status == "queued"))
    return elapsed, queued or 0


def cpu_per_message(db: Database, vault: Vault, messages: int) -> float:
    """Milliseconds of this process's CPU per message sent with no network and no pacing."""
    null = NoNetworkSender()
    limits = PacingLimits(twilio_segments_per_second=1e9)
    sender = OutboxSender(
        db, vault, {"sms": null}, pacer=Pacer(limits), policy=SenderPolicy(batch_size=200)
    )
    started = time.process_time()
    while null.count < messages and sender.run_lane_once("twilio"):
        pass
    used = time.process_time() - started
    sender.stop()
    return 1000 * used / max(null.count, 1)


def paced_rate(db: Database, vault: Vault, rate: float, seconds: float) -> dict[str, float]:
    """Send through the real twilio client to a loopback server for `seconds` at `rate`."""
    # CLOCK_MONOTONIC is system-wide on Linux, so the server's timestamps compare across processes.
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("loopback_twilio.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    base_url = server.stdout.readline().strip()
    twilio = TwilioSender("AC" + "0" * 32, "token", "+447700900000", api_base_url=base_url)
    sender = OutboxSender(
        db,
        vault,
        {"sms": TwilioChannelSender(twilio)},
        pacer=(pacer := TimedPacer(PacingLimits(twilio_segments_per_second=rate), THREADS)),
        policy=SenderPolicy(batch_size=max(50, int(rate)), threads_per_lane=THREADS),
        sender_names={"sms": twilio.sender},
    )
    timer = threading.Timer(seconds, sender.stopping.set)
    timer.start()
    sender.drain_lane("twilio", max_seconds=seconds + 5)
    sender.stop()
    timer.cancel()
    server.stdin.close()
    times = sorted(json.loads(server.stdout.readline()))
    if os.environ.get("FANOUT_DUMP"):  # every grant and server time, for a closer look
        dump = {"granted": pacer.granted, "times": times}
        Path(os.environ["FANOUT_DUMP"]).write_text(json.dumps(dump))
    server.wait(timeout=10)
    if len(times) < 2:
        return {"messages": len(times), "achieved_per_second": 0.0, "max_in_any_second": 0}
    achieved = (len(times) - 1) / (times[-1] - times[0])
    most = 0
    start = 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    # From "the pacer let it go" to "the server saw it": the spread of this delay is the jitter
    # the pacer's headroom (RATE_SHARE) has to absorb. Messages arrive nearly in order.
    delays = sorted(
        1000 * (at - granted) for at, granted in zip(times, sorted(pacer.granted), strict=False)
    )

    def percentile(share: float) -> float:
        return round(delays[min(len(delays) - 1, int(share * len(delays)))], 2)

    return {
        "messages": len(times),
        "achieved_per_second": round(achieved, 1),
        "max_in_any_second": most,
        "send_delay_ms_p50": percentile(0.5),
        "send_delay_ms_p99": percentile(0.99),
        "send_delay_ms_max": round(delays[-1], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON line of figures last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0, help="configured messages/s")
    parser.add_argument("--cpu-messages", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    server = args.database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(server).get_backend_name() != "postgresql":
        parser.error("the benchmark runs on PostgreSQL")
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(_schema_url(server, schema))
    vault = Vault(Fernet.generate_key().decode())
    try:
        db.upgrade()
        with db.session_scope() as session:
            town = Community(
                slug="bench", name="Bench", keyword="BENCH", quiet_start="00:00", quiet_end="00:00"
            )
            session.add(town)
            session.flush()
            town_id = town.id
        print(f"adding {args.residents} residents...", file=sys.stderr)
        add_residents(db, vault, town_id, args.residents)
        settle(db)
        enqueue_seconds, queued = enqueue(db, town_id, 1)
        print(f"enqueued {queued} in {enqueue_seconds:.2f} s", file=sys.stderr)
        cpu_ms = cpu_per_message(db, vault, min(args.cpu_messages, queued))
        print(f"sender CPU per message: {cpu_ms:.3f} ms", file=sys.stderr)
        # Queue everything again for the paced run.
        with db.session_scope() as session:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.status == "sent")
                .values(status="queued", next_attempt_at=utcnow())
            )
        paced = paced_rate(db, vault, args.rate, args.seconds)
        print(
            f"paced: {paced['achieved_per_second']}/s against {args.rate}/s, "
            f"at most {paced['max_in_any_second']} in any second",
            file=sys.stderr,
        )
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    figures = {
        "residents": args.residents,
        "enqueue_seconds": round(enqueue_seconds, 3),
        "queued": queued,
        "sender_cpu_ms_per_message": round(cpu_ms, 3),
        "configured_per_second": args.rate,
        "seconds": args.seconds,
        **paced,
        "achieved_ratio": round(paced["achieved_per_second"] / args.rate, 4),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
