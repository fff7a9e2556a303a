"""Every export is recorded, whether downloaded from the web or written by `voices export`."""

from __future__ import annotations

import getpass

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import ExportRecord, User
from tests.admin_support import add_user, log_in
from tests.helpers import Phone, add_campaign, add_community
from webhooks.cli import cli


@pytest.fixture
def answered(services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_campaign(services, "cumnock")
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    phone = Phone(services, "+447700900001")
    phone.join()
    phone.send("Lanterns along the river")
    return services


def records(services) -> list[tuple[str, int | None, str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        found = session.scalars(select(ExportRecord).order_by(ExportRecord.id)).all()
        return [(r.user_email, r.user_id, r.format, r.filters) for r in found]


def test_a_command_line_export_is_recorded_as_the_system_user(cli_env, answered, tmp_path):
    target = tmp_path / "out.jsonl"
    args = ["export", "--community", "cumnock", "--campaign", "festival-ideas"]
    args += ["--since", "2020-01-01", "--format", "jsonl", "--redact", "--output", str(target)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Lanterns along the river" in target.read_text(encoding="utf-8")
    filters = {"campaign": "festival-ideas", "since": "2020-01-01", "redact": "1"}
    assert records(answered) == [(getpass.getuser(), None, "jsonl", filters)]


def test_a_command_line_export_that_includes_safeguarding_says_so(cli_env, answered, monkeypatch):
    monkeypatch.setenv("LOGNAME", "morag")
    args = ["export", "--community", "cumnock", "--include-safeguarding", "--format", "xlsx"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"PK")  # an Excel workbook is a zip file
    assert records(answered) == [("morag", None, "xlsx", {"include_safeguarding": "1"})]


def test_an_export_that_cannot_be_written_is_not_recorded(cli_env, answered, tmp_path):
    target = tmp_path / "no-such-folder" / "out.csv"
    result = CliRunner().invoke(cli, ["export", "--community", "cumnock", "--output", str(target)])
    assert result.exit_code == 2 and "cannot write" in result.output
    assert records(answered) == []


def test_a_web_download_is_recorded_as_the_logged_in_user(client, answered):
    log_in(client, "staff@example.org")
    response = client.get("/admin/communities/cumnock/export.csv?until=2099-01-01&redact=0")
    assert "Lanterns along the river" in response.get_data(as_text=True)
    with answered.db.session_scope() as session:
        staff_id = session.scalar(select(User.id).where(User.email == "staff@example.org"))
    assert records(answered) == [("staff@example.org", staff_id, "csv", {"until": "2099-01-01"})]
