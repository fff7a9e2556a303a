"""Safeguarding: warning phrases, the help reply, the lead's queue and the alert to the lead."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import texts
from bot.channels.base import Sender, SendError
from bot.messages import Outbound
from bot.sending import outbox
from storage.crypto import Vault
from storage.db import Database
from storage.models import (
    Community,
    OutboundMessage,
    Response,
    SafeguardingAlert,
    utcnow,
)

WORDS_FILE = Path(__file__).with_name("safeguarding_words.yaml")
ALERT_KIND = "safeguarding"
# OutboundMessage rows for the lead have no resident: options carry this marker instead, and the
# sender asks lead_address() for where they go.
LEAD_MARKER = {"to": "safeguarding_lead"}
LEAD_CHANNELS = ("sms", "whatsapp", "telegram")
MAX_ALERT_ATTEMPTS = 10
_SQUEEZE = re.compile(r"([a-z])\1+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped, one space between words, repeated letters squeezed."""
    lowered = text.lower().replace("’", "").replace("'", "").replace("`", "")
    spaced = _NOT_WORD.sub(" ", lowered).strip()
    return _SQUEEZE.sub(r"\1", spaced)


# Whole words only: an entry never matches inside a longer word.
_WORD_START, _WORD_END = "(?<![a-z0-9])(?:", ")(?![a-z0-9])"


def _compile(pattern: str) -> re.Pattern[str]:
    squeezed = _SQUEEZE.sub(r"\1", pattern.strip().lower())
    return re.compile(f"{_WORD_START}{squeezed}{_WORD_END}")


def _entry(pattern: re.Pattern[str]) -> str:
    """An entry as _compile was given it (squeezed), without the whole-word guards."""
    return pattern.pattern[len(_WORD_START) : -len(_WORD_END)]


def phrase_pattern(phrase: str) -> str:
    """A community's plain warning phrase as an entry: its words, literally, in order."""
    return " ".join(re.escape(word) for word in normalise(phrase).split())


@dataclass(frozen=True)
class WarningList:
    """Compiled warning phrases by category, and the help contacts to reply with."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    help_contacts: str

    @cached_property
    def _any(self) -> re.Pattern[str]:
        """Every entry in one alternation inside one pair of whole-word guards.

        It matches wherever one of the entries would: at a given start, the regular expression
        engine backtracks through every alternative until one also satisfies the guard after it.
        """
        entries = "|".join(f"(?:{_entry(pattern)})" for _, pattern in self.patterns)
        return re.compile(f"{_WORD_START}{entries}{_WORD_END}")

    def categories(self, text: str) -> list[str]:
        """The categories whose phrases occur in `text`, in list order, each once."""
        plain = normalise(text)
        if not plain or not self.patterns:
            return []
        # Almost every message matches nothing: one search of the combined pattern says so.
        # A match (rare) is then told apart phrase by phrase, so the categories and their
        # order are exactly those of the phrases, however the alternatives overlap.
        if not self._any.search(plain):
            return []
        found: list[str] = []
        for category, pattern in self.patterns:
            if category not in found and pattern.search(plain):
                found.append(category)
        return found


@cache
def default_list() -> WarningList:
    """The shipped English list."""
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    patterns = tuple(
        (category, _compile(entry))
        for category, entries in data["categories"].items()
        for entry in entries
    )
    return WarningList(patterns, data["help_contacts"].strip())


def list_for(community: Community | None) -> WarningList:
    """The default list plus the community's own phrases and help contacts."""
    if community is None:
        return default_list()
    return list_with(tuple(community.safeguarding_words or ()), community.help_contacts)


@lru_cache(maxsize=256)
def list_with(phrases: tuple[str, ...], help_contacts: str | None) -> WarningList:
    """A community's list, built (and its combined pattern compiled) once per phrase set."""
    base = default_list()
    extra = tuple(
        ("community", _compile(phrase_pattern(phrase))) for phrase in phrases if normalise(phrase)
    )
    return WarningList(base.patterns + extra, help_contacts or base.help_contacts)


def help_text(community_name: str | None, warnings: WarningList) -> str:
    """The immediate reply to a matching message: warm words and free help contacts."""
    name = community_name or "Community"
    return f"{texts.text('safeguarding_help', name=name)} {warnings.help_contacts}"


def help_reply(community: Community | None) -> str:
    """The help reply for a community's list (None: the default list)."""
    return help_text(community.name if community else None, list_for(community))


def set_lead(
    session: Session, vault: Vault, community: Community, channel: str, address: str
) -> None:
    """Store the designated lead's contact, encrypted like residents' contacts."""
    if channel not in LEAD_CHANNELS:
        raise ValueError(f"the lead's channel must be one of {', '.join(LEAD_CHANNELS)}")
    community.safeguarding_lead_channel = channel
    community.safeguarding_lead_enc = vault.encrypt(address.strip())


def lead_address(session: Session, vault: Vault, row: OutboundMessage) -> str | None:
    """Where a queued lead alert goes (for the sender); None when it is not a lead alert."""
    if row.kind != ALERT_KIND or row.community_id is None:
        return None
    community = session.get(Community, row.community_id)
    if community is None or not community.safeguarding_lead_enc:
        return None
    return vault.decrypt(community.safeguarding_lead_enc)


def deliver_lead_alerts(db: Database, vault: Vault, senders: Mapping[str, Sender | None]) -> int:
    """Send every queued alert to its community's lead now; return how many left.

    The outbox sender or a worker job calls this; rows stay queued (and are retried) when the
    lead's channel is off or the provider fails.
    """
    with db.session_scope() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == ALERT_KIND)
            .where(OutboundMessage.status.in_(("queued", "failed")))
            .where(OutboundMessage.attempts < MAX_ALERT_ATTEMPTS)
            # A digest waits for the end of its hour.
            .where(
                or_(
                    OutboundMessage.next_attempt_at.is_(None),
                    OutboundMessage.next_attempt_at <= utcnow(),
                )
            )
            .order_by(OutboundMessage.id)
        ).all()
        pending = [(r.id, r.channel, r.text, lead_address(session, vault, r)) for r in rows]
    sent = 0
    for outbox_id, channel, body, address in pending:
        sender = senders.get(channel)
        if sender is None or address is None:
            continue
        try:
            provider_id = sender.send(Outbound(channel=channel, address=address, text=body))
        except SendError as exc:
            outbox.mark_failed(db, outbox_id, str(exc))
            continue
        outbox.mark_sent(db, [outbox_id], via=channel, provider_ids=[provider_id])
        sent += 1
    return sent


@dataclass(frozen=True)
class QueueEntry:
    """One alert as the lead sees it: pseudonym and words, never a contact detail."""

    alert_id: int
    created_at: str
    pseudonym: str
    categories: str
    text: str
    acknowledged: bool


def queue(
    session: Session, community_id: int, *, include_acknowledged: bool = False
) -> list[QueueEntry]:
    """The community's safeguarding queue, oldest first (the admin pages can call this too)."""
    from storage.models import InboundMessage, Resident

    query = (
        select(SafeguardingAlert, Resident.pseudonym, Response.text, InboundMessage.text)
        .join(Resident, Resident.id == SafeguardingAlert.resident_id)
        .outerjoin(Response, Response.id == SafeguardingAlert.response_id)
        .outerjoin(InboundMessage, InboundMessage.id == SafeguardingAlert.inbound_id)
        .where(SafeguardingAlert.community_id == community_id)
        .order_by(SafeguardingAlert.created_at, SafeguardingAlert.id)
    )
    if not include_acknowledged:
        query = query.where(SafeguardingAlert.acknowledged_at.is_(None))
    return [
        QueueEntry(
            alert_id=alert.id,
            created_at=alert.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            pseudonym=pseudonym,
            categories=alert.categories,
            text=response_text if response_text is not None else (inbound_text or ""),
            acknowledged=alert.acknowledged_at is not None,
        )
        for alert, pseudonym, response_text, inbound_text in session.execute(query)
    ]


def acknowledge(session: Session, community_id: int, alert_id: int, by: str) -> bool:
    """Mark an alert as seen by the lead; False when there is no such open alert."""
    alert = session.get(SafeguardingAlert, alert_id)
    if alert is None or alert.community_id != community_id or alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = by[:200]
    return True
