"""`voices nudge`, `voices coverage` and the group and nudge settings, as an organiser uses them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import DATA_KEY
from tests.helpers import Phone
from tests.test_nudges import T0, at, queued
from webhooks.cli import cli, main


@pytest.fixture
def env(monkeypatch, database_url, db, tmp_path, services):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "park.yaml").write_text(
        "slug: park\ntitle: The park\nprompts:\n  - id: wish\n    text: What would help?\n"
        "nudge: {after: 2d, max: 2, text: Still keen to hear from you.}\n",
        encoding="utf-8",
    )
    return services


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_an_organiser_sets_a_question_sees_coverage_and_runs_a_sweep(env):
    with at(T0):
        assert run("community", "add", "cumnock", "--name", "Cumnock")[0] == 0
        assert run("campaign", "launch", "park.yaml", "--community", "cumnock")[0] == 0
        code, out = run(
            "community",
            "set-question",
            "cumnock",
            "--key",
            "area",
            "--text",
            "Which part of town do you live in?",
            "--choices",
            "North, South,Centre",
        )
        assert code == 0
        assert "Reply 1 North, 2 South, 3 Centre" in out
        for number in range(6):
            phone = Phone(env, address=f"+44770090010{number}")
            phone.join()
            phone.send("North")
            if number < 3:
                phone.send("Benches")
        code, out = run("coverage", "--community", "cumnock")
    assert code == 0
    lines = out.splitlines()
    assert any(line.split() == ["everyone", "6", "3", "3", "50%"] for line in lines)
    assert any(line.split() == ["North", "6", "3", "3", "50%"] for line in lines)
    assert any(line.split()[:4] == ["South", "fewer", "than", "5"] for line in lines)

    code, out = run("community", "list")
    assert out.splitlines()[1].split()[2:] == ["6", "3", "3", "50%", "0"]  # and none erased

    with at(T0 + timedelta(days=2)):
        code, out = run("nudge", "--dry-run")
        assert code == 0
        assert "cumnock: would queue 3" in out
        assert f"3  {'nudge: never heard'}" in out
        assert queued(env) == []
        code, out = run("nudge")
        assert "cumnock: queued 3" in out
        assert len(queued(env)) == 3
        code, out = run("nudge")
        assert "queued 0" in out


def test_settings_for_check_ins_and_the_nudge_gap(env):
    run("community", "add", "cumnock", "--name", "Cumnock")
    code, out = run("community", "configure", "cumnock", "--checkin-days", "14")
    assert code == 0
    assert "check in after 14 quiet days; at most one nudge every 24 hours" in out


MISTAKES = {
    "unknown community": (["coverage", "--community", "nope"], "no community 'nope'"),
    "no choices": (
        ["community", "set-question", "cumnock", "--key", "area", "--text", "Where?"],
        "give --text and --choices",
    ),
    "one choice": (
        ["community", "set-question", "cumnock", "--key", "area", "--text", "W?", "--choices", "A"],
        "2 to 8 choices",
    ),
    "remove missing": (
        ["community", "set-question", "cumnock", "--key", "area", "--remove"],
        "has no question 'area'",
    ),
    "zero check-in days": (
        ["community", "configure", "cumnock", "--checkin-days", "0"],
        "--checkin-days",
    ),
}


@pytest.mark.parametrize(("args", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_mistakes_are_one_line_and_exit_2(env, capsys, args, message):
    assert main(["community", "add", "cumnock", "--name", "Cumnock"]) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_removed_question_is_no_longer_asked(env):
    run("community", "add", "cumnock", "--name", "Cumnock")
    run("community", "set-question", "cumnock", "--key", "area", "--text", "W?", "--choices", "A,B")
    code, out = run("community", "set-question", "cumnock", "--key", "area", "--remove")
    assert code == 0 and "no longer asks area" in out
    assert "optional question" not in " ".join(Phone(env).join())
