"""Staff see and hear answers given by phone: the responses page, the recording, the export."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from bot.config import Settings
from storage.models import Response
from tests.admin_support import PASSWORD, add_user, log_in
from tests.browser_check import skip_without_browser
from tests.helpers import add_campaign, add_community
from tests.test_admin_browser import browser_page, live_app  # noqa: F401
from tests.voice_support import Call

RECORDING = "RE8c1a3f0b2d4e6a7c9b1d3f5e7a9c0b2d"
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb" * 2000


@pytest.fixture
def settings(settings: Settings, twilio_api) -> Settings:  # type: ignore[no-untyped-def]
    """Every Twilio request the app makes goes to the loopback fake."""
    return settings.with_changes(twilio_api_base_url=twilio_api.base_url)


@pytest.fixture
def answered_by_phone(client, services, twilio_api):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock", sms_number="+447700900000")
    add_campaign(services, "cumnock")
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    add_community(services, "ayr", "Ayr")
    add_user(services, "ayr@example.org", "staff", ("ayr",))
    twilio_api.recordings[RECORDING] = AUDIO
    call = Call(client)
    call.start()
    call.press("1")
    call.say("A winter market on the square.")
    call.record(RECORDING)
    return services


def _recorded_id(services) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.scalar(select(Response.id).where(Response.recording.is_not(None)))


def test_staff_see_phone_answers_and_listen_through_the_app(client, answered_by_phone, twilio_api):
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/cumnock/responses").get_data(as_text=True)
    assert "A winter market on the square." in page
    assert "voice" in page
    sources = re.findall(r'<audio[^>]*src="([^"]+)"', page)
    assert sources == [
        f"/admin/communities/cumnock/responses/{_recorded_id(answered_by_phone)}/recording.mp3"
    ]
    assert "twilio.com" not in page and RECORDING not in page
    listened = client.get(sources[0])
    assert listened.status_code == 200
    assert listened.mimetype == "audio/mpeg"
    assert listened.get_data() == AUDIO
    # Fetched with the account's credentials, never handed out as a link.
    assert twilio_api.recording_fetches == [
        (answered_by_phone.settings.twilio_account_sid, RECORDING)
    ]


def test_a_recording_is_for_users_of_its_community_only(client, answered_by_phone, twilio_api):
    path = f"/admin/communities/cumnock/responses/{_recorded_id(answered_by_phone)}/recording.mp3"
    assert client.get(path).status_code in (302, 401)
    log_in(client, "ayr@example.org")
    assert client.get(path).status_code == 404
    assert client.get(path.replace("/cumnock/", "/ayr/")).status_code == 404
    assert twilio_api.recording_fetches == []


def test_an_answer_id_no_column_can_hold_is_not_found(client, answered_by_phone, twilio_api):  # type: ignore[no-untyped-def]
    log_in(client, "staff@example.org")
    for huge in (2**31, 10**23):
        path = f"/admin/communities/cumnock/responses/{huge}/recording.mp3"
        assert client.get(path).status_code == 404
    assert twilio_api.recording_fetches == []


def test_the_export_has_phone_answers_with_channel_voice(client, answered_by_phone):
    log_in(client, "staff@example.org")
    lines = client.get("/admin/communities/cumnock/export.jsonl").get_data(as_text=True)
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    assert [row["channel"] for row in rows] == ["voice", "voice"]
    assert rows[0]["text"] == "A winter market on the square."
    assert rows[0]["prompt_id"] == "idea"


@pytest.mark.browser
@pytest.mark.slow
@skip_without_browser()
def test_staff_listen_in_the_browser_through_the_app(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    answered_by_phone,
):
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_app) else elsewhere.append(r.url))
    page.goto(f"{live_app}/admin/login")
    page.get_by_label("E-mail").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_app}/admin/communities/cumnock/responses")
    page.get_by_text("A winter market on the square.").wait_for()
    assert page.locator("audio.recording").count() == 1
    heard = page.evaluate(
        """async () => {
            const audio = document.querySelector('audio.recording');
            const answer = await fetch(audio.src);
            const body = new Uint8Array(await answer.arrayBuffer());
            return [new URL(audio.src).origin, answer.status,
                    answer.headers.get('content-type'), body.length];
        }"""
    )
    assert heard == [live_app, 200, "audio/mpeg", len(AUDIO)]
    assert elsewhere == []
    assert not [text for text in refused if "Content Security Policy" in text]
