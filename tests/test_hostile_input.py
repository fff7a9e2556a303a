"""Hostile traffic changes nothing: property-based tests over both webhooks and the engine.

Arbitrary bodies, headers and encodings never give a 5xx and never store anything without a
valid signature or secret; a valid message's text is always stored exactly as sent. The number
of cases tried is printed in the pytest summary.
"""

from __future__ import annotations

import io
import itertools
import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.conversation.engine import read_command
from storage.models import InboundMessage, OutboundMessage, Resident
from tests.conftest import TELEGRAM_SECRET, load_telegram, load_twilio, post_twilio
from tests.fuzz_stats import tried
from tests.helpers import Phone, add_campaign, add_community
from webhooks.app import MAX_BODY_BYTES

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_ids = itertools.count(1)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
# Words any channel can deliver: everything but NUL and lone surrogates, which no provider sends.
WORDS = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=400)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/json",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=800),
    st.dictionaries(HEADER_TEXT, st.text(max_size=80), max_size=6).map(
        lambda d: urlencode(d).encode()
    ),
    st.builds(
        lambda body, sender, sid: urlencode(
            {"MessageSid": sid, "From": sender, "Body": body}
        ).encode(),
        WORDS,
        st.sampled_from(["+447700900123", "whatsapp:+447700900123", ""]),
        HEADER_TEXT,
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def stored(services) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (InboundMessage, Resident, OutboundMessage)
        )


def latest_inbound_text(services) -> str:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.scalar(
            select(InboundMessage.text).order_by(InboundMessage.id.desc()).limit(1)
        )


@pytest.fixture
def town(live_services):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    return live_services


@pytest.mark.slow
@FUZZ
@given(
    path=st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status"]),
    body=BODIES,
    content_type=CONTENT_TYPES,
    signature=st.none() | HEADER_TEXT,
    extra=st.dictionaries(
        st.sampled_from(["X-Forwarded-For", "User-Agent", "X-Extra"]), HEADER_TEXT
    ),
)
def test_unsigned_twilio_requests_never_fail_and_never_store(
    live_client, town, path, body, content_type, signature, extra
):  # type: ignore[no-untyped-def]
    tried("twilio webhook, unsigned arbitrary requests")
    headers = dict(extra)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = live_client.post(path, data=body, content_type=content_type, headers=headers)
    assert response.status_code in (400, 403, 413)
    assert stored(town) == (0, 0, 0)


@pytest.mark.slow
@FUZZ
@given(
    body=WORDS,
    sender=st.sampled_from(["+447700900123", "whatsapp:+447700900124", "+15005550006", "x"]),
    sid_tail=HEADER_TEXT,
    extra=st.dictionaries(st.sampled_from(["NumMedia", "To", "FromCity", "Foo"]), HEADER_TEXT),
)
def test_signed_twilio_messages_are_answered_and_stored_verbatim(
    live_client, town, body, sender, sid_tail, extra
):  # type: ignore[no-untyped-def]
    tried("twilio webhook, signed messages with arbitrary words")
    assume(read_command(body).word not in ("DELETE", "CONFIRM"))
    params = {**extra, "MessageSid": f"SM{next(_ids)}-{sid_tail}", "From": sender, "Body": body}
    response = post_twilio(live_client, "/webhooks/twilio/sms", params)
    assert response.status_code == 200
    assert latest_inbound_text(town) == body


@pytest.mark.slow
@FUZZ
@given(
    body=st.one_of(st.binary(max_size=600), JSON.map(lambda v: json.dumps(v).encode())),
    secret=st.none() | HEADER_TEXT,
    content_type=CONTENT_TYPES,
)
def test_telegram_requests_without_the_secret_never_fail_and_never_store(
    live_client, town, body, secret, content_type
):  # type: ignore[no-untyped-def]
    tried("telegram webhook, requests without the secret")
    assume(secret != TELEGRAM_SECRET)
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    response = live_client.post(
        "/webhooks/telegram", data=body, content_type=content_type, headers=headers
    )
    assert response.status_code == 403
    assert stored(town) == (0, 0, 0)


@pytest.mark.slow
@FUZZ
@given(body=st.one_of(st.binary(max_size=600), JSON.map(lambda v: json.dumps(v).encode())))
def test_telegram_bodies_with_the_secret_never_give_a_5xx(live_client, town, body):  # type: ignore[no-untyped-def]
    tried("telegram webhook, arbitrary bodies with the secret")
    response = live_client.post(
        "/webhooks/telegram",
        data=body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code in (200, 400)


@pytest.mark.slow
@FUZZ
@given(
    text=WORDS.filter(lambda t: t != ""),
    chat=st.integers(min_value=1, max_value=2**52),
    language=st.none() | HEADER_TEXT,
)
def test_telegram_messages_are_stored_verbatim(live_client, town, text, chat, language):  # type: ignore[no-untyped-def]
    tried("telegram webhook, messages with arbitrary words")
    assume(read_command(text).word not in ("DELETE", "CONFIRM"))
    update = load_telegram("text", update_id=next(_ids))
    update["message"]["text"] = text
    update["message"]["chat"]["id"] = chat
    update["message"]["from"]["language_code"] = language
    response = live_client.post(
        "/webhooks/telegram",
        data=json.dumps(update),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 200
    assert latest_inbound_text(town) == text


@pytest.mark.slow
@FUZZ
@given(text=WORDS, joined=st.booleans())
def test_the_engine_answers_any_words_and_keeps_them_verbatim(services, text, joined):  # type: ignore[no-untyped-def]
    tried("engine, arbitrary words from residents and strangers")
    assume(read_command(text).word not in ("DELETE", "CONFIRM"))
    if not stored(services)[0]:
        add_community(services)
        add_campaign(services)
        Phone(services, address="+447700900321").join()
    phone = Phone(services, address="+447700900321" if joined else f"+4477009{next(_ids):05d}")
    replies = phone.send(text)
    assert all(isinstance(reply, str) and reply for reply in replies)
    assert latest_inbound_text(services) == text


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/telegram"])
@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_bodies_over_the_limit_get_413_on_both_webhooks(live_client, town, path, chunked):  # type: ignore[no-untyped-def]
    body = json.dumps({"update_id": 1, "pad": "x" * MAX_BODY_BYTES}).encode()
    if path.endswith("sms"):
        body = urlencode(
            {"MessageSid": "SM1", "From": "+447700900123", "Body": "x" * MAX_BODY_BYTES}
        ).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "X-Twilio-Signature": "x"}
    kwargs: dict[str, object] = {"data": body}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        kwargs = {
            "input_stream": io.BytesIO(body),
            "environ_overrides": {"wsgi.input_terminated": True},
        }
    content_type = (
        "application/json" if path.endswith("telegram") else "application/x-www-form-urlencoded"
    )
    response = live_client.post(path, content_type=content_type, headers=headers, **kwargs)
    assert response.status_code == 413
    assert stored(town) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"MessageSid": "SM1"}'),
        ("application/x-www-form-urlencoded", b"Body=caf\xe9&From=%2B447700900123"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken"),
    ],
    ids=["json", "not-utf8", "multipart"],
)
def test_malformed_twilio_bodies_get_400_and_store_nothing(live_client, town, content_type, body):  # type: ignore[no-untyped-def]
    response = live_client.post(
        "/webhooks/twilio/sms",
        data=body,
        content_type=content_type,
        headers={"X-Twilio-Signature": "x"},
    )
    assert response.status_code == 400
    assert stored(town) == (0, 0, 0)


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(live_client, town):  # type: ignore[no-untyped-def]
    update = load_telegram("text", update_id=777001)
    body = json.dumps(update).replace('"Hello there"', '"bad\\u0000 \\ud800 words"')
    response = live_client.post(
        "/webhooks/telegram",
        data=body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 200
    assert latest_inbound_text(town) == "bad\ufffd \ufffd words"
    twilio = load_twilio("sms_answer", Body="nul\x00here", MessageSid="SM" + "9" * 90)
    assert post_twilio(live_client, "/webhooks/twilio/sms", twilio).status_code == 200
    assert latest_inbound_text(town) == "nul\ufffdhere"


ADMIN_PAGES = [
    "/admin/login",
    "/admin/",
    "/admin/communities/{slug}/",
    "/admin/communities/{slug}/responses",
    "/admin/communities/{slug}/export.csv",
    "/admin/communities/{slug}/export.xlsx",
    "/admin/communities/{slug}/export.jsonl",
    "/admin/communities/{slug}/campaigns/new",
    "/admin/communities/{slug}/campaigns/{campaign}/",
    "/admin/communities/{slug}/campaigns/{campaign}/themes",
    "/admin/communities/{slug}/poster",
    "/admin/exports",
]
QUERY_KEYS = ["q", "campaign", "prompt", "channel", "since", "until", "page", "theme", "upto"]
# Anything a browser address bar can carry, NUL and control characters included.
ADDRESS_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@pytest.fixture
def signed_in(client, services):  # type: ignore[no-untyped-def]
    from tests.admin_support import add_user, log_in

    add_community(services)
    add_campaign(services)
    add_user(services, "fuzz@example.org", "admin")
    log_in(client, "fuzz@example.org")
    return client


@pytest.mark.slow
@FUZZ
@given(
    page=st.sampled_from(ADMIN_PAGES),
    slug=st.sampled_from(["cumnock"]) | ADDRESS_TEXT,
    campaign=st.sampled_from(["winter"]) | ADDRESS_TEXT,
    query=st.dictionaries(st.sampled_from(QUERY_KEYS) | ADDRESS_TEXT, ADDRESS_TEXT, max_size=4),
)
def test_admin_pages_never_give_a_5xx_whatever_the_address(signed_in, page, slug, campaign, query):  # type: ignore[no-untyped-def]
    tried("admin pages, arbitrary slugs and query strings")
    path = page.format(slug=quote(slug, safe=""), campaign=quote(campaign, safe=""))
    response = signed_in.get(path, query_string=query)
    assert response.status_code < 500, (path, query)


@pytest.mark.slow
@FUZZ
@given(email=ADDRESS_TEXT, password=ADDRESS_TEXT, next_=ADDRESS_TEXT)
def test_the_login_never_gives_a_5xx(client, services, email, password, next_):  # type: ignore[no-untyped-def]
    tried("login form, arbitrary e-mails, passwords and next")
    from tests.admin_support import csrf_token

    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    response = client.post(
        "/admin/login",
        query_string={"next": next_},
        data={"email": email, "password": password, "csrf_token": token},
    )
    assert response.status_code in (200, 302, 400, 401, 429)


def _mutated(update: dict, path: list, value: object) -> dict:  # type: ignore[type-arg]
    node = update
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return update
        node = node[key]
    node[path[-1]] = value
    return update


UPDATE_PATHS = st.sampled_from(
    [
        ["message"],
        ["message", "chat"],
        ["message", "chat", "id"],
        ["message", "chat", "type"],
        ["message", "from"],
        ["message", "from", "id"],
        ["message", "from", "language_code"],
        ["message", "text"],
        ["message", "photo"],
        ["message", "voice"],
        ["callback_query"],
        ["callback_query", "from"],
        ["callback_query", "message"],
        ["callback_query", "data"],
        ["my_chat_member"],
        ["my_chat_member", "new_chat_member"],
        ["edited_message"],
    ]
)


@pytest.mark.slow
@FUZZ
@given(
    fixture=st.sampled_from(["text", "callback_join", "my_chat_member", "photo_caption", "voice"]),
    changes=st.lists(st.tuples(UPDATE_PATHS, JSON), min_size=1, max_size=3),
)
def test_forged_updates_with_the_secret_never_give_a_5xx(live_client, town, fixture, changes):  # type: ignore[no-untyped-def]
    tried("telegram webhook, real updates with fields replaced, with the secret")
    update = load_telegram(fixture, update_id=next(_ids))
    for path, value in changes:
        update = _mutated(update, path, value)
    response = live_client.post(
        "/webhooks/telegram",
        data=json.dumps(update),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code in (200, 400)
