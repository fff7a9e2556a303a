"""Telegram through python-telegram-bot: updates in, Bot API calls out on one long-lived loop."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

# python-telegram-bot 22 warns on every read of RetryAfter.retry_after unless it may hand back
# the timedelta that its next major version returns; we accept both (retry_after_seconds).
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.base import PermanentSendError, TransientSendError
from bot.messages import Inbound, Outbound

log = logging.getLogger(__name__)
# httpx logs every Bot API request at INFO with the URL, which holds the bot token; that costs
# CPU on every reply and puts a secret in the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A webhook may answer with one Bot API call in its HTTP response body, like TwiML for Twilio:
# https://core.telegram.org/bots/api#making-requests-when-getting-updates
# Telegram does not say whether that call succeeded; such replies are recorded as sent "via" this.
WEBHOOK_REPLY = "webhook-reply"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
T = TypeVar("T")


MAX_JSON_DEPTH = 32  # a real update nests about 6 deep; deeper is an attack on the parsers
_FILE_KINDS = ("voice", "video", "document", "audio", "sticker")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_problem(chat: Any) -> str | None:
    if not isinstance(chat, dict) or not _is_int(chat.get("id")):
        return "a chat needs a numeric id"
    return None if isinstance(chat.get("type"), str) else "a chat needs a type"


def _user_problem(user: Any, required: bool) -> str | None:
    if user is None and not required:
        return None
    if not isinstance(user, dict) or not _is_int(user.get("id")):
        return "a user needs a numeric id"
    language = user.get("language_code")
    return None if language is None or isinstance(language, str) else "language_code is not text"


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "a message is not an object"
    problem = _chat_problem(message.get("chat")) or _user_problem(message.get("from"), False)
    if problem:
        return problem
    for key in ("text", "caption"):
        if message.get(key) is not None and not isinstance(message[key], str):
            return f"{key} is not text"
    photo = message.get("photo")
    if photo is not None and not (
        isinstance(photo, list) and all(isinstance(size, dict) for size in photo)
    ):
        return "photo is not a list of sizes"
    for kind in _FILE_KINDS:
        if message.get(kind) is not None and not isinstance(message[kind], dict):
            return f"{kind} is not an object"
    return None


def _callback_problem(query: Any) -> str | None:
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return "a callback query needs an id"
    if query.get("data") is not None and not isinstance(query["data"], str):
        return "callback data is not text"
    message = query.get("message")
    if message is not None and _chat_problem(
        message.get("chat") if isinstance(message, dict) else 0
    ):
        return "the callback's message has no usable chat"
    return _user_problem(query.get("from"), True)


def _member_problem(member: Any) -> str | None:
    if not isinstance(member, dict):
        return "a chat member update is not an object"
    new = member.get("new_chat_member")
    if not isinstance(new, dict) or not isinstance(new.get("status"), str):
        return "a chat member update needs new_chat_member.status"
    return _chat_problem(member.get("chat"))


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in decoded JSON, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def update_problem(data: dict[str, Any]) -> str | None:
    """Why this JSON is not an update parse_update can read, or None when it is.

    python-telegram-bot trusts Telegram and checks no types, so a forged update without a chat
    would otherwise fail deep inside the engine.
    """
    if json_depth(data) > MAX_JSON_DEPTH:
        return "nested too deeply"
    checks = {
        "message": _message_problem,
        "edited_message": _message_problem,
        "callback_query": _callback_problem,
        "my_chat_member": _member_problem,
    }
    for key, check in checks.items():
        if data.get(key) is not None:
            problem = check(data[key])
            if problem:
                return f"{key}: {problem}"
    return None


class Ignored(str):
    """The reason an update carries nothing for the engine (it is still answered 200); it is
    logged, so text from the update goes in quoted (repr), where CR/LF cannot start a line."""


def parse_update(
    update: Update, received_at: datetime, raw: dict[str, Any] | None = None
) -> Inbound | Ignored:
    """Turn a Telegram Update into an Inbound, or say why it is ignored.

    `raw` is the update as Telegram sent it, kept with the message; without it (long polling
    hands over only the parsed Update) the Update is serialised again.
    """
    external_id = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return Ignored("callback from a group chat")
        address = str(chat.id if chat is not None else query.from_user.id)
        return Inbound(
            channel="telegram",
            address=address,
            text=query.data or "",
            external_id=external_id,
            received_at=received_at,
            raw=raw if raw is not None else update.to_dict(),
            language=query.from_user.language_code,
        )
    if update.edited_message is not None:
        return Ignored("edited message: the first version was kept as sent")
    if update.my_chat_member is not None:
        return Ignored(f"chat member update ({update.my_chat_member.new_chat_member.status!r})")
    message = update.message
    if message is None:
        return Ignored("update without a message")
    if message.chat.type != "private":
        return Ignored("message in a group chat")
    if message.sticker is not None:
        return Ignored("sticker")
    media: tuple[str, ...] = ()
    if message.photo:
        media = (f"telegram-file:{message.photo[-1].file_id}",)
    elif message.voice is not None:
        media = (f"telegram-file:{message.voice.file_id}",)
    elif message.video is not None:
        media = (f"telegram-file:{message.video.file_id}",)
    elif message.document is not None:
        media = (f"telegram-file:{message.document.file_id}",)
    elif message.audio is not None:
        media = (f"telegram-file:{message.audio.file_id}",)
    text = message.text if message.text is not None else (message.caption or "")
    if not text and not media:
        return Ignored("message with neither words nor media")
    language = message.from_user.language_code if message.from_user else None
    return Inbound(
        channel="telegram",
        address=str(message.chat.id),
        text=text,
        external_id=external_id,
        received_at=received_at,
        raw=raw if raw is not None else update.to_dict(),
        language=language,
        media=media,
    )


# Telegram refuses callback data over 64 bytes; a long choice sends its number instead.
# https://core.telegram.org/bots/api#inlinekeyboardbutton
MAX_CALLBACK_BYTES = 64


def reply_markup(buttons: tuple[str, ...]) -> InlineKeyboardMarkup | None:
    """Inline buttons; pressing one sends its label (or number) back as a callback query.

    Short words (YES, NO, 1-5) share one row; a question's choices get a row each."""
    if not buttons:
        return None
    keys = [
        InlineKeyboardButton(
            label.title() if label.isupper() else label,
            callback_data=label if len(label.encode()) <= MAX_CALLBACK_BYTES else str(number),
        )
        for number, label in enumerate(buttons, 1)
    ]
    if (len(buttons) <= 3 and all(len(label) <= 12 for label in buttons)) or all(
        label.isdigit() for label in buttons
    ):
        return InlineKeyboardMarkup([keys])
    return InlineKeyboardMarkup([[key] for key in keys])


def webhook_reply(outbound: Outbound) -> dict[str, Any]:
    """The sendMessage call for the webhook's HTTP answer (Bot API JSON, with `method`)."""
    call: dict[str, Any] = {
        "method": "sendMessage",
        "chat_id": int(outbound.address),
        "text": outbound.text,
    }
    markup = reply_markup(outbound.buttons)
    if markup is not None:
        call["reply_markup"] = markup.to_dict()
    return call


def blocked_chat(update: Update) -> str | None:
    """The private chat id when this update says the resident blocked the bot."""
    member = update.my_chat_member
    if member is None or member.chat.type != "private":
        return None
    return str(member.chat.id) if member.new_chat_member.status == "kicked" else None


def retry_after_seconds(value: int | float | timedelta) -> float:
    """RetryAfter.retry_after is an int today and a timedelta in the next major version."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class TelegramClient:
    """One Bot on one event loop in its own thread, callable from synchronous code."""

    channel = "telegram"

    def __init__(self, token: str, base_url: str = "", timeout: float = 10.0) -> None:
        self.bot = Bot(token, base_url=base_url or DEFAULT_BASE_URL)
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="telegram", daemon=True)
                thread.start()
                asyncio.run_coroutine_threadsafe(self.bot.initialize(), loop).result(self.timeout)
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a Bot coroutine on the client's loop and wait for its result."""
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(self.timeout * 3)

    def parse(self, data: dict[str, Any]) -> Update:
        """Update.de_json with this client's bot attached."""
        return Update.de_json(data, self.bot)

    def send(self, outbound: Outbound) -> str | None:
        """Send one message; map Telegram's errors to transient or permanent failures."""
        markup = reply_markup(outbound.buttons)
        try:
            message = self.run(
                self.bot.send_message(
                    chat_id=int(outbound.address), text=outbound.text, reply_markup=markup
                )
            )
        except RetryAfter as exc:
            raise TransientSendError(
                "telegram: rate limited", retry_after_seconds(exc.retry_after)
            ) from exc
        except Forbidden as exc:
            raise PermanentSendError(f"telegram: {exc.message}", "opted_out") from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise PermanentSendError(f"telegram: {exc.message}", "unreachable") from exc
            raise PermanentSendError(f"telegram: {exc.message}", None) from exc
        except (TimedOut, NetworkError, TimeoutError) as exc:
            raise TransientSendError(f"telegram: {type(exc).__name__}: {exc}") from exc
        return str(message.message_id)

    def answer_callback(self, callback_query_id: str) -> None:
        """Stop the spinner on a pressed button; failures here only cost a spinner."""
        try:
            self.run(self.bot.answer_callback_query(callback_query_id))
        except Exception as exc:
            log.info("answer_callback_query failed: %s", exc)

    def close(self) -> None:
        """Shut the bot and its loop down."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.bot.shutdown(), loop).result(self.timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
