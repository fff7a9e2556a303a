"""Residents' words shown in a terminal: control characters escaped, never executed."""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates reorder what is shown (CVE-2021-42574, "Trojan Source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(char: str) -> str:
    if char in _BIDI or unicodedata.category(char) == "Cc":
        return ascii(char)[1:-1]  # "\x1b", "\n", "\u202e": visible, and inert in a terminal
    return char


def inert(text: str) -> str:
    """The text on one line, with escape sequences, bells and bidi overrides shown, not run."""
    return "".join(_escape(char) for char in text)


def inert_lines(text: str) -> str:
    """Like inert, but keeping our own line breaks (for reports made of several lines)."""
    return "\n".join(inert(line) for line in text.split("\n"))
