"""The poster an organiser prints: how residents join, and only ways that work."""

from __future__ import annotations

import re
import zlib

import pytest

from tests.admin_support import add_user, log_in
from tests.helpers import add_community

POSTER = "/admin/communities/cumnock/poster"


def pdf_text(body: bytes) -> str:
    """The words drawn on a PDF's pages (fpdf2 compresses each page's stream)."""
    drawn = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            drawn.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return " ".join(re.findall(r"\((.*?)\)\s*Tj", " ".join(drawn)))


def organiser_of(client, services, **community: object):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock", **community)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")


def test_the_poster_shows_the_communitys_own_number(app, client, services):
    app.config["TELEGRAM_BOT_USERNAME"] = "CumnockVoicesBot"
    organiser_of(client, services, sms_number="+447700900777")
    page = client.get(POSTER).get_data(as_text=True)
    assert "Text <strong>CUMNOCK</strong> to <strong>+447700900777</strong>" in page
    assert "Text CUMNOCK to +447700900777" in pdf_text(client.get(POSTER + ".pdf").data)


class TestWithNoNumberAnywhere:
    @pytest.fixture
    def settings(self, settings):  # type: ignore[no-untyped-def]
        return settings.with_changes(twilio_from="")

    def test_the_poster_leaves_out_texting_and_tells_the_organiser(self, app, client, services):
        app.config["TELEGRAM_BOT_USERNAME"] = "CumnockVoicesBot"
        organiser_of(client, services)
        page = client.get(POSTER).get_data(as_text=True)
        assert "Text <strong>CUMNOCK</strong>" not in page and "to our number" not in page
        assert "The poster leaves out texting: no SMS number is set" in page
        assert "Scan this with your phone to chat on Telegram" in page
        drawn = pdf_text(client.get(POSTER + ".pdf").data)
        assert "Scan this with your phone" in drawn
        assert "Text CUMNOCK" not in drawn and "to our number" not in drawn
