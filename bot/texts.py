"""System texts residents receive, kept in texts.yaml so they can be reviewed as content."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yaml")
# SMS segments a campaign text may take unless the organiser allows long texts knowingly.
SEGMENT_BUDGET = 2
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@cache
def _all() -> dict[str, str]:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))


def text(key: str, /, **values: str) -> str:
    """The system text `key` with its placeholders filled in."""
    return _all()[key].format(**values)


def names() -> list[str]:
    """Every system text's name."""
    return list(_all())


def sms_segments(body: str) -> tuple[int, str]:
    """Count SMS segments and the encoding Twilio will use: ('GSM-7' or 'UCS-2')."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in body):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in body)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return 1, encoding
    return -(-units // multi), encoding
