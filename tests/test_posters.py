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


def test_a_published_results_page_puts_a_second_qr_code_on_the_poster(app, client, services):
    from tests.conftest import PUBLIC_BASE_URL
    from tests.results_support import publish

    organiser_of(client, services, sms_number="+447700900777")
    assert 'id="results-qr"' not in client.get(POSTER).get_data(as_text=True)
    assert client.get("/admin/communities/cumnock/results-qr.png").status_code == 404
    assert "/results/" not in pdf_text(client.get(POSTER + ".pdf").data)
    publish(services)
    html = client.get(POSTER).get_data(as_text=True)
    assert 'id="results-qr"' in html and f"{PUBLIC_BASE_URL}/results/cumnock" in html
    png = client.get("/admin/communities/cumnock/results-qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    drawn = pdf_text(client.get(POSTER + ".pdf").data)
    assert f"{PUBLIC_BASE_URL}/results/cumnock" in drawn
    assert "See what we heard and what changed:" in drawn
