"""Where every message enters the conversation: read a snapshot, decide, apply, exactly once.

A message is decided on a snapshot and written with everything it leads to in one transaction
(on PostgreSQL the common answer in one statement). A provider retry is recognised by its id and
answered with the replies recorded the first time. If writing fails, the message is still stored
on its own, unprocessed, and the provider's retry processes it: nothing a resident says is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.conversation import postgres, snapshot_query, spoken
from bot.conversation.effects import Decision
from bot.conversation.engine import decide
from bot.conversation.snapshot import Limits, Snapshot
from bot.conversation.store import StateChanged, write
from bot.conversation.store_message import Duplicate, Erased, Message, store_message
from bot.conversation.words import join_lookup
from bot.messages import Inbound, Outbound
from storage.crypto import Vault
from storage.db import Database
from storage.db_errors import describe
from storage.models import InboundMessage, OutboundMessage, utcnow

log = logging.getLogger(__name__)
# Characters no database column can hold as text: NUL (PostgreSQL) and lone surrogates (UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
PROVIDER_ID_MAX = 64
LANGUAGE_MAX = 16
# Decided again at most this often when another message changed what a decision was based on.
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Reception:
    """The outcome of receiving one message: the replies to give, and whether it was a repeat."""

    inbound_id: int
    replies: tuple[Outbound, ...]
    duplicate: bool
    # The replies travel in the webhook's HTTP answer (TwiML, a Telegram webhook reply) and are
    # recorded as sent that way; for a provider retry, they did the first time.
    in_answer: bool = False


def _storable(value: str) -> str:
    return _UNSTORABLE.sub("\ufffd", value)


def _storable_raw(value: Any) -> Any:
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, dict):
        return {_storable(str(k)): _storable_raw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_raw(v) for v in value]
    return value


def clean_inbound(inbound: Inbound) -> Inbound:
    """Make a message storable whatever it holds; a valid message's words stay exactly as sent."""
    external_id = _storable(inbound.external_id)
    if len(external_id) > PROVIDER_ID_MAX:
        external_id = hashlib.sha256(external_id.encode()).hexdigest()
    language = _storable(inbound.language)[:LANGUAGE_MAX] if inbound.language else None
    return replace(
        inbound,
        address=_storable(inbound.address),
        text=_storable(inbound.text),
        external_id=external_id,
        raw=_storable_raw(inbound.raw),
        language=language,
        to=_storable(inbound.to) if inbound.to else None,
        media=tuple(_storable(m) for m in inbound.media),
    )


def encrypted_raw(vault: Vault, inbound: Inbound) -> bytes:
    """The provider's payload as stored: sorted JSON, encrypted."""
    return vault.encrypt_bytes(json.dumps(inbound.raw, ensure_ascii=False, sort_keys=True).encode())


def store_unprocessed(session: Session, vault: Vault, inbound: Inbound) -> InboundMessage:
    """Insert a message alone, unprocessed (a provider retry will process it)."""
    row = InboundMessage(
        channel=inbound.channel,
        provider_id=inbound.external_id,
        address_hash=vault.address_hash(inbound.channel, inbound.address),
        text=inbound.text,
        raw_enc=encrypted_raw(vault, inbound),
        received_at=inbound.received_at,
        erased_key=vault.message_key(inbound.channel, inbound.external_id),
    )
    session.add(row)
    session.flush()
    return row


def receive(
    db: Database,
    vault: Vault,
    inbound: Inbound,
    answered_via: str | None = None,
    *,
    answers_at_most: int | None = None,
    limits: Limits | None = None,
) -> Reception:
    """Decide and store one message, exactly once per provider id.

    With `answered_via` (e.g. "twiml") the replies leave in the HTTP answer itself, so they are
    recorded as sent in the same transaction; `answers_at_most` says how many replies that
    answer can carry (Telegram: one), more are left queued for the caller to send.
    """
    inbound = clean_inbound(inbound)
    message = Message(
        inbound,
        vault.address_hash(inbound.channel, inbound.address),
        encrypted_raw(vault, inbound),
        vault.message_key(inbound.channel, inbound.external_id),
    )
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return _attempt(db, vault, message, answered_via, answers_at_most, limits)
            except (StateChanged, IntegrityError) as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                reason = describe(exc) if isinstance(exc, IntegrityError) else exc
                log.info("message %s: deciding again, %s", inbound.external_id, reason)
        raise AssertionError("unreachable")
    except Exception:
        _keep_unprocessed(db, message)
        raise


def _attempt(
    db: Database,
    vault: Vault,
    message: Message,
    answered_via: str | None,
    answers_at_most: int | None,
    limits: Limits | None,
) -> Reception:
    inbound = message.inbound
    if db.is_postgresql:
        # The snapshot's SELECT and the one statement of a usual turn need no transaction.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            _, decision = _decided(connection, message, limits)
            via = _via(decision, answered_via, answers_at_most)
            if postgres.covers(decision):
                try:
                    applied = postgres.apply_in_one_statement(
                        connection, vault, message, decision, via
                    )
                    return Reception(applied.inbound_id, applied.replies, False, applied.in_answer)
                except StateChanged:
                    pass  # a retry, or the state moved: the ordinary writes tell which
                except Exception as exc:
                    # An outage fails the ordinary writes too (the webhook answers 503); anything
                    # else is a bug here, worth its traceback, and the message still goes through.
                    log.warning(
                        "message %s: the one statement failed, writing it the ordinary way: %s",
                        inbound.external_id,
                        describe(exc) if isinstance(exc, DBAPIError) else exc,
                        exc_info=not isinstance(exc, DBAPIError),
                    )
        with db.engine.begin() as connection:
            return _apply(connection, vault, message, decision, via, answered_via, limits)
    with db.engine.begin() as connection:
        _, decision = _decided(connection, message, limits)
        via = _via(decision, answered_via, answers_at_most)
        return _apply(connection, vault, message, decision, via, answered_via, limits)


def _decided(connection: Any, message: Message, limits: Limits | None) -> tuple[Snapshot, Decision]:
    """Read what the message's turn needs, and decide it."""
    inbound = message.inbound
    snapshot = snapshot_query.load(
        connection,
        address_hash=message.address_hash,
        to=inbound.to,
        lookup=join_lookup(inbound.text),
        now=utcnow(),
        limits=limits,
    )
    decision = decide(snapshot, inbound)
    if inbound.channel == "voice":
        decision = spoken.for_a_call(snapshot, decision)
    if decision.replies_withheld:
        log.warning(
            "reply limit: %d messages from one contact (resident %s, community %s) within the "
            "window; %d replies held back, the message is stored",
            snapshot.recent_messages + 1,
            decision.resident_id,
            decision.community_id,
            decision.replies_withheld,
        )
    return snapshot, decision


def _via(decision: Decision, answered_via: str | None, answers_at_most: int | None) -> str | None:
    """Where the replies leave: in the webhook's answer when it can carry them all."""
    fits = answers_at_most is None or len(decision.replies) <= answers_at_most
    return answered_via if fits else None


def _apply(
    connection: Any,
    vault: Vault,
    message: Message,
    decision: Decision,
    via: str | None,
    answered_via: str | None,
    limits: Limits | None,
) -> Reception:
    per_hour = limits.lead_alerts_per_hour if limits else None
    try:
        applied = write(connection, vault, message, decision, via, per_hour)
    except Duplicate as duplicate:
        return _replies_of(connection, message, duplicate.inbound_id, answered_via)
    except Erased:
        log.info(
            "message %s: a replay of an erased message, nothing stored", message.inbound.external_id
        )
        return Reception(0, (), True, answered_via is not None)
    return Reception(applied.inbound_id, applied.replies, False, applied.in_answer)


def _replies_of(
    connection: Any, message: Message, inbound_id: int, answered_via: str | None
) -> Reception:
    """A retry's answer: the replies recorded for the message the first time."""
    rows = connection.execute(
        select(OutboundMessage)
        .where(OutboundMessage.in_reply_to_id == inbound_id)
        .order_by(OutboundMessage.id)
    ).all()
    in_answer = bool(rows) and all(row.provider_id == answered_via for row in rows)
    replies = tuple(
        Outbound(
            channel=row.channel,
            address=message.inbound.address,
            text=row.text,
            kind=row.kind,
            buttons=tuple((row.options or {}).get("buttons", ())),
            resident_id=row.resident_id,
            outbox_id=row.id,
        )
        for row in rows
    )
    return Reception(inbound_id, replies, True, in_answer)


def _keep_unprocessed(db: Database, message: Message) -> None:
    """Writing failed: keep the message on its own so the provider's retry processes it."""
    try:
        with db.engine.begin() as connection:
            store_message(connection, message, processed_at=None)
    except (Duplicate, Erased):
        pass
    except DBAPIError as exc:  # the database is down: the provider retries the whole message
        log.warning("message %s not kept: %s", message.inbound.external_id, describe(exc))
