"""Worker faults: SIGKILL in the middle of a launch, two workers on one PostgreSQL, a hanging
provider. Real `voices worker` processes talk to the loopback Twilio and Telegram fakes."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.sending.sender import FLUSH_EVERY, SenderPolicy
from bot.worker.scheduler import JobContext, Leadership, Worker
from storage.models import Campaign, OutboundMessage, utcnow
from tests.conftest import (
    DATA_KEY,
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    load_twilio,
    post_twilio,
)
from tests.fault_stats import REPORT
from tests.helpers import add_community
from tests.outbox_support import add_residents, fast_sender
from tests.test_campaign_sending import (
    ALWAYS_OPEN,
    FIRST_PROMPT,
    TEST_LIMITS,
    _launch,
    _most_in_any_second,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent
VOICES = str(Path(sys.executable).parent / "voices")
# Claims older than this are queued again by the restarted worker's housekeeping job.
CLAIM_SECONDS = 1.0
THREADS = SenderPolicy().threads_per_lane


def _wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _worker_env(database_url: str, tmp_path: Path, twilio_api, telegram_api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "VOICES_"))
    }
    env.update(
        DATABASE_URL=database_url,
        VOICES_DATA_KEY=DATA_KEY,
        VOICES_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="x",
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM="+447700900000",
        TWILIO_API_BASE_URL=twilio_api.base_url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL=telegram_api.base_url,
        # Fast pacing so 2,000 messages take seconds (one message per chat, so 1/s per chat holds).
        TELEGRAM_MAX_PER_SECOND="300",
        TWILIO_SEGMENTS_PER_SECOND="300",
        VOICES_SENDING_TIMEOUT_SECONDS=str(CLAIM_SECONDS),
    )
    return env


class WorkerProcess:
    """One `voices worker` subprocess, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("wb")
        self.process = subprocess.Popen(
            [VOICES, "worker"], cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait; the worker finishes what is in flight and exits 0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._file.close()


def _prompt_copies(twilio_api, telegram_api) -> Counter:  # type: ignore[no-untyped-def]
    """How many times each recipient got the first prompt, counted at the fakes."""
    copies: Counter = Counter(c.to for c in twilio_api.messages() if c.body == FIRST_PROMPT)
    copies.update(
        str(c.params["chat_id"])
        for c in telegram_api.calls_for("sendMessage")
        if c.answered and c.status == 200 and c.params.get("text") == FIRST_PROMPT
    )
    return copies


def _statuses(services) -> Counter:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return Counter(
            dict(
                session.execute(
                    select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
                ).all()
            )
        )


def test_a_worker_killed_mid_launch_and_restarted_reaches_everyone_repeating_little(
    live_services, twilio_api, telegram_api, database_url, tmp_path
):
    town = add_community(live_services, **ALWAYS_OPEN)
    phones = [f"+4477009{n:05d}" for n in range(1005)]
    chats = [str(6_000_000 + n) for n in range(1005)]
    add_residents(live_services, town, "sms", phones[:1000])
    add_residents(live_services, town, "telegram", chats[:1000])
    add_residents(live_services, town, "sms", phones[1000:], status="opted_out")
    add_residents(live_services, town, "telegram", chats[1000:], status="opted_out")
    eligible = set(phones[:1000]) | set(chats[:1000])
    _launch(live_services, town)
    env = _worker_env(database_url, tmp_path, twilio_api, telegram_api)

    first = WorkerProcess(env, tmp_path / "first.log")
    try:
        _wait_for(
            lambda: sum(_prompt_copies(twilio_api, telegram_api).values()) >= 600,
            30,
            "the first worker to be well into the launch",
        )
        first.kill()
    finally:
        first.stop()
    before = _prompt_copies(twilio_api, telegram_api)
    # Rows the dead worker had claimed: sent but not yet recorded, or not sent at all.
    left_sending = _statuses(live_services)["sending"]
    assert 0 < len(before) < len(eligible), "the kill came in the middle of the launch"

    time.sleep(CLAIM_SECONDS + 0.5)  # let the dead worker's claims expire
    second = WorkerProcess(env, tmp_path / "second.log")
    try:
        _wait_for(
            lambda: (
                set(_prompt_copies(twilio_api, telegram_api)) >= eligible
                and _statuses(live_services)["sent"] == len(eligible)
            ),
            40,
            "the restarted worker to finish the launch",
        )
    finally:
        second.stop()
    assert second.process.returncode == 0, second.output()
    assert "Traceback" not in second.output()

    copies = _prompt_copies(twilio_api, telegram_api)
    assert set(copies) == eligible, "every joined resident, and no one who opted out"
    duplicates = sum(n - 1 for n in copies.values())
    repeated = sum(1 for n in copies.values() if n > 1)
    assert max(copies.values()) <= 2
    assert _statuses(live_services) == Counter({"sent": len(eligible)})
    # A repeat is a message the provider took whose 'sent' the dead worker had not recorded:
    # always one of the rows it left 'sending'. The sender records sent rows in batches (every
    # FLUSH_EVERY messages or 0.5 s), so the bound is not one claim batch: it is one batch being
    # written plus one filling, plus the sends on the wire (threads per lane, SMS and Telegram).
    bound = 2 * FLUSH_EVERY + 2 * THREADS
    line = (
        f"SIGKILL mid-launch: {sum(before.values())} of {len(eligible)} prompts out at the kill, "
        f"{left_sending} rows left 'sending', {duplicates} duplicate(s) after the restart "
        f"(bound {bound})"
    )
    REPORT.append(line)
    print(line)
    assert duplicates == repeated
    assert duplicates <= left_sending
    assert duplicates <= bound


def test_two_workers_on_one_postgresql_send_each_message_once(
    live_services, twilio_api, telegram_api, database_url, tmp_path
):
    if not live_services.db.is_postgresql:
        pytest.skip("SQLite has one worker process; two workers need PostgreSQL")
    town = add_community(live_services, **ALWAYS_OPEN)
    phones = [f"+4477008{n:05d}" for n in range(1000)]
    chats = [str(6_100_000 + n) for n in range(1000)]
    add_residents(live_services, town, "sms", phones)
    add_residents(live_services, town, "telegram", chats)
    # Scheduled for later, then due: the leader's activation job fans the launch out.
    campaign_id = _launch(live_services, town, starts_at=utcnow() + timedelta(hours=1))
    env = _worker_env(database_url, tmp_path, twilio_api, telegram_api)
    # The rates are the deployment's: each worker paces to half of them, 50/s, well under what
    # one worker manages here (90-100/s), so the halving shows at the provider. Each worker has
    # its own sending number and bot token, so the fakes can tell whose message each one was.
    env.update(TELEGRAM_MAX_PER_SECOND="100", TWILIO_SEGMENTS_PER_SECOND="100")
    workers = [
        WorkerProcess(
            {**env, "TWILIO_FROM": f"+44770090000{n}", "TELEGRAM_BOT_TOKEN": f"12345{n}:TEST"},
            tmp_path / f"worker{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        _wait_for(lambda: all("worker: sending" in w.output() for w in workers), 20, "both workers")
        _wait_for(
            lambda: all("2 worker(s) share the providers' limits" in w.output() for w in workers),
            20,
            "each worker to hear the other's heartbeat",
        )
        with live_services.db.session_scope() as session:
            session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(starts_at=utcnow() - timedelta(seconds=1))
            )
        _wait_for(
            lambda: _statuses(live_services)["sent"] == 2000,
            40,
            "the two workers to send the launch",
        )
    finally:
        for worker in workers:
            worker.stop()
    outputs = [w.output() for w in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.process.returncode == 0, output
        assert "Traceback" not in output

    copies = _prompt_copies(twilio_api, telegram_api)
    assert set(copies) == set(phones) | set(chats)
    assert set(copies.values()) == {1}, "no message sent twice"
    leaders = [output.count("this worker now runs the scheduled jobs") for output in outputs]
    assert sorted(leaders) == [0, 1], "exactly one worker runs the scheduled jobs"
    shares = [
        sum(1 for c in twilio_api.messages() if c.from_ == f"+44770090000{n}")
        + sum(1 for c in telegram_api.calls_for("sendMessage") if c.token == f"12345{n}:TEST")
        for n in (1, 2)
    ]
    assert sum(shares) == 2000
    assert min(shares) > 0, f"both workers sent part of the launch ({shares})"
    # The providers' own clocks: each worker kept to half the deployment's rates, and the two
    # together to the whole.
    sms_times = {
        n: [c.at for c in twilio_api.messages() if c.from_ == f"+44770090000{n}"] for n in (1, 2)
    }
    telegram_times = {
        n: [c.at for c in telegram_api.calls_for("sendMessage") if c.token == f"12345{n}:TEST"]
        for n in (1, 2)
    }
    # At a rate this slow the pacer lets at most 50 go in any 1.01 s; a message let go just
    # before a second began can still reach the provider in it, at most one per sending thread.
    most = [_most_in_any_second(times) for times in (*sms_times.values(), *telegram_times.values())]
    assert max(most) <= 50 + THREADS, f"a worker went past its half of the rates: {most}"
    for together in (sms_times[1] + sms_times[2], telegram_times[1] + telegram_times[2]):
        assert _most_in_any_second(together) <= 100 + 2 * THREADS
    REPORT.append(
        f"two workers: 2000 prompts, each sent once, split {shares[0]}/{shares[1]}, at most "
        f"{max(most):.0f} a second each against 100/s shared; "
        f"scheduled jobs on worker {leaders.index(1) + 1} only"
    )


def test_a_hanging_provider_times_out_retries_and_the_sms_webhook_stays_fast(
    live_services, live_client, twilio_api, telegram_api
):
    town = add_community(live_services, **ALWAYS_OPEN)
    phones = [f"+4477007{n:05d}" for n in range(20)]
    chats = [str(6_200_000 + n) for n in range(20)]
    add_residents(live_services, town, "sms", phones)
    add_residents(live_services, town, "telegram", chats)
    # Every sending thread's first request hangs far longer than the clients wait (Twilio 10 s,
    # python-telegram-bot's 5 s read timeout).
    twilio_api.hang_next(120, count=THREADS)
    telegram_api.hang_next("sendMessage", 120, count=THREADS)
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    leadership = Leadership(live_services.db, key=secrets.randbits(48))
    worker = Worker(
        JobContext(live_services.db, live_services.vault, sender), leadership=leadership
    )
    worker.start()
    try:
        _wait_for(lambda: len(twilio_api.calls) >= THREADS, 10, "the Twilio sends to hang")
        started = time.monotonic()
        answer = post_twilio(live_client, "/webhooks/twilio/sms", load_twilio("sms_keyword"))
        took = time.monotonic() - started
        assert answer.status_code == 200
        assert took < 1.0, f"the SMS webhook took {took:.2f} s during the hang"
        _wait_for(lambda: _statuses(live_services)["sent"] >= 40, 40, "the retries to get through")
    finally:
        worker.stop()

    copies = _prompt_copies(twilio_api, telegram_api)
    assert set(copies) == set(phones) | set(chats), "nothing lost"
    # The hung requests never got an answer, so the fakes count nothing twice.
    assert set(copies.values()) == {1}
    with live_services.db.session_scope() as session:
        retried = session.scalar(
            select(func.count()).where(
                OutboundMessage.kind == "prompt", OutboundMessage.attempts >= 2
            )
        )
        assert retried == 2 * THREADS, "each hung send timed out and went again"
    REPORT.append(
        f"hanging provider: {2 * THREADS} sends timed out and were retried; "
        f"an SMS webhook during the hang answered in {took * 1000:.0f} ms"
    )
