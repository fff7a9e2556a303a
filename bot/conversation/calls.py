"""A phone call, step by step: each step the caller speaks or presses a key is one message
through inbox.receive(), and the decision's replies are said back in TwiML.

The call's first step greets: a new caller hears the welcome and joins with 1; a joined caller
hears their question at once. Keys that always work are said once per call (the action URL
carries that they were). When no speech is recognised the answer is recorded instead.
"""

from __future__ import annotations

from bot import texts
from bot.channels import voice
from bot.channels.voice import Answer, CallStep, Line, Urls
from bot.conversation import call_state, inbox
from bot.conversation.call_state import Caller
from bot.conversation.consent import ASKING_AGE, ASKING_QUOTES
from bot.conversation.inbox import Reception
from bot.conversation.snapshot import Limits
from bot.conversation.words import channel_asked_for
from bot.sending import outbox
from storage.crypto import Vault
from storage.db import Database
from storage.models import utcnow
from storage.statuses import ResidentStatus

GONE = (ResidentStatus.OPTED_OUT, ResidentStatus.UNREACHABLE)


def _caller(db: Database, vault: Vault, step: CallStep) -> Caller:
    with db.session_scope() as session:
        return call_state.load(session, vault.address_hash(voice.CHANNEL, step.caller), step.line)


def _said(key: str, caller: Caller | None = None) -> Line:
    return Line(texts.text(key, name=caller.community_name if caller else ""))


def _turn(
    db: Database,
    vault: Vault,
    step: CallStep,
    words: str,
    limits: Limits | None,
    recording: str | None = None,
) -> Reception:
    message = voice.inbound(step, words, utcnow(), recording=recording)
    return inbox.receive(db, vault, message, answered_via="twiml", limits=limits)


def call_answered(
    db: Database, vault: Vault, step: CallStep, urls: Urls, limits: Limits | None = None
) -> str:
    """The call's first step: greet a new caller, or ask a joined one their question."""
    if step.outbound:
        call_not_reached(db, step.call_sid, step.answered_by)
    caller = _caller(db, vault, step)
    if caller.community_id is None:
        return voice.twiml(Answer((_said("voice_no_community"),)))
    if step.by_machine:
        # A voicemail greeting is never taken as an answer: a short message, then goodbye.
        return voice.twiml(Answer((_said("voice_machine", caller),)))
    if caller.status in (None, ResidentStatus.INVITED):
        # Calling the community's number is what texting its keyword is.
        reception = _turn(db, vault, step, caller.keyword, limits)
        return voice.twiml(_after(db, vault, step, urls, reception, caller.keyword))
    if caller.status in GONE:
        return voice.twiml(_keys(step, urls, [_said("voice_opted_out", caller)], voice.BACK))
    return voice.twiml(_ask(step, urls, caller, _greeting(db, step, caller)))


def call_not_reached(db: Database, call_sid: str, answered_by: str | None) -> bool:
    """A call we placed that a machine answered: its outbox row ends undelivered, saying so.

    Its status callback may come before or after the call's first step; either one can tell.
    """
    reason = voice.not_reached_reason(answered_by)
    if reason is None:
        return False
    with db.session_scope() as session:
        outbox.record_not_reached(session, call_sid, reason)
    return True


def _greeting(db: Database, step: CallStep, caller: Caller) -> list[Line]:
    """Hello; on a call we placed, the words it was placed for (unless they are the question)."""
    lines = [_said("voice_hello" if not step.outbound else "voice_hello_called", caller)]
    with db.session_scope() as session:
        placed = call_state.placed_for(session, step.outbox_id, caller)
    question = caller.question
    if placed and (question is None or placed.strip() != question.text.strip()):
        lines.append(Line(placed))
    return lines


def step_answered(
    db: Database, vault: Vault, step: CallStep, urls: Urls, limits: Limits | None = None
) -> str:
    """A <Gather>'s result: a key or the words recognised, read in the step's stage."""
    repeat = (step.digits == voice.REPEAT_KEY and step.stage in (voice.ANSWER, voice.QUOTES)) or (
        step.digits == voice.CHOICE_REPEAT_KEY and step.stage == voice.CHOICE
    )
    if repeat:
        return voice.twiml(_ask(step, urls, _caller(db, vault, step), []))
    chosen = _channel_chosen(db, vault, step, urls)
    if chosen is not None:
        return chosen
    words = voice.keypad_text(step.stage, step.digits) if step.digits else step.speech
    if not words:
        if step.stage == voice.BACK:
            return voice.twiml(Answer((_said("voice_goodbye"),)))
        return voice.twiml(_ask(step, urls, _caller(db, vault, step), []))
    reception = _turn(db, vault, step, words, limits)
    return voice.twiml(_after(db, vault, step, urls, reception, words))


def _channel_chosen(db: Database, vault: Vault, step: CallStep, urls: Urls) -> str | None:
    """Key 4 or "call me" asks for calls, key 5 or "texts" for texts, where the menu offers them."""
    if step.stage != voice.ANSWER:
        return None
    keys = {voice.CALLS_KEY: voice.CHANNEL, voice.TEXTS_KEY: "sms"}
    channel = keys.get(step.digits) if step.digits else channel_asked_for(step.speech)
    if channel is None:
        return None
    caller = _caller(db, vault, step)
    if caller.resident_id is None:
        return None
    with db.session_scope() as session:
        call_state.choose_channel(session, caller.resident_id, channel)
    said = "voice_calls_chosen" if channel == voice.CHANNEL else "voice_texts_chosen"
    return voice.twiml(_ask(step, urls, caller, [_said(said, caller)]))


def recording_kept(
    db: Database, vault: Vault, step: CallStep, urls: Urls, limits: Limits | None = None
) -> str:
    """A <Record>'s result: the recording is kept as the answer, for staff to listen to."""
    if not step.recording_sid or step.recording_seconds <= 0:
        return voice.twiml(Answer((_said("voice_not_heard"),)))
    words = texts.text("voice_recorded_answer")
    reception = _turn(db, vault, step, words, limits, recording=step.recording_sid)
    return voice.twiml(_after(db, vault, step, urls, reception, words))


def _after(
    db: Database, vault: Vault, step: CallStep, urls: Urls, reception: Reception, words: str
) -> Answer:
    """Say the replies, then wait for what the caller's state asks for next."""
    caller = _caller(db, vault, step)
    question = caller.question
    lines = [
        Line(
            reply.text,
            voice.say_language(question.language if question else None)
            if reply.kind == "prompt"
            else voice.FALLBACK_LANGUAGE,
        )
        for reply in reception.replies
    ]
    if caller.resident_id is None or caller.status in GONE:
        return Answer(tuple(lines))
    if words.strip().upper() == "DELETE" and caller.status == ResidentStatus.JOINED:
        return _keys(step, urls, lines, voice.ERASE)
    if caller.status == ResidentStatus.INVITED and caller.consent_question == ASKING_AGE:
        return _keys(step, urls, lines, voice.AGE)
    if caller.status == ResidentStatus.INVITED:
        return _keys(step, urls, lines, voice.JOIN)
    if caller.consent_question == ASKING_QUOTES and question is None:
        return _keys(step, urls, lines, voice.QUOTES)
    if question is None and not caller.profile_waiting:
        return Answer((*lines, _said("voice_goodbye")))
    asked = any(reply.kind == "prompt" for reply in reception.replies) or caller.profile_waiting
    # After help, the keys it names (3 to stop, 7 to erase) work once, even on a closed question.
    commands = words.strip().upper() == "HELP"
    return _ask(step, urls, caller, lines, ask=not asked, commands=commands)


def _keys(step: CallStep, urls: Urls, lines: list[Line], stage: str) -> Answer:
    return Answer(
        tuple(lines),
        then=voice.KEYS,
        action=urls.step(step.number + 1, stage, step.keys_said),
        not_heard=texts.text("voice_not_heard"),
    )


def _ask(
    step: CallStep,
    urls: Urls,
    caller: Caller,
    lines: list[Line],
    *,
    ask: bool = True,
    commands: bool = False,
) -> Answer:
    """The question (or an invitation to say anything), then listen for speech or a key."""
    question = caller.question
    language = voice.say_language(question.language if question else None)
    lines = list(lines)
    if ask:
        if question is not None:
            lines.append(Line(question.text, language))
        elif not caller.profile_waiting:
            lines.append(_said("voice_no_question", caller))
    closed = question is not None and question.closed and not commands
    if closed:
        lines.append(_said("voice_choice_keys"))
    elif not step.keys_said:
        lines.append(_said("voice_keys"))
        # Said once, like the keys: the way to the other channel from the one they are on.
        on_calls = caller.channel == voice.CHANNEL
        lines.append(_said("voice_choose_texts" if on_calls else "voice_choose_calls"))
    return Answer(
        tuple(lines),
        then=voice.SPEECH,
        # A closed question's keys are its choices; the keys that always work are said later.
        action=urls.step(
            step.number + 1, voice.CHOICE if closed else voice.ANSWER, step.keys_said or not closed
        ),
        language=language,
        record_prompt=texts.text("voice_record"),
        record_action=urls.recorded(step.number + 1, True),
        recording_callback=urls.recording_callback,
        not_heard=texts.text("voice_not_heard"),
    )
