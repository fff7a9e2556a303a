"""Phone calls through Twilio Voice: a call step's form in, TwiML (VoiceResponse) out.

A call is a series of steps: Twilio posts the call's form to the voice webhook, then to the
`action` URL of each <Gather> or <Record> we answer with. Each step carries its number and
stage in that URL (signed with it), so a step is one message with the provider id
CallSid:number and a retry of the same step is recognised. Field names follow Twilio's
"TwiML Voice: Twilio's Request", <Gather> (SpeechResult, Confidence, Digits) and <Record>
(RecordingSid, RecordingUrl, RecordingDuration) documentation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from bot.messages import Inbound

log = logging.getLogger(__name__)

CHANNEL = "voice"
# Stages a step's keys are read in.
JOIN, BACK, ANSWER, ERASE, QUOTES, AGE = "join", "back", "answer", "erase", "quotes", "age"
# A closed question: keys 1-9 are its choices, so only 0 (help) and star (again) are commands.
CHOICE = "choice"
STAGES = frozenset({JOIN, BACK, ANSWER, ERASE, QUOTES, AGE, CHOICE})
REPEAT_KEY = "9"
CHOICE_REPEAT_KEY = "*"
CALLS_KEY = "4"
TEXTS_KEY = "5"
# The one place a key pressed becomes the words the engine reads. Keys not listed reach the
# engine as the digits themselves (an age band, a numbered choice).
KEYPAD: dict[str, dict[str, str]] = {
    JOIN: {"1": "YES", "3": "STOP"},
    BACK: {"1": "START"},
    ANSWER: {"0": "HELP", "3": "STOP", "7": "DELETE"},
    CHOICE: {"0": "HELP"},
    ERASE: {"7": "CONFIRM"},
    QUOTES: {"1": "YES", "2": "NO", "3": "STOP"},
    AGE: {},  # the age band's number, as typed in a text
}
# In these stages any other key leaves things as they were: nothing reaches the engine.
ONLY_LISTED_KEYS = frozenset({ERASE, BACK})
# Twilio <Say>/<Gather> language for a prompt's language code (Amazon Polly and Google voices,
# https://www.twilio.com/docs/voice/twiml/say/text-speech#available-voices-and-languages).
SAY_LANGUAGES = {
    "en": "en-GB",
    "cy": "cy-GB",
    "fr": "fr-FR",
    "de": "de-DE",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-PT",
    "pl": "pl-PL",
    "ro": "ro-RO",
    "nl": "nl-NL",
    "da": "da-DK",
    "sv": "sv-SE",
    "nb": "nb-NO",
    "tr": "tr-TR",
    "ru": "ru-RU",
    "ar": "arb",
    "hi": "hi-IN",
    "zh": "cmn-CN",
    "ja": "ja-JP",
    "ko": "ko-KR",
}
# Twilio has no voice for Gaelic, Scots, Urdu...: those texts are read by the British English voice.
FALLBACK_LANGUAGE = "en-GB"
RECORDING_PREFIX = "twilio-recording:"
MAX_RECORDING_SECONDS = 120
# AnsweredBy values for a call answered by a machine (Twilio answering machine detection).
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)


def not_reached_reason(answered_by: str | None) -> str | None:
    """Why a call we placed did not reach the resident, from its AnsweredBy; None for a person."""
    verdict = (answered_by or "").lower()
    if verdict not in MACHINE_ANSWERS:
        return None
    return f"answered by a machine ({verdict}): the resident did not hear it"


def say_language(language: str | None) -> str:
    """Twilio's language for a text in `language`; British English when Twilio has no voice."""
    if not language:
        return FALLBACK_LANGUAGE
    if language in SAY_LANGUAGES.values():
        return language
    found = SAY_LANGUAGES.get(language.split("-")[0].lower())
    if found is None:
        log.info("no Twilio voice for %r: read in %s", language, FALLBACK_LANGUAGE)
        return FALLBACK_LANGUAGE
    return found


def heard_words(speech: str) -> str:
    """The recogniser's transcript; one word loses the full stop Twilio adds ("Stop." is STOP)."""
    words = speech.strip()
    if words and " " not in words:
        return words.rstrip(".!?,")
    return words


def keypad_text(stage: str, digits: str) -> str | None:
    """The words a key press stands for in this stage; None when it stands for nothing."""
    listed = KEYPAD.get(stage, {}).get(digits)
    if listed is not None or stage in ONLY_LISTED_KEYS:
        return listed
    return digits


@dataclass(frozen=True)
class CallStep:
    """One request of a call: who calls which number, and what they said or pressed."""

    call_sid: str
    caller: str
    line: str | None
    number: int = 0
    stage: str = ANSWER
    keys_said: bool = False
    digits: str = ""
    speech: str = ""
    confidence: float | None = None
    recording_sid: str | None = None
    recording_seconds: int = 0
    answered_by: str | None = None
    outbound: bool = False
    # A call we placed for an outbox row: the row's id, from the answer URL.
    outbox_id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def by_machine(self) -> bool:
        return not_reached_reason(self.answered_by) is not None


def _number(value: str | None, default: int = 0) -> int:
    try:
        return max(int(value or default), 0)
    except ValueError:
        return default


def _confidence(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0.0 <= number <= 1.0 else None


def read_step(form: Mapping[str, str], args: Mapping[str, str]) -> CallStep:
    """A call step from Twilio's form and our action URL's query; KeyError if it is not one.

    For a call we placed, the resident is the called party (To) and our number is From.
    """
    sid = form.get("CallSid")
    outbound = (form.get("Direction") or "").startswith("outbound")
    caller = form.get("To") if outbound else form.get("From")
    if not sid or not caller:
        raise KeyError("CallSid and From are required")
    stage = args.get("stage") or ANSWER
    return CallStep(
        call_sid=sid,
        caller=caller,
        line=form.get("From") if outbound else form.get("To"),
        number=_number(args.get("n")),
        stage=stage if stage in STAGES else ANSWER,
        keys_said=args.get("keys") == "1",
        digits=(form.get("Digits") or "").strip(),
        speech=heard_words(form.get("SpeechResult") or ""),
        confidence=_confidence(form.get("Confidence")),
        recording_sid=form.get("RecordingSid") or None,
        recording_seconds=_number(form.get("RecordingDuration")),
        answered_by=form.get("AnsweredBy") or None,
        outbound=outbound,
        outbox_id=_number(args.get("outbox")) or None if outbound else None,
        raw=dict(form),
    )


def inbound(
    step: CallStep, text: str, received_at: datetime, *, recording: str | None = None
) -> Inbound:
    """The step as a message to the engine: provider id CallSid:step number."""
    return Inbound(
        channel=CHANNEL,
        address=step.caller,
        text=text,
        external_id=f"{step.call_sid}:{step.number}",
        received_at=received_at,
        raw=step.raw,
        to=step.line,
        confidence=step.confidence if text == step.speech and step.speech else None,
        recording=recording,
    )


def recording_sid_of(reference: str | None) -> str | None:
    """A recording's SID from a stored reference, if it is one."""
    if reference and reference.startswith("RE") and reference.isalnum():
        return reference
    return None


@dataclass(frozen=True)
class Line:
    """A sentence to say, in a Twilio language (en-GB unless told)."""

    text: str
    language: str = FALLBACK_LANGUAGE


# What a step waits for after its lines.
HANGUP, KEYS, SPEECH = "hangup", "keys", "speech"


@dataclass(frozen=True)
class Answer:
    """The TwiML a step answers with: lines, then what it waits for and where to post it."""

    lines: tuple[Line, ...]
    then: str = HANGUP
    action: str | None = None
    language: str = FALLBACK_LANGUAGE
    # SPEECH only: when nothing is recognised, say this, record and post the recording here.
    record_prompt: str | None = None
    record_action: str | None = None
    recording_callback: str | None = None
    # KEYS and SPEECH: said when the caller gives nothing at all.
    not_heard: str | None = None


def twiml(answer: Answer) -> str:
    """Build the TwiML with twilio's VoiceResponse: <Say>, <Gather>, <Record>, <Hangup>."""
    response = VoiceResponse()
    if answer.then == HANGUP or answer.action is None:
        _say(response, answer.lines)
        response.hangup()
        return str(response)
    gather = response.gather(
        input="speech dtmf" if answer.then == SPEECH else "dtmf",
        action=answer.action,
        method="POST",
        language=answer.language,
        num_digits=1,
        timeout=8,
        speech_timeout="auto" if answer.then == SPEECH else None,
    )
    _say(gather, answer.lines)
    if answer.then == SPEECH and answer.record_action:
        # Nothing recognised: the caller's words are recorded instead, so none are lost.
        response.say(answer.record_prompt, language=FALLBACK_LANGUAGE)
        response.record(
            action=answer.record_action,
            method="POST",
            max_length=MAX_RECORDING_SECONDS,
            timeout=5,
            finish_on_key="#",
            play_beep=True,
            recording_status_callback=answer.recording_callback,
            recording_status_callback_method="POST",
        )
    if answer.not_heard:
        response.say(answer.not_heard, language=FALLBACK_LANGUAGE)
    response.hangup()
    return str(response)


def _say(verb: Any, lines: Iterable[Line]) -> None:
    for line in lines:
        if line.text.strip():
            verb.say(line.text, language=line.language)


@dataclass(frozen=True)
class Urls:
    """Where a call's next steps are posted: PUBLIC_BASE_URL + /webhooks/twilio/voice/…"""

    base: str

    def step(self, number: int, stage: str, keys_said: bool) -> str:
        return f"{self.base}/step?n={number}&stage={stage}&keys={int(keys_said)}"

    def recorded(self, number: int, keys_said: bool) -> str:
        return f"{self.base}/recorded?n={number}&keys={int(keys_said)}"

    @property
    def recording_callback(self) -> str:
        return f"{self.base}/recording"

    @property
    def status_callback(self) -> str:
        return f"{self.base}/status"
