"""Which of a text's languages a resident is given: the one place that choice is made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, literal
from sqlalchemy.sql.elements import ColumnElement


def asked_language(
    resident_language: str | None, texts: dict[str, Any] | None, default: str | None
) -> str | None:
    """The key of `texts` to ask in: the resident's language, its base, the default, else first."""
    if not texts:
        return None
    for candidate in (resident_language, (resident_language or "").split("-")[0], default):
        if candidate and candidate in texts:
            return candidate
    return next(iter(texts))


def pick_text(texts: dict[str, Any] | None, language: str | None, default: str) -> str | None:
    """Choose the text in the resident's language, else the file's default language."""
    key = asked_language(language, texts, default)
    return None if key is None or texts is None else str(texts[key])


def asked_language_sql(
    keys: Iterable[str], language: ColumnElement[Any], default: str | None
) -> ColumnElement[Any]:
    """`asked_language` as a SQL CASE over a language column, for texts known here (set-based)."""
    keys = list(keys)
    if not keys:
        return literal(None)
    exact = [(language == key, literal(key)) for key in keys]
    # pick_text's base language: the part before the first "-" ("cy" for "cy-GB").
    base = [(language.like(f"{key}-%"), literal(key)) for key in keys if "-" not in key]
    fallback = default if default in keys else keys[0]
    return case(*exact, *base, else_=literal(fallback))
