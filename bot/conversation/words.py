"""The words residents can always use, and how a message is read as one of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "UNSTOP"})
JOIN_WORDS = frozenset({"YES", "JOIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})
DELETE_WORDS = frozenset({"DELETE"})
CONFIRM_WORDS = frozenset({"CONFIRM"})
YES_WORDS = frozenset({"YES", "Y", "JOIN"})
NO_WORDS = frozenset({"NO", "N"})
DELETE_WINDOW = timedelta(minutes=15)
# Channels where the provider confirms an opt-out itself (Twilio's Advanced Opt-Out for SMS).
PROVIDER_CONFIRMS_STOP = frozenset({"sms"})
# Erasure requests may come in any words (UK GDPR): a whole message like "please delete my data"
# is read as DELETE, which still needs CONFIRM, so a misreading erases nothing.
_ERASE_REQUEST = re.compile(
    r"^(?:(?:please|pls|can you|could you|i want you to|i want to|id like to|i would like to) )*"
    r"(?:delete|erase|remove|wipe|forget)(?: all)?(?: of)? "
    r"(?:me|my (?:data|details|number|phone number|info|information|messages|answers|words"
    r"|account|stuff)|everything(?: i said| about me)?)"
    r"(?: (?:please|now|thanks|thank you))*$"
)


@dataclass(frozen=True)
class Command:
    """A message read as a keyword: the word, and for Telegram's /start the payload."""

    word: str
    payload: str = ""


def read_command(text: str) -> Command:
    """Whole-message keyword match, any case; Telegram's '/word@bot payload' form too."""
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, payload = stripped[1:].partition(" ")
        head = head.split("@", 1)[0]
        return Command(head.upper(), payload.strip())
    return Command(stripped.upper())


def asks_for_erasure(text: str) -> bool:
    """Whether a whole message asks, in other words than DELETE, to be erased."""
    plain = " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "")).split())
    return bool(_ERASE_REQUEST.match(plain))


@dataclass(frozen=True)
class JoinLookup:
    """The community a message may name: by keyword, or (a Telegram deep link) by slug too."""

    keyword: str
    slug: str | None = None


def join_lookup(text: str) -> JoinLookup | None:
    """What to look up to see whether a message asks to join a community."""
    command = read_command(text)
    if command.word == "START" and command.payload:
        return JoinLookup(command.payload.upper(), command.payload.lower())
    stripped = text.strip()
    if stripped and not command.payload and " " not in stripped:
        return JoinLookup(stripped.upper())
    return None
