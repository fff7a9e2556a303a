"""Self-described groups: optional questions asked right after someone joins, and their answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from storage.models import ProfileAnswer, ProfileQuestion

MAX_QUESTIONS = 2
MAX_CHOICES = 8
MAX_CHOICE_LENGTH = 24
SKIP_WORDS = frozenset({"SKIP", "PASS"})
CHUNK = 5000  # ids per IN (...) list, well under any driver's limit
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ProfileError(ValueError):
    """A profile question that cannot be set; the message says why in one sentence."""


@dataclass(frozen=True)
class Asked:
    """A profile question as the resident sees it: the words and the buttons."""

    text: str
    buttons: tuple[str, ...]


def choices_of(question: ProfileQuestion) -> list[str]:
    """The answer choices of a question, in order."""
    return [str(choice) for choice in (question.choices or {}).get("choices", [])]


def render(text: str, choices: tuple[str, ...] | list[str]) -> Asked:
    """The message that asks a question: its text, numbered choices, and how to skip."""
    numbered = ", ".join(f"{number} {choice}" for number, choice in enumerate(choices, 1))
    body = f"{text} Reply {numbered}. {texts.text('profile_skip')}"
    return Asked(body, (*choices, "SKIP"))


def read_choice(choices: tuple[str, ...] | list[str], words: str) -> tuple[bool, str | None]:
    """(matched, choice): a number, a choice's words (any case), or SKIP (choice None)."""
    cleaned = words.strip().rstrip(".!").strip()
    if cleaned.upper() in SKIP_WORDS:
        return True, None
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(choices):
        return True, choices[int(cleaned) - 1]
    for choice in choices:
        if cleaned.casefold() == choice.casefold():
            return True, choice
    return False, None


def questions(session: Session, community_id: int) -> list[ProfileQuestion]:
    """A community's profile questions, in the order they are asked."""
    return list(
        session.scalars(
            select(ProfileQuestion)
            .where(ProfileQuestion.community_id == community_id)
            .order_by(ProfileQuestion.position, ProfileQuestion.id)
        )
    )


def set_question(
    session: Session, community_id: int, key: str, text: str, choices: list[str]
) -> ProfileQuestion:
    """Add or replace the question `key` of a community; at most two per community."""
    key = key.strip().lower()
    text = " ".join(text.split())
    choices = [" ".join(choice.split()) for choice in choices if choice.strip()]
    if not KEY_RE.match(key):
        raise ProfileError(f"--key {key!r} must be lower-case letters, digits or _, like area")
    if not text:
        raise ProfileError("--text is empty")
    if not 2 <= len(choices) <= MAX_CHOICES:
        raise ProfileError(f"give 2 to {MAX_CHOICES} choices, separated by commas")
    if any(len(choice) > MAX_CHOICE_LENGTH for choice in choices):
        raise ProfileError(f"each choice must be at most {MAX_CHOICE_LENGTH} characters")
    if len({choice.lower() for choice in choices}) != len(choices):
        raise ProfileError("each choice must be different")
    if any(choice.upper() in SKIP_WORDS or choice.isdigit() for choice in choices):
        raise ProfileError("a choice cannot be a number or SKIP: residents reply with those")
    existing = questions(session, community_id)
    found = next((q for q in existing if q.key == key), None)
    if found is None:
        if len(existing) >= MAX_QUESTIONS:
            raise ProfileError(f"a community asks at most {MAX_QUESTIONS} questions")
        found = ProfileQuestion(
            community_id=community_id,
            key=key,
            position=max((q.position for q in existing), default=0) + 1,
        )
        session.add(found)
    found.text = text
    found.choices = {"choices": choices}
    segments, _ = texts.sms_segments(render(found.text, choices).text)
    if segments > 2:
        raise ProfileError("the question and its choices must fit in two text messages")
    session.flush()
    return found


def remove_question(session: Session, community_id: int, key: str) -> bool:
    """Stop asking the question `key` and forget its answers; False when there was none."""
    found = session.scalar(
        select(ProfileQuestion).where(
            ProfileQuestion.community_id == community_id, ProfileQuestion.key == key
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def close_unanswered(session: Session, resident_id: int, when: datetime) -> int:
    """Count every waiting question of a resident as skipped; return how many."""
    rows = session.scalars(
        select(ProfileAnswer).where(
            ProfileAnswer.resident_id == resident_id, ProfileAnswer.answered_at.is_(None)
        )
    ).all()
    for row in rows:
        row.answered_at = when
    return len(rows)


def groups_of(session: Session, resident_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each resident's self-described groups as (question key, choice) pairs."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not resident_ids:
        return found
    for start in range(0, len(resident_ids), CHUNK):
        rows = session.execute(
            select(ProfileAnswer.resident_id, ProfileQuestion.key, ProfileAnswer.choice)
            .join(ProfileQuestion, ProfileQuestion.id == ProfileAnswer.question_id)
            .where(
                ProfileAnswer.resident_id.in_(resident_ids[start : start + CHUNK]),
                ProfileAnswer.choice.is_not(None),
            )
        ).all()
        for resident_id, key, choice in rows:
            found.setdefault(resident_id, []).append((key, choice))
    return found
