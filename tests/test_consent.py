"""Consent per purpose, recorded with the words shown; young people are asked their age first."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import func, select

from bot import texts
from bot.conversation import consent
from storage.models import (
    Community,
    Consent,
    InboundMessage,
    OutboundMessage,
    Resident,
)
from tests.conftest import DATA_KEY, load_telegram
from tests.helpers import Phone, add_campaign, add_community
from webhooks.cli import cli


def consents(services) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        rows = session.execute(
            select(Consent.purpose, Consent.withdrawn_at.is_(None)).order_by(Consent.id)
        ).all()
        return [(purpose, bool(standing)) for purpose, standing in rows]


def test_the_welcome_says_what_joining_covers_and_how_to_stop_and_erase(services):
    add_community(services)
    welcome = Phone(services).send("CUMNOCK")[0]
    assert "questions" in welcome and "what changed" in welcome
    assert "STOP" in welcome and "DELETE" in welcome
    assert texts.sms_segments(welcome)[0] <= 2


def test_yes_records_questions_and_report_backs_with_the_welcome_wording(services):
    add_community(services)
    phone = Phone(services)
    welcome = phone.send("CUMNOCK")[0]
    phone.send("YES")
    with services.db.session_scope() as session:
        rows = session.scalars(select(Consent).order_by(Consent.id)).all()
        assert [r.purpose for r in rows] == ["questions", "report_backs"]
        assert {r.wording for r in rows} == {welcome}
        assert {r.wording_version for r in rows} == {consent.wording_version(welcome)}
        assert consent.has(session, rows[0].resident_id, consent.REPORT_BACKS)
        assert not consent.has(session, rows[0].resident_id, consent.QUOTES)


def quote_questions(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(
            session.scalars(select(OutboundMessage.text).where(OutboundMessage.kind == "consent"))
        )


def test_quotes_are_asked_once_after_the_last_answer_and_yes_records_them(services):
    add_community(services)
    add_campaign(services)
    phone = Phone(services)
    phone.join()
    phone.send("A ceilidh")
    assert quote_questions(services) == []  # not while a question is pending
    assert phone.send("NO") == ["Thank you! Your words go straight to the planning group."]
    assert quote_questions(services) == [texts.text("quotes_ask")]
    assert phone.send("yes") == [texts.text("quotes_yes")]
    phone.send("The park needs benches")
    assert len(quote_questions(services)) == 1
    with services.db.session_scope() as session:
        quoted = session.scalars(select(Consent).where(Consent.purpose == "quotes")).one()
        assert quoted.wording == texts.text("quotes_ask")


def test_no_to_quotes_records_no_quote_consent(services):
    add_community(services)
    phone = Phone(services)
    phone.join()
    phone.send("The bus is late")
    assert "won't quote" in phone.send("NO")[0]
    assert ("quotes", True) not in consents(services)


def test_stop_withdraws_every_purpose_and_start_renews_questions_and_report_backs(services):
    add_community(services)
    phone = Phone(services)
    phone.join()
    phone.send("The bus is late")
    phone.send("YES")
    phone.send("STOP")
    assert consents(services) == [
        ("questions", False),
        ("report_backs", False),
        ("quotes", False),
    ]
    back = phone.send("START")[0]
    assert consents(services)[3:] == [("questions", True), ("report_backs", True)]
    with services.db.session_scope() as session:
        renewed = session.scalars(select(Consent).order_by(Consent.id.desc()).limit(1)).one()
        assert renewed.wording == back and "what changed" in back


def test_the_community_cli_marks_a_community_for_young_people(
    monkeypatch, database_url, db, tmp_path
):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(
        cli, ["community", "add", "youth", "--name", "Youth", "--young-people"]
    )
    assert result.exit_code == 0 and "age band" in result.output
    with db.session_scope() as session:
        assert session.scalar(select(Community.young_people))


def young(services):  # type: ignore[no-untyped-def]
    add_community(services, slug="youth", name="Youth", young_people=True)
    add_campaign(services, slug="youth")
    return Phone(services)


def test_joining_a_young_peoples_community_asks_the_age_band_first(services):
    phone = young(services)
    asked = phone.send("YOUTH")[0]
    assert "how old" in asked and "under 13" in asked
    assert "how old" not in phone.send("YES")[0]  # cannot skip the age question
    assert "YES to join" in phone.send("3")[0]
    replies = phone.send("YES")
    assert "What's one thing" in replies[-1]
    with services.db.session_scope() as session:
        assert session.scalar(select(Resident.age_band)) == "16-17"


def test_an_age_in_years_is_read_as_its_band():
    assert consent.read_age_band("I'm 14") == "13-15"
    assert consent.read_age_band("12") == "under13"
    assert consent.read_age_band("18+") == "18+"
    assert consent.read_age_band("dunno") is None


def test_an_under_13_gets_a_kind_message_and_nothing_of_theirs_is_kept(services):
    phone = young(services)
    phone.send("YOUTH")
    replies = phone.send("11")
    assert len(replies) == 1 and "parent or carer" in replies[0]
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        assert session.scalar(select(func.count()).select_from(Consent)) == 0
        assert session.scalars(select(InboundMessage.text)).all() == [""]  # the tombstone only
        assert session.scalar(select(InboundMessage.raw_enc)) is None


def test_an_under_13_on_telegram_pressing_the_button_is_told_kindly(
    live_client, live_services, telegram_api
):  # type: ignore[no-untyped-def]
    add_community(live_services, slug="youth", name="Youth", young_people=True)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook-token"}

    def post(update):  # type: ignore[no-untyped-def]
        return live_client.post(
            "/webhooks/telegram",
            data=json.dumps(update),
            content_type="application/json",
            headers=headers,
        )

    start = load_telegram("start_payload")
    start["message"]["text"] = "/start youth"
    post(start)
    chat = start["message"]["chat"]["id"]
    assert "how old" in telegram_api.sent_texts(chat)[-1]
    press = load_telegram("callback_join")
    press["callback_query"]["data"] = "1"
    assert post(press).status_code == 200
    assert "parent or carer" in telegram_api.sent_texts(chat)[-1]
    with live_services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_a_no_to_a_pending_question_is_an_answer_not_a_quote_refusal(services):
    from sqlalchemy import update

    from storage.models import OutboundMessage, Response

    add_community(services)
    phone = Phone(services)
    phone.join()
    phone.send("The bus is late")  # the quote question is queued now
    add_campaign(services)  # the launch puts its first question to the resident...
    with services.db.session_scope() as session:  # ...and the sender delivers it
        session.execute(
            update(OutboundMessage).where(OutboundMessage.kind == "prompt").values(status="sent")
        )
    phone.send("NO")
    with services.db.session_scope() as session:
        assert session.scalar(select(Resident.consent_question)) == "quotes"
        answer = session.scalar(select(Response).where(Response.text == "NO"))
        assert answer is not None and answer.prompt_id is not None


def test_quotes_asked_again_after_a_restart_in_the_same_second_are_queued_again(services):
    import time_machine

    add_community(services)
    add_campaign(services)
    phone = Phone(services)
    # The whole exchange within one second, as a fast phone or a script can send it.
    with time_machine.travel(datetime(2026, 12, 6, 12, 0, tzinfo=UTC), tick=False):
        phone.join()
        phone.send("A ceilidh")
        phone.send("NO")
        phone.send("STOP")
        phone.send("START")
        phone.send("A bigger ceilidh")
        phone.send("NO")
    assert quote_questions(services) == [texts.text("quotes_ask")] * 2
