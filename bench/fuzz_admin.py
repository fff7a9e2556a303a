"""Hostile requests to the pages: every admin rule in the app's url_map, the simulator, health.

Path parts are real slugs or mutated ones; query strings and form fields carry hostile values;
posts carry the sender's right CSRF token (rarely a wrong one). Pure, like bench/fuzz_cases.py.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from bench.fuzz_cases import FORM, Case, Target, encoded, hostile_text, spliced

ROLES = ["admin", "organiser", "staff", "anon"]
QUERY_KEYS = [
    "q",
    "campaign",
    "prompt",
    "channel",
    "since",
    "until",
    "page",
    "theme",
    "upto",
    "redact",
    "contact",
    "starter",
    "next",
]
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
Fields = Callable[[random.Random, Target], list[tuple[str, str]]]


def maybe(rng: random.Random, plausible: str) -> str:
    """Mostly what a person would type, sometimes something hostile."""
    return plausible if rng.random() < 0.6 else hostile_text(rng)


def _when(rng: random.Random) -> str:
    moment = datetime(2026, 12, 1) + timedelta(minutes=rng.randint(-(10**6), 10**6))
    return moment.strftime(rng.choice(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%d/%m/%Y", "%Y"]))


def _param(rng: random.Random, name: str, target: Target) -> str:
    real = {
        "slug": target.slugs,
        "campaign_slug": target.campaigns,
        "key": target.group_keys or ["area"],
        "fmt": ["csv", "xlsx", "jsonl"],
        "filename": ["voices.css", "admin.js", "simulator.js"],
    }.get(name, ["x"])
    if rng.random() < 0.7:
        return quote(rng.choice(real), safe="")
    return encoded(rng, hostile_text(rng))


def _query(rng: random.Random, target: Target) -> str:
    pairs = []
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(QUERY_KEYS) if rng.random() < 0.85 else hostile_text(rng)
        plausible = rng.choice([_when(rng), "1", "sms", rng.choice(target.campaigns), "/admin/"])
        pairs.append(f"{encoded(rng, key)}={encoded(rng, maybe(rng, plausible))}")
    return "&".join(pairs)


def _login(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    return [
        ("email", maybe(rng, f"someone{rng.randint(1, 99)}@fuzz.example")),
        ("password", maybe(rng, "not the password at all")),
    ]


def _community(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    number = rng.randint(1, 10**6)
    return [
        ("slug", maybe(rng, f"fuzz-{number}")),
        ("name", maybe(rng, f"Fuzz {number}")),
        ("keyword", maybe(rng, rng.choice(["", f"FUZZ{number}", "STOP", "OK"]))),
        ("timezone", maybe(rng, rng.choice(["Europe/London", "europe/london", "Mars/Base"]))),
        ("sms_number", maybe(rng, rng.choice(["", "+447700900999", "07700 900999"]))),
    ]


def _campaign(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    number = rng.randint(1, 10**6)
    fields = [
        ("title", maybe(rng, f"Fuzz {number}")),
        ("slug", maybe(rng, f"fuzz-{number}")),
        ("language", maybe(rng, rng.choice(["en", "gd", "pt-br"]))),
        ("nudge_after", maybe(rng, rng.choice(["", "2d", "12h", "30m", "-1d", "99999999d"]))),
        ("nudge_max", maybe(rng, rng.choice(["1", "0", "10", "11"]))),
        ("nudge_text", maybe(rng, "Still keen to hear from you")),
        ("thanks", maybe(rng, "Thank you!")),
        ("translations", maybe(rng, rng.choice(["", "{}", '{"prompts": {"q": "x"}}', "[1]"]))),
        ("start", maybe(rng, rng.choice(["", _when(rng), "2026-12-07T10:00"]))),
    ]
    for row in range(rng.randint(0, 6) if rng.random() < 0.9 else 40):
        index = str(row) if rng.random() < 0.9 else hostile_text(rng)
        fields.append((f"prompts-{index}-key", maybe(rng, f"q{row}")))
        fields.append((f"prompts-{index}-text", maybe(rng, f"What would you change, {row}?")))
    fields += [(name, "y") for name in ("allow_long", "confirm") if rng.random() < 0.5]
    return fields


def _group(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    return [
        ("key", maybe(rng, rng.choice(["area", "age", "x" * 40, "Area"]))),
        ("text", maybe(rng, "Which part of town do you live in?")),
        ("choices", maybe(rng, rng.choice(["North, South", "A", ",,,", ", ".join("x" * 9)]))),
    ]


def _report_back(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    fields = [("text", maybe(rng, "You said benches; we ordered six."))]
    return fields + ([("another", "y")] if rng.random() < 0.3 else [])


def _confirm(rng: random.Random, target: Target) -> list[tuple[str, str]]:
    return [("confirm", maybe(rng, "y"))] if rng.random() < 0.7 else []


FORMS: dict[str, Fields] = {
    "admin.login": _login,
    "admin.new_community": _community,
    "admin.new_campaign": _campaign,
    "admin.set_group_question": _group,
    "admin.report_back": _report_back,
    "admin.close_campaign": _confirm,
}


def _form_body(rng: random.Random, target: Target, endpoint: str, who: str) -> tuple[bytes, str]:
    fields = FORMS.get(endpoint, lambda _rng, _target: [])(rng, target)
    token = target.tokens.get(who, "")
    roll = rng.random()
    # Logging out would end the session the rest of the run uses: only ever a wrong token.
    if endpoint == "admin.logout" or roll < 0.04:
        token = "wrong" + token[5:]
    if roll > 0.02:
        fields.append(("csrf_token", token))
    body = "&".join(f"{encoded(rng, k)}={encoded(rng, v)}" for k, v in fields)
    what = ", ".join(f"{k[:20]}={v[:20]!r}" for k, v in fields if k != "csrf_token")
    return body.encode(), what + ("" if token == target.tokens.get(who) else ", wrong CSRF")


def _simulator_body(rng: random.Random, target: Target) -> tuple[bytes, str]:
    text = rng.choice(["JOIN " + target.slugs[0].upper(), "YES", "STOP", hostile_text(rng)])
    payload: object = {"text": text, "id": f"fuzz{target.fresh_id():08d}"}
    if rng.random() < 0.3:
        payload = rng.choice([[], None, {"text": 5, "id": "x"}, {"text": "x" * 5000, "id": "!"}])
    body = json.dumps(payload)
    if rng.random() < 0.05:
        body = spliced(rng, body)
    return body.encode(), f"json {body[:60]!r}"


def page(rng: random.Random, target: Target) -> Case:
    """One request to a page rule from the url_map, with mutated path, query and form."""
    rule, methods, endpoint = rng.choice(target.rules)
    path = PARAM.sub(lambda m: _param(rng, m.group(1), target), rule)
    if rng.random() < 0.5:
        path += "?" + _query(rng, target)
    method = "POST" if "POST" in methods and ("GET" not in methods or rng.random() < 0.6) else "GET"
    if rng.random() < 0.02:
        method = "GET" if method == "POST" else "POST"  # the wrong method: 405, not 500
    who = rng.choice(ROLES)
    if rule.startswith("/simulator"):
        who = "admin" if rng.random() < 0.8 else who
    case = Case(rule, method, path, who=who, summary=f"as {who}")
    if method == "POST" and rule.startswith("/simulator"):
        case.body, what = _simulator_body(rng, target)
        case.headers = {"Content-Type": "application/json"}
        case.summary += ", " + what
    elif method == "POST":
        case.body, what = _form_body(rng, target, endpoint, who)
        case.headers = {"Content-Type": FORM}
        case.summary += ", " + what
    return case
