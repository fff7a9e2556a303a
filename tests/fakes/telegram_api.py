"""Loopback fake of the Telegram Bot API, for the real python-telegram-bot client.

Point a bot at it with ``telegram.Bot(token, base_url=fake.base_url)``: PTB appends the
token and ``/methodName``, so requests arrive at ``/bot<TOKEN>/sendMessage``. PTB posts
``application/x-www-form-urlencoded`` (multipart when uploading files) where every
non-string value is JSON-encoded (``chat_id=5551234567``, ``reply_markup={"inline_...``);
plain ``application/json`` bodies are accepted too.
"""

from __future__ import annotations

import collections
import contextlib
import email.parser
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

BOT_USER: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Voices",
    "username": "voices_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
# Parameters that Telegram types as String: never JSON-decode these ("123" stays "123").
_STRING_NAMES = """text caption data parse_mode callback_query_id url secret_token query emoji
description short_description name language_code inline_message_id ip_address action title
business_connection_id"""
_STRING_PARAMS = frozenset(_STRING_NAMES.split())
TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"
_STATIC_RESULTS: dict[str, Any] = {
    "getMe": BOT_USER,
    "getWebhookInfo": {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
    "getMyCommands": [],
}
_ERROR_TEXT = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}


@dataclass
class Call:
    """One request the fake received; ``status`` is the HTTP status it answered with.

    ``answered`` stays False while the call hangs (``hang_next``): it has not been sent yet.
    """

    method: str
    params: dict[str, Any]
    at: float
    token: str
    status: int = 200
    answered: bool = False
    # "api" for a request to the Bot API; "webhook-answer" for a call carried in the answer to
    # a webhook, which Telegram runs itself (https://core.telegram.org/bots/api#making-requests-
    # when-getting-updates) and never reports back on.
    via: str = "api"


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    left: int


def _decode(key: str, value: str) -> Any:
    """Undo PTB's per-value JSON encoding of a form field."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_body(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Parse query string plus a JSON, urlencoded or multipart request body."""
    params: dict[str, Any] = {k: _decode(k, v[-1]) for k, v in parse_qs(query).items()}
    if not body:
        return params
    if content_type.startswith("application/json"):
        params.update(json.loads(body))
    elif content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[name] = payload
            else:
                params[name] = _decode(name, payload.decode())
    else:
        for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
            params[key] = _decode(key, values[-1])
    return params


class FakeTelegramAPI:
    """A Telegram Bot API server on 127.0.0.1 (ephemeral port) that records every call."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._faults: dict[str, collections.deque[_Fault]] = {}
        self._hangs: dict[str, collections.deque[float]] = {}
        self._updates: list[dict[str, Any]] = []
        # getUpdates' allowed_updates, kept until the next call that names them, like Telegram.
        self._allowed_updates: frozenset[str] | None = None
        self._message_ids = itertools.count(1)
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeTelegramAPI:
        """Start serving in a background thread."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._closing.clear()
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and release any hanging requests."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "FakeTelegramAPI not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Value for ``telegram.Bot(base_url=...)``; PTB appends ``<token>/<method>``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test controls ---------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with a Telegram error."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _ERROR_TEXT.get(status, "Bad Request")
        text = text.format(retry_after=retry_after)
        with self._lock:
            queue = self._faults.setdefault(method, collections.deque())
            queue.append(_Fault(status, text, retry_after, count))

    def hang_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the answer to the next ``count`` calls of ``method`` by ``seconds``."""
        with self._lock:
            self._hangs.setdefault(method, collections.deque()).extend([seconds] * count)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Queue an Update dict for ``getUpdates``."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_for(self, method: str) -> list[Call]:
        """Every call of ``method`` so far."""
        return [c for c in self.calls if c.method == method]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of answered, successful sendMessage calls, optionally for one chat."""
        return [
            str(c.params.get("text", ""))
            for c in self.calls_for("sendMessage")
            if c.answered
            and c.status == 200
            and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    def run_webhook_answer(self, answer: dict[str, Any], token: str) -> Call:
        """Do what Telegram does with a webhook's JSON answer: run the one call it carries."""
        params = dict(answer)
        method = str(params.pop("method"))
        call = Call(method, params, time.monotonic(), token, via="webhook-answer")
        call.answered = True
        with self._lock:
            self._calls.append(call)
        self._result(method, params)
        return call

    # -- request handling ------------------------------------------------------------------
    def _handle(self, method: str, token: str, params: dict[str, Any]) -> tuple[int, dict]:
        call = Call(method, params, time.monotonic(), token)
        with self._lock:
            self._calls.append(call)
            hangs = self._hangs.get(method)
            delay = hangs.popleft() if hangs else 0.0
        if delay:
            self._closing.wait(delay)
        with self._lock:
            faults = self._faults.get(method)
            fault = faults[0] if faults else None
            if fault is not None:
                fault.left -= 1
                if fault.left <= 0:
                    faults.popleft()
            call.answered = True
        if fault is not None:
            call.status = fault.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, body
        return 200, {"ok": True, "result": self._result(method, params)}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method in _STATIC_RESULTS:
            return _STATIC_RESULTS[method]
        if method == "getUpdates":
            return self._get_updates(params)
        if method.startswith(("send", "editMessage")):
            return self._message(params)
        return True

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message_id = next(self._message_ids)
        chat_id = params.get("chat_id")
        msg: dict[str, Any] = {
            "message_id": params.get("message_id", message_id),
            "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
        }
        for key in ("text", "caption", "reply_markup"):
            if key in params and not isinstance(params[key], bytes):
                msg[key] = params[key]
        return msg

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), 0.2)
        with self._lock:
            if params.get("allowed_updates") is not None:
                self._allowed_updates = frozenset(params["allowed_updates"])
            if not any(u["update_id"] >= offset for u in self._updates) and wait:
                self._lock.wait(wait)
            # Telegram never delivers kinds left out of allowed_updates; an empty list means all.
            self._updates[:] = [
                u for u in self._updates if u["update_id"] >= offset and self._is_allowed(u)
            ]
            return list(self._updates[:limit])

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        allowed = self._allowed_updates
        return not allowed or any(kind in update for kind in allowed)


class _Handler(BaseHTTPRequestHandler):
    """Routes /bot<TOKEN>/<method> to the owning FakeTelegramAPI."""

    api: FakeTelegramAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = url.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot") or parts[0] == "bot":
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        params = _parse_body(self.headers.get("Content-Type", ""), body, url.query)
        status, payload = self.api._handle(parts[1], parts[0][3:], params)
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # The client may have given up waiting (a hang outlived its timeout).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)


class RelayingClient(FlaskClient):
    """A Flask test client that, like Telegram, runs the Bot API call a webhook answers with."""

    telegram_api: FakeTelegramAPI | None = None
    token = ""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = getattr(response, "request", None)
        if (
            self.telegram_api is not None
            and request is not None
            and request.path == TELEGRAM_WEBHOOK_PATH
            and response.status_code == 200
            and response.is_json
        ):
            answer = response.get_json()
            if isinstance(answer, dict) and "method" in answer:
                self.telegram_api.run_webhook_answer(answer, self.token)
        return response
