"""Launching and closing a campaign from the command line, as the web pages do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import Campaign
from tests.helpers import Phone, add_community
from webhooks.cli import cli

ROOT = Path(__file__).parent.parent
STREETS = """\
slug: summer-streets
title: Summer streets
language: en
prompts:
  - id: street
    text: What would make your street nicer this summer?
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def town(cli_env, services):  # type: ignore[no-untyped-def]
    add_community(services)
    return services


def test_a_launch_says_who_got_the_question_and_who_waits_for_it(town, tmp_path):
    code, out = run(
        "campaign",
        "launch",
        str(ROOT / "prompts" / "festival-ideas.yaml"),
        "--community",
        "cumnock",
    )
    assert code == 0 and "queued the first prompt for 0 resident(s)" in out
    assert "another campaign" not in out
    free = Phone(town, "+447700900002")
    for address in ("+447700900001", "+447700900003"):
        Phone(town, address).join()
    free.join()
    free.send("Lanterns along the river")
    free.send("Not knowing anyone")
    free.send("I could carry a lantern")  # answered everything: free for a new campaign
    (tmp_path / "streets.yaml").write_text(STREETS, encoding="utf-8")
    code, out = run("campaign", "launch", str(tmp_path / "streets.yaml"), "--community", "cumnock")
    assert code == 0, out
    assert "queued the first prompt for 1 resident(s)" in out
    assert "2 with another campaign's question open get it after answering that one" in out


def test_closing_a_campaign_from_the_command_line_stops_its_questions(town):
    run(
        "campaign",
        "launch",
        str(ROOT / "prompts" / "festival-ideas.yaml"),
        "--community",
        "cumnock",
    )
    code, out = run("campaign", "close", "festival-ideas", "--community", "cumnock")
    assert code == 0 and "closed festival-ideas in cumnock" in out
    assert "We'll text when we have a question" in Phone(town).join()[-1]
    code, out = run("campaign", "close", "festival-ideas", "--community", "cumnock")
    assert code == 0 and "already closed" in out


def test_closing_an_unknown_campaign_is_one_clear_line(town):
    code, out = run("campaign", "close", "nope", "--community", "cumnock")
    assert code == 2 and "no campaign 'nope' in cumnock" in out


def campaigns_in(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(session.scalars(select(Campaign.slug)))


def test_a_start_in_the_past_is_refused_in_one_sentence(town, tmp_path):
    (tmp_path / "streets.yaml").write_text(STREETS, encoding="utf-8")
    code, out = run(
        "campaign", "launch", str(tmp_path / "streets.yaml"), "--community", "cumnock",
        "--start", "2020-01-01T10:00",
    )  # fmt: skip
    assert code == 2
    assert (
        "the start 2020-01-01 10:00 Europe/London is in the past; leave it empty to start now"
        in out
    )
    assert campaigns_in(town) == []


LONG_QUESTION = "Tell us about the park, the benches, the paths and the lights. " * 8


def test_a_prompt_file_over_the_segment_budget_is_refused_unless_allowed(town, tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(STREETS + f"  - id: park\n    text: {LONG_QUESTION}\n", encoding="utf-8")
    code, out = run("campaign", "launch", str(path), "--community", "cumnock")
    assert code == 2
    assert "prompt 'park' is 4 SMS segments, over the budget of 2" in out
    assert campaigns_in(town) == []
    code, out = run("campaign", "launch", str(path), "--community", "cumnock", "--allow-long")
    assert code == 0, out
    assert campaigns_in(town) == ["summer-streets"]
