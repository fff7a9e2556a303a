"""Hooks that keep residents safe: clean hostile input, answer the safety questions, screen words.

The engine calls answer_pending_question() and the join hook; the inbox calls clean_inbound()
before storing and after_turn() once the engine has decided.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot import texts
from bot.conversation import consent, safeguarding
from bot.messages import Inbound, Outbound
from storage.models import Community, Resident, utcnow

if TYPE_CHECKING:
    from bot.conversation.engine import Command, Engine, Turn

# Characters no database column can hold as text: NUL (PostgreSQL) and lone surrogates (UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Erasure requests may come in any words (UK GDPR): a whole message like "please delete my data"
# is read as DELETE, which still needs CONFIRM, so a misreading erases nothing.
_ERASE_REQUEST = re.compile(
    r"^(?:(?:please|pls|can you|could you|i want you to|i want to|id like to|i would like to) )*"
    r"(?:delete|erase|remove|wipe|forget)(?: all)?(?: of)? "
    r"(?:me|my (?:data|details|number|phone number|info|information|messages|answers|words"
    r"|account|stuff)|everything(?: i said| about me)?)"
    r"(?: (?:please|now|thanks|thank you))*$"
)
PROVIDER_ID_MAX = 64
LANGUAGE_MAX = 16


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


def asks_for_erasure(text: str) -> bool:
    """Whether a whole message asks, in other words than DELETE, to be erased."""
    plain = " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "")).split())
    return bool(_ERASE_REQUEST.match(plain))


def join_question(
    engine: Engine, inbound: Inbound, community: Community, resident: Resident, turn: Turn
) -> Turn | None:
    """A young people's community asks the age band before the welcome."""
    if resident.status == "joined" or not consent.needs_age_band(community, resident):
        return None
    turn.replies.append(consent.ask_age(resident, inbound, community))
    return turn


def answer_pending_question(
    engine: Engine, inbound: Inbound, command: Command, resident: Resident, turn: Turn
) -> Turn | None:
    """Take a whole-message answer to the age or quote question; None lets the engine go on."""
    asking = resident.consent_question
    community = resident.community
    if asks_for_erasure(inbound.text):
        resident.delete_requested_at = utcnow()
        turn.replies.append(
            _reply(inbound, resident, texts.text("delete_ask", name=community.name))
        )
        return turn
    if asking == consent.ASKING_AGE and resident.status == "invited":
        band = consent.read_age_band(inbound.text)
        if band is None:
            turn.replies.append(
                _reply(inbound, resident, texts.text("age_again"), ("1", "2", "3", "4"))
            )
            return turn
        if band == consent.UNDER_13:
            # Nothing of theirs is kept: the inbox erases the contact as for DELETE + CONFIRM.
            turn.erased = True
            turn.resident_id = None
            turn.replies.append(_reply(inbound, None, texts.text("under_13")))
            return turn
        resident.age_band = band
        resident.consent_question = None
        turn.replies.append(_reply(inbound, resident, engine.welcome_text(community), ("YES",)))
        return turn
    if (
        asking == consent.ASKING_QUOTES
        and resident.status == "joined"
        and not engine._pending(resident)
    ):
        # With a question pending, a YES or NO answers that question, not the quote question.
        reply = consent.answer_quotes(engine.session, resident, inbound, command.word)
        if reply is not None:
            turn.replies.append(reply)
            return turn
    return None


def after_turn(session: Session, inbound: Inbound, inbound_id: int, turn: Turn) -> None:
    """Screen the words for harm (help reply, lead's queue, alert); else maybe ask about quotes."""
    if turn.erased:
        return
    community = session.get(Community, turn.community_id) if turn.community_id else None
    resident = session.get(Resident, turn.resident_id) if turn.resident_id else None
    categories = safeguarding.list_for(community).categories(inbound.text)
    if categories:
        if community is not None and resident is not None:
            safeguarding.raise_alert(
                session,
                community,
                resident.id,
                categories,
                response_id=turn.response_id,
                inbound_id=inbound_id,
            )
        if resident is None or resident.status not in ("opted_out", "unreachable"):
            help_text = safeguarding.help_reply(community)
            turn.replies.insert(0, _reply(inbound, resident, help_text))
        return
    answered = turn.response_id is not None and resident is not None
    if answered and consent.should_ask_quotes(session, resident):  # type: ignore[arg-type]
        consent.ask_quotes(session, resident)  # type: ignore[arg-type]


def _reply(
    inbound: Inbound, resident: Resident | None, body: str, buttons: tuple[str, ...] = ()
) -> Outbound:
    return Outbound(
        channel=inbound.channel,
        address=inbound.address,
        text=body,
        buttons=buttons,
        resident_id=resident.id if resident is not None else None,
    )
