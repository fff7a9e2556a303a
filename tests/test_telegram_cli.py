"""`voices telegram poll` and `voices telegram set-webhook` against a loopback Bot API."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import Response
from tests.conftest import DATA_KEY, TELEGRAM_SECRET, TELEGRAM_TOKEN, load_telegram
from tests.helpers import add_campaign, add_community
from webhooks.cli import cli


@pytest.fixture
def env(monkeypatch, database_url, db, tmp_path, telegram_api):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.base_url)
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.chdir(tmp_path)
    return telegram_api


def test_poll_answers_updates_without_a_public_url(env, services):
    add_community(services)
    add_campaign(services)
    for name in ("start_payload", "yes", "text"):
        env.queue_update(load_telegram(name))
    result = CliRunner().invoke(cli, ["telegram", "poll", "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "voices_test_bot" in result.output
    assert env.calls_for("deleteWebhook")
    texts = env.sent_texts(5551234567)
    assert "YES" in texts[0]
    assert texts[-1].startswith("Would you like to help")
    with services.db.session_scope() as session:
        assert session.scalars(select(Response.text)).all() == ["Hello there"]


def test_set_webhook_registers_the_url_with_the_secret(env, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://voices.example.org")
    result = CliRunner().invoke(cli, ["telegram", "set-webhook"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    call = env.calls_for("setWebhook")[-1]
    assert call.params["url"] == "https://voices.example.org/webhooks/telegram"
    assert call.params["secret_token"] == TELEGRAM_SECRET
    assert "t.me/voices_test_bot?start=" in result.output


def test_set_webhook_needs_an_https_public_url(env, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    result = CliRunner().invoke(cli, ["telegram", "set-webhook"])
    assert result.exit_code == 2
    assert "https" in result.output
    assert env.calls_for("setWebhook") == []
