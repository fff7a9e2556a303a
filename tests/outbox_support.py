"""Helpers for sending tests: many residents at once, and running the sender until it is idle."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from bot.cli.sending import build_sender
from bot.sending.pacing import Pacer, PacingLimits
from bot.sending.sender import OutboxSender, SenderPolicy
from bot.services import Services
from storage.models import OutboundMessage, Resident, utcnow

FAST_POLICY = SenderPolicy(batch_size=50, base_backoff_seconds=0.05, max_backoff_seconds=0.2)


def add_residents(
    services: Services,
    community_id: int,
    channel: str,
    addresses: list[str],
    status: str = "joined",
    last_inbound_at: datetime | None = None,
) -> list[int]:
    """Insert residents with encrypted addresses, as joining would leave them; return their ids."""
    vault = services.vault
    rows = []
    for address in addresses:
        address_hash = vault.address_hash(channel, address)
        rows.append(
            {
                "community_id": community_id,
                "channel": channel,
                "address_enc": vault.encrypt(address),
                "address_hash": address_hash,
                "pseudonym": vault.pseudonym(str(community_id), address_hash),
                "status": status,
                "created_at": utcnow(),
                "joined_at": utcnow(),
                "last_inbound_at": last_inbound_at,
            }
        )
    with services.db.session_scope() as session:
        session.execute(insert(Resident), rows)
        hashes = [row["address_hash"] for row in rows]
        return list(
            session.scalars(
                select(Resident.id)
                .where(Resident.address_hash.in_(hashes), Resident.community_id == community_id)
                .order_by(Resident.id)
            )
        )


def fast_sender(services: Services, limits: PacingLimits, policy: SenderPolicy = FAST_POLICY):  # type: ignore[no-untyped-def]
    """The production sender over the services' channels, with quick retries for tests."""
    built = build_sender(services, limits=limits, policy=policy)
    assert isinstance(built.pacer, Pacer)
    return built


def open_rows(services: Services) -> int:
    """Rows due within a few seconds: queued, or failed with a retry planned."""
    soon = utcnow() + timedelta(seconds=5)
    with services.db.session_scope() as session:
        table = OutboundMessage
        return (
            session.scalar(
                select(func.count()).where(
                    table.status.in_(("queued", "failed")),
                    table.next_attempt_at <= soon,
                )
            )
            or 0
        )


def send_until_idle(sender: OutboxSender, services: Services, timeout: float = 30.0) -> None:
    """Run every lane, as the worker's jobs do, until nothing is left to send."""
    deadline = time.monotonic() + timeout
    while open_rows(services):
        assert time.monotonic() < deadline, "the sender did not finish in time"
        threads = [
            threading.Thread(target=sender.drain_lane, args=(lane,)) for lane in sender.lanes()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.02)
