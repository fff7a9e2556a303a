"""Inbound throughput: the app under gunicorn as in the Procfile, fed signed webhooks.

Run from the repository root:  .venv/bin/python -m bench.inbound --seconds 10 --db sqlite
With --workload mixed: one bounded phase per kind of message (bench/inbound_kinds.py).
The last line of output is one JSON object with the figures (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

from bench import loadgen, procstat
from bench.inbound_setup import BenchDatabase, Sender, seed, verify

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PUBLIC_BASE_URL = "https://voices.bench.example"
TWILIO_SID = "AC" + "b" * 32
TWILIO_TOKEN = "c" * 32
TELEGRAM_TOKEN = "123456:BENCH-TOKEN"
TELEGRAM_SECRET = "bench-secret"
SMS_PATH = "/webhooks/twilio/sms"
TELEGRAM_PATH = "/webhooks/telegram"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# App CPU per message: no kind above what Twilio's automated-survey-flask costs here; the goal.
TARGET_MS = 4.0
GOAL_MS = 1.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_web_command(port: int, app_spec: str | None = None) -> list[str]:
    """The Procfile's web line with its ${VAR:-default}s filled in, bound to loopback."""
    line = next(
        raw.split(":", 1)[1]
        for raw in (ROOT / "Procfile").read_text().splitlines()
        if raw.startswith("web:")
    )
    env = {**os.environ, "PORT": str(port)}
    line = re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), line
    ).replace("0.0.0.0", "127.0.0.1")
    words = shlex.split(line)
    words[0] = str(BIN / words[0])
    if app_spec:
        words[-1] = app_spec
    return words


class Server:
    """A gunicorn started like the Procfile says, with its access log in a file."""

    def __init__(self, env: dict[str, str], workdir: Path, app_spec: str | None = None) -> None:
        self.port = free_port()
        self.log = (workdir / f"gunicorn-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            procfile_web_command(self.port, app_spec),
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90  # a busy shared machine starts gunicorn slowly
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()  # a slow start must not leave gunicorn running after the bench
                    raise SystemExit(f"gunicorn did not start; see {self.log.name}") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return procstat.tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """Quick shutdown (SIGINT): after an overload run, requests may still be queued."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in procstat.children(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


class FakeTelegram:
    """The loopback Bot API fake from tests/fakes in its own process, so replies go nowhere real."""

    def __init__(self) -> None:
        # TCP_NODELAY: http.server writes headers and body separately, and Nagle's algorithm
        # with delayed ACKs then holds every answer ~40 ms, which the real Bot API does not.
        code = (
            "import sys; from tests.fakes import telegram_api as t; "
            "t._Handler.disable_nagle_algorithm = True; "
            "f = t.FakeTelegramAPI().start(); print(f.base_url, flush=True); sys.stdin.read()"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def sms_request(
    validator: RequestValidator, address: str, words: str
) -> tuple[str, loadgen.Request]:
    """A Twilio Messaging webhook from `address`, signed as Twilio signs it; (sid, request)."""
    sid = "SM" + os.urandom(16).hex()
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": TWILIO_SID,
        "From": address,
        "To": "+447700900000",
        "Body": words,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = validator.compute_signature(PUBLIC_BASE_URL + SMS_PATH, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return sid, (SMS_PATH, headers, urlencode(params).encode())


def telegram_request(update_id: int, chat: int, message_id: int, words: str) -> loadgen.Request:
    """A Telegram Update with a private-chat message, carrying the webhook secret."""
    update = {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "text": words,
            "from": {"id": chat, "is_bot": False, "first_name": "R", "language_code": "en"},
            "chat": {"id": chat, "first_name": "R", "type": "private"},
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    return TELEGRAM_PATH, headers, json.dumps(update).encode()


class Messages:
    """Builds signed webhooks; each resident has at most one message in flight, like a person."""

    def __init__(self, senders: list[Sender]) -> None:
        self.free = collections.deque(senders)
        self.validator = RequestValidator(TWILIO_TOKEN)
        self.update_ids = itertools.count(1)
        self.counter = itertools.count(1)

    def make(self) -> tuple[Any, loadgen.Request] | None:
        if not self.free:
            return None
        sender = self.free.popleft()
        number = next(self.counter)
        words = f"Answer {number}: more benches by the river, please"
        if sender.channel == "sms":
            sid, request = sms_request(self.validator, sender.address, words)
            return (sender, ("sms", sid, sender.address)), request
        update_id = next(self.update_ids)
        request = telegram_request(update_id, int(sender.address), number, words)
        return (sender, ("telegram", str(update_id), sender.address)), request

    def release(self, key: Any) -> None:
        self.free.append(key[0])


def ceiling_requests() -> tuple[loadgen.RequestFactory, Any]:
    """Requests for the bare route: the same SMS-sized form, no signature, no resident."""
    counter = itertools.count(1)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def make() -> tuple[Any, loadgen.Request]:
        number = next(counter)
        body = urlencode({"Body": f"Answer {number}: more benches by the river, please"})
        return number, ("/ingest", headers, body.encode())

    return make, lambda _key: None


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    server: Server,
    database: BenchDatabase,
    fake: FakeTelegram | None,
    make: Any,
    release: Any,
    connections: int,
    seconds: float,
    until_exhausted: bool = False,
) -> dict[str, Any]:
    """A closed-loop run with the CPU used by the server, PostgreSQL, the fake and this client."""
    backends = procstat.PidCpuTracker()
    machine_before = procstat.machine_ticks()
    backends.sample(database.backend_pids(), baseline=True)
    fake_before = procstat.cpu_seconds(fake.process.pid) if fake else 0.0
    server_before, client_before = server.cpu_seconds(), self_cpu()

    async def run() -> loadgen.Outcome:
        done = asyncio.Event()

        async def sample_backends() -> None:
            while not done.is_set():
                backends.sample(await asyncio.to_thread(database.backend_pids))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_backends())
        outcome = await loadgen.closed_loop(
            "127.0.0.1", server.port, make, connections, seconds, release, until_exhausted
        )
        done.set()
        await sampler
        return outcome

    outcome = asyncio.run(run())
    backends.sample(database.backend_pids())
    served = max(len(outcome.ok_keys), 1)
    server_cpu = server.cpu_seconds() - server_before
    fake_cpu = (procstat.cpu_seconds(fake.process.pid) - fake_before) if fake else 0.0
    return {
        "outcome": outcome,
        "msgs_per_s": round(outcome.rate(), 1),
        "p50_ms": round(outcome.percentile(0.50), 2),
        "p99_ms": round(outcome.percentile(0.99), 2),
        "statuses": outcome.statuses,
        "errors": outcome.errors,
        "server_cpu_ms_per_msg": round(server_cpu * 1000 / served, 3),
        "db_cpu_ms_per_msg": round(backends.used() * 1000 / served, 3),
        "fake_telegram_cpu_ms_per_msg": round(fake_cpu * 1000 / served, 3),
        "client_cpu_ms_per_msg": round((self_cpu() - client_before) * 1000 / served, 3),
        "machine_busy": procstat.busy_share(machine_before, procstat.machine_ticks()),
    }


def open_run(server: Server, messages: Messages, rate: float, seconds: float) -> dict[str, Any]:
    """An open-loop run at a fixed offered rate."""
    outcome = asyncio.run(
        loadgen.open_loop("127.0.0.1", server.port, messages.make, rate, seconds, messages.release)
    )
    return {
        "outcome": outcome,
        "offered_per_s": rate,
        "achieved_per_s": round(outcome.rate(), 1),
        "p50_ms": round(outcome.percentile(0.50), 2),
        "p99_ms": round(outcome.percentile(0.99), 2),
        "statuses": outcome.statuses,
        "errors": outcome.errors,
        "timeouts": outcome.timeouts,
        "skipped_no_free_resident": outcome.skipped,
    }


def app_env(database: BenchDatabase, data_key: str, fake: FakeTelegram) -> dict[str, str]:
    """The app's environment: production mode, test credentials, the loopback Bot API."""
    return {
        "VOICES_ENV": "production",
        "DATABASE_URL": database.url,
        "VOICES_DATA_KEY": data_key,
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+447700900000",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake.base_url,
    }


def bench_mixed(kind: str, args: argparse.Namespace, fake: FakeTelegram) -> dict[str, Any]:
    """Seed, warm up on answers, then one bounded phase per kind of message and channel."""
    from bench import inbound_kinds

    workdir = Path(tempfile.mkdtemp(prefix=f"voices-bench-{kind}-"))
    database = BenchDatabase(kind, args.database_url, workdir)
    data_key = Fernet.generate_key().decode()
    try:
        form = "closed" if args.closed_questions else "open"
        print(f"[{kind}] seeding {args.residents} residents, {args.prompts} {form} prompts")
        senders = seed(database.url, data_key, args.residents, args.prompts, args.closed_questions)
        server = Server(app_env(database, data_key, fake), workdir)
        try:
            messages = Messages(senders)
            measure(server, database, fake, messages.make, messages.release, 8, args.warmup)
            phases = inbound_kinds.run_phases(
                server, database, fake, senders, args, lambda line: print(f"[{kind}] {line}")
            )
        finally:
            server.stop()
    finally:
        database.drop()
    return {"database": kind, "phases": phases, "kinds": inbound_kinds.per_kind(phases)}


def bench_database(kind: str, args: argparse.Namespace, fake: FakeTelegram) -> dict[str, Any]:
    """Seed, run the app closed and open loop, run the bare route, verify; return the figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"voices-bench-{kind}-"))
    database = BenchDatabase(kind, args.database_url, workdir)
    data_key = Fernet.generate_key().decode()
    try:
        print(f"[{kind}] seeding {args.residents} residents, {args.prompts} prompts", flush=True)
        senders = seed(database.url, data_key, args.residents, args.prompts)
        env = app_env(database, data_key, fake)
        messages = Messages(senders)
        acknowledged: list[Any] = []
        sent = 0
        server = Server(env, workdir)
        try:
            warm = measure(
                server,
                database,
                fake,
                messages.make,
                messages.release,
                args.connections,
                args.warmup,
            )
            acknowledged += [key[1] for key in warm["outcome"].ok_keys]
            sent += warm["outcome"].sent + warm["outcome"].timeouts
            print(f"[{kind}] app, closed loop, {args.connections} connections", flush=True)
            closed = measure(
                server,
                database,
                fake,
                messages.make,
                messages.release,
                args.connections,
                args.seconds,
            )
            acknowledged += [key[1] for key in closed["outcome"].ok_keys]
            sent += closed["outcome"].sent + closed["outcome"].timeouts
            # A second open loop at half the closed-loop throughput: p99 at a load it can carry.
            half = max(1.0, round(closed["msgs_per_s"] / 2))
            print(f"[{kind}] app, open loop at {half:g}/s (half the closed-loop rate)", flush=True)
            sustainable = open_run(server, messages, half, args.open_seconds)
            acknowledged += [key[1] for key in sustainable["outcome"].ok_keys]
            sent += sustainable["outcome"].sent + sustainable["outcome"].timeouts
            print(f"[{kind}] app, open loop at {args.rate:g}/s", flush=True)
            opened = open_run(server, messages, args.rate, args.open_seconds)
            acknowledged += [key[1] for key in opened["outcome"].ok_keys]
            sent += opened["outcome"].sent + opened["outcome"].timeouts
        finally:
            server.stop()
        print(f"[{kind}] bare route (ceiling)", flush=True)
        ceiling_server = Server(env, workdir, "bench.ceiling_app:create_app()")
        try:
            make, release = ceiling_requests()
            measure(ceiling_server, database, None, make, release, args.connections, args.warmup)
            ceiling = measure(
                ceiling_server, database, None, make, release, args.connections, args.seconds
            )
        finally:
            ceiling_server.stop()
        verdict = verify(database.url, acknowledged, data_key)
    finally:
        database.drop()
    for part in (closed, opened, sustainable, ceiling):
        part.pop("outcome")
    return {
        "database": kind,
        "closed": closed,
        "open": opened,
        "open_half_rate": sustainable,
        "ceiling": ceiling,
        "sent": sent,
        "verify": verdict.__dict__,
        "share_of_ceiling": round(closed["msgs_per_s"] / max(ceiling["msgs_per_s"], 1e-9), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="closed-loop run length")
    parser.add_argument("--open-seconds", type=float, default=10, help="open-loop run length")
    parser.add_argument("--rate", type=float, default=500, help="open-loop offered msgs/s")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--residents", type=int, default=4000)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--workload",
        choices=["answers", "mixed"],
        default="answers",
        help="answers: joined residents answering (default); mixed: one phase per kind of message",
    )
    parser.add_argument(
        "--per-kind", type=int, default=500, help="mixed: messages per kind and channel"
    )
    parser.add_argument(
        "--kind-seconds", type=float, default=20, help="mixed: at most this long per phase"
    )
    parser.add_argument(
        "--kinds",
        default="all",
        help="mixed: comma-separated kinds (answer, choice, stranger, join-keyword, join-yes, help,"
        " stop, start, delete, confirm) or all",
    )
    parser.add_argument(
        "--closed-questions",
        action="store_true",
        help="mixed: every prompt offers four choices (the choice kind answers one; answer's"
        " words then match none)",
    )
    args = parser.parse_args(argv)
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    fake = FakeTelegram()
    if args.workload == "mixed":
        try:
            mixed = [bench_mixed(kind, args, fake) for kind in kinds]
        finally:
            fake.stop()
        print_mixed(mixed, args)
        return
    try:
        results = [bench_database(kind, args, fake) for kind in kinds]
    finally:
        fake.stop()
    for result in results:
        print(json.dumps(result, indent=2))
    first = results[0]
    print(
        json.dumps(
            {
                "database": first["database"],
                "msgs_per_s": first["closed"]["msgs_per_s"],
                "p99_ms": first["open"]["p99_ms"],
                "sent": first["sent"],
                "stored_once": all(r["verify"]["stored_once"] for r in results),
                "ceiling_msgs_per_s": first["ceiling"]["msgs_per_s"],
                "share_of_ceiling": first["share_of_ceiling"],
                "server_cpu_ms_per_msg": first["closed"]["server_cpu_ms_per_msg"],
                "db_cpu_ms_per_msg": first["closed"]["db_cpu_ms_per_msg"],
                "closed_p50_ms": first["closed"]["p50_ms"],
                "closed_p99_ms": first["closed"]["p99_ms"],
                "half_rate_per_s": first["open_half_rate"]["offered_per_s"],
                "half_rate_p99_ms": first["open_half_rate"]["p99_ms"],
                "others": {
                    r["database"]: {
                        "msgs_per_s": r["closed"]["msgs_per_s"],
                        "p99_ms": r["open"]["p99_ms"],
                        "half_rate_p99_ms": r["open_half_rate"]["p99_ms"],
                        "ceiling_msgs_per_s": r["ceiling"]["msgs_per_s"],
                        "share_of_ceiling": r["share_of_ceiling"],
                        "server_cpu_ms_per_msg": r["closed"]["server_cpu_ms_per_msg"],
                        "stored_once": r["verify"]["stored_once"],
                    }
                    for r in results[1:]
                },
            }
        )
    )


def print_mixed(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Each phase's figures, a Markdown table per database, and one JSON line last."""
    from bench import inbound_kinds

    for result in results:
        print(json.dumps(result["phases"], indent=2))
    for result in results:
        print(f"\n{result['database']}, {args.connections} connections:")
        print(inbound_kinds.table(result["kinds"], TARGET_MS, GOAL_MS))
    line = {
        "workload": "mixed",
        "connections": args.connections,
        "per_kind_and_channel": args.per_kind,
        **{r["database"]: r["kinds"] for r in results},
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
