"""Who has and has not been heard: counts overall and per self-described group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.conversation import profile
from storage.models import Community, GroupCount, ProfileAnswer, ProfileQuestion, Resident
from storage.small_groups import FEWER_THAN, SMALL_GROUP
from storage.statuses import ResidentStatus

NO_ANSWER = "no answer"
# The "group-counts" job recounts every REFRESH_SECONDS; counts older than COUNTS_MAX_AGE (a
# few missed runs) are recounted by whoever reads them.
REFRESH_SECONDS = 300
COUNTS_MAX_AGE = timedelta(minutes=15)

# (joined, heard) per question id and choice
Counted = dict[int, dict[str, tuple[int, int]]]


@dataclass(frozen=True)
class Reach:
    """Joined and heard counts for everyone, or for one self-described group."""

    label: str
    joined: int
    heard: int
    suppressed: bool = False

    @property
    def unheard(self) -> int:
        return self.joined - self.heard

    @property
    def heard_share(self) -> float:
        """Heard as a share of joined, 0.0 for an empty group."""
        return self.heard / self.joined if self.joined else 0.0

    @property
    def heard_percent(self) -> int:
        """Heard as a whole percentage of joined, 0 for an empty group."""
        return round(100 * self.heard_share)

    def cells(self) -> tuple[str, str, str, str]:
        """Joined, heard, unheard and heard % as shown to people; small groups never exact."""
        if self.suppressed:
            return (FEWER_THAN, "-", "-", "-")
        share = f"{self.heard_percent}%" if self.joined else "-"
        return (str(self.joined), str(self.heard), str(self.unheard), share)


@dataclass
class Coverage:
    """A community's reach: everyone, then each question's groups (by key)."""

    overall: Reach
    groups: dict[str, list[Reach]] = field(default_factory=dict)


def _heard_count():  # type: ignore[no-untyped-def]
    # Heard, everywhere it is counted: a joined resident with last_heard_at set. The conversation
    # sets it with every response stored, and it outlives retention erasing the words.
    return func.count(Resident.last_heard_at)


def overall(session: Session, community_id: int) -> Reach:
    """Joined residents and how many of them have been heard, in one community."""
    joined, heard = session.execute(
        select(func.count(), _heard_count()).where(
            Resident.community_id == community_id, Resident.status == ResidentStatus.JOINED
        )
    ).one()
    return Reach("everyone", int(joined), int(heard))


def suppress_small(rows: list[Reach]) -> list[Reach]:
    """Hide every group under five, and one more when a lone hidden group could be worked out."""
    hidden = {index for index, row in enumerate(rows) if row.joined < SMALL_GROUP}
    if len(hidden) == 1 and len(rows) > 1:
        # With the total known, one hidden group is a subtraction away: hide the next smallest.
        shown = sorted((row.joined, index) for index, row in enumerate(rows) if index not in hidden)
        hidden.add(shown[0][1])
    return [
        Reach(row.label, row.joined, row.heard, suppressed=index in hidden)
        for index, row in enumerate(rows)
    ]


def raw_groups(session: Session, community_id: int) -> dict[str, list[Reach]]:
    """Every question's groups with exact counts, for internal ordering only (never shown)."""
    asked = profile.questions(session, community_id)
    if not asked:
        return {}
    return _groups(asked, overall(session, community_id), _count_live(session, community_id))


def _count_live(session: Session, community_id: int) -> Counted:
    """Joined and heard residents per question and choice, counted now from every resident."""
    counted = session.execute(
        select(
            ProfileAnswer.question_id,
            ProfileAnswer.choice,
            func.count(),
            _heard_count(),
        )
        .join(Resident, Resident.id == ProfileAnswer.resident_id)
        .where(
            Resident.community_id == community_id,
            Resident.status == ResidentStatus.JOINED,
            ProfileAnswer.choice.is_not(None),
        )
        .group_by(ProfileAnswer.question_id, ProfileAnswer.choice)
    ).all()
    by_question: Counted = {}
    for question_id, choice, joined, heard in counted:
        by_question.setdefault(question_id, {})[choice] = (int(joined), int(heard))
    return by_question


def _groups(
    asked: list[ProfileQuestion], everyone: Reach, by_question: Counted
) -> dict[str, list[Reach]]:
    """Each question's groups in choice order, then those who gave no answer."""
    groups: dict[str, list[Reach]] = {}
    for question in asked:
        answered = by_question.get(question.id, {})
        rows = [
            Reach(choice, *answered.get(choice, (0, 0))) for choice in profile.choices_of(question)
        ]
        joined = sum(row.joined for row in rows)
        heard = sum(row.heard for row in rows)
        rows.append(Reach(NO_ANSWER, everyone.joined - joined, everyone.heard - heard))
        groups[question.key] = rows
    return groups


def coverage(session: Session, community_id: int) -> Coverage:
    """A community's reach as organisers may see it: small groups shown as fewer than five."""
    shown = {key: suppress_small(rows) for key, rows in raw_groups(session, community_id).items()}
    return Coverage(overall(session, community_id), shown)


def refresh_counts(session: Session, community_id: int, now: datetime) -> None:
    """Count a community's groups afresh into group_counts (internal; exact, never shown)."""
    # One recount at a time per community (the job and a sweep may both start one). FOR NO KEY
    # UPDATE does not block foreign-key checks of rows that point at the community.
    session.execute(
        select(Community.id).where(Community.id == community_id).with_for_update(key_share=True)
    )
    asked = profile.questions(session, community_id)
    everyone = overall(session, community_id)
    live = _count_live(session, community_id) if asked else {}
    rows = [
        {"question_id": None, "choice": None, "joined": everyone.joined, "heard": everyone.heard}
    ]
    for question in asked:
        answered = live.get(question.id, {})
        for choice in profile.choices_of(question):
            joined, heard = answered.get(choice, (0, 0))
            rows.append(
                {"question_id": question.id, "choice": choice, "joined": joined, "heard": heard}
            )
    session.execute(delete(GroupCount).where(GroupCount.community_id == community_id))
    session.execute(
        insert(GroupCount),
        [{**row, "community_id": community_id, "counted_at": now} for row in rows],
    )


def counted_groups(
    session: Session,
    community_id: int,
    now: datetime,
    max_age: timedelta = COUNTS_MAX_AGE,
    store: bool = True,
) -> dict[str, list[Reach]]:
    """`raw_groups` as last counted into group_counts; recounted first when missing or stale.

    Stale means counted more than `max_age` before (or after) `now`, or for other questions or
    choices than the community has now. With `store` False (a dry run) stale counts are
    counted live and not written.
    """
    asked = profile.questions(session, community_id)
    if not asked:
        return {}
    found = _stored_groups(session, community_id, asked, now, max_age)
    if found is not None:
        return found
    if not store:
        return _groups(asked, overall(session, community_id), _count_live(session, community_id))
    refresh_counts(session, community_id, now)
    found = _stored_groups(session, community_id, asked, now, max_age)
    assert found is not None
    return found


def _stored_groups(
    session: Session,
    community_id: int,
    asked: list[ProfileQuestion],
    now: datetime,
    max_age: timedelta,
) -> dict[str, list[Reach]] | None:
    """The groups as stored in group_counts, or None when they are missing or stale."""
    stored = session.execute(
        select(
            GroupCount.question_id,
            GroupCount.choice,
            GroupCount.joined,
            GroupCount.heard,
            GroupCount.counted_at,
        ).where(GroupCount.community_id == community_id)
    ).all()
    everyone = next((row for row in stored if row.question_id is None), None)
    by_question: Counted = {}
    for row in stored:
        if row.question_id is not None:
            by_question.setdefault(row.question_id, {})[row.choice] = (row.joined, row.heard)
    fresh = (
        everyone is not None
        and abs(now - everyone.counted_at) <= max_age
        and len(by_question) == len(asked)
        and all(set(by_question.get(q.id, {})) == set(profile.choices_of(q)) for q in asked)
    )
    if not fresh:
        return None
    assert everyone is not None
    return _groups(asked, Reach("everyone", everyone.joined, everyone.heard), by_question)


def lowest_share_by_resident(
    session: Session,
    community_id: int,
    resident_ids: list[int],
    counted_at: datetime | None = None,
    store: bool = True,
) -> dict[int, float]:
    """For each resident, the lowest heard share among the groups they describe themselves in.

    Shares come from live counts, or, given `counted_at` (the time to judge staleness by),
    from group_counts (`counted_groups`), which a few minutes' staleness does not matter for.
    """
    if not resident_ids:
        return {}
    groups = (
        raw_groups(session, community_id)
        if counted_at is None
        else counted_groups(session, community_id, counted_at, store=store)
    )
    shares = {(key, row.label): row.heard_share for key, rows in groups.items() for row in rows}
    if not shares:
        return {}
    lowest: dict[int, float] = {}
    for resident_id, pairs in profile.groups_of(session, resident_ids).items():
        values = [shares[pair] for pair in pairs if pair in shares]
        if values:
            lowest[resident_id] = min(values)
    return lowest
