"""How many generated cases each property-based test tried; printed in the pytest summary."""

from __future__ import annotations

from collections import Counter

CASES: Counter[str] = Counter()


def tried(name: str) -> None:
    """Count one generated case for the test `name`."""
    CASES[name] += 1
