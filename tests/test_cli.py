"""The `voices` command line as an organiser uses it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from storage.exports import COLUMNS
from tests.helpers import Phone
from webhooks.cli import cli, main

ROOT = Path(__file__).parent.parent


@pytest.fixture
def env(cli_env):  # type: ignore[no-untyped-def]
    return cli_env


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_organiser_journey_add_launch_list(env):
    code, out = run("community", "add", "cumnock", "--name", "Cumnock")
    assert code == 0 and "CUMNOCK" in out
    code, out = run(
        "campaign",
        "launch",
        str(ROOT / "prompts" / "festival-ideas.yaml"),
        "--community",
        "cumnock",
    )
    assert code == 0 and "festival-ideas" in out
    assert "queued the first prompt for 0 resident(s)" in out  # nobody has joined yet
    code, out = run("community", "list")
    assert "cumnock" in out
    code, out = run("campaign", "list", "--community", "cumnock")
    assert "festival-ideas" in out and "active" in out


def test_a_launch_with_a_local_start_time_is_scheduled(env):
    run("community", "add", "cumnock", "--name", "Cumnock")
    code, out = run(
        "campaign",
        "launch",
        str(ROOT / "prompts" / "festival-ideas.yaml"),
        "--community",
        "cumnock",
        "--start",
        "2099-07-01T10:00",
    )
    assert code == 0
    assert "2099-07-01 10:00 Europe/London (2099-07-01T09:00Z)" in out  # summer time
    assert "queued" not in out, "a scheduled launch is queued at its start time, not now"


MISTAKES = {
    "missing file": (["campaign", "launch", "nope.yaml", "--community", "cumnock"], "no such file"),
    "unknown community": (
        ["campaign", "launch", str(ROOT / "prompts" / "festival-ideas.yaml"), "--community", "x"],
        "no community 'x'",
    ),
    "bad timezone": (
        ["community", "add", "bee", "--name", "B", "--timezone", "Mars/Base"],
        "timezone",
    ),
    "bad date": (
        [
            "campaign",
            "launch",
            str(ROOT / "prompts" / "festival-ideas.yaml"),
            "--community",
            "cumnock",
            "--start",
            "next tuesday",
        ],
        "ISO 8601",
    ),
    "duplicate community": (["community", "add", "cumnock", "--name", "Again"], "already exists"),
    "reserved keyword": (["community", "add", "stop", "--name", "Stop"], "STOP"),
    "bad quiet hours": (
        ["community", "add", "bee", "--name", "B", "--quiet-hours", "late"],
        "quiet",
    ),
    "export unknown community": (["export", "--community", "nowhere"], "no community"),
    "bad since": (["export", "--community", "cumnock", "--since", "yesterday"], "--since"),
}


@pytest.mark.parametrize(("args", "expected"), MISTAKES.values(), ids=MISTAKES.keys())
def test_user_mistakes_are_one_line_on_stderr_and_exit_2(env, capsys, args, expected):
    assert main(["community", "add", "cumnock", "--name", "Cumnock"]) == 0
    capsys.readouterr()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err


def test_invalid_yaml_names_its_line(env, capsys, tmp_path):
    main(["community", "add", "cumnock", "--name", "Cumnock"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x\ntitle: T\nprompts:\n  - id: a\n    text: [unclosed\n")
    capsys.readouterr()
    assert main(["campaign", "launch", str(bad), "--community", "cumnock"]) == 2
    assert "line" in capsys.readouterr().err


def test_keygen_prints_a_fernet_key():
    from cryptography.fernet import Fernet

    code, out = run("keygen")
    assert code == 0
    Fernet(out.strip().encode())


@pytest.fixture
def answered(env, services):  # type: ignore[no-untyped-def]
    run("community", "add", "cumnock", "--name", "Cumnock")
    run(
        "campaign",
        "launch",
        str(ROOT / "prompts" / "festival-ideas.yaml"),
        "--community",
        "cumnock",
    )
    phone = Phone(services)
    phone.join()
    phone.send('A ceilidh, "with" fiddles, =1+1, and 🎻')
    phone.send("Call me on 07700 900123 or mail a@b.org, KA18 1AA")
    Phone(services, address="+447700900555").join()
    return services


def test_csv_export_on_stdout_holds_exactly_what_was_typed(answered):
    result = CliRunner().invoke(
        cli, ["export", "--community", "cumnock", "--format", "csv", "--output", "-"]
    )
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert [r[COLUMNS.index("text")] for r in rows[1:]] == [
        'A ceilidh, "with" fiddles, =1+1, and 🎻',
        "Call me on 07700 900123 or mail a@b.org, KA18 1AA",
    ]
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["community"] == "cumnock" and first["campaign"] == "festival-ideas"
    assert first["prompt_id"] == "idea" and first["prompt"].startswith("What's one thing")
    assert first["channel"] == "sms" and first["resident"].startswith("r-")
    assert first["received_at"].endswith("Z")
    assert (
        "+44" not in result.stdout_bytes.decode()
        and "7700900123" not in result.stdout_bytes.decode()
    )


def test_jsonl_export_has_the_contract_keys_in_order(answered, tmp_path):
    out = tmp_path / "x.jsonl"
    code, _ = run("export", "--community", "cumnock", "--format", "jsonl", "--output", str(out))
    assert code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [tuple(r) for r in records] == [COLUMNS, COLUMNS]
    assert records[0]["text"] == 'A ceilidh, "with" fiddles, =1+1, and 🎻'
    assert records[0]["choice"] == ""  # an open question's answer has no choice


def test_xlsx_export_writes_text_as_strings_never_formulas(answered, tmp_path):
    out = tmp_path / "x.xlsx"
    code, _ = run("export", "--community", "cumnock", "--format", "xlsx", "--output", str(out))
    assert code == 0
    sheet = load_workbook(out).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == COLUMNS
    assert values[1][COLUMNS.index("text")] == 'A ceilidh, "with" fiddles, =1+1, and 🎻'
    assert sheet.cell(row=2, column=10).data_type == "s"


def test_redacted_export_masks_numbers_emails_and_postcodes(answered):
    result = CliRunner().invoke(cli, ["export", "--community", "cumnock", "--redact"])
    text = result.stdout_bytes.decode()
    assert "Call me on [phone] or mail [email], [postcode]" in text


def test_export_filters_by_campaign_and_dates(answered):
    result = CliRunner().invoke(
        cli, ["export", "--community", "cumnock", "--since", "2000-01-01", "--until", "2000-01-02"]
    )
    assert result.stdout_bytes.decode().count("\n") == 1  # header only
    result = CliRunner().invoke(cli, ["export", "--community", "cumnock", "--campaign", "nope"])
    assert result.exit_code == 2


def test_quiet_hours_default_to_the_evening_and_can_be_switched_off(env):
    from sqlalchemy import select

    from storage.models import Community

    run("community", "add", "cumnock", "--name", "Cumnock")
    run("community", "add", "nightowls", "--name", "Night Owls", "--quiet-hours", "off")
    run("community", "add", "school", "--name", "School", "--quiet-hours", "15:30-08:00")
    with env.session_scope() as session:
        hours = dict(
            (slug, (start, end))
            for slug, start, end in session.execute(
                select(Community.slug, Community.quiet_start, Community.quiet_end)
            )
        )
    assert hours == {
        "cumnock": ("20:00", "09:00"),
        "nightowls": (None, None),
        "school": ("15:30", "08:00"),
    }
