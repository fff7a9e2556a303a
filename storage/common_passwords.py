"""Refuse passwords that guessers try first: the common list, and those same words padded."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

LIST_FILE = Path(__file__).with_name("common_passwords.txt")
# People meet a length rule by padding a common word: "password2024!", "!!monkey123".
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_WALKS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower case."""
    lines = LIST_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """Whether the password, or its core without digits and symbols at the ends, is common."""
    lowered = password.lower()
    core = _PADDING.sub("", lowered)
    if len(set(lowered)) <= 2 or lowered in common_passwords() or core in common_passwords():
        return True
    return any(lowered in walk or lowered in walk[::-1] for walk in _WALKS)
