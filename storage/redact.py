"""Mask phone numbers, e-mail addresses and UK postcodes inside residents' words."""

from __future__ import annotations

import re

# Matched from the start of a run only, the domain taken whole (an atomic group), so a long run
# with no address in it is read once, not once from every position (hostile texts).
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_TOP_LEVEL = re.compile(r"[A-Za-z]{2,}")
# A run that could be a phone number: digits with single spaces, dots, dashes or brackets
# between them, perhaps led by + or a bracket. Not after a currency sign, a word character or
# a date or number separator (25/12/2026, 1,250,000, 12.50), so prices and dates stay.
CANDIDATE = re.compile(r"(?<![\w£$€/,.-])(?:\+|\()?\d(?:[ .()-]{0,2}\d)*(?!\w)")
_GROUPS = re.compile(r"\d+|\D+")
# UK postcodes: https://www.gov.uk/government/publications/bulk-data-transfer-for-sponsors-xml-schema
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRV-Y\d]?)"
    r" ?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)


def _looks_like_phone(text: str) -> bool:
    """International (+ or 00) 8-15 digits; UK national (leading 0) 10-11; bare runs 10-15."""
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("+") or text.startswith("00"):
        return 8 <= digits <= 15
    if text.lstrip("(").startswith("0"):
        return 10 <= digits <= 11
    if text.isdigit():
        return 10 <= digits <= 15
    return text.startswith("44") and 11 <= digits <= 13


MAX_PHONE_DIGITS = 15


def _mask_phone(match: re.Match[str]) -> str:
    """Mask the longest leading part of the run that is a phone number; keep the rest."""
    run = match.group(0)
    groups = _GROUPS.findall(run)
    # No phone number has more than 15 digits: only the prefixes within them are tried, so a
    # long run of digits (a hostile message) costs no more than a short one.
    within, digits = 0, 0
    for group in groups:
        digits += len(group) if group[0].isdigit() else 0
        if digits > MAX_PHONE_DIGITS:
            break
        within += 1
    for end in range(within, 0, -1):
        prefix = "".join(groups[:end])
        if prefix[-1].isdigit() and _looks_like_phone(prefix):
            return "[phone]" + run[len(prefix) :]
    return run


def _mask_email(match: re.Match[str]) -> str:
    """Mask the address up to its last label that can end one (letters only); keep the rest."""
    run = match.group(0)
    domain = run.split("@", 1)[1]
    labels = domain.split(".")
    for end in range(len(labels), 1, -1):
        if _TOP_LEVEL.fullmatch(labels[end - 1]):
            return "[email]" + ("." + ".".join(labels[end:]) if end < len(labels) else "")
    return run


def redact(text: str) -> str:
    """Return `text` with e-mail addresses, phone numbers and UK postcodes masked."""
    text = EMAIL.sub(_mask_email, text)
    text = CANDIDATE.sub(_mask_phone, text)
    return POSTCODE.sub("[postcode]", text)
