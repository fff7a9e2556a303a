"""Loopback fake of Twilio's Messages and Calls REST APIs, for the real ``twilio`` Python client.

Point a client at it with ``client.api.base_url = fake.base_url``: twilio 9.x caches
``client.api`` (an ``Api`` Domain) and builds every URL as ``base_url + /2010-04-01/...``,
so ``client.messages.create(...)`` then posts to ``/2010-04-01/Accounts/{sid}/Messages.json``.
Leave TWILIO_REGION / TWILIO_EDGE unset: the client rewrites the host name when either is set.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages/((?:SM|MM)\w+)\.json$")
_CALLS = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Calls\.json$")
_RECORDING = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Recordings/(RE\w+)\.mp3$")
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's legacy REST error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _segments(body: str) -> int:
    """Rough SMS segment count: GSM-7 160/153 chars, otherwise UCS-2 70/67."""
    single, multi = (160, 153) if set(body) <= _GSM7 else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)


@dataclass
class TwilioCall:
    """One Messages.json POST; ``sid`` is set only when the fake answered 201."""

    to: str | None
    from_: str | None
    body: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    at: float
    auth_user: str | None
    params: dict[str, list[str]] = field(default_factory=dict)
    status: int = 201
    sid: str | None = None

    @property
    def content_sid(self) -> str | None:
        """ContentSid form field, if any."""
        return self.params.get("ContentSid", [None])[-1]


@dataclass
class _Fault:
    status: int
    code: int
    message: str
    left: int
    to: str | None


class FakeTwilioAPI:
    """A Twilio REST server on 127.0.0.1 (ephemeral port) that records message creates."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials  # when set, any other (user, password) gets 401
        self._lock = threading.Lock()
        self._calls: list[TwilioCall] = []
        self._faults: list[_Fault] = []
        self._hangs: list[float] = []
        self._stored: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, bytes] = {}
        # Calls.json creates, as the posted form (last value of each field) plus the Sid given.
        self.placed: list[dict[str, str]] = []
        self.recording_fetches: list[tuple[str | None, str]] = []
        self._counter = itertools.count(1)
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeTwilioAPI:
        """Start serving in a background thread."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and release any hanging requests."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilioAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``client.api.base_url`` (or TWILIO_API_BASE_URL)."""
        assert self._server is not None, "FakeTwilioAPI not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(
        self, status: int, code: int, message: str, count: int = 1, to: str | None = None
    ) -> None:
        """Answer the next ``count`` creates (to ``to`` only, if given) with a Twilio error."""
        with self._lock:
            self._faults.append(_Fault(status, code, message, count, to))

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """Delay the answer to the next ``count`` creates by ``seconds``."""
        with self._lock:
            self._hangs.extend([seconds] * count)

    @property
    def calls(self) -> list[TwilioCall]:
        """Every create attempt so far, failed ones included."""
        with self._lock:
            return list(self._calls)

    def messages(self, to: str | None = None) -> list[TwilioCall]:
        """Successfully created messages, optionally only those to ``to``."""
        return [c for c in self.calls if c.sid and (to is None or c.to == to)]

    # -- request handling ------------------------------------------------------------------
    def _create(self, account: str, user: str | None, form: dict[str, list[str]]) -> tuple:
        def one(key: str) -> str | None:
            return form.get(key, [None])[-1]

        call = TwilioCall(
            one("To"),
            one("From"),
            one("Body"),
            one("MessagingServiceSid"),
            one("StatusCallback"),
            time.monotonic(),
            user,
            form,
        )
        with self._lock:
            self._calls.append(call)
            delay = self._hangs.pop(0) if self._hangs else 0.0
        if delay:
            self._closing.wait(delay)
        with self._lock:
            fault = next((f for f in self._faults if f.to in (None, call.to)), None)
            if fault is not None:
                fault.left -= 1
                if fault.left <= 0:
                    self._faults.remove(fault)
        if fault is None:
            fault = self._validate(call, form)
        if fault is not None:
            call.status = fault.status
            return fault.status, _error(fault.status, fault.code, fault.message)
        seed = f"{id(self)}:{next(self._counter)}".encode()
        call.sid = sid = "SM" + hashlib.md5(seed).hexdigest()
        now = email.utils.format_datetime(datetime.now(UTC).replace(microsecond=0))
        uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}"
        pooled = call.from_ is None  # Messaging Service picks the sender later
        media = form.get("MediaUrl", [])
        result = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": call.body or "",
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": call.from_,
            "messaging_service_sid": call.messaging_service_sid,
            "num_media": str(len(media)),
            "num_segments": "0" if pooled else str(_segments(call.body or "")),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if pooled else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": call.to,
            "uri": f"{uri}.json",
        }
        with self._lock:
            self._stored[sid] = result
        return 201, result

    def _place(self, account: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """A Calls.json create: Twilio's required fields, then the call resource, queued."""
        fields = {key: values[-1] for key, values in form.items()}
        if not fields.get("To"):
            return 400, _error(400, 21201, "No 'To' number is specified")
        if not fields.get("From"):
            return 400, _error(400, 21213, "No 'From' number is specified")
        if not (fields.get("Url") or fields.get("Twiml") or fields.get("ApplicationSid")):
            return 400, _error(400, 21205, "Url parameter is required.")
        seed = f"{id(self)}:call:{next(self._counter)}".encode()
        sid = "CA" + hashlib.md5(seed).hexdigest()
        now = email.utils.format_datetime(datetime.now(UTC).replace(microsecond=0))
        with self._lock:
            self.placed.append({**fields, "Sid": sid})
        uri = f"/2010-04-01/Accounts/{account}/Calls/{sid}.json"
        return 201, {
            "account_sid": account,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": fields["From"],
            "from_formatted": fields["From"],
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "to": fields["To"],
            "to_formatted": fields["To"],
            "uri": uri,
        }

    @staticmethod
    def _validate(call: TwilioCall, form: dict[str, list[str]]) -> _Fault | None:
        if not call.to:
            return _Fault(400, 21604, "A 'To' phone number is required.", 1, None)
        if not call.from_ and not call.messaging_service_sid:
            return _Fault(400, 21603, "A 'From' phone number is required.", 1, None)
        if not (call.body or form.get("MediaUrl") or form.get("ContentSid")):
            return _Fault(400, 21602, "Message body is required.", 1, None)
        return None

    def _route(
        self, verb: str, path: str, auth: str | None, form: dict
    ) -> tuple[int, dict | bytes]:
        user = password = None
        if auth and auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        if user is None or (self.credentials and (user, password) != self.credentials):
            return 401, _error(401, 20003, "Authenticate")
        if verb == "POST" and (m := _MESSAGES.match(path)):
            return self._create(m.group(1), user, form)
        if verb == "POST" and (m := _CALLS.match(path)):
            return self._place(m.group(1), form)
        if verb == "GET" and (m := _MESSAGE.match(path)) and m.group(2) in self._stored:
            return 200, self._stored[m.group(2)]
        if verb == "GET" and (m := _RECORDING.match(path)):
            self.recording_fetches.append((user, m.group(2)))
            if m.group(2) in self.recordings:
                return 200, self.recordings[m.group(2)]
        return 404, _error(404, 20404, f"The requested resource {path} was not found")


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning FakeTwilioAPI."""

    api: FakeTwilioAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form = parse_qs(body, keep_blank_values=True)
        path = urlsplit(self.path).path
        status, payload = self.api._route(verb, path, self.headers.get("Authorization"), form)
        audio = isinstance(payload, bytes)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "audio/mpeg" if audio else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # The client may have given up waiting (a hang outlived its timeout).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
