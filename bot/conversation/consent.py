"""Consent per purpose, and the two short questions that gather it: age band and quotes.

A resident agrees to being asked questions and to report-backs by replying YES to the welcome
(which says both). Being quoted, name-free, is asked once, later: after their first answer when
no question is pending, queued through the outbox (so it follows the thanks), as a whole-message
YES or NO. STOP withdraws every consent; coming back
with START agrees to questions and report-backs again, and quotes are asked again later.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.messages import Inbound, Outbound
from bot.sending import outbox
from storage.models import Assignment, Community, Consent, Resident, utcnow

QUESTIONS = "questions"
REPORT_BACKS = "report_backs"
QUOTES = "quotes"
PURPOSES = (QUESTIONS, REPORT_BACKS, QUOTES)
JOIN_PURPOSES = (QUESTIONS, REPORT_BACKS)
ASKING_AGE = "age_band"
ASKING_QUOTES = "quotes"
AGE_BANDS = {"1": "under13", "2": "13-15", "3": "16-17", "4": "18+"}
UNDER_13 = "under13"
_AGE_WORDS = re.compile(r"^(?:i am |im |i'm )?(\d{1,3})(?: years old| yrs| yo)?$")


def wording_version(wording: str) -> str:
    """A short fingerprint of the exact words a resident agreed to."""
    return "w-" + hashlib.sha256(wording.encode()).hexdigest()[:10]


def record(
    session: Session,
    resident: Resident,
    purpose: str,
    wording: str,
    channel: str,
    when: datetime | None = None,
) -> Consent:
    """Record that the resident agreed to `purpose` after seeing `wording`."""
    consent = Consent(
        resident_id=resident.id,
        purpose=purpose,
        wording=wording,
        wording_version=wording_version(wording),
        channel=channel,
        given_at=when or utcnow(),
    )
    session.add(consent)
    return consent


def record_join(session: Session, resident: Resident, wording: str, inbound: Inbound) -> None:
    """YES to the welcome: agreed to questions and report-backs; quotes are asked later."""
    if resident.opted_out_at is not None:
        # Coming back: they are shown the welcome-back words; quotes are asked again, later.
        wording = texts.text("restarted", name=resident.community.name)
        resident.quotes_asked_at = None
    for purpose in JOIN_PURPOSES:
        record(session, resident, purpose, wording, inbound.channel, inbound.received_at)


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


def needs_age_band(community: Community, resident: Resident) -> bool:
    """A young people's community asks the age band before anything else."""
    return bool(community.young_people) and resident.age_band is None


def ask_age(resident: Resident, inbound: Inbound, community: Community) -> Outbound:
    """Ask the age band (the first thing a young people's community says)."""
    resident.consent_question = ASKING_AGE
    return _reply(
        inbound, resident, texts.text("age_ask", name=community.name), ("1", "2", "3", "4")
    )


def should_ask_quotes(session: Session, resident: Resident) -> bool:
    """Ask about quotes once, when the resident has answered and nothing else is pending."""
    if resident.status != "joined" or resident.quotes_asked_at is not None:
        return False
    if resident.consent_question is not None:
        return False
    pending = session.scalar(
        select(Assignment.id).where(
            Assignment.resident_id == resident.id, Assignment.status == "pending"
        )
    )
    return pending is None


def ask_quotes(session: Session, resident: Resident) -> None:
    """Queue the quote question once, through the outbox; immediate replies stay unchanged."""
    resident.consent_question = ASKING_QUOTES
    resident.quotes_asked_at = utcnow()
    outbox.enqueue(
        session,
        resident,
        texts.text("quotes_ask"),
        kind="consent",
        dedupe_key=f"quotes:{resident.id}:{resident.quotes_asked_at:%Y%m%d%H%M%S}",
        buttons=("YES", "NO"),
    )


def answer_quotes(
    session: Session, resident: Resident, inbound: Inbound, word: str
) -> Outbound | None:
    """YES or NO to the quote question; anything else is an ordinary message (None)."""
    resident.consent_question = None
    if word in ("YES", "Y", "JOIN"):
        record(
            session,
            resident,
            QUOTES,
            texts.text("quotes_ask"),
            inbound.channel,
            inbound.received_at,
        )
        return _reply(inbound, resident, texts.text("quotes_yes"))
    if word in ("NO", "N"):
        return _reply(inbound, resident, texts.text("quotes_no"))
    return None


def _reply(
    inbound: Inbound, resident: Resident, body: str, buttons: tuple[str, ...] = ()
) -> Outbound:
    return Outbound(
        channel=inbound.channel,
        address=inbound.address,
        text=body,
        buttons=buttons,
        resident_id=resident.id,
    )
