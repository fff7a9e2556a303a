"""Mask phone numbers, e-mail addresses and UK postcodes inside residents' words."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Runs of 9-15 digits, allowing spaces, dots, dashes and brackets between them, with an
# optional leading +: UK mobiles (07700 900123), landlines ((0131) 496 0000), +44 7700 900123.
PHONE = re.compile(r"(?<![\w+])\+?(?:\(?\d[\d\s().-]{7,18}\d)(?!\w)")
# UK postcodes: https://www.gov.uk/government/publications/bulk-data-transfer-for-sponsors-xml-schema
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRV-Y\d]?)"
    r" ?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if 9 <= digits <= 15 else match.group(0)


def redact(text: str) -> str:
    """Return `text` with e-mail addresses, phone numbers and UK postcodes masked."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub(_mask_phone, text)
    return POSTCODE.sub("[postcode]", text)
