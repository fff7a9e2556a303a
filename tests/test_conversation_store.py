"""The stores behind the conversation: the same decision in, the same rows out, whichever store
writes it; PostgreSQL's one-statement answer takes exactly the common turn; no message is lost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, DateTime, Text, cast, event, func, select, text

from bot.campaigns.fanout import fan_out
from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.conversation import inbox, postgres, snapshot_query, store
from bot.conversation.effects import (
    AnswerProfile,
    AskProfile,
    AskQuotes,
    AssignPrompt,
    CreateResident,
    Decision,
    Erase,
    OptOut,
    RaiseAlert,
    RecordConsent,
    Reply,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.engine import decide
from bot.conversation.snapshot import Snapshot
from bot.conversation.store_message import Message
from bot.conversation.words import join_lookup
from bot.messages import Inbound
from storage.models import (
    Assignment,
    Base,
    Community,
    Consent,
    InboundMessage,
    OutboundMessage,
    ProfileAnswer,
    ProfileQuestion,
    Resident,
    Response,
    SafeguardingAlert,
    utcnow,
)
from tests.helpers import FESTIVAL, add_community

MARKET = """\
slug: market-days
title: Market days
language: en
prompts:
  - id: when
    text:
      en: Which day suits a market best?
      gd: Dè an latha as fheàrr airson margadh?
thanks:
  en: Thanks, we will share what everyone said.
  gd: Tapadh leibh!
"""
PARKS = """\
slug: parks
title: Parks
language: en
prompts:
  - id: park
    text: What would you change in the park?
"""
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One message of the conversation and whether PostgreSQL writes it in one statement."""

    channel: str
    address: str
    words: str
    one_statement: bool
    external_id: str = ""
    language: str | None = None


SMS_A, SMS_B, WA, TG = "+447700900101", "+447700900102", "whatsapp:+447700900103", "5550001"
CONVERSATION = [
    Step("sms", SMS_A, "CUMNOCK", one_statement=True),  # join request
    Step("sms", SMS_A, "YES", one_statement=True),  # joins, first prompt in the reply
    Step(
        "sms", SMS_A, "More trees on the high street", one_statement=True
    ),  # next prompt, same campaign
    Step(
        "sms", SMS_A, "More trees on the high street", one_statement=False, external_id="m2"
    ),  # retry
    Step("sms", SMS_A, "I could run a stall", one_statement=True),  # thanks, then the next campaign
    Step("telegram", TG, "/start cumnock", one_statement=True, language="gd"),
    Step("telegram", TG, "YES", one_statement=True, language="gd"),
    Step(
        "telegram", TG, "Barrachd chraobhan", one_statement=True, language="gd"
    ),  # Gaelic prompt text
    Step("telegram", TG, "help", one_statement=True, language="gd"),  # keyword
    Step("whatsapp", WA, "CUMNOCK", one_statement=True),
    Step("whatsapp", WA, "Yes", one_statement=True),
    Step("whatsapp", WA, "   ", one_statement=True),  # empty: acknowledged, not an answer
    Step(
        "whatsapp", WA, "I want to die", one_statement=False
    ),  # safeguarding: help reply and the lead
    Step("whatsapp", WA, "Cheaper buses please", one_statement=True),
    Step("sms", SMS_B, "CUMNOCK", one_statement=True),
    Step("sms", SMS_B, "YES", one_statement=True),
    Step("sms", SMS_B, "yes", one_statement=True),  # YES with a prompt pending answers it
    Step("sms", SMS_B, "please delete my data", one_statement=True),  # erasure asked in other words
    Step("sms", SMS_A, "Saturdays", one_statement=True),  # last prompt: the quote question follows
    # The parks campaign is fanned out here: SMS_A, with nothing pending, gets it queued.
    Step("sms", SMS_A, "Anything else?", one_statement=True),  # prompt still queued: open response
    Step("sms", SMS_B, "Mondays", one_statement=True),
    Step("sms", SMS_B, "Cumnock", one_statement=True),  # its own keyword mid-question: an answer
    Step("telegram", TG, "Dihaoine", one_statement=True),
    # Thanks and the parks prompt: one Telegram message, so the webhook's answer carries it.
    Step("telegram", TG, "Margadh", one_statement=True),
    Step("sms", SMS_A, "A pond", one_statement=True),  # the last prompt, quotes asked already
    Step("sms", SMS_B, "Swings", one_statement=True),  # nothing left pending: open response
    Step("telegram", TG, "Craobhan", one_statement=True),  # last prompt: the quote question follows
]
LAUNCH_PARKS_BEFORE = 19  # the parks campaign is fanned out before this step (queued prompts)


@contextmanager
def statements(db: Any) -> Iterator[list[str]]:
    """Every SQL statement the database is sent while the block runs."""
    seen: list[str] = []
    if db.is_postgresql:  # at the driver: the snapshot's SELECT does not pass through SQLAlchemy
        import psycopg

        execute = psycopg.Cursor.execute

        def _execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        psycopg.Cursor.execute = _execute  # type: ignore[method-assign]
        try:
            yield seen
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        return

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)


def _launch(services: Any, source: str, *, fan: bool = False) -> None:
    with services.db.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == "cumnock"))
        campaign = launch(session, community, parse_prompt_file(source))
        if fan:
            fan_out(session, campaign)


def run_conversation(services: Any) -> list[tuple[str, ...]]:
    """Send every step through inbox.receive as the webhooks do; return the replies per step."""
    add_community(services, quiet_start=None, quiet_end=None)
    _launch(services, FESTIVAL)
    _launch(services, MARKET)
    replies: list[tuple[str, ...]] = []
    steps = [*CONVERSATION[:LAUNCH_PARKS_BEFORE], "parks", *CONVERSATION[LAUNCH_PARKS_BEFORE:]]
    for number, step in enumerate(steps):
        if step == "parks":
            _launch(services, PARKS, fan=True)
            continue
        assert isinstance(step, Step)
        message = Inbound(
            channel=step.channel,
            address=step.address,
            text=step.words,
            external_id=step.external_id or f"m{number}",
            received_at=START + timedelta(minutes=number),
            raw={"Body": step.words, "n": number},
            language=step.language,
        )
        if step.channel == "telegram":
            via, at_most = "webhook-reply", 1
        else:
            via, at_most = "twiml", None
        with statements(services.db) as seen:
            reception = inbox.receive(
                services.db, services.vault, message, via, answers_at_most=at_most
            )
        # A usual turn on PostgreSQL: the snapshot's SELECTs, then one WITH statement writes it.
        writes = [sql for sql in seen if not sql.lstrip().startswith("SELECT")]
        one_statement = len(writes) == 1 and writes[0].lstrip().startswith("WITH ")
        assert one_statement == (services.db.is_postgresql and step.one_statement), (number, seen)
        replies.append(
            (
                *(reply.text for reply in reception.replies),
                f"duplicate={reception.duplicate}",
            )
        )
    return replies


def _datetime_marker(value: datetime | None) -> object:
    """Moments from the messages compare exactly; 'now' moments only as set or not set."""
    if value is None:
        return None
    if START <= value <= START + timedelta(hours=1):
        return value
    return "now"


def snapshot(services: Any) -> dict[str, list[dict[str, object]]]:
    """Every row of every table, ids replaced by their order, contact details decrypted."""
    with services.db.engine.connect() as connection:
        return table_rows(services, connection)


def table_rows(services: Any, connection: Any) -> dict[str, list[dict[str, object]]]:
    """snapshot() as the connection sees it (inside its transaction)."""
    order: dict[str, dict[int, int]] = {}
    for table in Base.metadata.sorted_tables:
        if "id" in table.c:
            ids = connection.execute(select(table.c.id).order_by(table.c.id)).scalars()
            order[table.name] = {value: index for index, value in enumerate(ids)}
    tables: dict[str, list[dict[str, object]]] = {}
    for table in Base.metadata.sorted_tables:
        columns = [
            cast(column, Text).label(column.name) if isinstance(column.type, JSON) else column
            for column in table.c
        ]
        query = select(*columns)
        if "id" in table.c:
            query = query.order_by(table.c.id)
        rows = []
        for row in connection.execute(query).mappings():
            rows.append(_normalised(services, table, dict(row), order))
        tables[table.name] = rows
    return tables


def _normalised(
    services: Any, table: Any, row: dict[str, Any], order: dict[str, dict[int, int]]
) -> dict[str, object]:
    result: dict[str, object] = {}
    for column in table.c:
        value = row[column.name]
        if column.name == "id":
            continue
        target = _referenced_table(column)
        if target is not None and value is not None:
            value = (target, order[target].get(value, "gone"))
        elif isinstance(column.type, DateTime) or column.name.endswith("_at"):
            value = _datetime_marker(value)
        elif column.name == "raw_enc" and value is not None:
            value = services.vault.decrypt_bytes(value)
        elif column.name == "address_enc":
            value = services.vault.decrypt(value)
        elif column.name == "dedupe_key" and value is not None:
            value = _dedupe_key(value, order)
        result[column.name] = value
    return result


# Columns that refer to another table without a foreign key (launch rows skip those checks).
REFERENCES = {"campaign_id": "campaigns", "prompt_id": "prompts", "community_id": "communities"}


def _referenced_table(column: Any) -> str | None:
    if column.foreign_keys:
        return next(iter(column.foreign_keys)).column.table.name
    return REFERENCES.get(column.name)


def _dedupe_key(key: str, order: dict[str, dict[int, int]]) -> str:
    kind, _, rest = key.partition(":")
    parts = rest.split(":")
    if kind == "reply":
        return f"reply:{order['inbound_messages'][int(parts[0])]}:{parts[1]}"
    if kind == "prompt":
        resident, prompt = order["residents"][int(parts[0])], order["prompts"][int(parts[1])]
        return f"prompt:{resident}:{prompt}:{parts[2]}"
    if kind == "quotes":
        return f"quotes:{order['residents'][int(parts[0])]}"
    return re.sub(r"\d+", "#", key)


def _empty(db: Any) -> None:
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def test_a_conversation_through_every_kind_of_turn_gets_the_replies_residents_expect(services):
    replies = run_conversation(services)
    rows = snapshot(services)
    # The conversation reached every case it is meant to: answers, thanks and the next
    # campaign, the Gaelic prompt, a retry, the help reply, the quote question, erasure.
    assert replies[3][-1] == "duplicate=True"
    assert replies[4][0] == "Thank you! Your words go straight to the planning group."
    assert replies[4][1] == "Which day suits a market best?"
    assert replies[7][0].startswith("Am bu toigh leat cuideachadh?")
    # On Telegram the thanks and the next question are one message, the webhook's answer.
    assert replies[22] == (
        "Thank you! Your words go straight to the planning group.\n\n"
        "Dè an latha as fheàrr airson margadh?",
        "duplicate=False",
    )
    assert replies[23] == ("Tapadh leibh!\n\nWhat would you change in the park?", "duplicate=False")
    assert "Samaritans" in replies[12][0]
    kinds = {row["kind"] for row in rows["outbound_messages"]}
    assert {"reply", "prompt", "consent"} <= kinds
    assert len(rows["safeguarding_alerts"]) == 1
    # Every Telegram reply leaves in the webhook's answer; the quote question waits for the worker.
    telegram = [r for r in rows["outbound_messages"] if r["channel"] == "telegram"]
    assert {r["provider_id"] for r in telegram if r["status"] == "sent"} == {"webhook-reply"}
    assert [r["kind"] for r in telegram if r["status"] != "sent"] == ["consent"]


def _install_trigger(db: Any, name: str, table: str, condition: str) -> None:
    """A database trigger that refuses some inserts: a real fault, not a stand-in."""
    with db.engine.begin() as connection:
        if db.is_postgresql:
            connection.execute(
                text(
                    f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                    f"IF {condition} THEN "
                    f"RAISE EXCEPTION 'refused by {name}'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {condition} "
                    f"BEGIN SELECT RAISE(ABORT, 'refused by {name}'); END"
                )
            )


def _drop_trigger(db: Any, name: str, table: str) -> None:
    with db.engine.begin() as connection:
        if db.is_postgresql:
            connection.execute(text(f"DROP TRIGGER {name} ON {table}"))
            connection.execute(text(f"DROP FUNCTION {name}()"))
        else:
            connection.execute(text(f"DROP TRIGGER {name}"))


@pytest.fixture
def joined(services):  # type: ignore[no-untyped-def]
    """A resident who joined by SMS and has the first festival prompt pending."""
    add_community(services, quiet_start=None, quiet_end=None)
    _launch(services, FESTIVAL)
    for number, words in enumerate(["CUMNOCK", "YES"]):
        inbox.receive(services.db, services.vault, _sms(words, f"join-{number}"), "twiml")
    return services


def _sms(words: str, external_id: str) -> Inbound:
    return Inbound(
        channel="sms",
        address=SMS_A,
        text=words,
        external_id=external_id,
        received_at=datetime.now(UTC),
        raw={"Body": words},
    )


def _count(db: Any, model: Any) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_when_the_one_statement_fails_the_ordinary_writes_store_and_answer_the_message(
    joined, caplog
):
    db = joined.db
    if not db.is_postgresql:
        pytest.skip("the one-statement answer is PostgreSQL's")
    # A real fault in exactly the one statement: the database refuses its insert of the message.
    _install_trigger(db, "refuse_fast", "inbound_messages", "current_query() LIKE 'WITH %'")
    try:
        reception = inbox.receive(db, joined.vault, _sms("Fairy lights", "answer-1"), "twiml")
    finally:
        _drop_trigger(db, "refuse_fast", "inbound_messages")
    assert "the one statement failed" in caplog.text
    assert [reply.text for reply in reception.replies] == [
        "Would you like to help make it happen? Tell us how, or reply NO."
    ]
    with db.engine.connect() as connection:
        stored = connection.execute(
            select(InboundMessage.text, InboundMessage.processed_at).where(
                InboundMessage.provider_id == "answer-1"
            )
        ).all()
        answers = connection.execute(select(Response.text)).scalars().all()
    assert len(stored) == 1 and stored[0].processed_at is not None
    assert answers == ["Fairy lights"]


def test_a_message_whose_processing_fails_on_both_paths_is_still_stored_and_retried_once(joined):
    db = joined.db
    # The database refuses this answer whichever path writes it.
    _install_trigger(db, "refuse_answer", "responses", "NEW.text = 'Bonfire'")
    try:
        with pytest.raises(Exception, match="refused by refuse_answer"):
            inbox.receive(db, joined.vault, _sms("Bonfire", "answer-2"), "twiml")
    finally:
        _drop_trigger(db, "refuse_answer", "responses")
    with db.engine.connect() as connection:
        kept = connection.execute(
            select(InboundMessage.text, InboundMessage.processed_at).where(
                InboundMessage.provider_id == "answer-2"
            )
        ).one()
    assert kept.text == "Bonfire" and kept.processed_at is None
    assert _count(db, Response) == 0
    # The provider retries the same message once the fault is gone: answered, stored once.
    retry = inbox.receive(db, joined.vault, _sms("Bonfire", "answer-2"), "twiml")
    assert not retry.duplicate
    assert [reply.text for reply in retry.replies][-1].startswith("Would you like to help")
    assert _count(db, InboundMessage) == 3
    with db.engine.connect() as connection:
        assert connection.execute(select(Response.text)).scalars().all() == ["Bonfire"]
        replies = (
            connection.execute(
                select(OutboundMessage.text).where(
                    OutboundMessage.in_reply_to_id == retry.inbound_id
                )
            )
            .scalars()
            .all()
        )
    assert len(replies) == 1 and replies[0].startswith("Would you like to help")


@pytest.mark.parametrize("words", ["hello?", "CUMNOCK"], ids=["a stranger", "a new contact joins"])
def test_a_contact_with_no_record_is_read_in_one_select(joined, words):
    with statements(joined.db) as seen:
        reception = inbox.receive(
            joined.db, joined.vault, replace(_sms(words, "new-1"), address=SMS_B), "twiml"
        )
    assert reception.replies
    reads = [sql for sql in seen if sql.lstrip().startswith("SELECT")]
    assert len(reads) == 1, reads


def test_the_same_message_delivered_twice_at_once_is_stored_and_answered_once(joined):
    import threading

    db = joined.db
    for number, words in enumerate(["Fairy lights", "I could help on the day", "Mondays"]):
        message = _sms(words, f"twice-{number}")
        start = threading.Barrier(2)
        receptions: list[inbox.Reception] = []

        def deliver(
            message: Inbound = message,
            start: threading.Barrier = start,
            receptions: list[inbox.Reception] = receptions,
        ) -> None:
            start.wait()
            receptions.append(inbox.receive(db, joined.vault, message, "twiml"))

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(r.duplicate for r in receptions) == [False, True]
        first, second = receptions
        assert [r.text for r in first.replies] == [r.text for r in second.replies]
        assert first.inbound_id == second.inbound_id
    with db.engine.connect() as connection:
        answers = connection.execute(select(Response.text).order_by(Response.id)).scalars().all()
        stored = connection.execute(
            select(InboundMessage.provider_id).where(InboundMessage.provider_id.like("twice-%"))
        ).scalars()
        replies = connection.execute(
            select(func.count())
            .select_from(OutboundMessage)
            .join(InboundMessage, InboundMessage.id == OutboundMessage.in_reply_to_id)
            .where(InboundMessage.provider_id.like("twice-%"))
        ).scalar_one()
    assert answers == ["Fairy lights", "I could help on the day", "Mondays"]
    assert sorted(stored) == ["twice-0", "twice-1", "twice-2"]
    # One reply each, stored once: the next prompt, the thanks, the note for an open response.
    assert replies == 3


def test_two_quick_messages_from_one_resident_are_both_answered(joined):
    """The second message's context is read before the first answers the pending prompt.

    Its guarded write then finds the prompt answered: nothing of it may stay half written (a
    message stored as processed with no answer), and the general path takes it whole.
    """
    db = joined.db
    first, second = _sms("A bigger stage", "quick-1"), _sms("and more seats", "quick-2")
    delivered: list[bool] = []

    def first_lands_meanwhile(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if delivered or "INSERT INTO inbound_messages" not in statement:
            return
        delivered.append(True)  # once: the second message's write is about to run
        inbox.receive(db, joined.vault, first, "twiml")

    event.listen(db.engine, "before_cursor_execute", first_lands_meanwhile)
    try:
        reception = inbox.receive(db, joined.vault, second, "twiml")
    finally:
        event.remove(db.engine, "before_cursor_execute", first_lands_meanwhile)
    assert delivered and not reception.duplicate and reception.replies
    with db.engine.connect() as connection:
        answers = connection.execute(select(Response.text).order_by(Response.id)).scalars().all()
        unprocessed = connection.execute(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.processed_at.is_(None))
        ).scalar_one()
    assert answers == ["A bigger stage", "and more seats"]
    assert unprocessed == 0


# -- the contract: the same decision in, the same rows out -----------------------------------

CONTRACT_AT = START + timedelta(minutes=30)


def _message(
    services: Any, words: str, *, channel: str = "sms", address: str = SMS_A, language=None
) -> Message:
    inbound = Inbound(
        channel=channel,
        address=address,
        text=words,
        external_id=f"contract-{channel}-{words}",
        received_at=CONTRACT_AT,
        raw={"Body": words},
        language=language,
    )
    return Message(
        inbound,
        services.vault.address_hash(channel, address),
        inbox.encrypted_raw(services.vault, inbound),
        services.vault.message_key(channel, inbound.external_id),
    )


def _decide(services: Any, message: Message) -> tuple[Snapshot, Decision]:
    with services.db.engine.connect() as connection:
        seen = snapshot_query.load(
            connection,
            address_hash=message.address_hash,
            to=None,
            lookup=join_lookup(message.inbound.text),
            now=utcnow(),
        )
    return seen, decide(seen, message.inbound)


def _rows_after(services: Any, write: Any) -> dict[str, list[dict[str, object]]]:
    """Every row after `write` ran in a transaction that is then rolled back."""
    with services.db.engine.connect() as connection:
        transaction = connection.begin()
        write(connection)
        rows = table_rows(services, connection)
        transaction.rollback()
    return rows


def _ordinary(services: Any, message: Message, decision: Decision, via: str | None) -> Any:
    def write(connection: Any) -> None:
        store.write(connection, services.vault, message, decision, via)

    return write


def _answer_twice_then(services: Any) -> Message:
    """The resident answers the festival's first question, then its last one."""
    _launch(services, MARKET)
    inbox.receive(services.db, services.vault, _sms("Fairy lights", "first-answer"), "twiml")
    return _message(services, "I could run a stall")


def _telegram_resident(services: Any) -> Message:
    for number, words in enumerate(["/start cumnock", "YES"]):
        telegram = replace(_sms(words, f"tg-{number}"), channel="telegram", address=TG)
        inbox.receive(services.db, services.vault, replace(telegram, language="en"))
    return _message(services, "Barrachd chraobhan", channel="telegram", address=TG, language="gd")


def _closed_answer(services: Any) -> Message:
    """The festival answered, the park's closed question is pending: a choice, then a scale."""
    from pathlib import Path

    _launch(services, (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text())
    for number, words in enumerate(["Fairy lights", "I could run a stall"]):
        inbox.receive(services.db, services.vault, _sms(words, f"festival-{number}"), "twiml")
    return _message(services, "quite safe")


def _unmatched_choice(services: Any) -> Message:
    _closed_answer(services)
    inbox.receive(services.db, services.vault, _sms("quite safe", "park-0"), "twiml")
    return _message(services, "purple")


def _after(*earlier: str, address: str = SMS_A) -> Any:
    """A turn that follows these messages from the same contact."""

    def turn(services: Any) -> Message:
        for number, words in enumerate(earlier):
            inbox.receive(
                services.db,
                services.vault,
                replace(_sms(words, f"{address}-{number}"), address=address),
            )
        return _message(services, turn.words, address=address)

    return turn


def _words(words: str, *earlier: str, address: str = SMS_A) -> Any:
    turn = _after(*earlier, address=address)
    turn.words = words
    return turn


def _telegram(words: str) -> Any:
    def turn(services: Any) -> Message:
        _telegram_resident(services)
        return _message(services, words, channel="telegram", address=TG, language="en")

    return turn


# (the words of the turn, a sign that it did what it should in the rows it wrote)
USUAL_TURNS = {
    "the next question of the campaign": lambda services: _message(services, "More trees"),
    "a choice, then a scale with its buttons": _closed_answer,
    "a choice that matches nothing: kept, asked again": _unmatched_choice,
    "thanks, then the next campaign's question": _answer_twice_then,
    "the last answer, then the quote question": _words("I could run a stall", "Fairy lights"),
    "a Telegram resident who changed language": _telegram_resident,
    "a stranger's first words": _words("hello there", address=SMS_B),
    "a new contact joins by keyword": _words("CUMNOCK", address=SMS_B),
    "an invited contact says YES": _words("YES", "CUMNOCK", address=SMS_B),
    "HELP": _words("HELP"),
    "STOP by SMS, no reply": _words("STOP"),
    "STOP by Telegram": _telegram("STOP"),
    "START after STOP": _words("START", "STOP"),
    "DELETE asks to confirm": _words("DELETE"),
    "CONFIRM erases everything": _words("CONFIRM", "Fairy lights", "DELETE"),
    # What a contact said before they had a record goes too.
    "CONFIRM erases words sent as a stranger": _words(
        "CONFIRM", "hello?", "CUMNOCK", "YES", "DELETE", address=SMS_B
    ),
}


@pytest.mark.parametrize("turn", USUAL_TURNS, ids=list(USUAL_TURNS))
@pytest.mark.parametrize("via", [None, "twiml"], ids=["queued", "in the answer"])
def test_the_one_statement_writes_exactly_the_rows_of_the_ordinary_writes(joined, turn, via):
    services = joined
    if not services.db.is_postgresql:
        pytest.skip("the one-statement writes are PostgreSQL's")
    message = USUAL_TURNS[turn](services)
    _, decision = _decide(services, message)
    assert postgres.covers(decision), decision.effects

    def one_statement(connection: Any) -> None:
        postgres.apply_in_one_statement(connection, services.vault, message, decision, via)

    before = snapshot(services)
    ordinary = _rows_after(services, _ordinary(services, message, decision, via))
    assert ordinary != before
    assert _rows_after(services, one_statement) == ordinary
    stored = [row["text"] for row in ordinary["inbound_messages"]]
    assert stored[-1] == ("" if decision.erased else message.inbound.text)


def _profile_question(services: Any) -> None:
    from bot.conversation import profile

    with services.db.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == "cumnock"))
        profile.set_question(session, community.id, "area", "Where do you live?", ["East", "West"])


def _lead(services: Any) -> None:
    from bot.conversation import safeguarding

    with services.db.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == "cumnock"))
        safeguarding.set_lead(session, services.vault, community, "sms", "+447700900999")


def _count_where(connection: Any, model: Any, *conditions: Any) -> int:
    query = select(func.count()).select_from(model)
    for condition in conditions:
        query = query.where(condition)
    return connection.execute(query).scalar_one()


# Each kind of effect: what the store is given, and what a person would find written.
EFFECTS: dict[str, tuple[Any, Any]] = {}


def effect_case(name: str) -> Any:
    def register(check: Any) -> Any:
        EFFECTS[name] = check
        return check

    return register


@effect_case("an answer is stored word for word and its question marked answered")
def _answer(services: Any, connection: Any, resident: Any) -> list[Any]:
    return [
        StoreResponse(
            "Fairy lights, 'quoted' & 🌳",
            "en",
            resident.pending.assignment_id,
            resident.pending.campaign_id,
            resident.pending.prompt_id,
        )
    ]


def _check_answer(connection: Any) -> None:
    assert connection.execute(select(Response.text)).scalars().all() == [
        "Fairy lights, 'quoted' & 🌳"
    ]
    assert _count_where(connection, Assignment, Assignment.status == "answered") == 1


@effect_case("an open response keeps the words with no question")
def _open(services: Any, connection: Any, resident: Any) -> list[Any]:
    return [StoreResponse("Anything else?", None)]


def _check_open(connection: Any) -> None:
    row = connection.execute(select(Response.text, Response.prompt_id)).one()
    assert row == ("Anything else?", None)
    assert _count_where(connection, Assignment, Assignment.status == "pending") == 1


EXPECTED = {
    "an answer is stored word for word and its question marked answered": _check_answer,
    "an open response keeps the words with no question": _check_open,
}


def _more_effects() -> None:
    def assign(services: Any, connection: Any, resident: Any) -> list[Any]:
        pending = resident.pending
        return [
            StoreResponse(
                "Yes", "en", pending.assignment_id, pending.campaign_id, pending.prompt_id
            ),
            AssignPrompt(resident.next_prompt.prompt_id, resident.next_prompt.campaign_id),
        ]

    def check_assign(connection: Any) -> None:
        statuses = (
            connection.execute(select(Assignment.status).order_by(Assignment.id)).scalars().all()
        )
        assert statuses == ["answered", "pending"]

    def update_resident(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [UpdateResident({"language": "gd", "last_inbound_at": CONTRACT_AT})]

    def check_update(connection: Any) -> None:
        row = connection.execute(select(Resident.language, Resident.last_inbound_at)).one()
        assert row.language == "gd"
        assert row.last_inbound_at.replace(tzinfo=UTC) == CONTRACT_AT

    def consent(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [RecordConsent(("quotes",), "May we quote you?")]

    def check_consent(connection: Any) -> None:
        row = connection.execute(
            select(Consent.wording, Consent.wording_version).where(Consent.purpose == "quotes")
        ).one()
        assert row.wording == "May we quote you?" and row.wording_version.startswith("w-")

    def opt_out(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [OptOut(), UpdateResident({"status": "opted_out", "opted_out_at": CONTRACT_AT})]

    def check_opt_out(connection: Any) -> None:
        assert _count_where(connection, Consent, Consent.withdrawn_at.is_(None)) == 0
        assert connection.execute(select(Resident.status)).scalar_one() == "opted_out"

    def withdraw(services: Any, connection: Any, resident: Any) -> list[Any]:
        from bot.sending import outbox

        connection.execute(
            OutboundMessage.__table__.insert(),
            {
                "community_id": resident.community.id,
                "resident_id": resident.id,
                "channel": "sms",
                "kind": "prompt",
                "text": "queued question",
                "status": "queued",
                "dedupe_key": outbox.prompt_key(resident.id, resident.pending.prompt_id),
            },
        )
        return [WithdrawUnsentPrompt(resident.pending.prompt_id)]

    def check_withdraw(connection: Any) -> None:
        status = connection.execute(
            select(OutboundMessage.status).where(OutboundMessage.text == "queued question")
        ).scalar_one()
        assert status == "cancelled"

    def alert(services: Any, connection: Any, resident: Any) -> list[Any]:
        _lead(services)
        return [StoreResponse("I want to die", "en"), RaiseAlert(("self_harm",))]

    def check_alert(connection: Any) -> None:
        alerted = connection.execute(
            select(SafeguardingAlert.categories, Response.safeguarding).join(
                Response, Response.id == SafeguardingAlert.response_id
            )
        ).one()
        assert alerted == ("self_harm", True)
        assert (
            _count_where(connection, OutboundMessage, OutboundMessage.kind == "safeguarding") == 1
        )

    def quotes(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [AskQuotes("May we quote you?", ("YES", "NO"))]

    def check_quotes(connection: Any) -> None:
        row = connection.execute(
            select(OutboundMessage.kind, OutboundMessage.status, OutboundMessage.dedupe_key).where(
                OutboundMessage.text == "May we quote you?"
            )
        ).one()
        assert row.kind == "consent" and row.status == "queued"
        assert row.dedupe_key.startswith("quotes:")

    def ask_profile(services: Any, connection: Any, resident: Any) -> list[Any]:
        _profile_question(services)
        question = connection.execute(select(ProfileQuestion.id)).scalar_one()
        return [AskProfile(question), AnswerProfile(question, "West")]

    def check_profile(connection: Any) -> None:
        row = connection.execute(select(ProfileAnswer.choice, ProfileAnswer.answered_at)).one()
        assert row.choice == "West" and row.answered_at is not None

    def erase(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [Erase(), Reply("Done", to_resident=False)]

    def check_erase(connection: Any) -> None:
        assert _count_where(connection, Resident) == 0
        assert _count_where(connection, Response) == 0
        texts = connection.execute(select(InboundMessage.text)).scalars().all()
        assert texts == [""]  # the tombstone of the message that asked

    def create(services: Any, connection: Any, resident: Any) -> list[Any]:
        other = add_community(services, "auchinleck", "Auchinleck")
        return [CreateResident(other, "auchinleck", "gd")]

    def check_create(connection: Any) -> None:
        rows = connection.execute(
            select(Resident.status, Resident.language).order_by(Resident.id)
        ).all()
        assert [tuple(row) for row in rows] == [("joined", None), ("invited", "gd")]

    def replies(services: Any, connection: Any, resident: Any) -> list[Any]:
        return [Reply("One"), Reply("Two", buttons=("YES",))]

    def check_replies(connection: Any) -> None:
        rows = connection.execute(
            select(OutboundMessage.text, OutboundMessage.dedupe_key)
            .where(OutboundMessage.in_reply_to_id.is_not(None))
            .order_by(OutboundMessage.id)
        ).all()
        assert [row.text for row in rows][-2:] == ["One", "Two"]
        assert rows[-1].dedupe_key.endswith(":1")

    for name, (build, check) in {
        "the next question is assigned once the last is answered": (assign, check_assign),
        "the resident's record is updated": (update_resident, check_update),
        "consent is recorded with the exact wording": (consent, check_consent),
        "stop withdraws every consent": (opt_out, check_opt_out),
        "a prompt still in the outbox is withdrawn": (withdraw, check_withdraw),
        "a disclosure reaches the lead's queue and the lead": (alert, check_alert),
        "the quote question is queued after the replies": (quotes, check_quotes),
        "a group question is asked and answered": (ask_profile, check_profile),
        "erasure leaves only an empty tombstone": (erase, check_erase),
        "a new contact is invited": (create, check_create),
        "replies are recorded in order": (replies, check_replies),
    }.items():
        EFFECTS[name] = build
        EXPECTED[name] = check


_more_effects()


# The effects PostgreSQL writes in one statement; the others always take the ordinary writes.
ONE_STATEMENT = {
    "an answer is stored word for word and its question marked answered",
    "an open response keeps the words with no question",
    "the next question is assigned once the last is answered",
    "the resident's record is updated",
    "consent is recorded with the exact wording",
    "stop withdraws every consent",
    "a prompt still in the outbox is withdrawn",
    "the quote question is queued after the replies",
    "replies are recorded in order",
    "erasure leaves only an empty tombstone",
}


@pytest.mark.parametrize("case", list(EFFECTS), ids=list(EFFECTS))
@pytest.mark.parametrize("writes", ["ordinary", "one statement"])
def test_each_kind_of_effect_writes_what_a_person_would_find(joined, case, writes):
    services = joined
    message = _message(services, "contract")
    seen, _ = _decide(services, message)
    resident = seen.resident
    assert resident is not None and resident.pending is not None
    if writes == "one statement" and not services.db.is_postgresql:
        pytest.skip("the one-statement writes are PostgreSQL's")

    def write(connection: Any) -> None:
        effects = EFFECTS[case](services, connection, resident)
        decision = Decision(resident.id, resident.community.id, CONTRACT_AT, effects)
        if writes == "ordinary":
            store.write(connection, services.vault, message, decision, None)
        else:
            assert postgres.covers(decision) == (case in ONE_STATEMENT)
            if case not in ONE_STATEMENT:
                return
            postgres.apply_in_one_statement(connection, services.vault, message, decision, None)
        EXPECTED[case](connection)

    _rows_after(services, write)
