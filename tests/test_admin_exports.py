"""Exports from the browser: the same columns and filters as the CLI, streamed, each recorded."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.exports import COLUMNS
from storage.models import ExportRecord
from tests.admin_support import add_user, log_in
from tests.helpers import Phone, add_campaign, add_community


@pytest.fixture
def answered(services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_campaign(services, "cumnock")
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    add_user(services, "boss@example.org", "admin")
    phone = Phone(services, "+447700900001")
    phone.join()
    phone.send('=HYPERLINK("http://x") call me on 07700 900123')
    phone.send("Mehr Licht 🏮, bitte")
    return services


def test_staff_download_csv_jsonl_and_xlsx_with_the_contract_columns(client, answered):
    log_in(client, "staff@example.org")
    base = "/admin/communities/cumnock/export"
    as_csv = client.get(base + ".csv")
    assert as_csv.is_streamed and as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    assert "attachment" in as_csv.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert tuple(table[0]) == COLUMNS
    assert table[1][COLUMNS.index("text")].startswith("=HYPERLINK")
    assert table[2][COLUMNS.index("text")] == "Mehr Licht 🏮, bitte"
    assert table[1][COLUMNS.index("resident")] != "+447700900001"

    lines = client.get(base + ".jsonl").get_data(as_text=True).splitlines()
    assert [json.loads(line)["prompt_id"] for line in lines] == ["idea", "help"]
    assert list(json.loads(lines[0])) == list(COLUMNS)

    workbook = load_workbook(io.BytesIO(client.get(base + ".xlsx").data), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert rows[1][COLUMNS.index("text")].startswith("=HYPERLINK")  # a string, not a formula
    assert len(rows) == 3


def test_export_filters_and_redaction_match_the_cli(client, answered):
    log_in(client, "staff@example.org")
    base = "/admin/communities/cumnock/export.jsonl"
    redacted = client.get(base + "?redact=1").get_data(as_text=True)
    assert "07700 900123" not in redacted and "HYPERLINK" in redacted
    assert client.get(base + "?since=2099-01-01").get_data(as_text=True) == ""
    assert client.get(base + "?until=2000-01-01").get_data(as_text=True) == ""
    assert len(client.get(base + "?campaign=festival-ideas").get_data(True).splitlines()) == 2
    assert client.get(base + "?campaign=nope").status_code == 404
    assert client.get(base + "?since=yesterday").status_code == 400


def test_every_export_is_recorded_and_admins_can_read_the_log(client, answered):
    log_in(client, "staff@example.org")
    client.get("/admin/communities/cumnock/export.csv?campaign=festival-ideas&redact=1")
    client.get("/admin/communities/cumnock/export.xlsx")
    with answered.db.session_scope() as session:
        records = session.scalars(select(ExportRecord).order_by(ExportRecord.id)).all()
        assert [(r.user_email, r.format) for r in records] == [
            ("staff@example.org", "csv"),
            ("staff@example.org", "xlsx"),
        ]
        assert records[0].filters == {"campaign": "festival-ideas", "redact": "1"}
    assert client.get("/admin/exports").status_code == 403
    other = client.application.test_client()
    log_in(other, "boss@example.org")
    log = other.get("/admin/exports").get_data(as_text=True)
    assert log.count("staff@example.org") == 2 and "campaign=festival-ideas, redact=1" in log
