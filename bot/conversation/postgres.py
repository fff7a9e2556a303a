"""PostgreSQL's store for the common turn: a joined resident answering their pending prompt.

Most messages after a launch are that turn. Its effects (store the message and the answer, mark
the prompt answered, assign the next one, touch the resident, record the replies) are written
by one data-modifying WITH statement, run in autocommit after the snapshot's SELECT: two
statements and no BEGIN/COMMIT. Any other decision goes to the ordinary writes (store.apply).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.engine import Connection

from bot.conversation.effects import AssignPrompt, Decision, Reply, StoreResponse, UpdateResident
from bot.conversation.replies import mark_sent_rows, outbound_replies, reply_rows
from bot.conversation.snapshot import Snapshot
from bot.conversation.store import StateChanged
from bot.conversation.store_message import Applied, Message
from storage.models import InboundMessage, OutboundMessage, utcnow

# What the common turn may set on the resident besides what the statement always sets.
_TOUCHED = frozenset({"last_inbound_at", "last_heard_at", "language"})
MAX_REPLIES = 2


def common_answer(decision: Decision) -> bool:
    """Whether the one statement writes everything this decision asks for."""
    kinds = [type(effect) for effect in decision.effects]
    answers = [e for e in decision.effects if isinstance(e, StoreResponse)]
    replies = decision.replies
    return (
        decision.resident_id is not None
        and len(answers) == 1
        and answers[0].assignment_id is not None
        and answers[0].settles
        and 1 <= len(replies) <= MAX_REPLIES
        and all(reply.to_resident for reply in replies)
        and kinds.count(AssignPrompt) <= 1
        and not any(isinstance(e, AssignPrompt) and e.reopen for e in decision.effects)
        and set(kinds) <= {UpdateResident, StoreResponse, AssignPrompt, Reply}
        and all(
            set(effect.values) <= _TOUCHED
            for effect in decision.effects
            if isinstance(effect, UpdateResident)
        )
    )


def apply_common_answer(
    connection: Connection,
    message: Message,
    snapshot: Snapshot,
    decision: Decision,
    sent_via: str | None,
) -> Applied:
    """Write the common turn in one statement; StateChanged when it wrote nothing."""
    resident = snapshot.resident
    assert resident is not None and resident.pending is not None
    answer = next(e for e in decision.effects if isinstance(e, StoreResponse))
    following = next((e for e in decision.effects if isinstance(e, AssignPrompt)), None)
    language = resident.language
    for effect in decision.effects:
        if isinstance(effect, UpdateResident):
            language = effect.values.get("language", language)  # type: ignore[assignment]
    inbound = message.inbound
    replies = decision.replies
    rows = reply_rows(0, resident.id, decision.community_id, message, replies)
    sent = mark_sent_rows(rows, sent_via)
    params: dict[str, Any] = {
        "channel": inbound.channel,
        "provider_id": inbound.external_id,
        "address_hash": message.address_hash,
        "erased_key": message.erased_key,
        "text": inbound.text,
        "raw_enc": message.raw_enc,
        "received_at": inbound.received_at,
        "now": utcnow(),
        "resident_id": resident.id,
        "community_id": decision.community_id,
        "assignment_id": answer.assignment_id,
        "campaign_id": answer.campaign_id,
        "prompt_id": answer.prompt_id,
        "language": language,
        "response_language": answer.language,
        "choice": answer.choice,
        "confidence": inbound.confidence,
        "recording": inbound.recording,
        "next_prompt_id": following.prompt_id if following else None,
        "next_campaign_id": following.campaign_id if following else None,
        "next_language": following.language if following else None,
        "reply_status": rows[0]["status"],
        "sent_at": rows[0]["sent_at"],
        "provider_id_sent": rows[0]["provider_id"],
        "attempts": rows[0]["attempts"],
    }
    params.update(_reply_params(replies, rows))
    written = connection.execute(COMMON_ANSWER[len(replies)], params).all()
    if len(written) != len(replies):
        raise StateChanged("stored before, or the pending prompt was answered meanwhile")
    ordered = sorted(written, key=lambda row: int(row.dedupe_key.rsplit(":", 1)[1]))
    ids = [row.id for row in ordered]
    return Applied(
        ordered[0].in_reply_to_id, outbound_replies(message, replies, resident.id, ids), sent
    )


def _reply_params(replies: list[Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The VALUES row parameters of each reply, numbered as the statement names them."""
    params: dict[str, Any] = {}
    for number, reply in enumerate(replies):
        params[f"kind{number}"] = reply.kind
        params[f"text{number}"] = reply.text
        params[f"campaign{number}"] = reply.campaign_id
        params[f"prompt{number}"] = reply.prompt_id
        params[f"options{number}"] = rows[number]["options"]
    return params


# Each step runs only when the one before it wrote its row, so a retry or a race writes nothing
# and returns no rows. The pending prompt is locked first and the message stored only while it
# is still pending: a second message from the same resident decided on the same snapshot waits
# for the lock, finds the prompt answered and leaves nothing behind.
_COMMON_ANSWER_SQL = """WITH pending AS (
    SELECT id FROM assignments WHERE id = :assignment_id AND status = 'pending' FOR UPDATE
), msg AS (
    INSERT INTO inbound_messages
        (channel, provider_id, address_hash, text, raw_enc, received_at, processed_at, resident_id)
    SELECT :channel, :provider_id, :address_hash, :text, :raw_enc, :received_at, :now,
           :resident_id
    FROM pending
    WHERE NOT EXISTS (SELECT 1 FROM erased_messages WHERE key = :erased_key)
    ON CONFLICT (channel, provider_id) DO NOTHING
    RETURNING id
), answered AS (
    UPDATE assignments SET status = 'answered', answered_at = :received_at
    WHERE id = (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM msg)
    RETURNING id
), response AS (
    INSERT INTO responses (community_id, resident_id, channel, language, text, received_at,
                           campaign_id, prompt_id, choice, safeguarding, confidence, recording)
    SELECT :community_id, :resident_id, :channel, :response_language, :text, :received_at,
           :campaign_id, :prompt_id, CAST(:choice AS VARCHAR), false,
           CAST(:confidence AS DOUBLE PRECISION), CAST(:recording AS VARCHAR)
    FROM answered
    RETURNING id
), next_assignment AS (
    INSERT INTO assignments
        (resident_id, prompt_id, campaign_id, language, status, assigned_at, nudges_sent)
    SELECT :resident_id, CAST(:next_prompt_id AS INTEGER), CAST(:next_campaign_id AS INTEGER),
           CAST(:next_language AS VARCHAR), 'pending', :now, 0
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
SELECT :community_id, :resident_id, :channel, reply.kind, reply.text, reply.options,
       :reply_status, 'reply:' || msg.id || ':' || reply.n, :provider_id_sent, msg.id,
       reply.campaign_id, reply.prompt_id, :attempts, :now, :sent_at
FROM msg, answered, (VALUES {rows}) AS reply (n, kind, text, campaign_id, prompt_id, options)
ORDER BY reply.n
RETURNING id, in_reply_to_id, dedupe_key
"""


def _common_answer_statement(reply_count: int) -> Any:
    """The common answer's statement for `reply_count` replies."""
    rows = ", ".join(
        f"({n}, :kind{n}, :text{n}, CAST(:campaign{n} AS INTEGER), CAST(:prompt{n} AS INTEGER), "
        f"CAST(:options{n} AS JSON))"
        for n in range(reply_count)
    )
    options = [bindparam(f"options{n}", type_=JSON) for n in range(reply_count)]
    return text(_COMMON_ANSWER_SQL.replace("{rows}", rows)).bindparams(
        *options,
        bindparam("received_at", type_=InboundMessage.__table__.c.received_at.type),
        bindparam("now", type_=InboundMessage.__table__.c.received_at.type),
        bindparam("sent_at", type_=OutboundMessage.__table__.c.sent_at.type),
        bindparam("raw_enc", type_=InboundMessage.__table__.c.raw_enc.type),
    )


COMMON_ANSWER = {count: _common_answer_statement(count) for count in range(1, MAX_REPLIES + 1)}
