"""Malformed requests a user or stranger can send get 400 and one sentence, never a 5xx."""

from __future__ import annotations

import json
import logging

import pytest

from tests.admin_support import add_user, csrf_token, log_in
from tests.conftest import TELEGRAM_SECRET, load_telegram, post_twilio
from tests.helpers import add_campaign, add_community

NUL = "\x00"


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_campaign(services)
    add_user(services, "org@example.org", "admin", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def test_a_nul_in_the_login_email_is_refused_and_not_logged(client, services, caplog):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/admin/login",
            data={"email": f"who{NUL}@example.org", "password": "x" * 12, "csrf_token": token},
        )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert "who" not in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/admin/communities/cumnock/responses?q=a%00b",
        "/admin/communities/cumnock/responses?campaign=%00",
        "/admin/communities/cumnock/responses?prompt=%00&channel=%00",
        "/admin/communities/cumnock/responses?since=2026-01-0%00",
        "/admin/communities/cumnock/responses?theme=%00",
        "/admin/communities/cumnock/export.csv?campaign=%00",
        "/admin/communities/cumnock/export.xlsx?since=%00",
        "/admin/communities/cumnock/export.jsonl?until=2026%00",
        "/admin/communities/cum%00nock/",
        "/admin/communities/cum%00nock/responses",
        "/admin/communities/cumnock/campaigns/%00/",
        "/admin/communities/cumnock/campaigns/new?starter=%00",
        "/admin/communities/cumnock/poster?%00=1",
    ],
)
def test_a_nul_anywhere_in_an_admin_address_gets_400(client, organiser, path):  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_",
    ["/admin/%0d%0aSet-Cookie:%20x=1", "/admin/%5c%5cevil.example", "/admin/\t"],
)
def test_a_login_next_with_control_characters_goes_home(client, services, next_):  # type: ignore[no-untyped-def]
    add_user(services, "org@example.org", "organiser")
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    response = client.post(
        f"/admin/login?next={next_}",
        data={"email": "org@example.org", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def _post_update(client, body: str | bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/webhooks/telegram",
        data=body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )


def _without(update: dict, *path: str) -> dict:  # type: ignore[type-arg]
    node = update
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return update


def _replaced(update: dict, value: object, *path: str) -> dict:  # type: ignore[type-arg]
    node = update
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return update


MALFORMED_UPDATES = {
    "message-without-chat": lambda: _without(load_telegram("text"), "message", "chat"),
    "chat-is-a-string": lambda: _replaced(load_telegram("text"), "x", "message", "chat"),
    "chat-without-type": lambda: _without(load_telegram("text"), "message", "chat", "type"),
    "chat-id-is-text": lambda: _replaced(load_telegram("text"), "abc", "message", "chat", "id"),
    "message-is-a-list": lambda: _replaced(load_telegram("text"), [1], "message"),
    "text-is-a-number": lambda: _replaced(load_telegram("text"), 5, "message", "text"),
    "from-id-is-text": lambda: _replaced(load_telegram("text"), "x", "message", "from", "id"),
    "callback-without-from": lambda: _without(
        load_telegram("callback_join"), "callback_query", "from"
    ),
    "callback-message-without-chat": lambda: _without(
        load_telegram("callback_join"), "callback_query", "message", "chat"
    ),
    "member-without-new-member": lambda: _without(
        load_telegram("my_chat_member"), "my_chat_member", "new_chat_member"
    ),
    "member-without-chat": lambda: _without(
        load_telegram("my_chat_member"), "my_chat_member", "chat"
    ),
    "photo-is-a-dict": lambda: _replaced(
        load_telegram("photo_caption"), {"a": 1}, "message", "photo"
    ),
}


@pytest.mark.parametrize("make", MALFORMED_UPDATES.values(), ids=MALFORMED_UPDATES.keys())
def test_malformed_telegram_updates_with_the_secret_get_400(live_client, live_services, make):  # type: ignore[no-untyped-def]
    add_community(live_services)
    response = _post_update(live_client, json.dumps(make()))
    assert response.status_code == 400, response.get_data(as_text=True)


def test_json_nested_100000_deep_gets_400(live_client):  # type: ignore[no-untyped-def]
    body = '{"update_id": 1, "message": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert _post_update(live_client, body).status_code == 400


def test_json_nested_a_few_hundred_deep_gets_400(live_client):  # type: ignore[no-untyped-def]
    body = '{"update_id": 1, "extra": ' + '{"a":' * 500 + "1" + "}" * 500 + "}"
    assert _post_update(live_client, body).status_code == 400


def test_a_nul_in_a_telegram_update_outside_the_text_is_refused_or_replaced(
    live_client, live_services
):  # type: ignore[no-untyped-def]
    add_community(live_services)
    update = load_telegram("text", update_id=424242)
    update["message"]["from"]["language_code"] = "e\x00n"
    update["message"]["from"]["first_name"] = "A\x00"
    assert _post_update(live_client, json.dumps(update)).status_code in (200, 400)


@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus", "ErrorCode"])
def test_a_nul_in_a_signed_status_callback_gets_400(live_client, field):  # type: ignore[no-untyped-def]
    callback = {
        "MessageSid": "SM" + "0" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "30005",
        "AccountSid": "AC" + "0" * 32,
    }
    callback[field] += NUL
    response = post_twilio(live_client, "/webhooks/twilio/status", callback)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_database_errors_do_not_carry_the_values_tried(services):  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as raised, services.db.session_scope() as session:
        session.execute(text("SELECT no_such_column WHERE :email = ''"), {"email": "tried@x.org"})
    assert "tried@x.org" not in str(raised.value)


def _duplicate_community(services) -> None:  # type: ignore[no-untyped-def]
    """Insert the same community twice: PostgreSQL's DETAIL repeats the slug."""
    from storage.models import Community

    with services.db.session_scope() as session:
        for _ in range(2):
            session.add(Community(slug="secret-slug", name="Secret", keyword="SECRETWORD"))
            session.flush()


def test_a_database_error_is_described_by_kind_and_constraint_only(services):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    from storage.db_errors import describe

    with pytest.raises(IntegrityError) as raised:
        _duplicate_community(services)
    described = describe(raised.value)
    assert "secret-slug" not in described and "DETAIL" not in described
    assert "communities" in described


def test_an_unhandled_database_error_is_logged_without_its_values(app, services, caplog):  # type: ignore[no-untyped-def]
    app.add_url_rule("/duplicate", view_func=lambda: _duplicate_community(services))
    app.testing = False  # answer 500 and log it, as in production
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/duplicate")
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.exc_info]
    logged = logging.Formatter().format(record)
    assert "Traceback" in logged and "IntegrityError" in logged
    assert "secret-slug" not in logged and "DETAIL" not in logged


def test_a_chat_member_status_with_a_line_break_stays_on_one_log_line(
    live_client, live_services, caplog
):  # type: ignore[no-untyped-def]
    add_community(live_services)
    update = load_telegram("my_chat_member", update_id=434343)
    update["my_chat_member"]["new_chat_member"]["status"] = "left\r\n2026-12-06 ERROR forged"
    with caplog.at_level(logging.INFO):
        assert _post_update(live_client, json.dumps(update)).status_code == 200
    ignored = [r.getMessage() for r in caplog.records if "chat member update" in r.getMessage()]
    assert ignored and all("\n" not in line and "\r" not in line for line in ignored)
