"""System texts stay short and warm: at most two SMS segments with realistic values filled in."""

from __future__ import annotations

import pytest

from bot import texts

LONG_NAME = "Cumnock and New Cumnock"


@pytest.mark.parametrize("name", texts.names())
def test_each_system_text_fits_in_two_segments(name):
    body = texts.text(
        name,
        name=LONG_NAME,
        keyword="AUCHINLECK2026",
        count="1000",
        numbers="1, 2, 3, 4, 5, 6, 7, 8",
        last="9",
        low="1 (not at all)",
        high="10 (every single day)",
        answer="Not very safe, and worse in winter",
        percent="100",
        choice="Not at all safe, and worse in winter",
        key="9",
    )
    segments, encoding = texts.sms_segments(body)
    assert segments <= 2, f"{name}: {segments} {encoding} segments"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("€" * 80, (1, "GSM-7")),
        ("€" * 81, (2, "GSM-7")),
        ("a" * 69 + "🎄", (2, "UCS-2")),
        ("a" * 70, (1, "GSM-7")),
        ("fèis" + "a" * 156, (1, "GSM-7")),
        ("Eóin" + "a" * 67, (2, "UCS-2")),
    ],
)
def test_segment_counts_follow_gsm7_and_ucs2_rules(body, expected):
    assert texts.sms_segments(body) == expected
