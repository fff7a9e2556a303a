"""Send replies straight away through a channel's sender and record what happened."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.channels.base import Sender, SendError, TransientSendError
from bot.messages import Outbound
from bot.sending import outbox
from storage.db import Database

log = logging.getLogger(__name__)
HELD_BACK = "held back: an earlier reply to the same message could not be sent"


def deliver_replies(db: Database, sender: Sender, replies: Iterable[Outbound]) -> int:
    """Send each reply in order, recording failures for the outbox; return how many left."""
    sent = 0
    held_back = False
    for reply in replies:
        if held_back:
            # The provider is slow or down: one timeout per webhook is enough, and the
            # sender retries these in order later.
            if reply.outbox_id:
                outbox.mark_failed(db, reply.outbox_id, HELD_BACK)
            continue
        try:
            provider_id = sender.send(reply)
        except SendError as exc:
            log.warning("reply %s not sent now: %s", reply.outbox_id, exc)
            if reply.outbox_id:
                outbox.mark_failed(db, reply.outbox_id, str(exc))
            held_back = isinstance(exc, TransientSendError)
            continue
        sent += 1
        if reply.outbox_id:
            outbox.mark_sent(db, [reply.outbox_id], via=sender.channel, provider_ids=[provider_id])
    return sent
