"""PostgreSQL's store for the usual turns: a whole decision written by one statement.

An answer, a join, YES, HELP, STOP, START, DELETE or a stranger's first message: their effects
(store the message, create or update the resident, consents, the answer, the next prompt, a
withdrawn send, the quote question, the replies) are written by one data-modifying WITH
statement (postgres_writes), run in autocommit after the snapshot's SELECT: no BEGIN/COMMIT.
Every write hangs off the stored message, so a retry or a race writes nothing at all. The rarer
effects (erasure, an alert, group questions, branches) go to the ordinary writes (store.apply).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.engine import Connection

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
from bot.conversation.postgres_writes import Writer
from bot.conversation.replies import outbound_replies
from bot.conversation.store import StateChanged
from bot.conversation.store_message import Applied, Message
from storage.crypto import Vault
from storage.statuses import ResidentStatus

MAX_REPLIES = 3
_ONCE = (
    Erase,
    CreateResident,
    UpdateResident,
    RecordConsent,
    OptOut,
    StoreResponse,
    AssignPrompt,
    WithdrawUnsentPrompt,
    AskQuotes,
)


def covers(decision: Decision) -> bool:
    """Whether one statement writes everything this decision asks for."""
    kinds = Counter(type(effect) for effect in decision.effects)
    if set(kinds) - {Reply, *_ONCE} or any(kinds[kind] > 1 for kind in _ONCE):
        return False
    if kinds[Reply] > MAX_REPLIES:
        return False
    if kinds[Erase]:
        # Nothing of an erased contact is kept, not even the replies to them.
        replies_to_nobody = not any(reply.to_resident for reply in decision.replies)
        return set(kinds) <= {Erase, Reply} and replies_to_nobody
    has_resident = decision.resident_id is not None or kinds[CreateResident] == 1
    if decision.resident_id is not None and kinds[CreateResident]:
        return False
    if not has_resident:
        return all(not effect.to_resident for effect in decision.replies) and set(kinds) <= {Reply}
    if any(isinstance(e, AssignPrompt) and e.reopen for e in decision.effects):
        return False
    if kinds[OptOut]:
        # The resident's own record changes with the effect that sets their status.
        update = next((e for e in decision.effects if isinstance(e, UpdateResident)), None)
        if update is None or update.values.get("status") != ResidentStatus.OPTED_OUT:
            return False
        if kinds[WithdrawUnsentPrompt]:
            return False  # both change outbox rows: the ordinary writes order them
    return True


def apply_in_one_statement(
    connection: Connection,
    vault: Vault,
    message: Message,
    decision: Decision,
    sent_via: str | None,
) -> Applied:
    """Write the decision in one statement; StateChanged when it wrote nothing."""
    writer = Writer(vault, message, decision)
    statement, final_rows = writer.build(sent_via)
    written = connection.execute(statement, writer.out.params).all()
    replies = decision.replies
    if not written or len(written) != final_rows:
        raise StateChanged("stored before, erased, or the pending prompt was answered meanwhile")
    # A reply names the message it answers; the quote question's key ends with its id.
    first = written[-1]
    inbound_id = first.in_reply_to_id or int(first.dedupe_key.rsplit(":", 1)[1])
    if decision.erased:
        # Nothing of theirs is kept, not even the reply: it leaves in the webhook's answer.
        return Applied(
            inbound_id, outbound_replies(message, replies, None, []), sent_via is not None
        )
    if not replies:
        return Applied(inbound_id, (), sent_via is not None)
    ordered = sorted(
        (row for row in written if row.dedupe_key.startswith("reply:")),
        key=lambda row: int(row.dedupe_key.rsplit(":", 1)[1]),
    )
    ids = [row.id for row in ordered]
    resident_id = writer.resident_id_written(written[0])
    return Applied(inbound_id, outbound_replies(message, replies, resident_id, ids), writer.sent)
