"""`voices results`: the tallies as text, JSON and CSV, small groups hidden, errors in one line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from storage.small_groups import FEWER_THAN
from tests.tally_support import Seeded
from webhooks.cli import cli

RESULTS = ("results", "--community", "cumnock", "--campaign", "park")


@pytest.fixture
def seeded(cli_env, services):  # type: ignore[no-untyped-def]
    seeded = Seeded.start(services)
    seeded.answers("North", "Not at all safe", 5)
    seeded.answers("South", "Very safe", 4)
    seeded.answers("Centre", "5", 6, prompt="often")
    shy = seeded.resident(None)
    seeded.reply(shy, "park", "\x1b[31mit depends\x1b[0m", None)
    return seeded


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_holds_every_answer_the_groups_and_the_unmatched_replies(seeded):
    result = run(*RESULTS, "--format", "json")
    assert result.exit_code == 0
    park, often = json.loads(result.stdout)["questions"]
    assert park["prompt_id"] == "park" and park["answered"] == 9
    assert [(a["answer"], a["count"], a["percent"]) for a in park["answers"]] == [
        ("Very safe", 4, 44),
        ("Quite safe", 0, 0),
        ("Not very safe", 0, 0),
        ("Not at all safe", 5, 56),
    ]
    assert park["groups"]["area"][0] == {
        "group": "North",
        "answered": 5,
        "counts": {"Very safe": 0, "Quite safe": 0, "Not very safe": 0, "Not at all safe": 5},
    }
    # South's four are hidden, with no counts to work them out from.
    assert park["groups"]["area"][1] == {"group": "South", "answered": FEWER_THAN}
    assert park["unmatched_residents"] == 1
    assert park["unmatched"] == ["\x1b[31mit depends\x1b[0m"]
    assert [a["label"] for a in often["answers"]] == ["1 (never)", "2", "3", "4", "5 (every day)"]
    assert often["answers"][-1]["count"] == 6


def test_text_shows_counts_and_shares_and_never_runs_a_resident_s_escape_codes(seeded):
    result = run(*RESULTS)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "The park after dark (park)"
    assert "  Not at all safe         5   56%" in lines
    assert "    South: fewer than 5" in lines
    assert any(
        line.startswith("    North (5): ") and "Not at all safe 5 (100%)" in line for line in lines
    )
    assert "\x1b" not in result.stdout
    assert "    \\x1b[31mit depends\\x1b[0m" in lines


def test_csv_has_a_row_per_answer_for_everyone_and_each_group(seeded):
    result = run(*RESULTS, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    everyone = [r for r in rows if r["prompt_id"] == "park" and r["group"] == "everyone"]
    assert [(r["answer"], r["count"], r["percent"]) for r in everyone] == [
        ("Very safe", "4", "44"),
        ("Quite safe", "0", "0"),
        ("Not very safe", "0", "0"),
        ("Not at all safe", "5", "56"),
    ]
    south = [r for r in rows if r["prompt_id"] == "park" and r["group"] == "South"]
    assert {(r["answered"], r["count"], r["percent"]) for r in south} == {(FEWER_THAN, "-", "-")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--community", "cumnock", "--campaign", "nope"), "voices: no campaign 'nope' in cumnock"),
        (("--community", "nowhere", "--campaign", "park"), "voices: no community 'nowhere'"),
    ],
    ids=["unknown-campaign", "unknown-community"],
)
def test_a_wrong_slug_is_one_line_on_stderr(seeded, args, message):
    result = run("results", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message)
