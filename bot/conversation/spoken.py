"""A decision for a phone call: the same rules, with the words a caller hears instead of reads.

The engine writes its replies for text ("reply YES to join"); on a call each system text that
names a word to reply has a spoken twin in texts.yaml (voice_*) that names a key to press. The
twin replaces the text in the replies and in the consent wording, so what is recorded as said
and agreed to is what the caller heard.
"""

from __future__ import annotations

from dataclasses import replace

from bot import texts
from bot.conversation.effects import AskQuotes, Decision, RecordConsent, Reply
from bot.conversation.snapshot import Snapshot

# System texts whose words are about texting, and so are spoken differently on a call.
SPOKEN_TWINS = (
    "welcome",
    "not_joined_yet",
    "welcome_again",
    "joined_no_prompt",
    "open_ack",
    "media_ack",
    "empty_ack",
    "stopped",
    "restarted",
    "help",
    "delete_ask",
    "delete_done",
    "delete_nothing_pending",
    "quotes_ask",
    "quotes_yes",
    "age_ask",
    "age_again",
)
_SPOKEN_KEY = {"media_ack": "voice_empty_ack"}


def _twins(name: str) -> dict[str, str]:
    """Each written text, as filled in for this community, mapped to its spoken twin."""
    return {
        texts.text(key, name=name): texts.text(_SPOKEN_KEY.get(key, f"voice_{key}"), name=name)
        for key in SPOKEN_TWINS
    }


def _community_name(snapshot: Snapshot) -> str | None:
    if snapshot.join_community is not None:
        return snapshot.join_community.name
    if snapshot.resident is not None:
        return snapshot.resident.community.name
    return None


def for_a_call(snapshot: Snapshot, decision: Decision) -> Decision:
    """The decision as a caller hears it; the quote question is asked in the call, not queued."""
    name = _community_name(snapshot)
    if name is None:
        return decision
    twins = _twins(name)
    effects: list = []
    for effect in decision.effects:
        if isinstance(effect, Reply):
            effect = replace(effect, text=_spoken(twins, effect.text), buttons=())
        elif isinstance(effect, RecordConsent):
            effect = replace(effect, wording=twins.get(effect.wording, effect.wording))
        elif isinstance(effect, AskQuotes):
            effect = Reply(twins.get(effect.text, effect.text), kind="consent")
        effects.append(effect)
    return replace(decision, effects=effects)


def _spoken(twins: dict[str, str], text: str) -> str:
    """A whole text's twin, or a twin leading a combined reply (an intro and the prompt)."""
    if text in twins:
        return twins[text]
    for written, spoken in twins.items():
        if text.startswith(written + " "):
            return spoken + text[len(written) :]
    return text
