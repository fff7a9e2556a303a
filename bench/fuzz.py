"""The fuzz: N hostile requests to the app under gunicorn in production mode, and no 5xx.

Run from the repository root (each database gets its own schema or file, dropped after):
  .venv/bin/python -m bench.fuzz --db sqlite
  .venv/bin/python -m bench.fuzz --db postgresql --database-url postgresql+psycopg://.../NAME
Signed Twilio webhooks and Telegram updates with the secret, over mutated real payloads, and
every page in the url_map as admin, organiser, staff and nobody (bench/fuzz_cases.py,
bench/fuzz_admin.py). Only 127.0.0.1. Exits 1 on any 5xx or unanswered request, 2 on the deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench import fuzz_admin, fuzz_cases, fuzz_voice
from bench.fuzz_cases import Case, Target

PASSWORD = "fuzz: a long passphrase nobody guesses"
USERS = {
    "admin": "admin@fuzz.example",
    "organiser": "org@fuzz.example",
    "staff": "staff@fuzz.example",
}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SHOWN = 8


def generate(rng: random.Random, target: Target, count: int) -> Iterator[Case]:
    """`count` requests: SMS, delivery callbacks, calls, Telegram, and a third to the pages."""
    makers = [
        fuzz_cases.twilio_sms,
        fuzz_cases.twilio_status,
        fuzz_voice.twilio_voice,
        fuzz_cases.telegram,
        fuzz_admin.page,
    ]
    for _ in range(count):
        yield rng.choices(makers, [20, 8, 12, 25, 35])[0](rng, target)


def page_rules(app: Any) -> list[tuple[str, frozenset[str], str]]:
    """Every rule of the app but the provider webhooks (fuzzed with their own payloads)."""
    return sorted(
        (rule.rule, frozenset(rule.methods - {"HEAD", "OPTIONS"}), rule.endpoint)
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/webhooks/")
    )


@dataclass
class Tally:
    """What the fuzz saw: statuses, 5xx per route, the first failures in full."""

    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    by_route: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, case: Case, status: int, detail: str = "") -> None:
        with self.lock:
            self.statuses[status] += 1
            self.by_route[case.route, status] += 1
            if status >= 500 or status == 0:
                self.server_errors[f"{case.method} {case.route}"] += 1
                if len(self.failures) < SHOWN:
                    self.failures.append(
                        f"{status} {case.method} {case.path[:160]}\n    {case.summary[:300]}"
                        + (f"\n    {detail[:300]}" if detail[:1] not in ("", "<") else "")
                    )

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def report(self) -> str:
        elapsed = max((self.finished or time.perf_counter()) - self.started, 1e-9)
        lines = [
            f"requests: {self.count} in {elapsed:.1f} s ({self.count / elapsed:.0f} req/s)",
            "statuses: "
            + ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(self.statuses.items())),
            f"5xx or no answer: {sum(self.server_errors.values())}",
        ]
        lines += [f"  {n:>5}  {route}" for route, n in self.server_errors.most_common()]
        if self.failures:
            lines.append(f"first {len(self.failures)}:")
            lines += ["  " + failure for failure in self.failures]
        return "\n".join(lines)


def answer_in_process(client: Any, case: Case) -> tuple[int, str]:
    """Send one case through a Flask test client; an exception that escapes counts as a 500."""
    try:
        response = client.open(case.path, method=case.method, data=case.body, headers=case.headers)
    except Exception as exc:  # the fuzz reports whatever escaped the app
        return 500, f"{type(exc).__name__}: {str(exc)[:200]}"
    return response.status_code, response.get_data()[:200].decode("latin-1")


class Caller:
    """One keep-alive HTTP/1.1 connection to the app, with a browser's cookies per role."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port, self.cookies = port, cookies
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, case: Case) -> tuple[int, str]:
        headers = dict(case.headers)
        if case.who in self.cookies:
            headers["Cookie"] = self.cookies[case.who]
        for attempt in (1, 2):
            try:
                # gunicorn answers a too-long request line (414) before reading the body.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.connection.request(case.method, case.path, case.body, headers)
                response = self.connection.getresponse()
                return response.status, " ".join(response.read()[:300].decode("latin-1").split())
            except (OSError, http.client.HTTPException) as exc:
                self.connection.close()
                if attempt == 2:
                    return 0, f"{type(exc).__name__}: {exc}"
        raise AssertionError("unreachable")


def run(
    port: int, cases: Iterator[Case], cookies: dict[str, str], deadline: float, threads: int = 4
) -> tuple[Tally, bool]:
    """Send every case from `threads` connections; return the tally and whether all were sent."""
    tally, lock = Tally(), threading.Lock()
    stop = threading.Event()
    broken: list[BaseException] = []

    def work() -> None:
        caller = Caller(port, cookies)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    case = next(cases, None)
                if case is None:
                    return
                tally.record(case, *caller.send(case))
        except BaseException as exc:  # a bug in the generator must not pass for a clean run
            broken.append(exc)
            stop.set()
        finally:
            caller.connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    tally.finished = time.perf_counter()
    if broken:
        raise broken[0]
    with lock:
        complete = next(cases, None) is None
    return tally, complete


def _get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body, _session_cookie(response) or cookie


def _session_cookie(response: http.client.HTTPResponse) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";", 1)[0]
    return ""


def log_in(port: int, email: str | None) -> tuple[str, str]:
    """Log in through the real form (or only open it, for nobody); (cookie, CSRF token)."""
    from urllib.parse import urlencode

    _, page, cookie = _get(port, "/admin/login")
    token = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    if email is None:
        return cookie, token
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    headers = {"Cookie": cookie, "Content-Type": fuzz_cases.FORM}
    connection.request("POST", "/admin/login", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 302:
        raise SystemExit(f"could not log in as {email}: {response.status}")
    cookie = _session_cookie(response)
    _, home, cookie = _get(port, "/admin/", cookie)
    return cookie, CSRF_RE.search(home).group(1)  # type: ignore[union-attr]


def seed_people(url: str) -> None:
    """A second community nobody but the admin sees, and the three logins, via storage."""
    from storage import users
    from storage.db import Database
    from storage.models import Community

    db = Database(url)
    with db.session_scope() as session:
        session.add(Community(slug="othertown", name="Other Town", keyword="OTHERTOWN"))
        session.flush()
        users.create_user(session, USERS["admin"], PASSWORD, "admin", [])
        users.create_user(session, USERS["organiser"], PASSWORD, "organiser", ["benchtown"])
        users.create_user(session, USERS["staff"], PASSWORD, "staff", ["benchtown"])
    db.dispose()


def fuzz_database(kind: str, args: argparse.Namespace) -> tuple[Tally, bool]:
    """Seed a town, start gunicorn in production mode, log in, send the requests."""
    from bench import inbound
    from bench.inbound_setup import FIRST_CHAT_ID, BenchDatabase, seed

    workdir = Path(tempfile.mkdtemp(prefix=f"voices-fuzz-{kind}-"))
    database = BenchDatabase(kind, args.database_url, workdir)
    data_key = Fernet.generate_key().decode()
    fake = inbound.FakeTelegram()
    try:
        senders = seed(database.url, data_key, args.residents, 3)
        seed_people(database.url)
        env = inbound.app_env(database, data_key, fake)
        server = inbound.Server(env, workdir)
        try:
            sessions = {role: log_in(server.port, email) for role, email in USERS.items()}
            sessions["anon"] = log_in(server.port, None)
            target = Target(
                base_url=inbound.PUBLIC_BASE_URL,
                twilio_token=inbound.TWILIO_TOKEN,
                telegram_secret=inbound.TELEGRAM_SECRET,
                sms_senders=[s.address for s in senders if s.channel == "sms"],
                telegram_chats=[int(s.address) for s in senders if s.channel == "telegram"],
                slugs=["benchtown", "othertown"],
                campaigns=["bench"],
                group_keys=["area"],
                tokens={role: token for role, (_, token) in sessions.items()},
                rules=page_rules(_app_for_rules()),
                next_id=FIRST_CHAT_ID,
            )
            cases = generate(random.Random(args.seed), target, args.requests)
            cookies = {role: cookie for role, (cookie, _) in sessions.items()}
            deadline = time.monotonic() + args.seconds
            print(f"[{kind}] {args.requests} requests, seed {args.seed}", flush=True)
            outcome = run(server.port, cases, cookies, deadline, args.threads)
        finally:
            server.stop()
            print(f"[{kind}] server log: {server.log.name}")
    finally:
        fake.stop()
        database.drop()
    return outcome


def _app_for_rules() -> Any:
    """The app's url_map, from an app built against a throwaway SQLite file (nothing runs)."""
    from bot.config import Settings
    from webhooks.app import create_app

    where = Path(tempfile.mkdtemp(prefix="voices-fuzz-rules-"))
    settings = Settings(
        database_url=f"sqlite:///{where / 'rules.db'}",
        secret_key="rules",
        data_key=Fernet.generate_key().decode(),
        env="development",
        public_base_url="https://rules.invalid",
        instance_path=where,
    )
    return create_app(settings)


def main(argv: list[str] | None = None) -> None:
    from bench.inbound import DEFAULT_PG

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=1200, help="deadline for the whole run")
    parser.add_argument("--threads", type=int, default=4, help="connections sending at once")
    parser.add_argument("--residents", type=int, default=60)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server for --db")
    args = parser.parse_args(argv)
    failed, late = False, False
    for kind in ["postgresql", "sqlite"] if args.db == "both" else [args.db]:
        tally, complete = fuzz_database(kind, args)
        print(f"[{kind}] " + tally.report().replace("\n", f"\n[{kind}] "), flush=True)
        if not complete:
            print(f"[{kind}] deadline of {args.seconds:g} s passed before every request was sent")
            late = True
        failed = failed or bool(tally.server_errors)
    sys.exit(1 if failed else 2 if late else 0)


if __name__ == "__main__":
    main()
