"""Reach simulation: does the nudge sweep get the quietest group heard at least twice as often?

A community of residents in three self-described groups answers with different chances (by
default 60 %, 30 % and 10 %) on a day a message reaches them. One campaign (one prompt, nudges
after 2 days, at most 2) runs in simulated time, once without the sweep and once with it.
Everything that matters is the real code on a real database: the sweep in bot/nudges.py decides
who is nudged and when, and every answer goes through the real inbox and engine. The bench
plays only the residents and the sender (it marks queued nudges sent at their time).

    .venv/bin/python bench/reach.py [--residents 10000] [--days 14] [--seed 7]

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, update

from bot.campaigns import nudges
from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.conversation import inbox
from bot.messages import Inbound
from bot.sending.quiet_hours import SendingHours
from storage.crypto import Vault
from storage.db import Database
from storage.models import (
    Assignment,
    Community,
    OutboundMessage,
    ProfileAnswer,
    ProfileQuestion,
    Resident,
)

# A Monday morning, 10:00 in London (winter, so UTC); in the past, so the campaign has started.
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)
GROUPS = {"Riverside": 0.60, "Hillside": 0.30, "Northfield": 0.10}
CAMPAIGN = """\
slug: reach
title: Reach
prompts:
  - id: wish
    text: What would make where you live better?
nudge:
  after: 2d
  max: 2
  text: Still keen to hear from you. What would make where you live better?
thanks: Thank you!
"""


@dataclass
class Run:
    """One simulated campaign: who answered, and what the sweep queued."""

    heard: dict[str, int] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    nudges: int = 0
    nudged_in_quiet_hours: int = 0
    max_nudges_per_resident: int = 0
    sweep_seconds: float = 0.0
    sweeps: int = 0

    def share(self, group: str) -> float:
        return 100.0 * self.heard.get(group, 0) / self.size[group]


def address_of(number: int) -> str:
    """The made-up phone number of the `number`-th resident."""
    return f"+4477{number:08d}"


def build(db: Database, vault: Vault, residents: int, rng: random.Random) -> dict[int, str]:
    """A community, its campaign, and residents who joined and were asked at START."""
    with db.session_scope() as session:
        community = Community(
            slug="reach", name="Reach", keyword="REACH", created_at=START - timedelta(days=1)
        )
        session.add(community)
        session.flush()
        question = ProfileQuestion(
            community_id=community.id,
            position=1,
            key="area",
            text="Which part of town do you live in?",
            choices={"choices": list(GROUPS)},
        )
        session.add(question)
        campaign = launch(session, community, parse_prompt_file(CAMPAIGN), starts_at=START)
        campaign.status = "active"
        prompt_id = campaign.prompts[0].id
        session.flush()
        groups = [rng.choice(list(GROUPS)) for _ in range(residents)]
        rows = []
        for number in range(residents):
            address = address_of(number)
            address_hash = vault.address_hash("simulator", address)
            rows.append(
                {
                    "community_id": community.id,
                    "channel": "simulator",
                    "address_enc": vault.encrypt(address),
                    "address_hash": address_hash,
                    "pseudonym": vault.pseudonym("reach", address_hash),
                    "status": "joined",
                    "created_at": START,
                    "joined_at": START,
                }
            )
        session.execute(insert(Resident), rows)
        by_hash = dict(session.execute(select(Resident.address_hash, Resident.id)).all())
        ids = [by_hash[row["address_hash"]] for row in rows]
        session.execute(
            insert(ProfileAnswer),
            [
                {
                    "resident_id": rid,
                    "question_id": question.id,
                    "choice": group,
                    "asked_at": START,
                    "answered_at": START,
                }
                for rid, group in zip(ids, groups, strict=True)
            ],
        )
        session.execute(
            insert(Assignment),
            [
                {
                    "resident_id": rid,
                    "prompt_id": prompt_id,
                    "campaign_id": campaign.id,
                    "status": "pending",
                    "assigned_at": START,
                    "nudges_sent": 0,
                }
                for rid in ids
            ],
        )
        return dict(zip(ids, groups, strict=True))


def answer_time(moment: datetime, rng: random.Random) -> datetime:
    """When someone who will answer a message that reached them at `moment` does so."""
    return moment + timedelta(minutes=rng.uniform(5, 6 * 60))


def simulate(residents: int, days: int, seed: int, with_nudges: bool, workdir: Path) -> Run:
    """Run one campaign in simulated time on a fresh SQLite database."""
    rng = random.Random(seed)
    name = "with" if with_nudges else "without"
    db = Database(f"sqlite:///{workdir / f'reach-{name}.db'}")
    db.upgrade()
    vault = Vault(Fernet.generate_key().decode())
    groups = build(db, vault, residents, rng)
    addresses = {rid: address_of(number) for number, rid in enumerate(groups)}
    run = Run(size={g: sum(1 for v in groups.values() if v == g) for g in GROUPS})
    hours = SendingHours("Europe/London", "20:00", "09:00")

    # The first prompt reaches everyone at START; each decides with their group's chance.
    due: list[tuple[datetime, int]] = []
    for rid, group in groups.items():
        if rng.random() < GROUPS[group]:
            heapq.heappush(due, (answer_time(START, rng), rid))
    answered: set[int] = set()
    now = START
    end = START + timedelta(days=days)
    while now <= end:
        if with_nudges:
            began = time.perf_counter()
            with db.session_scope() as session:
                nudges.sweep(session, now)
            run.sweep_seconds += time.perf_counter() - began
            run.sweeps += 1
            deliver(db, groups, run, hours, now, rng, due, answered)
        while due and due[0][0] <= now:
            moment, rid = heapq.heappop(due)
            if rid in answered:
                continue
            answered.add(rid)
            inbox.receive(
                db,
                vault,
                Inbound(
                    channel="simulator",
                    address=addresses[rid],
                    text="More places to sit, and the bus on Sundays.",
                    external_id=f"sim-{name}-{rid}",
                    received_at=moment,
                ),
            )
        now += STEP
    with db.session_scope() as session:
        heard = session.execute(
            select(ProfileAnswer.choice, func.count())
            .join(Resident, Resident.id == ProfileAnswer.resident_id)
            .where(Resident.last_heard_at.is_not(None))
            .group_by(ProfileAnswer.choice)
        ).all()
        run.heard = {group: count for group, count in heard}
        per_resident = (
            select(func.count().label("n"))
            .where(OutboundMessage.kind == "nudge")
            .group_by(OutboundMessage.resident_id)
            .subquery()
        )
        run.max_nudges_per_resident = session.scalar(select(func.max(per_resident.c.n))) or 0
    db.dispose()
    return run


def deliver(
    db: Database,
    groups: dict[int, str],
    run: Run,
    hours: SendingHours,
    now: datetime,
    rng: random.Random,
    due: list[tuple[datetime, int]],
    answered: set[int],
) -> None:
    """Play the sender: queued nudges leave at their time; each reached resident may answer."""
    with db.session_scope() as session:
        rows = session.execute(
            select(
                OutboundMessage.id, OutboundMessage.resident_id, OutboundMessage.next_attempt_at
            ).where(
                OutboundMessage.kind == "nudge",
                OutboundMessage.status == "queued",
                OutboundMessage.next_attempt_at <= now,
            )
        ).all()
        for _, rid, leaves in rows:
            run.nudges += 1
            run.nudged_in_quiet_hours += int(hours.is_quiet(leaves))
            if rid not in answered and rng.random() < GROUPS[groups[rid]]:
                heapq.heappush(due, (answer_time(leaves, rng), rid))
        if rows:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_([row[0] for row in rows]))
                .values(status="sent", sent_at=now)
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        began = time.perf_counter()
        without = simulate(args.residents, args.days, args.seed, False, Path(workdir))
        with_ = simulate(args.residents, args.days, args.seed, True, Path(workdir))
        elapsed = time.perf_counter() - began
    print(f"{args.residents} residents, {args.days} days, nudge after 2d, max 2")
    print(f"{'group':<12} {'chance':>7} {'people':>7} {'heard without':>14} {'heard with':>11}")
    for group, chance in GROUPS.items():
        print(
            f"{group:<12} {chance:>7.0%} {without.size[group]:>7} "
            f"{without.share(group):>13.1f}% {with_.share(group):>10.1f}%"
        )
    print(
        f"nudges queued and sent: {with_.nudges}; sweeps: {with_.sweeps}, "
        f"{1000 * with_.sweep_seconds / max(with_.sweeps, 1):.1f} ms each on average; "
        f"whole run {elapsed:.0f} s"
    )
    quiet = min(GROUPS, key=GROUPS.__getitem__)
    print(
        json.dumps(
            {
                "quiet_heard_without": round(without.share(quiet), 1),
                "quiet_heard_with": round(with_.share(quiet), 1),
                "max_nudges_per_resident": with_.max_nudges_per_resident,
                "nudge_max": parse_prompt_file(CAMPAIGN).nudge_max,
                "nudged_in_quiet_hours": with_.nudged_in_quiet_hours,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
