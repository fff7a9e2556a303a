"""Every inbound message: stored first and once, then handed to the engine, replies recorded."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.conversation import fast_answer, residents, safety
from bot.conversation.engine import Engine
from bot.messages import Inbound, Outbound
from storage.crypto import Vault
from storage.db import Database
from storage.models import InboundMessage, OutboundMessage, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reception:
    """The outcome of receiving one message: the replies to give, and whether it was a repeat."""

    inbound_id: int
    replies: tuple[Outbound, ...]
    duplicate: bool
    # The replies travel in the webhook's HTTP answer (TwiML, a Telegram webhook reply) and are
    # recorded as sent that way; for a provider retry, they did the first time.
    in_answer: bool = False


def encrypted_raw(vault: Vault, inbound: Inbound) -> bytes:
    """The provider's payload as stored: sorted JSON, encrypted."""
    return vault.encrypt_bytes(json.dumps(inbound.raw, ensure_ascii=False, sort_keys=True).encode())


def store(
    session: Session, vault: Vault, inbound: Inbound, raw_enc: bytes | None = None
) -> InboundMessage:
    """Insert the raw message; raises IntegrityError when the provider id was seen before."""
    row = InboundMessage(
        channel=inbound.channel,
        provider_id=inbound.external_id,
        address_hash=vault.address_hash(inbound.channel, inbound.address),
        text=inbound.text,
        raw_enc=raw_enc if raw_enc is not None else encrypted_raw(vault, inbound),
        received_at=inbound.received_at,
    )
    session.add(row)
    session.flush()
    return row


def _existing_id(session: Session, inbound: Inbound) -> int:
    return session.scalars(
        select(InboundMessage.id).where(
            InboundMessage.channel == inbound.channel,
            InboundMessage.provider_id == inbound.external_id,
        )
    ).one()


def _stored_replies(
    session: Session, inbound: Inbound, inbound_id: int, answered_via: str | None
) -> tuple[tuple[Outbound, ...], bool]:
    """The replies recorded for a message, and whether they all left in the webhook answer."""
    rows = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.in_reply_to_id == inbound_id)
        .order_by(OutboundMessage.id)
    ).all()
    in_answer = bool(rows) and all(row.provider_id == answered_via for row in rows)
    return tuple(
        Outbound(
            channel=row.channel,
            address=inbound.address,
            text=row.text,
            kind=row.kind,
            buttons=tuple((row.options or {}).get("buttons", ())),
            resident_id=row.resident_id,
            outbox_id=row.id,
        )
        for row in rows
    ), in_answer


def _fast_connection(db: Database) -> AbstractContextManager[Connection]:
    """Where the fast path runs: a transaction, or on PostgreSQL no BEGIN/COMMIT at all.

    On PostgreSQL the fast path is one SELECT and one data-modifying WITH statement, and a
    statement is atomic on its own: run in autocommit, the WITH writes all its rows or none,
    and its guards (ON CONFLICT, status = 'pending') see the committed state as they would
    inside a READ COMMITTED transaction, where each statement takes a fresh snapshot too. That
    saves the BEGIN and COMMIT round trips. SQLite writes in several statements: a transaction.
    """
    if db.engine.dialect.name == "postgresql":
        return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return db.engine.begin()


def _answer_fast(
    db: Database,
    vault: Vault,
    inbound: Inbound,
    raw_enc: bytes,
    answered_via: str | None,
    answers_at_most: int | None,
) -> Reception | None:
    """The common answer in one transaction (fast_answer); None leaves it to the general path.

    Whatever goes wrong in here is rolled back and the general path stores the message first,
    so a failure costs time, never the message.
    """
    address_hash = vault.address_hash(inbound.channel, inbound.address)
    try:
        with _fast_connection(db) as connection:
            answered = fast_answer.try_answer(
                connection, inbound, address_hash, raw_enc, answered_via, answers_at_most
            )
    except fast_answer.Declined as exc:
        log.info("message %s: general path, %s", inbound.external_id, exc)
        return None
    except Exception as exc:
        # A database outage fails the general path too (the webhook answers 503); anything
        # else is a bug here, worth its traceback, and the message still goes through.
        log.warning(
            "message %s: fast path failed, taking the general path: %s",
            inbound.external_id,
            exc,
            exc_info=not isinstance(exc, DBAPIError),
        )
        return None
    if answered is None:
        return None
    inbound_id, replies, sent = answered
    return Reception(inbound_id, tuple(replies), False, sent)


def receive(
    db: Database,
    vault: Vault,
    inbound: Inbound,
    answered_via: str | None = None,
    *,
    answers_at_most: int | None = None,
    fast: bool = True,
) -> Reception:
    """Store the message first, then let the engine answer it, exactly once per provider id.

    With `answered_via` (e.g. "twiml") the replies leave in the HTTP answer itself, so they are
    recorded as sent in the same transaction instead of a second one; `answers_at_most` says
    how many replies that answer can carry (Telegram: one), more are left queued for the caller
    to send. With `fast` the common answer takes one short transaction (fast_answer).
    """
    inbound = safety.clean_inbound(inbound)
    raw_enc = encrypted_raw(vault, inbound)
    if fast:
        reception = _answer_fast(db, vault, inbound, raw_enc, answered_via, answers_at_most)
        if reception is not None:
            return reception
    duplicate = False
    try:
        with db.session_scope() as session:
            inbound_id = store(session, vault, inbound, raw_enc).id
    except IntegrityError:
        duplicate = True
        with db.session_scope() as session:
            inbound_id = _existing_id(session, inbound)

    with db.session_scope() as session:
        # Claim the message for processing; a concurrent retry finds it claimed and only
        # repeats the replies already recorded.
        claimed = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.processed_at.is_(None))
            .values(processed_at=utcnow())
        ).rowcount
        if not claimed:
            stored, in_answer = _stored_replies(session, inbound, inbound_id, answered_via)
            return Reception(inbound_id, stored, True, in_answer)
        # Stored by an earlier attempt that failed before processing (e.g. the database went
        # away): this call processes it, so its replies are new and must be sent.
        duplicate = False
        turn = Engine(session, vault).handle(inbound)
        safety.after_turn(session, inbound, inbound_id, turn)
        sent = answered_via is not None and (
            answers_at_most is None or len(turn.replies) <= answers_at_most
        )
        if turn.erased:
            address_hash = vault.address_hash(inbound.channel, inbound.address)
            residents.erase_contact(session, address_hash, keep_inbound_id=inbound_id)
            return Reception(inbound_id, tuple(turn.replies), duplicate, sent)
        if turn.resident_id is not None:
            session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == inbound_id)
                .values(resident_id=turn.resident_id)
            )
        replies = []
        for number, reply in enumerate(turn.replies):
            row = OutboundMessage(
                community_id=turn.community_id,
                resident_id=reply.resident_id,
                channel=reply.channel,
                kind=reply.kind,
                text=reply.text,
                options={"buttons": list(reply.buttons)} if reply.buttons else None,
                status="queued",
                dedupe_key=f"reply:{inbound_id}:{number}",
                in_reply_to_id=inbound_id,
                campaign_id=reply.campaign_id,
                prompt_id=reply.prompt_id,
            )
            if sent:
                row.status, row.sent_at, row.provider_id = "sent", utcnow(), answered_via
                row.attempts = 1
            session.add(row)
            session.flush()
            replies.append(
                Outbound(
                    channel=reply.channel,
                    address=reply.address,
                    text=reply.text,
                    kind=reply.kind,
                    buttons=reply.buttons,
                    resident_id=reply.resident_id,
                    outbox_id=row.id,
                )
            )
        return Reception(inbound_id, tuple(replies), duplicate, sent)
