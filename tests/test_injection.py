"""Residents' words, community names and campaign titles are shown as text, never run as code:
on every page that shows them, and in the Excel download (cells stored as text, not formulas)."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
import xlsxwriter
from openpyxl import load_workbook
from sqlalchemy import select, update

from storage.models import Campaign, Community, Response
from tests.admin_support import add_user, log_in
from tests.theme_answers import SAID_ONCE, realistic_answers, store

SCRIPT = "<script>alert('voices')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMAGE)
# What must never reach a page unescaped: an element a browser would build from our data.
LIVE = re.compile(r"<script>alert|<img src=x onerror", re.I)
ESCAPED = ("&lt;script&gt;alert(", "&lt;img src=x onerror")


def build_town(client, db, services, hostile) -> None:  # type: ignore[no-untyped-def]
    """A town whose chosen answers, name and campaign title carry markup, seen by an admin."""
    written = [
        replace(answer, text=f"{SCRIPT} {answer.text} {IMAGE}") if hostile(n, answer) else answer
        for n, answer in enumerate(realistic_answers())
    ]
    store(db, written)
    with db.session_scope() as session:
        session.execute(
            update(Community).values(name=f"Cumnock {SCRIPT}{IMAGE}", sms_number="+447400123456")
        )
        session.execute(update(Campaign).values(title=f"Ideas {IMAGE} {SCRIPT}"))
    add_user(services, "lee@example.org", "admin")
    log_in(client, "lee@example.org")


@pytest.fixture
def hostile_town(client, db, services):  # type: ignore[no-untyped-def]
    """Every seventh answer carries markup: enough to make a theme of its own, with quotes."""
    build_town(client, db, services, lambda n, answer: answer.topic != "noise" and n % 7 == 0)
    return services


PAGES = {
    "dashboard": "/admin/",
    "community": "/admin/communities/cumnock/",
    "responses": "/admin/communities/cumnock/responses",
    "responses-filtered": "/admin/communities/cumnock/responses?q=alert",
    "campaign": "/admin/communities/cumnock/campaigns/town-ideas/",
    "themes": "/admin/communities/cumnock/campaigns/town-ideas/themes",
    "poster": "/admin/communities/cumnock/poster",
    "export-log": "/admin/exports",
}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_markup_from_residents_and_organisers_is_shown_as_text(client, hostile_town, path):  # type: ignore[no-untyped-def]
    client.get("/admin/communities/cumnock/export.csv")  # so the export log has a row
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert not LIVE.search(page), LIVE.search(page)
    assert any(escaped in page for escaped in ESCAPED)  # the words are shown, escaped


def test_the_themes_page_shows_labels_and_quotes_escaped(client, hostile_town):  # type: ignore[no-untyped-def]
    page = client.get(PAGES["themes"]).get_data(as_text=True)
    assert page.count("<blockquote>&lt;script&gt;alert(") >= 3


def test_answers_said_once_are_shown_escaped(client, db, services):  # type: ignore[no-untyped-def]
    build_town(client, db, services, lambda n, answer: answer.text in SAID_ONCE)
    page = client.get(PAGES["themes"]).get_data(as_text=True)
    said_once = page.split('id="said-once"', 1)[1]
    assert said_once.count("<blockquote>&lt;script&gt;alert(") >= 3
    assert "onerror=alert(1)&gt;" in said_once
    assert not LIVE.search(page)


HOSTILE_CELLS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1", '=HYPERLINK("x")']


def formula_cells(workbook_bytes: bytes) -> list[str]:
    """Every cell that Excel would evaluate, read from the file itself (not cached values)."""
    book = load_workbook(io.BytesIO(workbook_bytes))
    return [
        cell.coordinate
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def test_the_formula_check_sees_formulas_when_a_writer_makes_them():  # type: ignore[no-untyped-def]
    """The check below can fail: a workbook written with strings_to_formulas on has formulas."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": True})
    sheet = book.add_worksheet()
    for row, text in enumerate(HOSTILE_CELLS):
        sheet.write(row, 0, text)
    book.close()
    assert formula_cells(buffer.getvalue())


def test_the_excel_download_stores_every_hostile_text_as_text(client, hostile_town, db):  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        ids = session.scalars(select(Response.id).order_by(Response.id).limit(len(HOSTILE_CELLS)))
        for response_id, text in zip(ids, HOSTILE_CELLS, strict=True):
            session.execute(update(Response).where(Response.id == response_id).values(text=text))
    response = client.get("/admin/communities/cumnock/export.xlsx")
    assert response.status_code == 200
    body = response.get_data()
    assert formula_cells(body) == []
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    # openpyxl leaves Excel's escape for a carriage return as it is in the file.
    texts = {
        cell.value.replace("_x000D_", "\r")
        for row in sheet.iter_rows(min_row=2)
        for cell in row
        if isinstance(cell.value, str)
    }
    assert set(HOSTILE_CELLS) <= texts  # kept verbatim, as text
