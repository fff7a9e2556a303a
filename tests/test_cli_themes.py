"""`voices themes` as staff use it: one page of what a community said, every answer reachable."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import Campaign, Response
from storage.themes import ThemeFilter, themes_json
from tests.helpers import Phone
from tests.theme_answers import START, Written, realistic_answers, store
from webhooks.cli import cli, main

LONDON = ZoneInfo("Europe/London")
FESTIVAL = [
    Written(resident=9_000 + n, topic="festival", text=f"a ceilidh in the hall, idea {n}")
    for n in range(6)
]


@pytest.fixture
def env(cli_env):  # type: ignore[no-untyped-def]
    return cli_env


@pytest.fixture
def town(env):  # type: ignore[no-untyped-def]
    """Answers to two campaigns: town ideas in early October, festival ideas in November."""
    ideas = store(env, realistic_answers())
    festival = store(env, FESTIVAL, campaign_slug="festival", start=START.replace(month=11, day=20))
    return ideas, festival


def themes(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(
        cli, ["themes", "--community", "cumnock", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1  # one object on one line
    return json.loads(result.output)


def listed_ids(shape: dict) -> list[int]:  # type: ignore[type-arg]
    ids = [rid for theme in shape["themes"] for rid in theme["response_ids"]]
    return ids + shape["other"]["response_ids"]


def test_json_is_one_object_in_the_contract_shape(town):
    shape = themes("--campaign", "town-ideas")
    assert set(shape) == {"answers", "themes", "other"}
    assert set(shape["other"]) == {"answers", "response_ids"}
    assert 1 <= len(shape["themes"]) <= 10
    for theme in shape["themes"]:
        assert set(theme) == {"label", "words", "answers", "residents", "quotes", "response_ids"}
        assert isinstance(theme["label"], str) and theme["label"]
        assert theme["answers"] == len(theme["response_ids"])
        assert 5 <= theme["residents"] <= theme["answers"]
        assert all(isinstance(word, str) for word in theme["words"])


def test_every_answer_behind_the_themes_is_an_exported_response(town, env):
    shape = themes("--campaign", "town-ideas")
    with env.session_scope() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.slug == "town-ideas")).one()
        spec = ThemeFilter(community_id=campaign.community_id, campaign_id=campaign.id)
        assert themes_json(session, spec) == shape  # what the dashboard will show
    exported = CliRunner().invoke(
        cli,
        ["export", "--community", "cumnock", "--campaign", "town-ideas", "--format", "jsonl"],
    )
    export_ids = [json.loads(line)["response_id"] for line in exported.output.splitlines()]
    ids = listed_ids(shape)
    assert len(ids) == len(set(ids)) == shape["answers"]
    assert sorted(ids) == sorted(export_ids)


def test_text_shows_themes_with_counts_quotes_other_and_said_once(town):
    result = CliRunner().invoke(cli, ["themes", "--community", "cumnock"])
    assert result.exit_code == 0
    out = result.output
    assert out.startswith(f"{sum(len(part) for part in town)} answers: 3 theme(s)")
    assert "youth club" in out and "play park" in out and "bus" in out
    assert "answers from" in out and "residents)" in out
    assert out.count('   "') >= 9  # quotes, each on its own line
    assert "other:" in out and "said once" in out
    assert "defibrillator" in out
    assert "@" not in out and "07700" not in out


def test_themes_follow_the_chosen_campaign_prompt_and_days(town, env):
    ideas, festival = town
    assert themes()["answers"] == len(ideas) + len(festival)
    assert sorted(listed_ids(themes("--campaign", "festival"))) == sorted(festival)
    assert themes("--campaign", "festival")["themes"] == []  # six answers: too few for a theme
    assert themes("--prompt", "idea")["answers"] == len(ideas) + len(festival)
    with env.session_scope() as session:
        received = dict(session.execute(select(Response.id, Response.received_at)).all())
    second_day = {
        rid for rid in ideas if received[rid].astimezone(LONDON).date() == date(2026, 10, 2)
    }
    shape = themes("--since", "2026-10-02", "--until", "2026-10-02")
    assert second_day and set(listed_ids(shape)) == second_day


MISTAKES = {
    "unknown community": (["--community", "nowhere"], "no community 'nowhere'"),
    "unknown campaign": (["--community", "cumnock", "--campaign", "nope"], "no campaign 'nope'"),
    "unknown prompt": (["--community", "cumnock", "--prompt", "nope"], "no prompt 'nope'"),
    "bad since": (["--community", "cumnock", "--since", "last week"], "--since"),
    "bad format": (["--community", "cumnock", "--format", "pdf"], "--format"),
}


@pytest.mark.parametrize(("args", "expected"), MISTAKES.values(), ids=MISTAKES.keys())
def test_mistakes_are_one_line_on_stderr_and_exit_2(town, capsys, args, expected):
    capsys.readouterr()
    assert main(["themes", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_an_erased_residents_words_never_appear(town, services):
    before = themes()["answers"]
    phone = Phone(services, address="+447700900777")
    phone.join()
    phone.send("The swings at the play park are broken and my wee one got hurt")
    with services.db.session_scope() as session:
        theirs = set(
            session.scalars(select(Response.id).where(Response.text.like("%wee one got%")))
        )
    assert theirs and themes()["answers"] == before + 1
    phone.send("DELETE")
    phone.send("CONFIRM")
    after = themes()
    assert after["answers"] == before and not theirs & set(listed_ids(after))


def test_text_shows_each_self_described_groups_share_with_small_groups_hidden(town, env):
    from sqlalchemy import select

    from storage.models import Community, ProfileAnswer, ProfileQuestion, Resident

    with env.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == "cumnock"))
        question = ProfileQuestion(
            community_id=community.id,
            position=0,
            key="area",
            text="Which part of town?",
            choices={"choices": ["North", "South", "Centre"]},
        )
        session.add(question)
        session.flush()
        ids = session.scalars(select(Resident.id).order_by(Resident.id)).all()
        for number, resident_id in enumerate(ids):
            # Nearly everyone lives North or South; two live in the Centre (a small group).
            choice = "Centre" if number < 2 else ("North" if number % 2 else "South")
            session.add(
                ProfileAnswer(resident_id=resident_id, question_id=question.id, choice=choice)
            )
    result = CliRunner().invoke(cli, ["themes", "--community", "cumnock"])
    assert result.exit_code == 0
    shares = [line for line in result.output.splitlines() if line.startswith("   area: ")]
    assert len(shares) == 3  # one line per theme
    assert all("North" in line and "South" in line for line in shares)
    assert not any("Centre 1" in line or "Centre 2" in line for line in shares)
