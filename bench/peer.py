"""The peer: what Twilio's automated-survey-flask sample costs per inbound SMS, served like ours.

Run from the repository root, with the peer checked out and installed in a venv of its own:

    .venv/bin/python -m bench.peer --peer-root /tmp/peer --peer-python /tmp/peer-venv/bin/python \
        --database-url postgresql://postgres@127.0.0.1:5432/peer_bench [--seconds 30]

The peer runs under gunicorn as our Procfile starts ours (workers, threads, access log), on
PostgreSQL in a schema of its own (its Alembic migration, then survey.json, as its manage.py's
`db upgrade` and `dbseed` do). Each SMS is what Twilio sends for it: the sample's number is set to
GET /message (its README; the route takes no POST), with the fields of our own fixture
(bench.inbound.sms_request), signed with twilio's RequestValidator although the peer checks no
signature. Like Twilio, the client then follows the TwiML's <Redirect>s with the same fields and
keeps each number's cookies (the sample keeps a conversation's place in Flask's cookie session):

- first message (every mode), from a number never seen before: GET /message, GET /question/1;
- answer (--mode answer), each number that got its first question answers it: GET /message
  (with the cookie), POST /answer/1 (the one INSERT), GET /question/2.

Closed loop: each connection sends the next SMS as soon as the last one's requests are answered.
Figures per SMS and per HTTP request: app CPU is the gunicorn master and workers (/proc), PostgreSQL
CPU the peer's backends. --no-redirects sends only the webhook itself (one request per SMS).
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import html
import itertools
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from twilio.request_validator import RequestValidator

from bench import inbound, loadgen, procstat

PEER_BASE_URL = "https://survey.bench.example"  # the public URL Twilio signs
MESSAGE_PATH = "/message"
PEER_APP = "automated_survey_flask:prepare_app()"
PEER_PACKAGES = ("Flask", "Werkzeug", "Flask-SQLAlchemy", "SQLAlchemy", "twilio", "gunicorn")
PEER_PACKAGES += ("psycopg2-binary", "Jinja2", "itsdangerous", "alembic", "Flask-Migrate")
MAX_HOPS = 5
# The hops of each SMS when Twilio follows the TwiML (the peer's survey is survey.json's).
FIRST_HOPS = ["/message", "/question/1"]
ANSWER_HOPS = ["/message", "/answer/1", "/question/2"]
VALIDATOR = RequestValidator(inbound.TWILIO_TOKEN)
REDIRECT = re.compile(r'<Redirect(?: method="(GET|POST)")?>([^<]*)</Redirect>')

# manage.py's `db upgrade` and `dbseed`, which cannot run on Python 3.11: Flask-Script 2.0.6 (its
# last release) calls inspect.getargspec.
SETUP = """
from flask_migrate import Migrate, upgrade
from automated_survey_flask import app, db, parsers, prepare_app
from automated_survey_flask.models import Question, Survey
prepare_app()
Migrate(app, db)
with app.app_context():
    upgrade(directory="migrations")
    if Survey.query.first() is None:
        with open("survey.json") as survey_file:
            db.session.add(parsers.survey_from_json(survey_file.read()))
        db.session.commit()
    print(Survey.query.count(), Question.query.count())
"""
VERSIONS = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({'python': sys.version.split()[0], "
    "**{p: m.version(p) for p in sys.argv[1:]}}))"
)


def libpq_url(url: str, **query: str) -> str:
    """`url` as libpq reads it (no +driver), with `query` added to its parameters."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    params = [*parse_qsl(parts.query), *query.items()]
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(params), ""))


class PeerDatabase:
    """A schema of its own on the given database, and the peer's backends by application name."""

    def __init__(self, server_url: str) -> None:
        self.schema = f"peer_{secrets.token_hex(4)}"
        self.application_name = f"peer-bench-{secrets.token_hex(3)}"
        self.admin = psycopg.connect(libpq_url(server_url), autocommit=True)
        self.admin.execute(f'CREATE SCHEMA "{self.schema}"')
        self.url = libpq_url(server_url)
        # libpq's own variables, not URL parameters: Alembic's config would read a '%' as
        # interpolation.
        self.env = {
            "DATABASE_URI": self.url,
            "PGOPTIONS": f"-c search_path={self.schema}",
            "PGAPPNAME": self.application_name,
        }

    def backend_pids(self) -> list[int]:
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (self.application_name,),
        )
        return [pid for (pid,) in rows]

    def count(self, table: str) -> int:
        row = self.admin.execute(f'SELECT count(*) FROM "{self.schema}"."{table}"').fetchone()
        return int(row[0]) if row else 0

    def drop(self) -> None:
        self.admin.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.admin.close()


class PeerServer(inbound.Server):
    """The peer under its venv's gunicorn, with the Procfile's web line (bench.inbound.Server)."""

    def __init__(self, root: Path, python: Path, env: dict[str, str], workdir: Path) -> None:
        self.port = inbound.free_port()
        command = inbound.procfile_web_command(self.port, PEER_APP)
        command[0] = str(python.parent / "gunicorn")
        self.command = command
        self.log = (workdir / f"gunicorn-peer-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env, "PYTHONPATH": str(root)},
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:  # the peer has no health route: its index page (one SELECT) stands in
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"gunicorn did not start; see {self.log.name}") from None
                time.sleep(0.2)


@dataclass
class Reply:
    status: int
    cookies: dict[str, str]
    body: str


class PeerConnection(loadgen.Connection):
    """loadgen's keep-alive connection, sending GET as well, keeping the TwiML and cookies."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.method = "POST"
        self.reply: Reply | None = None

    async def _request(self, request: loadgen.Request) -> int:
        path, headers, body = request
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{self.method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, keep, cookies = 0, True, {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.lower() == "close":
                keep = False
            elif name == "set-cookie":
                cookie, _, _ = value.partition(";")
                key, _, cookie_value = cookie.partition("=")
                cookies[key.strip()] = cookie_value.strip()
        payload = await self.reader.readexactly(length) if length else b""
        if not keep:
            self.close()
        self.reply = Reply(status, cookies, payload.decode("utf-8", "replace"))
        return status


@dataclass
class Resident:
    """A phone number, with the cookies Twilio keeps for its conversation."""

    address: str
    cookies: dict[str, str] = field(default_factory=dict)


def sms_params(address: str, words: str) -> dict[str, str]:
    """The very form our own bench sends for an inbound SMS (bench.inbound.sms_request)."""
    _, (_, _, body) = inbound.sms_request(VALIDATOR, address, words)
    return dict(parse_qsl(body.decode()))


def twilio_request(
    validator: RequestValidator,
    method: str,
    path: str,
    params: dict[str, str],
    cookies: dict[str, str],
) -> loadgen.Request:
    """One webhook as Twilio sends it: GET with the fields in the query, or a form POST; signed."""
    headers: dict[str, str] = {}
    if method == "GET":
        target = f"{path}?{urlencode(params)}"
        signature = validator.compute_signature(PEER_BASE_URL + target, {})
        body = b""
    else:
        target = path
        signature = validator.compute_signature(PEER_BASE_URL + path, params)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(params).encode()
    headers["X-Twilio-Signature"] = signature
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return target, headers, body


async def deliver(
    conn: PeerConnection,
    validator: RequestValidator,
    resident: Resident,
    words: str,
    requests: loadgen.Outcome,
    follow: bool,
) -> list[str]:
    """One SMS: its webhook, then each <Redirect> as Twilio follows it; the paths that got 200."""
    params = sms_params(resident.address, words)
    method, path, hops = "GET", MESSAGE_PATH, []
    for _ in range(MAX_HOPS):
        conn.method, conn.reply = method, None
        request = twilio_request(validator, method, path, params, resident.cookies)
        await loadgen._one(conn, resident.address, request, time.perf_counter(), requests)
        reply = conn.reply
        if reply is None or reply.status != 200:
            return [*hops, f"{method} {path}: {reply.status if reply else 'error'}"]
        resident.cookies.update(reply.cookies)
        hops.append(path)
        redirect = REDIRECT.search(reply.body)
        if not follow or redirect is None:
            break
        method = redirect.group(1) or "POST"  # Twilio's default for a Messaging <Redirect>
        path = urlsplit(html.unescape(redirect.group(2))).path
    return hops


Job = tuple[Resident, str]


async def sms_loop(
    port: int,
    next_sms: Callable[[], Job | None],
    expected: list[str],
    connections: int,
    seconds: float,
    follow: bool,
) -> tuple[loadgen.Outcome, loadgen.Outcome, list[Resident]]:
    """Closed loop of whole SMSes; (per SMS, per HTTP request, the numbers that got through)."""
    messages = loadgen.Outcome(started=time.perf_counter())
    requests = loadgen.Outcome(started=messages.started)
    deadline = messages.started + seconds
    through: list[Resident] = []
    unexpected: collections.Counter[str] = collections.Counter()

    async def client() -> None:
        conn = PeerConnection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            job = next_sms()
            if job is None:
                break
            resident, words = job
            start = time.perf_counter()
            hops = await deliver(conn, VALIDATOR, resident, words, requests, follow)
            if hops == expected:
                messages.record(resident.address, 200, (time.perf_counter() - start) * 1000)
                through.append(resident)
            else:
                messages.errors += 1
                messages.failed_keys.append(resident.address)
                unexpected[" > ".join(hops)] += 1
        conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    messages.finished = requests.finished = time.perf_counter()
    if unexpected:
        print(f"  unexpected hops: {dict(unexpected.most_common(5))}", flush=True)
    return messages, requests, through


def measure(
    server: PeerServer,
    database: PeerDatabase,
    next_sms: Callable[[], Job | None],
    expected: list[str],
    connections: int,
    seconds: float,
    follow: bool,
) -> tuple[dict[str, Any], list[Resident]]:
    """One closed-loop phase with the CPU of the peer, its PostgreSQL backends and this client."""
    backends = procstat.PidCpuTracker()
    load_before = os.getloadavg()[0]
    machine_before = procstat.machine_ticks()
    backends.sample(database.backend_pids(), baseline=True)
    server_before, client_before = server.cpu_seconds(), inbound.self_cpu()

    async def run() -> tuple[loadgen.Outcome, loadgen.Outcome, list[Resident]]:
        done = asyncio.Event()

        async def sample_backends() -> None:
            while not done.is_set():
                backends.sample(await asyncio.to_thread(database.backend_pids))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_backends())
        result = await sms_loop(server.port, next_sms, expected, connections, seconds, follow)
        done.set()
        await sampler
        return result

    messages, requests, through = asyncio.run(run())
    backends.sample(database.backend_pids())
    server_cpu = server.cpu_seconds() - server_before
    client_cpu = inbound.self_cpu() - client_before
    db_cpu = backends.used()
    sms, served = max(len(messages.ok_keys), 1), max(len(requests.ok_keys), 1)
    return {
        "sms": len(messages.ok_keys),
        "requests": len(requests.ok_keys),
        "seconds": round(messages.elapsed, 2),
        "sms_per_s": round(messages.rate(), 1),
        "req_per_s": round(requests.rate(), 1),
        "p50_ms": round(messages.percentile(0.50), 2),
        "p99_ms": round(messages.percentile(0.99), 2),
        "req_p50_ms": round(requests.percentile(0.50), 2),
        "statuses": requests.statuses,
        "errors": messages.errors + requests.timeouts,
        "app_cpu_ms_per_sms": round(server_cpu * 1000 / sms, 3),
        "app_cpu_ms_per_req": round(server_cpu * 1000 / served, 3),
        "pg_cpu_ms_per_sms": round(db_cpu * 1000 / sms, 3),
        "pg_cpu_ms_per_req": round(db_cpu * 1000 / served, 3),
        "client_cpu_ms_per_sms": round(client_cpu * 1000 / sms, 3),
        "machine_busy": procstat.busy_share(machine_before, procstat.machine_ticks()),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }, through


def peer_versions(python: Path) -> dict[str, str]:
    found = subprocess.run(
        [str(python), "-c", VERSIONS, *PEER_PACKAGES], capture_output=True, text=True, check=True
    )
    return json.loads(found.stdout)


def setup_peer(root: Path, python: Path, database: PeerDatabase) -> str:
    """The peer's tables and survey in the bench's schema; returns 'surveys questions'."""
    done = subprocess.run(
        [str(python), "-c", SETUP],
        cwd=root,
        env={**os.environ, **database.env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"peer setup failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def report(label: str, figures: dict[str, Any]) -> None:
    print(
        f"[peer] {label}: {figures['sms']} SMS ({figures['requests']} requests) in"
        f" {figures['seconds']} s: {figures['sms_per_s']} SMS/s, {figures['req_per_s']} req/s,"
        f" p50 {figures['p50_ms']} ms; app CPU {figures['app_cpu_ms_per_sms']} ms/SMS"
        f" ({figures['app_cpu_ms_per_req']} ms/req), PostgreSQL {figures['pg_cpu_ms_per_sms']}"
        f" ms/SMS ({figures['pg_cpu_ms_per_req']} ms/req); busy {figures['machine_busy']:.0%},"
        f" load {figures['load_1min']}, statuses {figures['statuses']}, errors"
        f" {figures['errors']}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-root", type=Path, required=True, help="the peer's checkout")
    parser.add_argument("--peer-python", type=Path, required=True, help="its venv's python")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", inbound.DEFAULT_PG)
    )
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--mode",
        choices=["first", "answer"],
        default="first",
        help="first: first messages only; answer: then each of those numbers answers (at most"
        " --seconds more)",
    )
    parser.add_argument(
        "--no-redirects",
        action="store_true",
        help="send only each SMS's webhook, not the requests Twilio makes for its <Redirect>s",
    )
    args = parser.parse_args(argv)
    if args.mode == "answer" and args.no_redirects:
        parser.error("--mode answer needs the redirects: the first's sets the cookie it answers by")
    root, python = args.peer_root.resolve(), args.peer_python.absolute()
    follow = not args.no_redirects
    versions = peer_versions(python)
    print(f"[peer] {versions}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="voices-bench-peer-"))
    database = PeerDatabase(args.database_url)
    prefix = f"+1{secrets.randbelow(900) + 100}"
    numbers = itertools.count(1)

    def first_sms() -> Job:
        number = next(numbers)
        return Resident(f"{prefix}{number:07d}"), f"Hello, who is this? {number}"

    first_hops = FIRST_HOPS if follow else FIRST_HOPS[:1]
    answer_hops = ANSWER_HOPS if follow else ANSWER_HOPS[:1]
    results: dict[str, Any] = {}
    command: list[str] = []
    try:
        print(f"[peer] schema {database.schema}: {setup_peer(root, python, database)}", flush=True)
        env = {
            **database.env,
            "SECRET_KEY": "bench-" + secrets.token_hex(8),
            "FLASK_ENV": "production",
        }
        server = PeerServer(root, python, env, workdir)
        command = server.command
        print(f"[peer] {' '.join(command)}", flush=True)
        try:
            _, primed = measure(server, database, first_sms, first_hops, 8, args.warmup, follow)
            results["first"], answered = measure(
                server, database, first_sms, first_hops, args.connections, args.seconds, follow
            )
            report("first message", results["first"])
            if args.mode == "answer":
                waiting = collections.deque(primed + answered)

                def answer_sms() -> Job | None:
                    if not waiting:
                        return None
                    resident = waiting.popleft()
                    return resident, f"Ann Example {resident.address[-7:]}"

                before = database.count("answers")
                results["answer"], _ = measure(
                    server,
                    database,
                    answer_sms,
                    answer_hops,
                    args.connections,
                    args.seconds,
                    follow,
                )
                results["answer"]["answers_stored"] = database.count("answers") - before
                report("answer", results["answer"])
        finally:
            server.stop()
    finally:
        database.drop()
    print(
        json.dumps(
            {
                "peer": "automated-survey-flask",
                "mode": args.mode,
                "follow_redirects": follow,
                "connections": args.connections,
                "gunicorn": " ".join(command[1:]),
                "versions": versions,
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
