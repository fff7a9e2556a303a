"""The mixed inbound workload: one bounded phase per kind of message and channel, CPU for each.

Kinds, in the order they run (each on SMS, then on Telegram):

- answer: a joined resident answers their pending prompt (the default workload's message);
- choice: the same, answering a closed question with a choice (run with --closed-questions);
- stranger: the first message from a number never seen before ("who are you?" comes back);
- join-keyword, join-yes: a new number texts the keyword (Telegram: `/start benchtown`), then YES;
- help; stop, then start (the same residents); delete, then confirm (the same residents, erased).

Everything goes through HTTP only, signed Twilio form posts and Telegram updates with the
webhook secret, so the figures hold whatever the conversation engine looks like inside. On
PostgreSQL a thread samples the benchmark's backends in `pg_stat_activity` (state and wait
event) and the locks they wait for in `pg_locks` every 0.1 s of each phase.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from bench import inbound, loadgen
from bench.inbound_setup import APPLICATION_NAME, BenchDatabase, Sender

KEYWORD = "BENCHTOWN"
SLUG = "benchtown"
FIRST_NEW_CHAT = 8_000_000_000
SAMPLE_SECONDS = 0.1
STATS_SETTLE_SECONDS = 11  # an idle backend reports within 10 s (PGSTAT_IDLE_INTERVAL)


@dataclass(frozen=True)
class Kind:
    """A kind of message: what each channel's sender writes, and from which pool of senders."""

    name: str
    sms: str
    telegram: str
    pool: str  # "answers" (joined, state kept), "stop", "delete", "new" (fresh), "stranger"


KINDS = (
    Kind(
        "answer", "{n}: more benches by the river, please", "{n}: more benches, please", "answers"
    ),
    # A closed question's answer (with --closed-questions): the number on SMS, a button's words
    # on Telegram.
    Kind("choice", "2", "Quite safe", "answers"),
    Kind("stranger", "Hello, who is this? {n}", "Hello, who is this? {n}", "stranger"),
    Kind("join-keyword", KEYWORD, f"/start {SLUG}", "new"),
    Kind("join-yes", "YES", "YES", "new"),
    Kind("help", "HELP", "/help", "answers"),
    Kind("stop", "STOP", "/stop", "stop"),
    Kind("start", "START", "/start", "stop"),
    Kind("delete", "DELETE", "DELETE", "delete"),
    Kind("confirm", "CONFIRM", "CONFIRM", "delete"),
)


class Pools:
    """Which senders speak in each phase; a sender speaks once per phase."""

    def __init__(self, senders: list[Sender], per_phase: int, kinds: tuple[Kind, ...]) -> None:
        self.per_phase = per_phase
        self.named: dict[tuple[str, str], list[Sender]] = {}
        seeded = [p for p in ("stop", "delete", "answers") if any(k.pool == p for k in kinds)]
        # One more than a phase sends: the first of each pool is the probe's.
        size = per_phase + 1
        for channel in ("sms", "telegram"):
            mine = [s for s in senders if s.channel == channel]
            if len(mine) < len(seeded) * size:
                raise SystemExit(
                    f"--per-kind {per_phase} for these kinds needs at least"
                    f" {2 * len(seeded) * size} residents (--residents)"
                )
            for number, pool in enumerate(seeded):
                self.named[channel, pool] = mine[number * size : (number + 1) * size]
            self.named[channel, "new"] = fresh(channel, size, offset=0)
            self.named[channel, "stranger"] = fresh(channel, size, offset=size)

    def senders(self, channel: str, pool: str) -> list[Sender]:
        return self.named[channel, pool]


def fresh(channel: str, count: int, offset: int) -> list[Sender]:
    """Numbers and chats the database has never seen."""
    if channel == "sms":
        return [Sender(-1, "sms", f"+4479{offset + i:08d}") for i in range(count)]
    return [Sender(-1, "telegram", str(FIRST_NEW_CHAT + offset + i)) for i in range(count)]


class Phase:
    """One-off messages of one kind on one channel: `make` hands each sender's once, then None."""

    update_ids = itertools.count(1_000_000)
    counter = itertools.count(1)

    def __init__(self, kind: Kind, channel: str, senders: list[Sender]) -> None:
        self.kind, self.channel = kind, channel
        self.queue = collections.deque(senders)
        self.validator = RequestValidator(inbound.TWILIO_TOKEN)

    def request(self, sender: Sender) -> loadgen.Request:
        number = next(self.counter)
        if self.channel == "sms":
            _, request = inbound.sms_request(
                self.validator, sender.address, self.kind.sms.format(n=number)
            )
            return request
        words = self.kind.telegram.format(n=number)
        return inbound.telegram_request(next(self.update_ids), int(sender.address), number, words)

    def make(self) -> tuple[Any, loadgen.Request] | None:
        if not self.queue:
            return None
        sender = self.queue.popleft()
        return sender, self.request(sender)

    def probe(self, port: int) -> tuple[int, str]:
        """Send the first sender's message outside the measurement; (status, start of answer)."""
        sender = self.queue.popleft()
        path, headers, body = self.request(sender)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(160).decode("utf-8", "replace")


class WaitSampler:
    """Samples what the benchmark's PostgreSQL backends are doing while a phase runs."""

    def __init__(self, database: BenchDatabase) -> None:
        self.active = database.kind == "postgresql"
        self.samples = 0
        self.states: collections.Counter[str] = collections.Counter()
        self.locks: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.transactions = 0
        self._own = 0  # the sampler's own statements, each a transaction in autocommit
        if self.active:
            self.engine = create_engine(database._admin.url, pool_size=1)

    def _transactions_so_far(self) -> int:
        """Commits and rollbacks of this database so far (every session's, ours included)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            self._own += 1
            return conn.scalar(
                text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                    " WHERE datname = current_database()"
                )
            )

    def __enter__(self) -> WaitSampler:
        if self.active:
            self._before = self._transactions_so_far()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            # Backends report their counts when idle, at most once a second: let them.
            time.sleep(STATS_SETTLE_SECONDS)
            self.transactions = self._transactions_so_far() - self._before - self._own + 1
            self.engine.dispose()

    def _run(self) -> None:
        activity = text(
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
            " WHERE application_name = :name"
        )
        waiting = text(
            "SELECT l.locktype, l.mode, coalesce(l.relation::regclass::text, '')"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.application_name = :name"
        )
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not self._stop.wait(SAMPLE_SECONDS):
                self.samples += 1
                self._own += 2
                for state, event_type, event in conn.execute(activity, {"name": APPLICATION_NAME}):
                    if state == "active":
                        where = f"{event_type}:{event}" if event_type else "on CPU"
                        self.states[f"active, {where}"] += 1
                    else:
                        self.states[str(state)] += 1
                for locktype, mode, relation in conn.execute(waiting, {"name": APPLICATION_NAME}):
                    self.locks[f"{locktype} {mode} {relation}".strip()] += 1

    def summary(self) -> dict[str, Any]:
        """Mean number of backends in each state per sample, and lock waits seen."""
        per = max(self.samples, 1)
        return {
            "samples": self.samples,
            "backends": {k: round(v / per, 2) for k, v in self.states.most_common()},
            "lock_waits": {k: round(v / per, 2) for k, v in self.locks.most_common(6)},
        }


def selected(names: str) -> tuple[Kind, ...]:
    """The kinds named in a comma-separated list ("all" for every one), in the run's order.

    A kind that needs an earlier one (join-yes after join-keyword, start after stop, confirm
    after delete) brings it along.
    """
    everyday = {k.name for k in KINDS if k.name != "choice"}  # choice needs closed questions
    wanted = {n.strip() for n in names.split(",")} if names != "all" else everyday
    unknown = wanted - {k.name for k in KINDS}
    if unknown:
        raise SystemExit(f"unknown kind(s): {', '.join(sorted(unknown))}")
    needs = {"join-yes": "join-keyword", "start": "stop", "confirm": "delete"}
    wanted |= {needs[n] for n in wanted if n in needs}
    return tuple(k for k in KINDS if k.name in wanted)


def run_phases(
    server: inbound.Server,
    database: BenchDatabase,
    fake: inbound.FakeTelegram,
    senders: list[Sender],
    args: Any,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Every kind on each channel, bounded by --per-kind messages and --kind-seconds."""
    kinds = selected(args.kinds)
    pools = Pools(senders, args.per_kind, kinds)
    results: dict[str, Any] = {}
    if database.kind == "postgresql":
        time.sleep(STATS_SETTLE_SECONDS)  # the warm-up's transactions reported before we count
    for kind in kinds:
        for channel in ("sms", "telegram"):
            phase = Phase(kind, channel, pools.senders(channel, kind.pool))
            status, answer = phase.probe(server.port)
            label = f"{kind.name}/{channel}"
            log(f"{label}: probe {status} {answer[:90]!r}")
            with WaitSampler(database) as sampler:
                started = time.monotonic()
                figures = inbound.measure(
                    server,
                    database,
                    fake,
                    phase.make,
                    lambda _key: None,
                    args.connections,
                    args.kind_seconds,
                    until_exhausted=True,
                )
                figures["seconds"] = round(time.monotonic() - started, 2)
            outcome = figures.pop("outcome")
            figures["messages"] = len(outcome.ok_keys)
            figures["probe"] = {"status": status, "answer": answer[:120]}
            figures["pg"] = sampler.summary()
            if sampler.active:
                # Of the whole database: run on a database of your own for an exact figure.
                figures["transactions_per_msg"] = round(
                    sampler.transactions / max(figures["messages"], 1), 2
                )
            results[label] = figures
            log(
                f"{label}: {figures['messages']} msgs in {figures['seconds']} s,"
                f" app {figures['server_cpu_ms_per_msg']} ms, PostgreSQL"
                f" {figures['db_cpu_ms_per_msg']} ms, p50 {figures['p50_ms']} ms,"
                f" busy {figures['machine_busy']:.0%}, {figures['statuses']}"
            )
    return results


def per_kind(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Both channels of each kind together: CPU per message weighted by messages."""
    merged: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        if f"{kind.name}/sms" not in results:
            continue
        parts = [results[f"{kind.name}/{channel}"] for channel in ("sms", "telegram")]
        count = sum(p["messages"] for p in parts) or 1
        merged[kind.name] = {
            "messages": count,
            **{
                key: round(sum(p[key] * p["messages"] for p in parts) / count, 3)
                for key in ("server_cpu_ms_per_msg", "db_cpu_ms_per_msg")
            },
            **{
                f"{ch}_app_ms": p["server_cpu_ms_per_msg"]
                for ch, p in zip(("sms", "tg"), parts, strict=True)
            },
            "p50_ms": max(p["p50_ms"] for p in parts),
            "machine_busy": round(min(p["machine_busy"] for p in parts), 3),
            "transactions_per_msg": max(p.get("transactions_per_msg", 0) for p in parts),
        }
    return merged


def table(merged: dict[str, dict[str, float]], target_ms: float, goal_ms: float) -> str:
    """A Markdown table of the per-kind figures."""
    lines = [
        "| kind | messages | app CPU ms/msg (SMS / Telegram) | PostgreSQL CPU ms/msg"
        " | transactions/msg | worst p50 ms | machine busy (min)"
        f" | <= {target_ms:g} ms | <= {goal_ms:g} ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, row in merged.items():
        app = row["server_cpu_ms_per_msg"]
        lines.append(
            f"| {name} | {row['messages']:g} | {app:.2f} ({row['sms_app_ms']:.2f} /"
            f" {row['tg_app_ms']:.2f}) | {row['db_cpu_ms_per_msg']:.2f}"
            f" | {row['transactions_per_msg']:.1f} | {row['p50_ms']:.0f}"
            f" | {row['machine_busy']:.0%} | {'yes' if app <= target_ms else 'no'}"
            f" | {'yes' if app <= goal_ms else 'no'} |"
        )
    return "\n".join(lines)
