"""The simulator channel: a resident's phone in the browser, through the same engine."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from bot.messages import Inbound

ADDRESS_RE = re.compile(r"^sim-[A-Za-z0-9_-]{8,64}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 1600


def new_address() -> str:
    """A fresh simulated phone."""
    return "sim-" + secrets.token_urlsafe(12)


def parse_inbound(address: str, payload: Any, received_at: datetime) -> Inbound:
    """Turn the simulator page's JSON into an Inbound; raises ValueError with a reason."""
    if not ADDRESS_RE.match(address):
        raise ValueError("unknown simulated phone")
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    text = payload.get("text")
    message_id = payload.get("id")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    if len(text) > MAX_TEXT:
        raise ValueError(f"text is longer than {MAX_TEXT} characters")
    if not isinstance(message_id, str) or not ID_RE.match(message_id):
        raise ValueError("id must be 8-64 letters, digits, - or _")
    return Inbound(
        channel="simulator",
        address=address,
        text=text,
        # Unique per phone and message, without keeping the simulated phone in clear text.
        external_id="sim-" + hashlib.sha256(f"{address}:{message_id}".encode()).hexdigest()[:40],
        received_at=received_at,
        raw={"text": text, "id": message_id},
    )
