"""Hostile requests for the fuzz: mutated real provider payloads, signed or with the secret.

Pure: a seeded random.Random in, requests out; bench/fuzz.py sends them to gunicorn and
tests/test_fuzz.py to the Flask test client. bench/fuzz_admin.py makes the admin pages' share.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
FORM = "application/x-www-form-urlencoded"

# Text no form or update should choke on: NUL, CR/LF, bidi and zero-width marks, emoji, markup.
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "x\r\nSet-Cookie: a=1",
    "\t",
    "\x1b]0;owned\x07",
    "\u202eevil",
    "\u200b",
    "e\u0301\u0301\u0301",
    "🙂" * 20,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "%00",
    "%",
    "../../etc/passwd",
    "\\\\evil.example",
    '=HYPERLINK("x")',
    "-1",
    "0",
    "1e308",
    "99999999999999999999999",
    "NaN",
    "2026-02-30",
    "2026-13-45T25:61",
    "null",
    "[]",
    "{}",
    "ａｂｃ",
    "١٢٣",
    "ß" * 300,
]
CONTROL = ["\x00", "\r\n", "\n", "\x1b", "\x7f", "\x00\r\n"]
# Percent-escapes that are not UTF-8: a lone continuation byte, a truncated sequence, a surrogate.
BAD_ESCAPES = ["%FF", "%C3", "%ED%A0%80", "%C0%AF", "%FE%FF"]
WORDS = ["STOP", "HELP", "YES", "NO", "SKIP", "START", "DELETE", "CONFIRM", "JOIN", "OK", "16"]
WEIRD_NUMBERS = [
    "",
    "+",
    "+0",
    "whatsapp:",
    "whatsapp:+447700900123",
    "+44" + "7" * 60,
    "telegram:123",
    "sip:x@example.org",
    "+1 (555) 010-0000",
    "+٤٤٧٧٠٠٩٠٠١٢٣",
    "-1",
    "\x00",
    "+44\r\n7700",
    "🙂",
]
STATUSES = ["queued", "sent", "delivered", "undelivered", "failed", "read", "accepted"]
ODD_STATUSES = ["DELIVERED", "", "canceled", "scheduled", "receiving", "x" * 500, "sent\x00"]
ODD_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    2**64,
    -(2**63) - 1,
    10**40,
    1.5,
    float(2**53),
    "",
    "x",
    "١٢٣",
    [],
    [1, [2]],
    {},
    {"id": "x"},
]
UPDATE_KINDS = ["channel_post", "poll", "business_message", "message_reaction", "xyz", ""]


@dataclass
class Case:
    """One request: which route it is for, who sends it (an admin role or nobody), what it is."""

    route: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    who: str | None = None
    summary: str = ""


@dataclass
class Target:
    """What the fuzz knows of the app under test: its keys, residents, communities and pages."""

    base_url: str
    twilio_token: str
    telegram_secret: str
    sms_senders: list[str]
    telegram_chats: list[int]
    slugs: list[str]
    campaigns: list[str]
    group_keys: list[str]
    tokens: dict[str, str]
    rules: list[tuple[str, frozenset[str], str]]
    sids: list[str] = field(default_factory=list)
    next_id: int = 1

    def fresh_id(self) -> int:
        self.next_id += 1
        return self.next_id


def hostile_text(rng: random.Random) -> str:
    """A value a careless or hostile person could type, or a long one."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(HOSTILE) * rng.randint(50, 400)
    if roll < 0.2:
        return "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(1, 40)))
    if roll < 0.4:  # what broke pages and webhooks before: NUL and line breaks
        return rng.choice(["", "a", "2026-12-01"]) + rng.choice(CONTROL)
    return rng.choice(HOSTILE)


def spliced(rng: random.Random, text: str) -> str:
    """`text` with a percent-escape that is not UTF-8 put in, never inside another escape."""
    spots = [i for i in range(len(text) + 1) if "%" not in text[max(0, i - 2) : i]]
    at = rng.choice(spots)
    return text[:at] + rng.choice(BAD_ESCAPES) + text[at:]


def encoded(rng: random.Random, value: str) -> str:
    """`value` percent-encoded, sometimes with an escape that is not UTF-8."""
    text = quote(value, safe="")
    return spliced(rng, text) if rng.random() < 0.1 else text


TWILIO_FORMS = [  # the messaging ones: bench/fuzz_voice.py takes the calls'
    parse_qsl(path.read_text(encoding="utf-8").strip(), keep_blank_values=True)
    for path in sorted((FIXTURES / "twilio").glob("*.txt"))
    if not path.name.startswith("voice_")
]
TELEGRAM_UPDATES = [
    json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((FIXTURES / "telegram").glob("*.json"))
]


def _body_text(rng: random.Random, target: Target) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(WORDS) + rng.choice(["", " ", " " + rng.choice(target.slugs).upper()])
    if roll < 0.35:
        return "x" * rng.randint(1_000, 200_000)
    if roll < 0.6:
        return hostile_text(rng)
    return f"More benches by the river {rng.randint(1, 10**6)}"


def mutate_pairs(rng: random.Random, pairs: list[tuple[str, str]]) -> str:
    """Drop, duplicate, oversize or poison a field; return what was done."""
    done = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["drop", "dup", "oversize", "nul", "crlf", "extra", "empty"])
        if not pairs:
            break
        at = rng.randrange(len(pairs))
        key, value = pairs[at]
        if kind == "drop":
            del pairs[at]
        elif kind == "dup":
            pairs.insert(at, (key, rng.choice([value, hostile_text(rng)])))
        elif kind == "oversize":
            pairs[at] = (key, value + "9" * rng.randint(500, 50_000))
        elif kind == "nul":
            pairs[at] = (key, value + "\x00")
        elif kind == "crlf":
            pairs[at] = (key, value + "\r\n" + value)
        elif kind == "extra":
            pairs.append((hostile_text(rng)[:40] or "Extra", hostile_text(rng)))
        else:
            pairs[at] = (key, "")
        done.append(f"{kind} {key[:20]!r}")
    return ", ".join(done)


def signed(
    rng: random.Random,
    target: Target,
    route: str,
    pairs: list[tuple[str, str]],
    what: str,
    query: str = "",
) -> Case:
    """The form as Twilio would post it to route?query, signed with the real token (or not)."""
    path = route + query
    if rng.random() < 0.05:
        path += ("&" if "?" in path else "?") + urlencode({"q": hostile_text(rng)})
    body = urlencode(pairs)
    signature = RequestValidator(target.twilio_token).compute_signature(
        target.base_url + path, MultiDict(pairs)
    )
    roll = rng.random()
    if roll < 0.03:
        signature, what = "forged", what + ", forged signature"
    elif roll < 0.06:
        body = spliced(rng, body)
        what += ", escape that is not UTF-8"
    headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
    if rng.random() < 0.02:
        headers["Content-Type"], what = rng.choice(["application/json", "text/plain"]), what + ", "
    return Case(route, "POST", path, body.encode(), headers, summary=what)


def twilio_sms(rng: random.Random, target: Target) -> Case:
    """A real inbound SMS or WhatsApp form, mutated, from a resident or a stranger."""
    pairs = list(rng.choice(TWILIO_FORMS))
    sid = f"SM{rng.getrandbits(128):032x}"
    if target.sids and rng.random() < 0.05:
        sid = rng.choice(target.sids)  # a replay
    target.sids.append(sid)
    sender = rng.choice(target.sms_senders)
    if rng.random() < 0.15:
        sender = rng.choice(WEIRD_NUMBERS)
    changes = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "From": sender}
    changes["Body"] = _body_text(rng, target)
    pairs = [(k, changes.get(k, v)) for k, v in pairs]
    what = f"from {sender[:20]!r}, body {changes['Body'][:30]!r} ({len(changes['Body'])} chars)"
    if rng.random() < 0.5:
        what += "; " + mutate_pairs(rng, pairs)
    return signed(rng, target, SMS_PATH, pairs, what)


def twilio_status(rng: random.Random, target: Target) -> Case:
    """A delivery callback as Twilio sends it, with odd statuses, SIDs and error codes."""
    sid = rng.choice(target.sids) if target.sids and rng.random() < 0.3 else "SM" + "0" * 32
    status = rng.choice(STATUSES if rng.random() < 0.7 else ODD_STATUSES)
    pairs = [
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", rng.choice(target.sms_senders)),
        ("MessageSid", sid),
        ("AccountSid", "AC" + "0" * 32),
        ("From", "+447700900000"),
        ("ApiVersion", "2010-04-01"),
    ]
    if rng.random() < 0.3:
        pairs.append(("ErrorCode", rng.choice(["30005", "30003", "", hostile_text(rng)])))
    what = f"status {status[:20]!r}"
    if rng.random() < 0.5:
        what += "; " + mutate_pairs(rng, pairs)
    return signed(rng, target, STATUS_PATH, pairs, what)


def _nodes(tree: object, path: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
    """Every path to a value in a JSON tree, down to a depth real updates have."""
    found = [path]
    if len(path) > 8:
        return found
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _nodes(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _nodes(value, (*path, index))
    return found


def _set(tree: object, path: tuple, value: object) -> object:  # type: ignore[type-arg]
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    return tree


def _drop(tree: object, path: tuple) -> object:  # type: ignore[type-arg]
    if not path:
        return {}
    node = tree
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    del node[path[-1]]  # type: ignore[index, union-attr, attr-defined]
    return tree


def odd_value(rng: random.Random) -> object:
    """A value of the wrong type, a fresh copy: the mutations change what they put in."""
    return copy.deepcopy(rng.choice(ODD_VALUES))


def _nested(rng: random.Random) -> object:
    value: object = odd_value(rng)
    for _ in range(rng.randint(20, 600)):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def _mutate_update(rng: random.Random, update: dict) -> tuple[object, str]:  # type: ignore[type-arg]
    """Drop a field, give it the wrong type, nest it deep, or rename the kind of update."""
    tree: object = update
    done = []
    for _ in range(rng.randint(1, 3)):
        paths = _nodes(tree)
        path = rng.choice(paths[1:] or paths)
        kind = rng.choice(["drop", "type", "type", "deep", "unicode", "kind"])
        if kind == "drop":
            tree = _drop(tree, path)
        elif kind == "type":
            tree = _set(tree, path, odd_value(rng))
        elif kind == "deep":
            tree = _set(tree, path, _nested(rng))
        elif kind == "unicode":
            tree = _set(tree, path, hostile_text(rng) + "\ud800")
        elif isinstance(tree, dict):
            old = next((k for k in tree if k != "update_id"), None)
            if old is not None:
                tree[rng.choice(UPDATE_KINDS)] = tree.pop(old)
        done.append(f"{kind} {'.'.join(map(str, path))[:40]}")
        if not isinstance(tree, (dict, list)):
            break
    return tree, ", ".join(done)


def _update(rng: random.Random, target: Target) -> tuple[dict, str]:  # type: ignore[type-arg]
    update = json.loads(json.dumps(rng.choice(TELEGRAM_UPDATES)))
    update["update_id"] = target.fresh_id()
    chat = rng.choice(target.telegram_chats) if rng.random() < 0.8 else rng.randint(1, 2**40)
    text = _body_text(rng, target)
    if rng.random() < 0.2:
        text = "/" + rng.choice(["start", "stop", "help", "delete"])
        text += rng.choice(["", " " + rng.choice(target.slugs), " " + hostile_text(rng)])
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = update.get(kind)
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("from"), dict):
            part["from"]["id"] = chat
        holder = part.get("message", part)
        if isinstance(holder.get("chat"), dict):
            holder["chat"]["id"] = chat
        if "text" in holder and kind != "callback_query":
            holder["text"] = text[:5000]
    return update, f"chat {chat}, text {text[:30]!r}"


def telegram(rng: random.Random, target: Target) -> Case:
    """A real Update, mutated, sent with the valid secret (rarely without, or not JSON)."""
    update, what = _update(rng, target)
    tree: object = update
    if rng.random() < 0.6:
        tree, changes = _mutate_update(rng, update)
        what += "; " + changes
    roll = rng.random()
    if roll < 0.01:
        body = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        what = "JSON nested 100,000 deep"
    elif roll < 0.03:
        body, what = spliced(rng, json.dumps(tree)).encode(), "not JSON: " + what
    elif roll < 0.05:
        body, what = b"\xff\xfe" + json.dumps(tree).encode(), "not UTF-8: " + what
    else:
        body = json.dumps(tree).encode()
    secret = target.telegram_secret if rng.random() > 0.03 else hostile_text(rng)[:30]
    headers = {"Content-Type": "application/json"}
    if secret.isascii() and secret.isprintable():
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return Case(TELEGRAM_PATH, "POST", TELEGRAM_PATH, body, headers, summary=what)
