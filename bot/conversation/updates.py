"""One Telegram update from its JSON to its replies, the same for the webhook and long polling."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels import telegram
from bot.conversation import inbox
from bot.conversation.snapshot import Limits
from bot.sending import outbox
from bot.sending.delivery import deliver_replies
from storage.crypto import Vault
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

# The kinds of update handle() knows; Telegram is asked for exactly these (setWebhook and
# getUpdates `allowed_updates`): https://core.telegram.org/bots/api#update
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")


class NotAnUpdate(ValueError):
    """JSON that python-telegram-bot cannot read as an Update."""


@dataclass(frozen=True)
class Handled:
    """What became of one update: a Bot API call for the webhook's answer, or why it was ignored."""

    answer: dict[str, Any] | None = None
    ignored: str | None = None


def handle(
    db: Database,
    vault: Vault,
    client: telegram.TelegramClient,
    data: dict[str, Any],
    *,
    answer_in_response: bool = False,
    received_at: datetime | None = None,
    limits: Limits | None = None,
) -> Handled:
    """Parse the update, let the conversation answer it, and deliver the replies.

    With `answer_in_response` (the webhook) a single reply to a message travels back as the
    returned `answer` instead of a Bot API request; button presses always need the Bot API
    (answerCallbackQuery). A resident who blocks the bot is opted out.
    """
    problem = telegram.update_problem(data)
    if problem is not None:
        raise NotAnUpdate(problem)
    try:
        update = client.parse(data)
    except Exception as exc:
        raise NotAnUpdate(str(exc)) from exc
    blocked = telegram.blocked_chat(update)
    if blocked is not None:
        with db.session_scope() as session:
            changed = outbox.opt_out_blocked(session, vault.address_hash("telegram", blocked))
        log.info(
            "telegram update %s: resident blocked the bot (%d records opted out)",
            update.update_id,
            changed,
        )
        return Handled()
    # The payload as received is what is kept: re-serialising the parsed Update cost more CPU
    # than the rest of the Telegram parsing, and could only drop what Telegram sent.
    parsed = telegram.parse_update(update, received_at or utcnow(), raw=data)
    if isinstance(parsed, telegram.Ignored):
        log.info("telegram update %s ignored: %s", update.update_id, parsed)
        return Handled(ignored=str(parsed))
    if update.callback_query is not None or not answer_in_response:
        reception = inbox.receive(db, vault, parsed, limits=limits)
        if update.callback_query is not None:
            client.answer_callback(update.callback_query.id)
    else:
        reception = inbox.receive(
            db,
            vault,
            parsed,
            telegram.WEBHOOK_REPLY,
            answers_at_most=1,
            limits=limits,
        )
        if reception.in_answer and len(reception.replies) == 1:
            # Also for a redelivered update: Telegram only runs the call if it got the answer.
            return Handled(answer=telegram.webhook_reply(reception.replies[0]))
    if not reception.duplicate:
        deliver_replies(db, client, reception.replies)
    return Handled()
