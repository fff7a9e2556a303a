"""Residents' words printed by the command line cannot drive the terminal that shows them."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli.terminal import inert, inert_lines
from tests.helpers import Phone, add_campaign, add_community
from webhooks.cli import cli

TITLE_CHANGE = "\x1b]0;owned\x07"


def test_escape_sequences_bells_and_bidi_overrides_are_shown_not_run():
    assert inert(f"{TITLE_CHANGE}hi") == "\\x1b]0;owned\\x07hi"
    assert inert("a\u202eb\r\nc\x9b") == "a\\u202eb\\r\\nc\\x9b"
    assert (
        inert("Caf\u00e9 \U0001f468\u200d\U0001f469 ok")
        == "Caf\u00e9 \U0001f468\u200d\U0001f469 ok"
    )
    assert inert_lines("one\x1b[2J\ntwo") == "one\\x1b[2J\ntwo"


def test_the_safeguarding_queue_prints_a_residents_escape_sequence_inert(services, cli_env):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    phone = Phone(services)
    phone.join()
    phone.send(f"{TITLE_CHANGE}he is going to hurt me\x1b[2J")
    result = CliRunner().invoke(cli, ["safeguarding", "list", "--community", "cumnock"])
    assert result.exit_code == 0
    assert "he is going to hurt me" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b]0;owned\\x07" in result.output
