"""Health check and the simulator, over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.services import Services
from storage.db import Database
from storage.models import Response
from tests.helpers import add_campaign, add_community
from webhooks.app import create_app


def test_healthz_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(settings, tmp_path):
    broken = settings.with_changes(
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
    )
    built = Services.build(broken, db=Database(broken.database_url))
    app = create_app(broken, built=built)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"


@pytest.fixture
def town(services):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    return services


def say(client, text: str, message_id: str | None = None):  # type: ignore[no-untyped-def]
    import secrets

    return client.post(
        "/simulator/send", json={"text": text, "id": message_id or secrets.token_hex(8)}
    )


def test_the_simulator_runs_the_same_conversation(client, town):
    page = client.get("/simulator")
    assert page.status_code == 200
    assert b"CUMNOCK" in page.data
    assert "YES" in say(client, "CUMNOCK").get_json()["replies"][0]["text"]
    assert "What's one thing" in say(client, "YES").get_json()["replies"][-1]["text"]
    say(client, "Lanterns 🏮 along the river")
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.channel)).all() == ["simulator"]
        assert session.scalars(select(Response.text)).all() == ["Lanterns 🏮 along the river"]
    history = client.get("/simulator/history").get_json()["messages"]
    assert [m["from"] for m in history][:2] == ["me", "bot"]
    assert history[-2]["text"] == "Lanterns 🏮 along the river"


def test_a_double_submitted_simulator_message_is_kept_once(client, town):
    say(client, "CUMNOCK")
    say(client, "YES")
    say(client, "Same words", "abcdef123456")
    say(client, "Same words", "abcdef123456")
    with town.db.session_scope() as session:
        assert session.scalars(select(Response.text)).all() == ["Same words"]


def test_bad_simulator_input_gets_a_clear_400(client, town):
    response = client.post("/simulator/send", json={"text": 5, "id": "abcdefgh"})
    assert response.status_code == 400
    assert "text" in response.get_json()["error"]
    assert client.post("/simulator/send", data="text=hi").status_code == 415


def test_the_simulator_is_not_open_in_production(settings, db):
    production = settings.with_changes(env="production")
    app = create_app(production, built=Services.build(production, db=db))
    assert app.test_client().get("/simulator").status_code == 404


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().env = "x"  # type: ignore[misc]
