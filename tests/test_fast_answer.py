"""The one-transaction answer (fast_answer) leaves the database and the replies exactly as the
general store-then-process path does, takes only the common case, and never loses a message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, DateTime, Text, cast, event, func, select, text

from bot.campaigns.fanout import fan_out
from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.conversation import inbox
from bot.messages import Inbound
from storage.models import Base, Community, InboundMessage, OutboundMessage, Response
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
    """One message of the conversation and whether the fast path should take it."""

    channel: str
    address: str
    words: str
    fast: bool
    external_id: str = ""
    language: str | None = None


SMS_A, SMS_B, WA, TG = "+447700900101", "+447700900102", "whatsapp:+447700900103", "5550001"
CONVERSATION = [
    Step("sms", SMS_A, "CUMNOCK", fast=False),  # join request
    Step("sms", SMS_A, "YES", fast=False),  # joins, first prompt in the reply
    Step("sms", SMS_A, "More trees on the high street", fast=True),  # next prompt, same campaign
    Step("sms", SMS_A, "More trees on the high street", fast=False, external_id="m2"),  # retry
    Step("sms", SMS_A, "I could run a stall", fast=True),  # thanks, then the next campaign
    Step("telegram", TG, "/start cumnock", fast=False, language="gd"),
    Step("telegram", TG, "YES", fast=False, language="gd"),
    Step("telegram", TG, "Barrachd chraobhan", fast=True, language="gd"),  # Gaelic prompt text
    Step("telegram", TG, "help", fast=False, language="gd"),  # keyword
    Step("whatsapp", WA, "CUMNOCK", fast=False),
    Step("whatsapp", WA, "Yes", fast=False),
    Step("whatsapp", WA, "   ", fast=False),  # empty: acknowledged, not an answer
    Step("whatsapp", WA, "I want to die", fast=False),  # safeguarding: help reply and the lead
    Step("whatsapp", WA, "Cheaper buses please", fast=True),
    Step("sms", SMS_B, "CUMNOCK", fast=False),
    Step("sms", SMS_B, "YES", fast=False),
    Step("sms", SMS_B, "yes", fast=True),  # YES with a prompt pending answers it
    Step("sms", SMS_B, "please delete my data", fast=False),  # erasure asked in other words
    Step("sms", SMS_A, "Saturdays", fast=False),  # last prompt: the quote question follows
    # The parks campaign is fanned out here: SMS_A, with nothing pending, gets it queued.
    Step("sms", SMS_A, "Anything else?", fast=False),  # prompt still queued: open response
    Step("sms", SMS_B, "Mondays", fast=True),
    Step("sms", SMS_B, "Cumnock", fast=False),  # the community keyword: welcome again
    Step("telegram", TG, "Dihaoine", fast=True),
    # Thanks and the parks prompt: two replies, more than a Telegram webhook answer carries.
    Step("telegram", TG, "Margadh", fast=True),
    Step("sms", SMS_A, "A pond", fast=True),  # the last prompt, quotes asked already
    Step("sms", SMS_B, "Swings", fast=True),
    Step("telegram", TG, "Craobhan", fast=False),  # last prompt: the quote question follows
]
LAUNCH_PARKS_BEFORE = 19  # the parks campaign is fanned out before this step (queued prompts)


@contextmanager
def statements(db: Any) -> Iterator[list[str]]:
    """Every SQL statement the database is sent while the block runs."""
    seen: list[str] = []

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


def run_conversation(services: Any, fast: bool) -> list[tuple[str, ...]]:
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
                services.db, services.vault, message, via, answers_at_most=at_most, fast=fast
            )
        # The fast path stores with ON CONFLICT; the general path claims with processed_at IS NULL.
        tried_fast = any("ON CONFLICT" in statement for statement in seen)
        took_fast = tried_fast and not any("processed_at IS NULL" in s for s in seen)
        assert took_fast == (fast and step.fast), (number, step)
        if took_fast:
            assert len(seen) <= 8, seen  # one SELECT and six or seven writes
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
    order: dict[str, dict[int, int]] = {}
    with services.db.engine.connect() as connection:
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


def test_the_fast_path_and_the_general_path_leave_the_same_rows_and_replies(services):
    fast_replies = run_conversation(services, fast=True)
    fast_rows = snapshot(services)
    _empty(services.db)
    general_replies = run_conversation(services, fast=False)
    general_rows = snapshot(services)
    assert fast_replies == general_replies
    for name in fast_rows:
        assert fast_rows[name] == general_rows[name], name
    # The conversation reached every case it is meant to: answers, thanks and the next
    # campaign, the Gaelic prompt, a retry, the help reply, the quote question, erasure.
    assert fast_replies[3][-1] == "duplicate=True"
    assert fast_replies[4][0] == "Thank you! Your words go straight to the planning group."
    assert fast_replies[4][1] == "Which day suits a market best?"
    assert fast_replies[7][0].startswith("Am bu toigh leat cuideachadh?")
    assert fast_replies[22][1] == "Dè an latha as fheàrr airson margadh?"
    assert fast_replies[23] == (
        "Tapadh leibh!",
        "What would you change in the park?",
        "duplicate=False",
    )
    assert "Samaritans" in fast_replies[12][0]
    kinds = {row["kind"] for row in fast_rows["outbound_messages"]}
    assert {"reply", "prompt", "consent"} <= kinds
    assert len(fast_rows["safeguarding_alerts"]) == 1
    # Telegram answers carry one reply each in the webhook answer; two stay queued for the API.
    telegram = [r for r in fast_rows["outbound_messages"] if r["channel"] == "telegram"]
    assert {r["provider_id"] for r in telegram if r["status"] == "sent"} == {"webhook-reply"}


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


def test_when_the_fast_path_fails_the_general_path_stores_and_answers_the_message(joined):
    db = joined.db
    # Only the fast path inserts a message already marked processed: refuse exactly that.
    _install_trigger(db, "refuse_fast", "inbound_messages", "NEW.processed_at IS NOT NULL")
    try:
        reception = inbox.receive(db, joined.vault, _sms("Fairy lights", "answer-1"), "twiml")
    finally:
        _drop_trigger(db, "refuse_fast", "inbound_messages")
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
