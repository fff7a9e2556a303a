"""Hostile Twilio Voice webhooks: the real call fixtures, mutated and signed, at every voice route.

The step, stage and outbox travel in the action URL's query, which Twilio signs with the form.
"""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode

from bench.fuzz_cases import (
    FIXTURES,
    WEIRD_NUMBERS,
    Case,
    Target,
    hostile_text,
    mutate_pairs,
    signed,
)

VOICE = "/webhooks/twilio/voice"
ROUTES = [VOICE, VOICE + "/step", VOICE + "/recorded", VOICE + "/recording", VOICE + "/status"]
STAGES = ["join", "back", "answer", "erase", "quotes", "age", "choice", "", "nope"]
CALL_STATUSES = ["queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed"]
DIGITS = ["1", "2", "4", "9", "0", "*", "#", "123", ""]
VOICE_FORMS = [
    parse_qsl(path.read_text(encoding="utf-8").strip(), keep_blank_values=True)
    for path in sorted((FIXTURES / "twilio").glob("voice_*.txt"))
]


def _query(rng: random.Random) -> str:
    pairs = {
        "n": rng.choice([str(rng.randint(0, 30)), "-1", "99999999999999999999", hostile_text(rng)]),
        "stage": rng.choice(STAGES) if rng.random() < 0.8 else hostile_text(rng),
        "keys": rng.choice(["0", "1", hostile_text(rng)]),
        "outbox": rng.choice([str(rng.randint(1, 500)), "0", hostile_text(rng)]),
    }
    kept = {key: value for key, value in pairs.items() if rng.random() < 0.8}
    return "?" + urlencode(kept) if kept else ""


def twilio_voice(rng: random.Random, target: Target) -> Case:
    """A call step, recording or status callback as Twilio posts it, from a resident or not."""
    pairs = list(rng.choice(VOICE_FORMS))
    sid = f"CA{rng.getrandbits(128):032x}"
    if target.sids and rng.random() < 0.05:
        sid = rng.choice(target.sids)
    caller = rng.choice(target.sms_senders) if rng.random() < 0.85 else rng.choice(WEIRD_NUMBERS)
    outbound = dict(pairs).get("Direction", "").startswith("outbound")
    changes = {
        "CallSid": sid,
        "To" if outbound else "From": caller,
        "Digits": rng.choice(DIGITS) if rng.random() < 0.8 else hostile_text(rng),
        "SpeechResult": rng.choice(["yes", "stop", "more benches", hostile_text(rng)]),
        "CallStatus": rng.choice(CALL_STATUSES) if rng.random() < 0.8 else hostile_text(rng),
        "Confidence": rng.choice(["0.9", "-1", "nan", "1e999", hostile_text(rng)]),
        "RecordingDuration": rng.choice(["12", "-5", "x", "99999999999999999999"]),
    }
    pairs = [(key, changes.get(key, value)) for key, value in pairs]
    route = rng.choice(ROUTES)
    what = f"call from {caller[:20]!r}"
    if rng.random() < 0.5:
        what += "; " + mutate_pairs(rng, pairs)
    query = _query(rng) if route.endswith(("/step", "/recorded")) else ""
    return signed(rng, target, route, pairs, what, query)
