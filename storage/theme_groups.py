"""The share of each self-described group within a theme, small groups suppressed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storage.small_groups import SMALL_GROUP

NO_ANSWER = "no answer"


@dataclass(frozen=True)
class GroupShare:
    """How many of a theme's residents describe themselves one way; None when suppressed."""

    label: str
    residents: int | None
    share: float | None

    @property
    def suppressed(self) -> bool:
        return self.residents is None


def group_shares(
    resident_ids: Iterable[int], groups: Mapping[int, str], smallest: int = SMALL_GROUP
) -> list[GroupShare]:
    """Each group's share of these residents: shown groups largest first, then suppressed ones."""
    # `groups` maps a resident id to their answer to one self-described group question; those
    # missing from it count as "no answer". As in coverage, every group under `smallest` is
    # suppressed, and when only one is, the next smallest too, so no count is a subtraction away.
    counts = Counter(groups.get(resident, NO_ANSWER) for resident in set(resident_ids))
    total = sum(counts.values())
    hidden = {label for label, count in counts.items() if count < smallest}
    if len(hidden) == 1 and len(counts) > 1:
        hidden.add(min((count, label) for label, count in counts.items() if label not in hidden)[1])
    shown = sorted(
        (label for label in counts if label not in hidden),
        key=lambda label: (-counts[label], label),
    )
    return [
        GroupShare(label, counts[label], round(counts[label] / total, 3)) for label in shown
    ] + [GroupShare(label, None, None) for label in sorted(hidden)]


def groups_by_question(
    answers: Mapping[int, Iterable[tuple[str, str]]],
) -> dict[str, dict[int, str]]:
    """Turn resident id -> [(question key, choice)] into question key -> resident id -> choice."""
    by_question: dict[str, dict[int, str]] = {}
    for resident_id, pairs in answers.items():
        for key, choice in pairs:
            by_question.setdefault(key, {})[resident_id] = choice
    return by_question
