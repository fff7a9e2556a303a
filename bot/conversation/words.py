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
# Whole-message replies residents give to questions: never a community's keyword.
COMMON_REPLIES = frozenset(
    {"Y", "N", "OK", "OKAY", "SKIP", "PASS", "MAYBE", "THANKS", "THANKYOU", "HI", "HELLO", "NONE"}
)
RESERVED = (
    (STOP_WORDS | START_WORDS | JOIN_WORDS | HELP_WORDS | DELETE_WORDS | CONFIRM_WORDS)
    | YES_WORDS
    | NO_WORDS
    | COMMON_REPLIES
)
# Said on a call where key 4 (calls) or 5 (texts) works: how the resident wants our questions.
CALLS_WORDS = frozenset({"CALL", "CALLS", "CALL ME"})
TEXTS_WORDS = frozenset({"TEXT", "TEXTS", "TEXT ME"})
KEYWORD_LETTERS = 3
KEYWORD_MAX = 32
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


def channel_asked_for(speech: str) -> str | None:
    """The channel a whole utterance asks for ("Call me." is voice, "Texts" sms); None otherwise."""
    plain = " ".join(re.sub(r"[^A-Z]+", " ", speech.upper()).split())
    if plain in CALLS_WORDS:
        return "voice"
    return "sms" if plain in TEXTS_WORDS else None


@dataclass(frozen=True)
class JoinLookup:
    """The community a message may name: by keyword, or (a Telegram deep link) by slug.

    `explicit` when the resident said so (a deep link, or JOIN and a keyword): a bare keyword
    sent while a question waits is that question's answer instead.
    """

    keyword: str | None = None
    slug: str | None = None
    explicit: bool = False


def join_lookup(text: str) -> JoinLookup | None:
    """What to look up to see whether a message asks to join a community."""
    command = read_command(text)
    if command.word == "START" and command.payload:
        return JoinLookup(slug=command.payload.lower(), explicit=True)
    words = text.split()
    if len(words) == 2 and words[0].upper() in JOIN_WORDS:
        return JoinLookup(keyword=words[1].upper(), explicit=True)
    stripped = text.strip()
    if stripped and not command.payload and " " not in stripped:
        return JoinLookup(keyword=stripped.upper())
    return None


def keyword_problem(keyword: str) -> str | None:
    """Why a community cannot have this keyword, in one sentence; None when it can."""
    word = keyword.strip().upper()
    if not word.isalnum() or not word.isascii() or len(word) > KEYWORD_MAX:
        return f"a keyword is one word of letters and digits, at most {KEYWORD_MAX} characters"
    if sum(character.isalpha() for character in word) < KEYWORD_LETTERS:
        return f"a keyword needs at least {KEYWORD_LETTERS} letters, so no reply is mistaken for it"
    if word in RESERVED:
        return f"{word} is a word residents already use (to stop, join, answer or ask for help)"
    return None
