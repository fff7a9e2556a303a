"""Consent per purpose, and the two short questions that gather it: age band and quotes.

A resident agrees to being asked questions and to report-backs by replying YES to the welcome
(which says both). Being quoted, name-free, is asked once, later: after their first answer when
no question is pending, queued through the outbox (so it follows the thanks), as a whole-message
YES or NO. STOP withdraws every consent; coming back with START agrees to questions and
report-backs again, and quotes are asked again later.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Consent

QUESTIONS = "questions"
REPORT_BACKS = "report_backs"
QUOTES = "quotes"
PURPOSES = (QUESTIONS, REPORT_BACKS, QUOTES)
JOIN_PURPOSES = (QUESTIONS, REPORT_BACKS)
ASKING_AGE = "age_band"
ASKING_QUOTES = "quotes"
AGE_BANDS = {"1": "under13", "2": "13-15", "3": "16-17", "4": "18+"}
AGE_BUTTONS = tuple(AGE_BANDS)
UNDER_13 = "under13"
_AGE_WORDS = re.compile(r"^(?:i am |im |i'm )?(\d{1,3})(?: years old| yrs| yo)?$")


def wording_version(wording: str) -> str:
    """A short fingerprint of the exact words a resident agreed to."""
    return "w-" + hashlib.sha256(wording.encode()).hexdigest()[:10]


def has(session: Session, resident_id: int, purpose: str) -> bool:
    """Whether the resident's consent to `purpose` stands (e.g. before a report-back)."""
    return (
        session.scalar(
            select(Consent.id).where(
                Consent.resident_id == resident_id,
                Consent.purpose == purpose,
                Consent.withdrawn_at.is_(None),
            )
        )
        is not None
    )


def read_age_band(text: str) -> str | None:
    """'1'-'4' pick a band; an age in years ('12', 'I'm 14') maps to its band."""
    plain = text.strip().lower().rstrip(".!")
    if plain in AGE_BANDS:
        return AGE_BANDS[plain]
    if plain in AGE_BANDS.values() or plain in ("18 or over", "under 13"):
        return {"18 or over": "18+", "under 13": UNDER_13}.get(plain, plain)
    match = _AGE_WORDS.match(plain)
    if match is None:
        return None
    age = int(match.group(1))
    if age < 5 or age > 120:
        return None
    if age < 13:
        return UNDER_13
    if age < 16:
        return "13-15"
    return "16-17" if age < 18 else "18+"
