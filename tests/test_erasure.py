"""DELETE + CONFIRM takes a resident's words and contact with them; retention expires old words."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text, update

from bot.conversation import residents, retention, safeguarding
from storage.models import (
    Assignment,
    Community,
    Consent,
    InboundMessage,
    OutboundMessage,
    Resident,
    Response,
    SafeguardingAlert,
    utcnow,
)
from tests.conftest import DATA_KEY, TELEGRAM_SECRET, load_telegram, load_twilio, post_twilio
from tests.helpers import Phone, add_campaign, add_community
from webhooks.cli import cli

PATH = "/webhooks/twilio/sms"
# Every table that holds something of a resident's, and how to find their rows in it.
PER_RESIDENT = (Resident, Response, Consent, Assignment, OutboundMessage, SafeguardingAlert)


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def twiml_messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    from xml.etree import ElementTree

    return [el.text or "" for el in ElementTree.fromstring(response.data).iter("Message")]


def rows_of(services, resident_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        found = {}
        for model in PER_RESIDENT:
            column = model.id if model is Resident else model.resident_id
            found[model.__tablename__] = session.scalar(
                select(func.count()).select_from(model).where(column == resident_id)
            )
        found["inbound_messages"] = session.scalar(
            select(func.count()).where(InboundMessage.text != "")
        )
        return found


def test_delete_confirm_by_sms_erases_every_table_export_and_count_with_one_message(
    client, services, cli_env
):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    with services.db.session_scope() as session:
        community = session.scalar(select(Community))
        safeguarding.set_lead(session, services.vault, community, "sms", "+447700900555")
    neighbour = Phone(services, address="+447700900888")
    neighbour.join()
    neighbour.send("More buses")

    def say(body: str, sid: str) -> list[str]:
        params = load_twilio("sms_answer", Body=body, MessageSid=sid)
        return twiml_messages(post_twilio(client, PATH, params))

    say("CUMNOCK", "SMe1")
    say("YES", "SMe2")
    say("A bonfire", "SMe3")
    say("I cut myself sometimes", "SMe4")
    say("NO", "SMe5")
    with services.db.session_scope() as session:
        resident_id = session.scalar(
            select(Resident.id).where(Resident.address_hash != neighbour_hash(services))
        )
    before = rows_of(services, resident_id)
    assert all(before[name] for name in ("residents", "responses", "consents", "assignments"))
    assert before["safeguarding_alerts"] == 1
    assert "I cut myself" in run("export", "--community", "cumnock", "--include-safeguarding")

    assert "CONFIRM" in say("DELETE", "SMe6")[0]
    done = say("confirm", "SMe7")
    assert len(done) == 1 and "erased" in done[0]

    after = rows_of(services, resident_id)
    assert {k: v for k, v in after.items() if k != "inbound_messages"} == dict.fromkeys(
        (m.__tablename__ for m in PER_RESIDENT), 0
    )
    export = run("export", "--community", "cumnock", "--format", "jsonl", "--include-safeguarding")
    assert [json.loads(line)["text"] for line in export.splitlines()] == ["More buses"]
    listing = run("community", "list").splitlines()
    assert listing[0].split()[-1] == "erased"
    assert listing[1].split()[2:] == ["1", "1", "0", "100%", "1"]  # joined heard unheard % erased
    with services.db.session_scope() as session:
        # Only the neighbour's words and the tombstone of the CONFIRM remain.
        assert sorted(session.scalars(select(InboundMessage.text))) == [
            "",
            "CUMNOCK",
            "More buses",
            "YES",
        ]

    # Erasing twice is harmless: they are a stranger now, and the count stays at one.
    assert "CONFIRM" not in " ".join(say("CONFIRM", "SMe8"))
    with services.db.session_scope() as session:
        assert residents.erase_contact(session, "no-such-hash", keep_inbound_id=None) == 0
        assert session.scalar(select(Community.erased_count)) == 1


@pytest.mark.parametrize(
    "stored_before_0016", [False, True], ids=["keys on the rows", "rows stored before 0016"]
)
def test_signed_requests_replayed_after_erasure_bring_nothing_back(
    client, services, stored_before_0016, caplog
):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    captured = [
        load_twilio("sms_answer", Body=body, MessageSid=f"SMr{number}")
        for number, body in enumerate(["CUMNOCK", "YES", "A bonfire by the river", "DELETE"])
    ]
    for params in captured:
        post_twilio(client, PATH, params)
    if stored_before_0016:  # their keys need the vault: erasure makes them
        with services.db.session_scope() as session:
            session.execute(update(InboundMessage).values(erased_key=None))
    confirm = load_twilio("sms_answer", Body="CONFIRM", MessageSid="SMr9")
    assert "erased" in twiml_messages(post_twilio(client, PATH, confirm))[0]

    for params in [*captured, confirm]:  # an attacker replays every signed request
        replayed = post_twilio(client, PATH, params)
        assert replayed.status_code == 200
        assert twiml_messages(replayed) == []
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalars(select(InboundMessage.text)).all() == [""]  # the tombstone
        kept = session.execute(text("SELECT key FROM erased_messages")).scalars().all()
    assert len(kept) == 5 and all(len(key) == 64 for key in kept)  # hashes, no provider ids
    assert not [r for r in caplog.records if "one statement failed" in r.getMessage()]


def test_confirm_on_postgresql_is_one_select_and_one_statement(client, services):  # type: ignore[no-untyped-def]
    # The keys erasure keeps were written with each message: none is read and hashed first.
    if not services.db.is_postgresql:
        pytest.skip("SQLite writes a turn the ordinary way")
    from tests.test_conversation_store import statements

    add_community(services)
    add_campaign(services)
    for number, body in enumerate(["CUMNOCK", "YES", "A bonfire by the river", "DELETE"]):
        post_twilio(client, PATH, load_twilio("sms_answer", Body=body, MessageSid=f"SMs{number}"))
    with statements(services.db) as seen:
        confirm = load_twilio("sms_answer", Body="CONFIRM", MessageSid="SMs9")
        assert "erased" in twiml_messages(post_twilio(client, PATH, confirm))[0]
    assert [sql.split(None, 1)[0] for sql in seen] == ["SELECT", "WITH"], seen
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        assert session.scalar(text("SELECT count(*) FROM erased_messages")) == 5


def neighbour_hash(services) -> str:  # type: ignore[no-untyped-def]
    return services.vault.address_hash("sms", "+447700900888")


def test_slash_delete_on_telegram_erases_and_sends_one_confirmation(
    live_client, live_services, telegram_api
):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    chat = load_telegram("text")["message"]["chat"]["id"]

    def say(text: str, update_id: int) -> None:
        update = load_telegram("text", update_id=update_id)
        update["message"]["text"] = text
        response = live_client.post(
            "/webhooks/telegram",
            data=json.dumps(update),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200

    say("/start cumnock", 1)
    say("YES", 2)
    say("Lights on the high street", 3)
    say("/delete", 4)
    sent_before = len(telegram_api.sent_texts(chat))
    say("/confirm", 5)
    confirmation = telegram_api.sent_texts(chat)[sent_before:]
    assert len(confirmation) == 1 and "erased" in confirmation[0]
    with live_services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalar(select(Community.erased_count)) == 1


@pytest.mark.parametrize(
    "words", ["please delete my data", "Erase me!", "Can you remove my number please", "forget me"]
)
def test_erasure_asked_for_in_other_words_is_confirmed_like_delete(services, words):  # type: ignore[no-untyped-def]
    add_community(services)
    phone = Phone(services)
    phone.join()
    phone.send("More benches")
    assert "CONFIRM" in phone.send(words)[0]
    assert "erased" in phone.send("CONFIRM")[0]
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_words_about_removing_other_things_are_kept_as_words(services):  # type: ignore[no-untyped-def]
    add_community(services)
    phone = Phone(services)
    phone.join()
    assert "CONFIRM" not in phone.send("They should remove my street's old bins")[0]


def age(services, model, column, days: int) -> None:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        session.execute(update(model).values({column: utcnow() - timedelta(days=days)}))


def test_retention_erases_old_words_and_idle_residents_but_keeps_open_disclosures(
    services, cli_env
):  # type: ignore[no-untyped-def]
    add_community(services)
    old, recent = Phone(services), Phone(services, address="+447700900222")
    old.join()
    old.send("An old thought")
    old.send("I want to die")
    recent.join()
    age(services, Response, "received_at", 100)
    age(services, InboundMessage, "received_at", 100)
    age(services, Resident, "last_inbound_at", 100)
    recent.send("A fresh thought")

    dry = run("retention", "--older-than-days", "90", "--dry-run")
    assert "would erase 1 response(s)" in dry and "kept 1" in dry
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 3

    out = run("retention", "--older-than-days", "90")
    assert "erased 1 response(s)" in out
    with services.db.session_scope() as session:
        texts = sorted(session.scalars(select(Response.text)))
        assert texts == ["A fresh thought", "I want to die"]
        alert = session.scalars(select(SafeguardingAlert)).one()
        safeguarding.acknowledge(session, alert.community_id, alert.id, "lead")

    result = retention.retention_job(services.db, 90)
    assert (result.responses, result.residents) == (1, 1)
    with services.db.session_scope() as session:
        assert list(session.scalars(select(Response.text))) == ["A fresh thought"]
        assert session.scalar(select(func.count()).select_from(Resident)) == 1


def test_retention_refuses_a_zero_day_window(cli_env):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["retention", "--older-than-days", "0"])
    assert result.exit_code == 2 and "at least 1" in result.output
