"""What a nudge sweep did, or would do: counts per community and reason, never who."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

NUDGE_NEVER_HEARD = "nudge: never heard"
NUDGE_NEW_IN_CAMPAIGN = "nudge: not heard in this campaign"
NUDGE_PROMPT = "nudge: not answered this prompt"
CHECKIN = "check-in: quiet for a long time"
FIRST_PROMPT = "first question, group question unanswered"
STALLED = "stalled after the last nudge"
WAIT_QUIET = "waiting: quiet hours"
WAIT_GAP = "waiting: nudged recently"
WAIT_BUDGET = "waiting: over this sweep's limit"


@dataclass
class SweepReport:
    """What one sweep did (or, dry, would do): counts per community and reason."""

    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, community: str, reason: str, number: int = 1) -> None:
        if number:
            self.counts.setdefault(community, Counter())[reason] += number

    def queued(self, community: str | None = None) -> int:
        """How many nudges, check-ins and first questions were (or would be) queued."""
        queuing = (NUDGE_NEVER_HEARD, NUDGE_NEW_IN_CAMPAIGN, NUDGE_PROMPT, CHECKIN, FIRST_PROMPT)
        selected = [self.counts.get(community, Counter())] if community else self.counts.values()
        return sum(counter[reason] for counter in selected for reason in queuing)

    def lines(self) -> list[str]:
        """One line per community, then one per reason: counts only, never who."""
        verb = "would queue" if self.dry_run else "queued"
        out = []
        for slug in sorted(self.counts):
            out.append(f"{slug}: {verb} {self.queued(slug)}")
            for reason, number in sorted(self.counts[slug].items()):
                out.append(f"  {number:>6}  {reason}")
        return out or [f"nothing to do: {verb} 0"]
