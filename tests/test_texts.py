"""System texts stay short and warm: at most two SMS segments with realistic values filled in."""

from __future__ import annotations

import pytest

from bot import texts
from bot.conversation.engine import decide
from bot.conversation.snapshot import CommunityView, PromptView, ResidentView, Snapshot
from bot.messages import Inbound
from storage.models import utcnow
from storage.publishing import results_link

LONG_NAME = "Cumnock and New Cumnock"
# A typical PUBLIC_BASE_URL, with the longest slug a long name gives.
BASE_URL = "https://voices.example.org.uk"
LONG_SLUG = "cumnock-and-new-cumnock"


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
        url=results_link(BASE_URL, LONG_SLUG),
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


def test_the_default_thanks_with_the_results_link_fits_in_two_gsm7_segments():
    town = CommunityView(id=1, slug=LONG_SLUG, name=LONG_NAME, results_published=True)
    last = PromptView(1, 1, "What would you change?", "en", assignment_id=1)
    resident = ResidentView(1, town, "joined", pending=last, quotes_asked_at=utcnow())
    snapshot = Snapshot(utcnow(), resident=resident, public_base_url=BASE_URL)
    inbound = Inbound("sms", "+447700900101", "More benches", "m-1", utcnow())
    [thanks] = [reply.text for reply in decide(snapshot, inbound).replies]
    assert thanks.endswith(results_link(BASE_URL, LONG_SLUG))
    segments, encoding = texts.sms_segments(thanks)
    assert (segments <= 2, encoding) == (True, "GSM-7"), thanks
