"""Slowing down password guessing: a growing delay per account, a cap per network address.

An account is never locked: after a few failures each further try must wait a delay that
doubles up to a ceiling, so a guesser gets a handful of tries an hour while the owner, who
waits that delay, still gets in. Tries refused during a delay are not counted, so no one can
hold the account by hammering it. Separately, one address may fail only so often across all
accounts, which stops spraying one common password over many e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
ACCOUNT_FREE_TRIES = 5
FIRST_DELAY_SECONDS = 2
MAX_DELAY_SECONDS = 300
ADDRESS_MAX_FAILURES = 30


@dataclass(frozen=True)
class Refusal:
    """Why a login may not be tried now, in one sentence, and when it may."""

    message: str
    retry_after: int


def account_delay(failures: int) -> int:
    """Seconds to wait after the last failure once `failures` have piled up."""
    if failures < ACCOUNT_FREE_TRIES:
        return 0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - ACCOUNT_FREE_TRIES), MAX_DELAY_SECONDS)


def refusal(session: Session, email: str, ip: str, now: datetime | None = None) -> Refusal | None:
    """A refusal when this address or this account must wait before trying again."""
    now = now or utcnow()
    since = now - WINDOW
    from_address = session.execute(
        select(func.count(), func.min(LoginFailure.failed_at)).where(
            LoginFailure.ip == ip[:64], LoginFailure.failed_at >= since
        )
    ).one()
    if from_address[0] >= ADDRESS_MAX_FAILURES:
        wait = _seconds(from_address[1] + WINDOW - now)
        return Refusal(
            "Too many failed logins from your network. Please wait 15 minutes and try again.", wait
        )
    for_account = session.execute(
        select(func.count(), func.max(LoginFailure.failed_at)).where(
            LoginFailure.email == email[:254], LoginFailure.failed_at >= since
        )
    ).one()
    delay = account_delay(for_account[0])
    if delay:
        wait = _seconds(for_account[1] + timedelta(seconds=delay) - now)
        if wait > 0:
            return Refusal(
                f"Too many tries for this account. Please wait {wait} seconds and try again.",
                wait,
            )
    return None


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() + 0.999))


def record_failure(session: Session, email: str, ip: str) -> None:
    """Remember a failed login, and forget ones too old to matter."""
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < utcnow() - WINDOW))
    session.add(LoginFailure(email=email[:254], ip=ip[:64]))


def clear_account(session: Session, email: str) -> None:
    """Forget an account's failures after its owner logged in (the address's count stays)."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == email[:254]))
