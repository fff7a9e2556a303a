"""Opting a resident out, written once: status, consents and everything still to send to them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.sending.outbox.transitions import cancel_for_resident
from storage.models import Consent, Resident, utcnow
from storage.statuses import ResidentStatus

# The statuses that mean nothing more may be sent.
STOPPED = (ResidentStatus.OPTED_OUT, ResidentStatus.UNREACHABLE)


def opt_out(
    session: Session | Connection,
    resident_ids: Iterable[int],
    status: ResidentStatus = ResidentStatus.OPTED_OUT,
    now: datetime | None = None,
) -> int:
    """Stop sending to residents: opted out (their choice) or unreachable (the provider's word).

    Sets the status (and opted_out_at, for an opt-out), withdraws every consent still open and
    cancels every message still to send; messages already sent stay as they are. A resident
    already in that status keeps the time they first got it. Returns the residents changed.
    """
    if status not in STOPPED:
        raise ValueError(f"{status!r} does not stop sending")
    ids = list(resident_ids)
    if not ids:
        return 0
    now = now or utcnow()
    values: dict[str, object] = {"status": status}
    if status == ResidentStatus.OPTED_OUT:
        values["opted_out_at"] = now
    changed = session.execute(
        update(Resident).where(Resident.id.in_(ids), Resident.status != status).values(**values)
    ).rowcount
    session.execute(
        update(Consent)
        .where(Consent.resident_id.in_(ids), Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    cancel_for_resident(session, ids, f"resident is {status}")
    return changed or 0


def opt_out_blocked(session: Session, address_hash: str, now: datetime | None = None) -> int:
    """A resident blocked us at the provider: opt out each of their records; return how many."""
    ids = session.scalars(select(Resident.id).where(Resident.address_hash == address_hash))
    return opt_out(session, list(ids), ResidentStatus.OPTED_OUT, now)
