"""The common message in one short transaction: a joined resident answering their pending prompt.

Most messages after a launch are answers. For those, the inbox does not need the ORM's unit of
work, nor two transactions: one SELECT reads the resident, the pending prompt, its campaign, the
next prompt and every flag that would send the message elsewhere; then a few Core statements
store the message, the answer, the next assignment and the replies, and commit together.

Anything else (keywords, joining, safeguarding words, profile questions, media, a prompt still in
the outbox, a contact in two communities, the quote question...) returns None before anything
is written, and the inbox takes its general store-then-process path. The rows written here are
the rows the general path writes for the same message; tests/test_fast_answer.py runs both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    exists,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot import texts
from bot.conversation import safeguarding, safety
from bot.conversation.engine import (
    CONFIRM_WORDS,
    DELETE_WORDS,
    HELP_WORDS,
    START_WORDS,
    STOP_WORDS,
    read_command,
)
from bot.messages import Inbound, Outbound
from storage.languages import pick_text
from storage.models import (
    Assignment,
    Campaign,
    Community,
    InboundMessage,
    OutboundMessage,
    ProfileAnswer,
    Prompt,
    Resident,
    Response,
    utcnow,
)

_residents = Resident.__table__
_communities = Community.__table__
_assignments = Assignment.__table__
_prompts = Prompt.__table__
_campaigns = Campaign.__table__
_inbound = InboundMessage.__table__
_outbound = OutboundMessage.__table__
_responses = Response.__table__


class Declined(Exception):
    """The database changed under the fast path (e.g. the prompt was answered meanwhile)."""


# LIMITs written into the SQL, not bound: in the generic plan PostgreSQL keeps for a prepared
# statement, a bound LIMIT is unknown and estimated as 10 % of the rows, which made the planner
# expect 10 rows from the next-prompt lateral and switch the outbox check to a hashed scan of
# every outbound message (seen with auto_explain under gunicorn: 2+ ms per SELECT).
_ONE, _TWO = literal_column("1", Integer), literal_column("2", Integer)


def _next_prompt(lateral: bool) -> tuple[list[tuple[Any, Any]], list[Any]]:
    """engine.next_prompt, correlated to the resident: the first prompt of the community's
    running campaigns not yet put to them (the pending one has been, so it is skipped).

    Returns what to outer-join (and on what) and the four columns the context reads. On
    PostgreSQL it is one LEFT JOIN LATERAL, evaluated once per resident; SQLite has no LATERAL,
    so there the prompt's id is a correlated scalar subquery that the prompt is joined on.
    """
    r = _residents
    cp, cc, asked = _prompts.alias("cp"), _campaigns.alias("cc"), _assignments.alias("asked")
    first = (
        select(cp.c.id)
        .join(cc, cp.c.campaign_id == cc.c.id)
        .where(
            cc.c.community_id == r.c.community_id,
            cc.c.status == "active",
            cc.c.starts_at <= bindparam("now", type_=_campaigns.c.starts_at.type),
            cp.c.id.not_in(
                select(asked.c.prompt_id).where(asked.c.resident_id == r.c.id).correlate(r)
            ),
        )
        .order_by(cc.c.starts_at, cc.c.id, cp.c.position)
        .limit(_ONE)
        .correlate(r)
    )
    if lateral:
        found = first.add_columns(
            cp.c.campaign_id.label("next_campaign_id"),
            cp.c.text.label("next_text"),
            cc.c.language.label("next_campaign_language"),
        ).lateral("next_prompt")
        columns = [
            found.c.id.label("next_prompt_id"),
            found.c.next_campaign_id,
            found.c.next_text,
            found.c.next_campaign_language,
        ]
        return [(found, true())], columns
    np = _prompts.alias("next_prompt")
    nc = _campaigns.alias("next_campaign")
    columns = [
        np.c.id.label("next_prompt_id"),
        np.c.campaign_id.label("next_campaign_id"),
        np.c.text.label("next_text"),
        nc.c.language.label("next_campaign_language"),
    ]
    return [(np, np.c.id == first.scalar_subquery()), (nc, nc.c.id == np.c.campaign_id)], columns


def _context_query(lateral: bool) -> Any:
    """Everything the common answer needs, and what would send it elsewhere, in one SELECT."""
    r, c = _residents, _communities
    a = _assignments.alias("pending")
    pc = _campaigns.alias("pending_campaign")
    next_joins, next_columns = _next_prompt(lateral)
    keyword = _communities.alias("keyword")
    o = _outbound.alias("queued_prompt")
    prompt_key = (
        literal("prompt:")
        + cast(r.c.id, String)
        + literal(":")
        + cast(a.c.prompt_id, String)
        + literal(":1")
    )
    unsent_prompt = exists().where(
        o.c.dedupe_key == prompt_key,
        or_(
            o.c.status.in_(("queued", "held")),
            and_(o.c.status == "failed", o.c.next_attempt_at.is_not(None)),
        ),
    )
    profile_waiting = exists().where(
        ProfileAnswer.resident_id == r.c.id, ProfileAnswer.answered_at.is_(None)
    )
    keyword_hit = exists().where(keyword.c.keyword == bindparam("word"))
    joined = (
        r.join(c, c.c.id == r.c.community_id)
        .outerjoin(a, and_(a.c.resident_id == r.c.id, a.c.status == "pending"))
        .outerjoin(pc, pc.c.id == a.c.campaign_id)
    )
    for target, on in next_joins:
        joined = joined.outerjoin(target, on)
    return (
        select(
            r.c.id.label("resident_id"),
            r.c.community_id,
            r.c.status,
            r.c.language,
            r.c.consent_question,
            r.c.quotes_asked_at,
            c.c.name.label("community_name"),
            c.c.safeguarding_words,
            c.c.help_contacts,
            a.c.id.label("assignment_id"),
            a.c.prompt_id,
            a.c.campaign_id,
            pc.c.language.label("campaign_language"),
            pc.c.thanks,
            *next_columns,
            unsent_prompt.label("unsent_prompt"),
            profile_waiting.label("profile_waiting"),
            keyword_hit.label("keyword_hit"),
        )
        .select_from(joined)
        .where(r.c.address_hash == bindparam("address_hash"))
        .limit(_TWO)
    )


CONTEXT = {"postgresql": _context_query(lateral=True), "sqlite": _context_query(lateral=False)}
ANSWER_ASSIGNMENT = (
    update(_assignments)
    .where(_assignments.c.id == bindparam("assignment_id"), _assignments.c.status == "pending")
    .values(status="answered", answered_at=bindparam("answered_at"))
)
TOUCH_RESIDENT = (
    update(_residents)
    .where(_residents.c.id == bindparam("resident_id"))
    .values(
        last_inbound_at=bindparam("received_at"),
        last_heard_at=bindparam("received_at"),
        language=bindparam("language"),
    )
)
INSERT_REPLIES = _outbound.insert().returning(_outbound.c.id, sort_by_parameter_order=True)


def _insert_inbound(dialect: str) -> Any:
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        maker(_inbound)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(_inbound.c.id)
    )


INSERT_INBOUND = {name: _insert_inbound(name) for name in ("postgresql", "sqlite")}


def _eligible_words(inbound: Inbound) -> str | None:
    """The keyword to check against community keywords, or None when the words go elsewhere.

    Mirrors the engine: every keyword and the words a join or erasure would take are left to
    the general path, as are empty messages, media and Telegram's /commands.
    """
    if inbound.media or inbound.channel not in ("sms", "whatsapp", "telegram"):
        return None
    stripped = inbound.text.strip()
    if not stripped or stripped.startswith("/"):
        return None
    word = read_command(inbound.text).word
    if word in STOP_WORDS | DELETE_WORDS | CONFIRM_WORDS | HELP_WORDS | START_WORDS:
        return None
    if safety.asks_for_erasure(inbound.text):
        return None
    # engine._community_for_join: a single word that is a community's keyword joins it.
    return stripped.upper() if " " not in stripped else ""


def try_answer(
    connection: Connection,
    inbound: Inbound,
    address_hash: str,
    raw_enc: bytes,
    answered_via: str | None,
    answers_at_most: int | None,
) -> tuple[int, list[Outbound], bool] | None:
    """Answer the common case inside the caller's transaction; None when it is not that case.

    Returns (inbound id, replies, whether they were recorded as sent in the webhook answer).
    Writes nothing before it knows the message is the common case; raises Declined when a
    guarded write finds the state changed, and lets database errors through: the caller rolls
    back and takes the general path either way.
    """
    word = _eligible_words(inbound)
    if word is None:
        return None
    now = utcnow()
    rows = connection.execute(
        CONTEXT[connection.dialect.name],
        {"address_hash": address_hash, "word": word or None, "now": now},
    ).all()
    if len(rows) != 1:
        return None  # a stranger, or a contact in two communities: the engine chooses
    row = rows[0]
    if (
        row.status != "joined"
        or row.assignment_id is None
        or row.unsent_prompt
        or row.profile_waiting
        or row.keyword_hit
    ):
        return None
    warnings = safeguarding.default_list()
    if row.safeguarding_words:
        warnings = safeguarding.list_for(
            Community(safeguarding_words=row.safeguarding_words, help_contacts=row.help_contacts)
        )
    if warnings.categories(inbound.text):
        return None  # the lead's queue and the help reply: the general path does both
    finished = row.next_prompt_id is None or row.next_campaign_id != row.campaign_id
    if row.next_prompt_id is None and row.quotes_asked_at is None and row.consent_question is None:
        return None  # the quote question is queued after this answer (bot.conversation.consent)

    language = row.language
    if inbound.language and inbound.channel == "telegram":
        language = inbound.language
    replies: list[dict[str, Any]] = []
    if finished:
        thanks = pick_text(row.thanks, language, row.campaign_language)
        replies.append(
            {
                "kind": "reply",
                "text": thanks or texts.text("thanks_default", name=row.community_name),
                "campaign_id": None,
                "prompt_id": None,
            }
        )
    if row.next_prompt_id is not None:
        replies.append(
            {
                "kind": "prompt",
                "text": pick_text(row.next_text, language, row.next_campaign_language) or "",
                "campaign_id": row.next_campaign_id,
                "prompt_id": row.next_prompt_id,
            }
        )

    sent = answered_via is not None and (answers_at_most is None or len(replies) <= answers_at_most)
    write = _write_postgresql if connection.dialect.name == "postgresql" else _write_each
    inbound_id, outbox_ids = write(
        connection,
        {
            "channel": inbound.channel,
            "provider_id": inbound.external_id,
            "address_hash": address_hash,
            "text": inbound.text,
            "raw_enc": raw_enc,
            "received_at": inbound.received_at,
            "now": now,
            "resident_id": row.resident_id,
            "community_id": row.community_id,
            "assignment_id": row.assignment_id,
            "campaign_id": row.campaign_id,
            "prompt_id": row.prompt_id,
            "language": language,
            "response_language": language or row.campaign_language,
            "next_prompt_id": row.next_prompt_id,
            "next_campaign_id": row.next_campaign_id,
            "reply_status": "sent" if sent else "queued",
            "sent_at": utcnow() if sent else None,
            "provider_id_sent": answered_via if sent else None,
            "attempts": 1 if sent else 0,
        },
        replies,
    )
    return (
        inbound_id,
        [
            Outbound(
                channel=inbound.channel,
                address=inbound.address,
                text=reply["text"],
                kind=reply["kind"],
                resident_id=row.resident_id,
                outbox_id=outbox_id,
            )
            for reply, outbox_id in zip(replies, outbox_ids, strict=True)
        ],
        sent,
    )


def _write_each(
    connection: Connection, values: dict[str, Any], replies: list[dict[str, Any]]
) -> tuple[int, list[int]]:
    """The writes one statement at a time (SQLite: no round trips to save, no DML in WITH)."""
    inbound_id = connection.execute(
        INSERT_INBOUND[connection.dialect.name],
        {
            "channel": values["channel"],
            "provider_id": values["provider_id"],
            "address_hash": values["address_hash"],
            "text": values["text"],
            "raw_enc": values["raw_enc"],
            "received_at": values["received_at"],
            "processed_at": values["now"],
            "resident_id": values["resident_id"],
        },
    ).scalar()
    if inbound_id is None:
        raise Declined("stored before: a provider retry")
    answered = connection.execute(
        ANSWER_ASSIGNMENT,
        {"assignment_id": values["assignment_id"], "answered_at": values["received_at"]},
    ).rowcount
    if answered != 1:
        raise Declined("the pending prompt was answered meanwhile")
    connection.execute(
        _responses.insert(),
        {
            "community_id": values["community_id"],
            "resident_id": values["resident_id"],
            "channel": values["channel"],
            "language": values["response_language"],
            "text": values["text"],
            "received_at": values["received_at"],
            "campaign_id": values["campaign_id"],
            "prompt_id": values["prompt_id"],
        },
    )
    if values["next_prompt_id"] is not None:
        connection.execute(
            _assignments.insert(),
            {
                "resident_id": values["resident_id"],
                "prompt_id": values["next_prompt_id"],
                "campaign_id": values["next_campaign_id"],
                "status": "pending",
            },
        )
    connection.execute(
        TOUCH_RESIDENT,
        {
            "resident_id": values["resident_id"],
            "received_at": values["received_at"],
            "language": values["language"],
        },
    )
    outbox_ids = connection.execute(
        INSERT_REPLIES,
        [
            {
                "community_id": values["community_id"],
                "resident_id": values["resident_id"],
                "channel": values["channel"],
                "kind": reply["kind"],
                "text": reply["text"],
                "options": None,  # JSON null, as the ORM writes it
                "status": values["reply_status"],
                "dedupe_key": f"reply:{inbound_id}:{number}",
                "in_reply_to_id": inbound_id,
                "campaign_id": reply["campaign_id"],
                "prompt_id": reply["prompt_id"],
                "sent_at": values["sent_at"],
                "provider_id": values["provider_id_sent"],
                "attempts": values["attempts"],
            }
            for number, reply in enumerate(replies)
        ],
    ).scalars()
    return inbound_id, list(outbox_ids)


def _postgresql_writes(reply_count: int) -> Any:
    """Every write of the common answer as one statement: data-modifying WITH on PostgreSQL.

    Each step runs only when the one before it wrote its row, so a retry or a race writes
    nothing and returns no rows. The pending prompt is locked first and the message stored
    only while it is still pending: a second message from the same resident whose context was
    read before the first answered that prompt waits for the lock, finds the prompt answered,
    and leaves nothing behind (in autocommit, a message stored here as processed without its
    answer would never be processed), so the general path takes it whole.
    """
    rows = ", ".join(
        f"({n}, :kind{n}, :text{n}, CAST(:campaign{n} AS INTEGER), CAST(:prompt{n} AS INTEGER))"
        for n in range(reply_count)
    )
    return text(
        f"""
WITH pending AS (
    SELECT id FROM assignments WHERE id = :assignment_id AND status = 'pending' FOR UPDATE
), msg AS (
    INSERT INTO inbound_messages
        (channel, provider_id, address_hash, text, raw_enc, received_at, processed_at, resident_id)
    SELECT :channel, :provider_id, :address_hash, :text, :raw_enc, :received_at, :now,
           :resident_id
    FROM pending
    ON CONFLICT (channel, provider_id) DO NOTHING
    RETURNING id
), answered AS (
    UPDATE assignments SET status = 'answered', answered_at = :received_at
    WHERE id = (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM msg)
    RETURNING id
), response AS (
    INSERT INTO responses (community_id, resident_id, channel, language, text, received_at,
                           campaign_id, prompt_id, safeguarding)
    SELECT :community_id, :resident_id, :channel, :response_language, :text, :received_at,
           :campaign_id, :prompt_id, false
    FROM answered
    RETURNING id
), next_assignment AS (
    INSERT INTO assignments (resident_id, prompt_id, campaign_id, status, assigned_at, nudges_sent)
    SELECT :resident_id, CAST(:next_prompt_id AS INTEGER), CAST(:next_campaign_id AS INTEGER),
           'pending', :now, 0
    FROM answered
    WHERE CAST(:next_prompt_id AS INTEGER) IS NOT NULL
    RETURNING id
), touched AS (
    UPDATE residents
    SET last_inbound_at = :received_at, last_heard_at = :received_at, language = :language
    WHERE id = :resident_id AND EXISTS (SELECT 1 FROM answered)
    RETURNING id
)
INSERT INTO outbound_messages
    (community_id, resident_id, channel, kind, text, options, status, dedupe_key, provider_id,
     in_reply_to_id, campaign_id, prompt_id, attempts, created_at, sent_at)
SELECT :community_id, :resident_id, :channel, reply.kind, reply.text, 'null'::json,
       :reply_status, 'reply:' || msg.id || ':' || reply.n, :provider_id_sent, msg.id,
       reply.campaign_id, reply.prompt_id, :attempts, :now, :sent_at
FROM msg, answered, (VALUES {rows}) AS reply (n, kind, text, campaign_id, prompt_id)
ORDER BY reply.n
RETURNING id, in_reply_to_id, dedupe_key
"""
    ).bindparams(
        bindparam("received_at", type_=_inbound.c.received_at.type),
        bindparam("now", type_=_inbound.c.received_at.type),
        bindparam("sent_at", type_=_outbound.c.sent_at.type),
        bindparam("raw_enc", type_=_inbound.c.raw_enc.type),
    )


POSTGRESQL_WRITES = {count: _postgresql_writes(count) for count in (1, 2)}


def _write_postgresql(
    connection: Connection, values: dict[str, Any], replies: list[dict[str, Any]]
) -> tuple[int, list[int]]:
    """The writes in one round trip; no rows back means a retry or a race: Declined."""
    params = dict(values)
    for number, reply in enumerate(replies):
        params[f"kind{number}"] = reply["kind"]
        params[f"text{number}"] = reply["text"]
        params[f"campaign{number}"] = reply["campaign_id"]
        params[f"prompt{number}"] = reply["prompt_id"]
    written = connection.execute(POSTGRESQL_WRITES[len(replies)], params).all()
    if len(written) != len(replies):
        raise Declined("stored before, or the pending prompt was answered meanwhile")
    ordered = sorted(written, key=lambda row: int(row.dedupe_key.rsplit(":", 1)[1]))
    return ordered[0].in_reply_to_id, [row.id for row in ordered]
