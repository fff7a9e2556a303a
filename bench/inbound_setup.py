"""Databases for the inbound benchmark: a fresh schema, a town mid-campaign, the final count."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.ceiling_app import metadata as ceiling_metadata
from storage.crypto import Vault
from storage.db import Database
from storage.models import (
    Assignment,
    Campaign,
    Community,
    InboundMessage,
    OutboundMessage,
    Prompt,
    Resident,
    utcnow,
)
from storage.models import Response as ResponseRow

APPLICATION_NAME = "voices-bench"
FIRST_CHAT_ID = 7_000_000_000


@dataclass(frozen=True)
class Sender:
    """A resident the load generator speaks for."""

    index: int
    channel: str
    address: str


class BenchDatabase:
    """A throwaway database: its own PostgreSQL schema, or a SQLite file."""

    def __init__(self, kind: str, server_url: str, workdir: Path) -> None:
        self.kind = kind
        self.schema = ""
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
            return
        self.schema = f"bench_{secrets.token_hex(4)}"
        self._admin = create_engine(server_url)
        with self._admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        url = make_url(server_url).update_query_dict(
            {"options": f"-csearch_path={self.schema}", "application_name": APPLICATION_NAME}
        )
        self.url = url.render_as_string(hide_password=False)

    def backend_pids(self) -> list[int]:
        """PostgreSQL backends serving this benchmark's connections."""
        if self.kind == "sqlite":
            return []
        with self._admin.connect() as connection:
            return list(
                connection.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                )
            )

    def drop(self) -> None:
        if self.kind == "sqlite":
            return
        with self._admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self._admin.dispose()


# With --closed-questions every prompt offers these: a choice answer's path, measured.
CHOICES = {"choices": [{"en": c} for c in ("Very safe", "Quite safe", "Not safe", "Unsafe")]}


def seed(
    url: str, data_key: str, residents: int, prompts: int, closed: bool = False
) -> list[Sender]:
    """Migrate, then create a town whose residents have joined and each have a prompt pending
    (closed questions with four choices when `closed`)."""
    db = Database(url)
    db.upgrade()
    ceiling_metadata.create_all(db.engine)
    vault = Vault(data_key)
    senders = [
        Sender(i, "sms", f"+4477{i:08d}")
        if i % 2 == 0
        else Sender(i, "telegram", str(FIRST_CHAT_ID + i))
        for i in range(residents)
    ]
    now = utcnow()
    with db.session_scope() as session:
        town = Community(slug="benchtown", name="Bench Town", keyword="BENCHTOWN")
        session.add(town)
        session.flush()
        campaign = Campaign(
            community_id=town.id, slug="bench", title="Bench", language="en", starts_at=now
        )
        campaign.prompts = [
            Prompt(
                position=n,
                key=f"q{n}",
                text={"en": f"Question {n}: what would you change?"},
                form=CHOICES if closed else None,
            )
            for n in range(prompts)
        ]
        session.add(campaign)
        session.flush()
        first_prompt = campaign.prompts[0].id
        rows = []
        for sender in senders:
            address_hash = vault.address_hash(sender.channel, sender.address)
            rows.append(
                {
                    "community_id": town.id,
                    "channel": sender.channel,
                    "address_enc": vault.encrypt(sender.address),
                    "address_hash": address_hash,
                    "pseudonym": vault.pseudonym(town.slug, address_hash),
                    "status": "joined",
                    "language": "en",
                    "created_at": now,
                    "joined_at": now,
                }
            )
        session.execute(insert(Resident), rows)
        ids = session.scalars(select(Resident.id).order_by(Resident.id)).all()
        session.execute(
            insert(Assignment),
            [
                {
                    "resident_id": rid,
                    "prompt_id": first_prompt,
                    "campaign_id": campaign.id,
                    "status": "pending",
                    "assigned_at": now,
                }
                for rid in ids
            ],
        )
        # The launch that asked them left one sent prompt each in the outbox, as a real town's
        # would: the planner's statistics then describe an outbox with rows in it (analysed
        # empty, a plan cached early in the run scans all of it for every message as it grows;
        # see BENCHMARKS.md, Inbound, 2026-12-06).
        first_text = campaign.prompts[0].text["en"]
        session.execute(
            insert(OutboundMessage),
            [
                {
                    "community_id": town.id,
                    "resident_id": rid,
                    "channel": sender.channel,
                    "kind": "prompt",
                    "text": first_text,
                    "status": "sent",
                    "dedupe_key": f"prompt:{rid}:{first_prompt}:1",
                    "campaign_id": campaign.id,
                    "prompt_id": first_prompt,
                    "attempts": 1,
                    "created_at": now,
                    "sent_at": now,
                }
                for rid, sender in zip(ids, senders, strict=True)
            ],
        )
    analyse(db)
    db.dispose()
    return senders


def analyse(db: Database) -> None:
    """Give the planner statistics for the freshly seeded tables, as autovacuum would soon.

    Without them PostgreSQL plans the inbound context query for empty tables (it scans every
    pending assignment); a real database that has held a town for a while has statistics.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        tables = (
            "communities",
            "campaigns",
            "prompts",
            "residents",
            "assignments",
            "inbound_messages",
            "outbound_messages",
            "responses",
            "profile_answers",
        )
        # Only this schema's tables (the search path names it): a bare ANALYZE would visit
        # every schema of the shared server.
        connection.execute(text("ANALYZE " + ", ".join(tables)))


@dataclass(frozen=True)
class Verdict:
    """Every acknowledged message stored once and processed; each processed one answered once."""

    acknowledged: int
    stored: int
    processed: int
    responses: int
    missing_or_unprocessed: int
    residents_with_mismatch: int
    stored_once: bool


def verify(url: str, ok_keys: list[tuple[str, str, str]], data_key: str) -> Verdict:
    """Compare what the server acknowledged with what the database holds.

    Messages the client gave up on (timeouts) may still have been processed by the server; they
    count in `processed` and must have their response too, but are not required to exist.
    """
    db = Database(url)
    with db.session_scope() as session:
        stored = {
            (channel, provider_id): processed is not None
            for channel, provider_id, processed in session.execute(
                select(
                    InboundMessage.channel, InboundMessage.provider_id, InboundMessage.processed_at
                )
            )
        }
        processed_per_resident = dict(
            session.execute(
                select(InboundMessage.resident_id, func.count(InboundMessage.id))
                .where(InboundMessage.processed_at.is_not(None))
                .group_by(InboundMessage.resident_id)
            ).all()
        )
        responses_per_resident = dict(
            session.execute(
                select(ResponseRow.resident_id, func.count(ResponseRow.id)).group_by(
                    ResponseRow.resident_id
                )
            ).all()
        )
    db.dispose()
    wanted = {(channel, pid) for channel, pid, _ in ok_keys}
    missing = sum(1 for key in wanted if not stored.get(key))
    mismatched = sum(
        1
        for resident, count in processed_per_resident.items()
        if responses_per_resident.get(resident, 0) != count
    )
    processed = sum(1 for done in stored.values() if done)
    responses = sum(responses_per_resident.values())
    once = len(wanted) == len(ok_keys) and missing == 0 and mismatched == 0
    once = once and processed == responses
    return Verdict(len(ok_keys), len(stored), processed, responses, missing, mismatched, once)
