"""The share of each self-described group within a theme, small groups suppressed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SMALLEST_GROUP = 5  # as in coverage: a group of fewer residents is never shown on its own
NOT_SAID = "not said"
SMALLER_GROUPS = "smaller groups"


@dataclass(frozen=True)
class GroupShare:
    """How many of a theme's residents describe themselves one way, and what share that is."""

    label: str
    residents: int
    share: float


def group_shares(
    resident_ids: Iterable[int],
    groups: Mapping[int, str],
    smallest: int = SMALLEST_GROUP,
) -> list[GroupShare]:
    """Each group's share of these residents, largest first; groups under `smallest` pooled.

    `groups` maps a resident id to the label of their self-described group; residents missing
    from it count as "not said". Groups too small to show are added together as "smaller
    groups", which is itself left out when it too is under `smallest`.
    """
    counts = Counter(groups.get(resident, NOT_SAID) for resident in set(resident_ids))
    total = sum(counts.values())
    if total == 0:
        return []
    shown = sorted(
        ((label, count) for label, count in counts.items() if count >= smallest),
        key=lambda item: (-item[1], item[0]),
    )
    pooled = sum(count for count in counts.values() if count < smallest)
    if pooled >= smallest:
        shown.append((SMALLER_GROUPS, pooled))
    return [GroupShare(label, count, round(count / total, 3)) for label, count in shown]
