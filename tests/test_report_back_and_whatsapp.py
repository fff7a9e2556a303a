"""Report-back to those who answered, campaign progress, WhatsApp's 24-hour window, languages."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.sending.outbox import release_held_whatsapp
from storage.models import Community, OutboundMessage, Resident, utcnow
from tests.helpers import Phone, add_campaign, add_community
from tests.outbox_support import add_residents, fast_sender, send_until_idle
from tests.test_campaign_sending import ALWAYS_OPEN, FIRST_PROMPT, TEST_LIMITS, _launch
from webhooks.cli import cli

UPDATE = "You said the festival needs more music, so we booked three local bands."


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _answered_campaign(services) -> list[Phone]:  # type: ignore[no-untyped-def]
    add_community(services, **ALWAYS_OPEN)
    add_campaign(services)
    phones = [
        Phone(services, address=f"sim-voice{n:04d}xyz", channel="simulator") for n in range(4)
    ]
    for phone in phones:
        phone.join()
    for phone in phones[:3]:
        phone.send("More music, please")
    phones[2].send("STOP")
    return phones


def test_report_back_reaches_those_who_answered_and_have_not_opted_out(services, cli_env):
    phones = _answered_campaign(services)
    code, out = run(
        "campaign", "report-back", "festival-ideas", "--community", "cumnock", "--text", UPDATE
    )
    assert code == 0 and "2 resident(s)" in out
    code, out = run(
        "campaign", "report-back", "festival-ideas", "--community", "cumnock", "--text", UPDATE
    )
    assert code == 2 and "already sent" in out and "confirm" in out, "a second one is asked for"
    code, out = run(
        "campaign",
        "report-back",
        "festival-ideas",
        "--community",
        "cumnock",
        "--text",
        UPDATE,
        "--another",
    )
    assert "0 resident(s)" in out, "the same update twice is queued once"
    sender = fast_sender(services, TEST_LIMITS)
    send_until_idle(sender, services)
    sender.stop()
    with services.db.session_scope() as session:
        reached = Counter(
            session.scalars(
                select(Resident.address_hash)
                .join(OutboundMessage, OutboundMessage.resident_id == Resident.id)
                .where(OutboundMessage.kind == "report_back", OutboundMessage.status == "sent")
            )
        )
    expected = {services.vault.address_hash("simulator", p.address) for p in phones[:2]}
    assert set(reached) == expected and set(reached.values()) == {1}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("   ", "empty"), ("x" * 307, "2 segments"), ("🎉" * 70, "2 segments")],
    ids=["empty", "three-gsm-segments", "three-ucs2-segments"],
)
def test_a_report_back_that_is_empty_or_too_long_is_refused_in_one_line(
    services, cli_env, capsys, text, complaint
):
    from webhooks.cli import main

    _answered_campaign(services)
    code = main(
        ["campaign", "report-back", "festival-ideas", "--community", "cumnock", "--text", text]
    )
    err = capsys.readouterr().err
    assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1


def test_campaign_list_shows_sends_answers_and_share_heard(services, cli_env):
    _answered_campaign(services)
    code, out = run("campaign", "list", "--community", "cumnock")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split()[3:] == ["queued", "sent", "delivered", "failed", "answered", "heard"]
    # 4 joined, 1 stopped: 3 joined remain; 3 answered the campaign (one of them then stopped).
    assert row.split()[-2:] == ["3", "100%"]


def _whatsapp_resident(services, hours_since_last_message: float) -> int:  # type: ignore[no-untyped-def]
    town = add_community(services, **ALWAYS_OPEN)
    last = utcnow() - timedelta(hours=hours_since_last_message)
    add_residents(services, town, "whatsapp", ["whatsapp:+447700900777"], last_inbound_at=last)
    return town


def test_whatsapp_inside_24_hours_gets_the_prompt_as_free_text(live_services, twilio_api):
    town = _whatsapp_resident(live_services, hours_since_last_message=2)
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    (message,) = twilio_api.messages()
    assert (message.to, message.from_, message.body) == (
        "whatsapp:+447700900777",
        "whatsapp:+447700900000",
        FIRST_PROMPT,
    )


def test_whatsapp_after_24_hours_waits_until_the_resident_writes(live_services, twilio_api):
    town = _whatsapp_resident(live_services, hours_since_last_message=30)
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    assert twilio_api.calls == [], "no free text outside the window, and no template set"
    with live_services.db.session_scope() as session:
        session.execute(update(Resident).values(last_inbound_at=utcnow()))
    assert release_held_whatsapp(live_services.db) == 1
    send_until_idle(sender, live_services)
    sender.stop()
    assert [m.body for m in twilio_api.messages()] == [FIRST_PROMPT]


def test_whatsapp_after_24_hours_uses_the_approved_template(live_services, twilio_api):
    town = _whatsapp_resident(live_services, hours_since_last_message=30)
    with live_services.db.session_scope() as session:
        session.get(Community, town).whatsapp_content_sid = "HX0123456789abcdef0123456789abcdef"
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    (message,) = twilio_api.messages()
    assert message.content_sid == "HX0123456789abcdef0123456789abcdef"
    assert json.loads(message.params["ContentVariables"][-1]) == {"1": FIRST_PROMPT}


def test_a_gaelic_speaker_gets_the_prompt_in_gaelic(services):
    town = add_community(services, **ALWAYS_OPEN)
    add_residents(services, town, "simulator", ["sim-gaelicvoice01"])
    with services.db.session_scope() as session:
        session.execute(update(Resident).values(language="gd"))
    source = (
        "slug: cainnt\ntitle: Cainnt\nlanguage: en\nprompts:\n  - id: a\n    text:\n"
        "      en: What matters to you?\n      gd: Dè tha cudromach dhut?\n"
    )
    add_campaign(services, source=source)
    with services.db.session_scope() as session:
        assert session.scalar(select(OutboundMessage.text)) == "Dè tha cudromach dhut?"


def test_an_organiser_sets_and_clears_the_whatsapp_template(services, cli_env, capsys):
    from webhooks.cli import main

    add_community(services)
    sid = "HX0123456789abcdef0123456789abcdef"
    assert main(["community", "whatsapp-template", "cumnock", sid]) == 0
    with services.db.session_scope() as session:
        assert session.scalar(select(Community.whatsapp_content_sid)) == sid
    assert main(["community", "whatsapp-template", "cumnock", "HELLO"]) == 2
    assert "Content SID" in capsys.readouterr().err
    assert main(["community", "whatsapp-template", "cumnock", "off"]) == 0
    with services.db.session_scope() as session:
        assert session.scalar(select(Community.whatsapp_content_sid)) is None
