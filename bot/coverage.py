"""Who has and has not been heard: counts overall and per self-described group."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import profile
from storage.models import ProfileAnswer, Resident

SMALL_GROUP = 5
NO_ANSWER = "no answer"
FEWER_THAN = f"fewer than {SMALL_GROUP}"


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

    def cells(self) -> tuple[str, str, str, str]:
        """Joined, heard, unheard and heard % as shown to people; small groups never exact."""
        if self.suppressed:
            return (FEWER_THAN, "-", "-", "-")
        share = f"{round(100 * self.heard_share)}%" if self.joined else "-"
        return (str(self.joined), str(self.heard), str(self.unheard), share)


@dataclass
class Coverage:
    """A community's reach: everyone, then each question's groups (by key)."""

    overall: Reach
    groups: dict[str, list[Reach]] = field(default_factory=dict)


def _heard_count():  # type: ignore[no-untyped-def]
    # A resident is heard once they have said anything here: the engine sets last_heard_at with
    # every response, so no scan of the responses table is needed.
    return func.count(Resident.last_heard_at)


def overall(session: Session, community_id: int) -> Reach:
    """Joined residents and how many of them have been heard, in one community."""
    joined, heard = session.execute(
        select(func.count(), _heard_count()).where(
            Resident.community_id == community_id, Resident.status == "joined"
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
    everyone = overall(session, community_id)
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
            Resident.status == "joined",
            ProfileAnswer.choice.is_not(None),
        )
        .group_by(ProfileAnswer.question_id, ProfileAnswer.choice)
    ).all()
    by_question: dict[int, dict[str, tuple[int, int]]] = {}
    for question_id, choice, joined, heard in counted:
        by_question.setdefault(question_id, {})[choice] = (int(joined), int(heard))
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


def lowest_share_by_resident(
    session: Session, community_id: int, resident_ids: list[int]
) -> dict[int, float]:
    """For each resident, the lowest heard share among the groups they describe themselves in."""
    if not resident_ids:
        return {}
    shares = {
        (key, row.label): row.heard_share
        for key, rows in raw_groups(session, community_id).items()
        for row in rows
    }
    if not shares:
        return {}
    lowest: dict[int, float] = {}
    for resident_id, pairs in profile.groups_of(session, resident_ids).items():
        values = [shares[pair] for pair in pairs if pair in shares]
        if values:
            lowest[resident_id] = min(values)
    return lowest
