"""Prove the loopback fakes work with the real telegram and twilio clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import telegram
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.request import HTTPXRequest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from .telegram_api import FakeTelegramAPI
from .twilio_api import FakeTwilioAPI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOKEN = "123456:TEST-TOKEN"
ACCOUNT = "AC0123456789abcdef0123456789abcdef"
CHAT = 5551234567


@pytest.fixture
def tg() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def tw() -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI() as fake:
        yield fake


def _client(fake: FakeTwilioAPI) -> Client:
    client = Client(ACCOUNT, "auth-token")
    client.api.base_url = fake.base_url
    return client


def _run_bot(fake: FakeTelegramAPI, coro_fn, **kwargs):
    async def main():
        async with telegram.Bot(TOKEN, base_url=fake.base_url, **kwargs) as bot:
            return await coro_fn(bot)

    return asyncio.run(main())


def test_telegram_send_message(tg: FakeTelegramAPI) -> None:
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("YES", callback_data="YES")]]
    )
    msg = _run_bot(tg, lambda bot: bot.send_message(CHAT, "Hello there", reply_markup=markup))
    assert isinstance(msg, telegram.Message)
    assert msg.text == "Hello there" and msg.chat_id == CHAT and msg.from_user.is_bot
    assert [c.method for c in tg.calls] == ["getMe", "sendMessage"]
    call = tg.calls_for("sendMessage")[0]
    assert call.token == TOKEN and call.params["chat_id"] == CHAT
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "YES"
    assert tg.sent_texts(CHAT) == ["Hello there"] and tg.sent_texts(1) == []


def test_telegram_string_params_stay_strings(tg: FakeTelegramAPI) -> None:
    _run_bot(tg, lambda bot: bot.send_message(str(CHAT), "123"))
    assert tg.calls_for("sendMessage")[0].params == {"chat_id": CHAT, "text": "123"}


def test_telegram_retry_after(tg: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (PTBDeprecationWarning) whenever RetryAfter.retry_after is read, even in
    # RetryAfter.__init__, unless PTB_TIMEDELTA=1 opts in to the timedelta type.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    tg.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as err:
        _run_bot(tg, lambda bot: bot.send_message(CHAT, "hi"))
    assert err.value.retry_after == dt.timedelta(seconds=3)
    assert tg.calls_for("sendMessage")[0].status == 429 and tg.sent_texts() == []


def test_telegram_forbidden_then_ok(tg: FakeTelegramAPI) -> None:
    tg.fail_next("sendMessage", 403)
    tg.fail_next("sendPhoto", 400, "Bad Request: wrong file identifier")

    async def go(bot: telegram.Bot) -> None:
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(CHAT, "first")
        with pytest.raises(BadRequest, match=r"(?i)wrong file"):
            await bot.send_photo(CHAT, b"\x89PNG fake", caption="pic")
        await bot.send_message(CHAT, "second")

    _run_bot(tg, go)
    assert tg.sent_texts() == ["second"]
    assert tg.calls_for("sendPhoto")[0].params["caption"] == "pic"  # multipart


def test_telegram_hang_times_out(tg: FakeTelegramAPI) -> None:
    tg.hang_next("sendMessage", 1.0)
    request = HTTPXRequest(read_timeout=0.2)
    with pytest.raises(TimedOut):
        _run_bot(tg, lambda bot: bot.send_message(CHAT, "slow"), request=request)


def test_telegram_get_updates_offset(tg: FakeTelegramAPI) -> None:
    for name in ("text", "yes"):
        tg.queue_update(json.loads((FIXTURES / "telegram" / f"{name}.json").read_text()))

    async def go(bot: telegram.Bot):
        first = await bot.get_updates(timeout=1)
        rest = await bot.get_updates(offset=first[0].update_id + 1, timeout=1)
        started = time.monotonic()
        empty = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=5)
        return first, rest, empty, time.monotonic() - started

    first, rest, empty, waited = _run_bot(tg, go)
    assert [u.message.text for u in first] == ["Hello there", "YES"]
    assert [u.message.text for u in rest] == ["YES"] and empty == () and waited < 1.5


def test_telegram_get_updates_only_hands_over_the_allowed_kinds(tg: FakeTelegramAPI) -> None:
    for name in ("text", "my_chat_member", "callback_join"):
        tg.queue_update(json.loads((FIXTURES / "telegram" / f"{name}.json").read_text()))

    async def go(bot: telegram.Bot):
        narrow = await bot.get_updates(allowed_updates=["message", "callback_query"])
        kept = await bot.get_updates()  # Telegram keeps the last allowed_updates
        return narrow, kept

    narrow, kept = _run_bot(tg, go)
    assert [u.my_chat_member for u in narrow] == [None, None]
    assert [u.update_id for u in kept] == [u.update_id for u in narrow]


def test_twilio_create(tw: FakeTwilioAPI) -> None:
    client = _client(tw)
    m = client.messages.create(
        to="+447700900123",
        from_="+447700900000",
        body="hi",
        status_callback="https://example.org/status",
    )
    assert m.sid.startswith("SM") and len(m.sid) == 34 and m.status == "queued"
    assert m.date_created is not None and m.num_segments == "1"
    [call] = tw.messages()
    assert (call.to, call.from_, call.body, call.auth_user) == (
        "+447700900123",
        "+447700900000",
        "hi",
        ACCOUNT,
    )
    assert call.status_callback == "https://example.org/status"
    assert client.messages(m.sid).fetch().body == "hi"
    pooled = client.messages.create(
        to="+447700900124", messaging_service_sid="MG" + "a" * 32, body="hello"
    )
    assert pooled.status == "accepted" and tw.messages("+447700900124")[0].from_ is None
    assert pooled.sid != m.sid


def test_twilio_errors(tw: FakeTwilioAPI) -> None:
    client = _client(tw)
    tw.fail_next(400, 21610, "Attempt to send to unsubscribed recipient", to="+447700900123")
    client.messages.create(to="+447700900999", from_="+447700900000", body="unaffected")
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+447700900123", from_="+447700900000", body="hi")
    assert err.value.code == 21610 and err.value.status == 400
    tw.fail_next(429, 20429, "Too Many Requests", count=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            client.messages.create(to="+447700900123", from_="+447700900000", body="hi")
        assert err.value.code == 20429
    client.messages.create(to="+447700900123", from_="+447700900000", body="hi")
    assert [c.status for c in tw.calls] == [201, 400, 429, 429, 201]
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to="+447700900123", from_="+447700900000")
    assert err.value.code == 21602


def test_twilio_auth_and_hang() -> None:
    with FakeTwilioAPI(credentials=(ACCOUNT, "right")) as fake:
        client = Client(ACCOUNT, "wrong")
        client.api.base_url = fake.base_url
        with pytest.raises(TwilioRestException) as err:
            client.messages.create(to="+447700900123", from_="+447700900000", body="hi")
        assert err.value.status == 401 and err.value.code == 20003
        good = Client(ACCOUNT, "right")
        good.api.base_url = fake.base_url
        fake.hang_next(0.3)
        started = time.monotonic()
        good.messages.create(to="+447700900123", from_="+447700900000", body="hi")
        assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("path", sorted((FIXTURES / "telegram").glob("*.json")), ids=str)
def test_telegram_fixture_parses(path: Path) -> None:
    update = telegram.Update.de_json(json.loads(path.read_text()), telegram.Bot(TOKEN))
    assert isinstance(update, telegram.Update) and update.effective_user is not None
    assert update.api_kwargs == {}


def test_fixture_ids_unique() -> None:
    tg_ids = [
        json.loads(p.read_text())["update_id"]
        for p in (FIXTURES / "telegram").glob("*")
        if p.suffix == ".json"
    ]
    sids = [parse_qs(p.read_text())["MessageSid"][0] for p in MESSAGE_FIXTURES]
    assert len(tg_ids) == len(set(tg_ids)) == 12 and len(sids) == len(set(sids)) == 11


MESSAGE_FIXTURES = sorted(p for p in (FIXTURES / "twilio").glob("*.txt") if "voice" not in p.name)
VOICE_FIXTURES = sorted((FIXTURES / "twilio").glob("voice_*.txt"))


@pytest.mark.parametrize("path", VOICE_FIXTURES, ids=str)
def test_twilio_voice_fixture_parses(path: Path) -> None:
    raw = path.read_bytes()
    assert not raw.endswith(b"\n")
    form = {k: v[-1] for k, v in parse_qs(raw.decode("ascii"), keep_blank_values=True).items()}
    assert {"CallSid", "AccountSid"} <= form.keys()
    assert form["CallSid"].startswith("CA") and len(form["CallSid"]) == 34
    if "RecordingSid" in form:
        assert form["RecordingSid"].startswith("RE") and len(form["RecordingSid"]) == 34
    if "ApiVersion" in form:
        assert form["ApiVersion"] == "2010-04-01" and form["Direction"] in (
            "inbound",
            "outbound-api",
        )


@pytest.mark.parametrize("path", MESSAGE_FIXTURES, ids=str)
def test_twilio_fixture_parses(path: Path) -> None:
    raw = path.read_bytes()
    assert not raw.endswith(b"\n")
    form = {k: v[-1] for k, v in parse_qs(raw.decode("ascii"), keep_blank_values=True).items()}
    assert {"MessageSid", "From", "To", "Body", "AccountSid"} <= form.keys()
    assert len(form["MessageSid"]) == 34 and form["ApiVersion"] == "2010-04-01"
    assert form["NumMedia"] == str(sum(k.startswith("MediaUrl") for k in form))


def test_telegram_json_body_and_unknown_method(tg: FakeTelegramAPI) -> None:
    def post(path: str, payload: dict) -> tuple[int, dict]:
        req = urllib.request.Request(
            f"{tg.base_url}{path}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, json.loads(err.read())

    assert post(f"{TOKEN}/sendMessage", {"chat_id": CHAT, "text": "json"})[1]["ok"] is True
    assert post(f"{TOKEN}/setChatMenuButton", {"chat_id": CHAT}) == (
        200,
        {"ok": True, "result": True},
    )
    assert post("/nonsense", {})[0] == 404
    assert tg.sent_texts(CHAT) == ["json"]
