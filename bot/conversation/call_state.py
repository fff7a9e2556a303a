"""What a call step needs to know before and after its turn: the line's community, the caller's
record there, and the question waiting for them in the language it is asked in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.conversation.choices import QuestionForm, ask
from storage.languages import asked_language
from storage.models import (
    Assignment,
    Campaign,
    Community,
    OutboundMessage,
    ProfileAnswer,
    Prompt,
    Resident,
)
from storage.statuses import AssignmentStatus


@dataclass(frozen=True)
class Question:
    """The caller's pending prompt as it is asked: its text and language code."""

    prompt_id: int
    text: str
    language: str | None
    # A closed question: its choices are pressed on the keypad (the CHOICE stage).
    closed: bool = False


@dataclass(frozen=True)
class Caller:
    """A caller as one call step sees them; `resident_id` None for someone new to the line."""

    community_id: int | None = None
    community_name: str = ""
    keyword: str = ""
    resident_id: int | None = None
    status: str | None = None
    channel: str | None = None
    consent_question: str | None = None
    question: Question | None = None
    # A self-described group question waits for its answer.
    profile_waiting: bool = False


def _community_of_line(session: Session, line: str | None, address_hash: str) -> Community | None:
    """The community whose number was called; else the caller's latest; else the only one."""
    if line:
        found = session.scalar(select(Community).where(Community.sms_number == line).limit(1))
        if found is not None:
            return found
    latest = session.scalar(
        select(Resident)
        .where(Resident.address_hash == address_hash)
        .order_by(func.coalesce(Resident.last_inbound_at, Resident.created_at).desc())
        .limit(1)
    )
    if latest is not None:
        return latest.community
    only = session.scalars(select(Community).limit(2)).all()
    return only[0] if len(only) == 1 else None


def pending_question(session: Session, resident: Resident) -> Question | None:
    """The prompt waiting for the resident's answer, in the language it was put to them."""
    row = session.execute(
        select(
            Assignment.prompt_id, Assignment.language, Prompt.text, Prompt.form, Campaign.language
        )
        .join(Prompt, Prompt.id == Assignment.prompt_id)
        .join(Campaign, Campaign.id == Assignment.campaign_id)
        .where(
            Assignment.resident_id == resident.id,
            Assignment.status == AssignmentStatus.PENDING,
        )
        .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    prompt_id, asked_in, texts, stored_form, default = row
    language = asked_in or asked_language(resident.language, texts, default)
    form = QuestionForm.of(stored_form, default)
    return Question(
        prompt_id, ask(texts, form, language, default, spoken=True).text, language, form is not None
    )


def load(session: Session, address_hash: str, line: str | None) -> Caller:
    """The caller on this line, as the database has them now."""
    community = _community_of_line(session, line, address_hash)
    if community is None:
        return Caller()
    resident = session.scalar(
        select(Resident).where(
            Resident.community_id == community.id, Resident.address_hash == address_hash
        )
    )
    base = Caller(community.id, community.name, community.keyword)
    if resident is None:
        return base
    return Caller(
        community.id,
        community.name,
        community.keyword,
        resident.id,
        resident.status,
        resident.channel,
        resident.consent_question,
        pending_question(session, resident),
        session.scalar(
            select(ProfileAnswer.resident_id)
            .where(ProfileAnswer.resident_id == resident.id, ProfileAnswer.answered_at.is_(None))
            .limit(1)
        )
        is not None,
    )


def choose_channel(session: Session, resident_id: int, channel: str) -> None:
    """The resident asked to be called ("voice") or texted ("sms"): nudges and questions reach
    them that way from now on."""
    resident = session.get(Resident, resident_id)
    if resident is not None:
        resident.channel = channel


def placed_for(session: Session, outbox_id: int | None, resident: Caller) -> str | None:
    """The words of the outbox row a call was placed for, when it is this resident's and not
    their question itself (which the call asks in its spoken form)."""
    if outbox_id is None or resident.resident_id is None:
        return None
    row = session.get(OutboundMessage, outbox_id)
    if row is None or row.resident_id != resident.resident_id:
        return None
    asking = resident.question is not None and row.prompt_id == resident.question.prompt_id
    return None if asking and row.kind == "prompt" else row.text
