"""PostgreSQL's one statement is built once per shape: a shape must fix its whole text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.dialects import postgresql, sqlite

from bot.conversation import sql_statement
from bot.conversation.effects import (
    AskQuotes,
    AssignPrompt,
    CreateResident,
    Decision,
    Erase,
    OptOut,
    RecordConsent,
    Reply,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.postgres_writes import Writer, shape_of
from bot.conversation.snapshot_query import CONTEXT
from bot.conversation.store_message import Message
from bot.messages import Inbound
from storage.crypto import Vault

VAULT = Vault(Fernet.generate_key().decode())
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _message(words: str, number: int) -> Message:
    inbound = Inbound("sms", f"+4477009000{number:02}", words, f"SM{number}", AT, raw={})
    return Message(inbound, f"hash{number}", b"sealed", f"key{number}")


def _turns(n: int) -> dict[str, Decision]:
    """Each kind of usual turn, its values varied by `n`."""
    touched = UpdateResident({"last_inbound_at": AT, "language": f"l{n}"})
    answer = StoreResponse(f"words {n}", "en", 10 + n, 3, 4 + n, choice=f"c{n}")
    return {
        "answer": Decision(
            5 + n, 2, AT, [touched, answer, AssignPrompt(7 + n, 3), Reply(f"Q{n}?", kind="prompt")]
        ),
        "unmatched": Decision(
            5 + n,
            2,
            AT,
            [touched, StoreResponse("x", "en", 10 + n, 3, 4, settles=False), Reply("?")],
        ),
        "quotes": Decision(
            5 + n,
            2,
            AT,
            [touched, answer, Reply(f"Thanks {n}"), AskQuotes(f"Quote {n}?", ("YES",))],
        ),
        "join": Decision(
            None,
            2,
            AT,
            [CreateResident(2 + n, f"town{n}", "en", {"last_inbound_at": AT}), Reply("Hi")],
        ),
        "stranger": Decision(None, None, AT, [Reply(f"Who? {n}", to_resident=False)]),
        "yes": Decision(
            5 + n,
            2,
            AT,
            [
                UpdateResident({"status": "joined", "joined_at": AT}),
                RecordConsent(("questions", "report_backs"), f"Welcome {n}"),
                AssignPrompt(9, 3, "gd"),
                WithdrawUnsentPrompt(9 + n),
                Reply("Joined", kind="prompt", buttons=("A", "B")),
            ],
        ),
        "stop": Decision(
            5 + n, 2, AT, [UpdateResident({"status": "opted_out", "opted_out_at": AT}), OptOut()]
        ),
        "erase": Decision(5 + n, 2, AT, [Erase(), Reply("Done", to_resident=False)]),
        # Pairs that differ in one thing the text depends on.
        "help": Decision(5 + n, 2, AT, [UpdateResident({"last_inbound_at": AT}), Reply("Help")]),
        "help to nobody": Decision(
            5 + n,
            2,
            AT,
            [UpdateResident({"last_inbound_at": AT}), Reply("Help", to_resident=False)],
        ),
        "delete": Decision(
            5 + n,
            2,
            AT,
            [UpdateResident({"last_inbound_at": AT, "delete_requested_at": AT}), Reply("Sure?")],
        ),
        "quotes yes": Decision(
            5 + n, 2, AT, [RecordConsent(("quotes",), "May we?"), Reply("Thank you")]
        ),
    }


@pytest.mark.parametrize("turn", list(_turns(0)))
def test_one_shape_is_one_text_whatever_the_values_and_a_known_shape_gathers_the_same_values(
    turn, monkeypatch
):
    monkeypatch.setattr(sql_statement, "_PREPARED", {})
    texts, cold, warm = [], [], []
    for n in (1, 2):
        decision, message = _turns(n)[turn], _message(f"words {n}", n)
        assert shape_of(decision) == shape_of(_turns(0)[turn])
        sql_statement._PREPARED.clear()
        writer = Writer(VAULT, message, decision)
        statement, _ = writer.build("twiml")
        texts.append(statement.text)
        cold.append(writer.out.params)
        # The shape is known now: only the values are gathered, and they are the same.
        again = Writer(VAULT, message, decision)
        assert again.build("twiml")[0] is statement
        warm.append(again.out.params)
    assert texts[0] == texts[1]
    for first, second in zip(cold, warm, strict=True):
        assert first.keys() == second.keys()
        assert _steady(first) == _steady(second)
    assert set(re.findall(r":(\w+)", texts[0])) <= set(cold[0]), "a value the statement lacks"


def _steady(params: dict[str, object]) -> dict[str, object]:
    """The values two builds share: not sealed anew, nor read from the clock."""
    return {
        name: value
        for name, value in params.items()
        if name not in {"r_address_enc", "now", "r_created_at"} and not name.startswith("sent_at")
    }


def test_turns_whose_texts_differ_have_different_shapes(monkeypatch):
    monkeypatch.setattr(sql_statement, "_PREPARED", {})
    texts: dict[object, set[str]] = {}
    for number, decision in enumerate(_turns(0).values()):
        sql_statement._PREPARED.clear()
        statement, _ = Writer(VAULT, _message("w", number), decision).build(None)
        texts.setdefault(shape_of(decision), set()).add(statement.text)
    assert len(texts) == len(_turns(0))
    assert all(len(found) == 1 for found in texts.values())


@pytest.mark.parametrize("key", list(CONTEXT), ids=[f"{d}, naming={n}" for d, n in CONTEXT])
def test_the_snapshot_select_is_rendered_once_not_per_message(key):
    # An IN list or a literal_execute parameter is rendered into the text on every execution.
    dialect = {"postgresql": postgresql.psycopg.dialect(), "sqlite": sqlite.dialect()}[key[0]]
    compiled = CONTEXT[key].compile(dialect=dialect)
    assert not compiled.post_compile_params
    assert not compiled.literal_execute_params


def test_the_usual_snapshot_select_is_short_enough_for_psycopg_to_convert_once():
    # psycopg caches its conversion of a statement's placeholders only up to this length.
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    usual = CONTEXT["postgresql", False].compile(dialect=postgresql.psycopg.dialect())
    assert len(str(usual).encode()) <= MAX_CACHED_STATEMENT_LENGTH
