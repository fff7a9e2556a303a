"""Which of a text's languages a resident is given: the one place that choice is made."""

from __future__ import annotations

from typing import Any


def pick_text(texts: dict[str, Any] | None, language: str | None, default: str) -> str | None:
    """Choose the text in the resident's language, else the file's default language."""
    if not texts:
        return None
    for candidate in (language, (language or "").split("-")[0], default):
        if candidate and candidate in texts:
            return str(texts[candidate])
    return str(next(iter(texts.values())))
