"""Edges nobody had pinned down: forged and failing delivery callbacks, CSRF and other
communities on the campaign forms, erasure in the browser downloads, STOP before a queued
prompt leaves, and HELP on Telegram."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.campaigns.prompt_files import launch, parse_prompt_file
from storage.models import Campaign, Community, OutboundMessage
from tests.admin_support import add_user, log_in, post_form
from tests.conftest import TELEGRAM_SECRET, load_telegram, post_twilio
from tests.helpers import FESTIVAL, Phone, add_campaign, add_community
from tests.outbox_support import add_residents, fast_sender, send_until_idle
from tests.test_campaign_sending import TEST_LIMITS

ALWAYS_OPEN = {"quiet_start": None, "quiet_end": None}
STATUS = "/webhooks/twilio/status"
CAMPAIGN_PAGE = "/admin/communities/cumnock/campaigns/festival-ideas/"


def launch_festival(services, town: int) -> None:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        launch(session, session.get(Community, town), parse_prompt_file(FESTIVAL))


def outbox_rows(services) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return [
            (row.status, row.error)
            for row in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]


@pytest.fixture
def sent_prompt(live_services, twilio_api):  # type: ignore[no-untyped-def]
    """One campaign prompt sent by SMS through the real Twilio client; its Twilio SID."""
    town = add_community(live_services, **ALWAYS_OPEN)
    add_residents(live_services, town, "sms", ["+447700900555"])
    launch_festival(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    (message,) = twilio_api.messages()
    return message.sid


def test_a_forged_status_callback_for_a_real_message_changes_nothing(
    live_client, live_services, sent_prompt
):  # type: ignore[no-untyped-def]
    forged = {"MessageSid": sent_prompt, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    for signature in ("forged", ""):
        response = post_twilio(live_client, STATUS, forged, signature=signature)
        assert response.status_code == 403
    assert outbox_rows(live_services) == [("sent", None)]


@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_a_failed_delivery_keeps_twilios_error_code(
    live_client, live_services, sent_prompt, status
):  # type: ignore[no-untyped-def]
    params = {"MessageSid": sent_prompt, "MessageStatus": status, "ErrorCode": "30003"}
    assert post_twilio(live_client, STATUS, params).status_code == 204
    assert outbox_rows(live_services) == [(status, "twilio 30003")]


def test_stop_after_a_prompt_is_queued_means_it_is_never_sent(live_services, twilio_api):  # type: ignore[no-untyped-def]
    town = add_community(live_services, **ALWAYS_OPEN)
    phone = Phone(live_services, "+447700900556")
    phone.join()
    with live_services.db.session_scope() as session:
        already = session.scalar(select(func.count()).select_from(OutboundMessage))
    launch_festival(live_services, town)
    with live_services.db.session_scope() as session:
        queued = session.scalar(select(func.count()).where(OutboundMessage.status == "queued"))
    assert queued >= 1, "the launch queued a prompt for the resident"
    phone.send("STOP")
    with live_services.db.session_scope() as session:
        left = session.scalars(
            select(OutboundMessage.status).where(OutboundMessage.kind == "prompt")
        ).all()
    assert left and set(left) == {"cancelled"}  # cancelled at once, not left for the sender
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    assert twilio_api.messages() == []
    with live_services.db.session_scope() as session:
        sent_after = session.scalar(
            select(func.count()).where(
                OutboundMessage.status.in_(("sent", "sending", "queued")),
                OutboundMessage.id > already,
            )
        )
    assert sent_after == 0


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock", **ALWAYS_OPEN)
    add_community(services, "blacklands", "Blacklands", **ALWAYS_OPEN)
    add_campaign(services)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def report_backs(services) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.scalar(select(func.count()).where(OutboundMessage.kind == "report_back"))


def test_forms_without_their_csrf_token_change_nothing(client, organiser):  # type: ignore[no-untyped-def]
    Phone(organiser, "+447700900557").join()
    Phone(organiser, "+447700900557").send("A ceilidh")
    created = client.post(
        "/admin/communities/cumnock/campaigns/new",
        data={"slug": "forged", "title": "Forged", "language": "en", "prompts-0-text": "Hi?"},
    )
    assert created.status_code == 400
    reported = client.post(CAMPAIGN_PAGE + "report-back", data={"text": "Forged update"})
    assert reported.status_code == 400
    with organiser.db.session_scope() as session:
        assert session.scalar(select(Campaign).where(Campaign.slug == "forged")) is None
    assert report_backs(organiser) == 0


def test_another_communitys_organiser_cannot_report_back(client, organiser):  # type: ignore[no-untyped-def]
    Phone(organiser, "+447700900558").join()
    Phone(organiser, "+447700900558").send("Fireworks")
    client.post("/admin/logout")
    add_user(organiser, "other@example.org", "organiser", ("blacklands",))
    log_in(client, "other@example.org")
    response = post_form(
        client, "/admin/", {"text": "Not yours to send"}, CAMPAIGN_PAGE + "report-back"
    )
    assert response.status_code == 404
    assert report_backs(organiser) == 0


def test_erasure_reaches_the_csv_and_excel_downloads(client, organiser):  # type: ignore[no-untyped-def]
    add_user(organiser, "lee@example.org", "admin")
    log_in(client, "lee@example.org")
    kept, erased = Phone(organiser, "+447700900559"), Phone(organiser, "+447700900560")
    for phone, words in ((kept, "Keep the library open"), (erased, "Forget my bench idea")):
        phone.join()
        phone.send(words)
    assert "Forget my bench idea" in _download(client, "csv").decode("utf-8")
    erased.send("DELETE")
    erased.send("CONFIRM")
    csv_body = _download(client, "csv").decode("utf-8")
    assert "Keep the library open" in csv_body and "bench" not in csv_body
    sheet = load_workbook(io.BytesIO(_download(client, "xlsx"))).worksheets[0]
    cells = [str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value]
    assert any("Keep the library open" in cell for cell in cells)
    assert not any("bench" in cell for cell in cells)


def _download(client, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(f"/admin/communities/cumnock/export.{fmt}")
    assert response.status_code == 200
    return response.get_data()


def test_help_on_telegram_says_how_to_stop_and_erase(live_client, live_services, telegram_api):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    for name in ("start_payload", "callback_join"):
        _post_update(live_client, load_telegram(name))
    for number, words in enumerate(("HELP", "/help"), start=1):
        update = load_telegram("text", update_id=900_000 + number)
        update["message"]["text"] = words
        assert _post_update(live_client, update).status_code == 200
        reply = telegram_api.sent_texts(update["message"]["chat"]["id"])[-1]
        assert "STOP" in reply.upper() and "DELETE" in reply.upper(), reply


def _post_update(client, update: dict):  # type: ignore[no-untyped-def,type-arg]
    return client.post(
        "/webhooks/telegram",
        data=json.dumps(update),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
