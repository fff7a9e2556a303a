"""The last part of PostgreSQL's one statement: the outbox rows a message leads to, in order."""

from __future__ import annotations

from bot.conversation.sql_statement import Statement
from storage.models import OutboundMessage

_outbound = OutboundMessage.__table__
# The columns of an outbox row that the final INSERT takes from each row's parameters.
OUTBOX_VALUES = (
    "kind",
    "text",
    "options",
    "status",
    "provider_id",
    "attempts",
    "sent_at",
    "campaign_id",
    "prompt_id",
)


def outbox_insert(out: Statement, resident: str, mine: list[bool], *, quotes_first: bool) -> str:
    """The INSERT of the rows: the quote question first when there is one (n -1), then the
    replies numbered from 0; `mine` says which rows are the resident's."""
    columns = _outbound.c
    first = -1 if quotes_first else 0
    values = ", ".join(
        f"({first + index}, {'true' if to_resident else 'false'}, "
        + ", ".join(out.cast(f"{name}{index}", columns[name]) for name in OUTBOX_VALUES)
        + ")"
        for index, to_resident in enumerate(mine)
    )
    return (
        "INSERT INTO outbound_messages (community_id, resident_id, channel, kind, text,"
        " options, status, dedupe_key, provider_id, attempts, next_attempt_at, sent_at,"
        " in_reply_to_id, campaign_id, prompt_id, created_at)\n"
        "SELECT CAST(:community_id AS INTEGER),"
        f" CASE WHEN row.mine THEN {resident} END, :channel, row.kind, row.text,"
        " row.options, row.status,"
        f" CASE WHEN row.n < 0 THEN 'quotes:' || {resident} || ':' || msg.id"
        " ELSE 'reply:' || msg.id || ':' || row.n END, row.provider_id, row.attempts,"
        " CASE WHEN row.n < 0 THEN CAST(:now AS TIMESTAMP WITH TIME ZONE) END, row.sent_at,"
        " CASE WHEN row.n >= 0 THEN msg.id END, row.campaign_id, row.prompt_id, :now\n"
        f"FROM msg, (VALUES {values}) AS row (n, mine, {', '.join(OUTBOX_VALUES)})\n"
        "ORDER BY row.n\n"
        f"RETURNING id, in_reply_to_id, dedupe_key, {resident} AS resident_id"
    )
