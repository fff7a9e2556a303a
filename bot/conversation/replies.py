"""A message's replies as outbox rows, and as the Outbound messages the channel sends."""

from __future__ import annotations

from typing import Any

from bot.conversation.effects import Reply
from bot.conversation.store_message import Message
from bot.messages import Outbound
from bot.sending import outbox
from storage.models import utcnow
from storage.statuses import OutboxStatus


def reply_rows(
    inbound_id: int,
    resident_id: int | None,
    community_id: int | None,
    message: Message,
    replies: list[Reply],
) -> list[dict[str, Any]]:
    """The outbox rows of a message's replies, in order."""
    now = utcnow()
    return [
        {
            "community_id": community_id,
            "resident_id": resident_id if reply.to_resident else None,
            "channel": message.inbound.channel,
            "kind": reply.kind,
            "text": reply.text,
            "options": {"buttons": list(reply.buttons)} if reply.buttons else None,
            "status": OutboxStatus.QUEUED,
            "dedupe_key": outbox.reply_key(inbound_id, number),
            "provider_id": None,
            "in_reply_to_id": inbound_id,
            "campaign_id": reply.campaign_id,
            "prompt_id": reply.prompt_id,
            "attempts": 0,
            "created_at": now,
            "sent_at": None,
        }
        for number, reply in enumerate(replies)
    ]


def mark_sent_rows(rows: list[dict[str, Any]], sent_via: str | None) -> bool:
    """Replies that leave in the webhook's own answer are recorded as sent that way."""
    if sent_via is None:
        return False
    now = utcnow()
    for row in rows:
        row.update(status=OutboxStatus.SENT, sent_at=now, provider_id=sent_via, attempts=1)
    return True


def outbound_replies(
    message: Message, replies: list[Reply], resident_id: int | None, ids: list[int]
) -> tuple[Outbound, ...]:
    inbound = message.inbound
    return tuple(
        Outbound(
            channel=inbound.channel,
            address=inbound.address,
            text=reply.text,
            kind=reply.kind,
            buttons=reply.buttons,
            resident_id=resident_id if reply.to_resident else None,
            outbox_id=ids[number] if ids else None,
            campaign_id=reply.campaign_id,
            prompt_id=reply.prompt_id,
        )
        for number, reply in enumerate(replies)
    )
