"""The fuzz in small: bench/fuzz.py's generator, 300 requests through the test client on the
suite's database (SQLite or PostgreSQL), and not one 5xx. `python -m bench.fuzz` sends 10,000."""

from __future__ import annotations

import random

import pytest

from bench.fuzz import Tally, answer_in_process, generate, page_rules
from bench.fuzz_cases import SMS_PATH, STATUS_PATH, TELEGRAM_PATH, Target
from bench.fuzz_voice import ROUTES as VOICE_ROUTES
from tests.admin_support import add_user, csrf_token, log_in
from tests.conftest import PUBLIC_BASE_URL, TELEGRAM_SECRET, TELEGRAM_TOKEN, TWILIO_TOKEN
from tests.helpers import Phone, add_campaign, add_community

SEED = 15
REQUESTS = 300
RESIDENTS = ["+447700900123", "+447700900124", "+447700900125"]
CHATS = [5551234567, 5551234568]
LOGINS = {
    "admin": "admin@example.org",
    "organiser": "org@example.org",
    "staff": "staff@example.org",
}


@pytest.fixture
def town(live_services):  # type: ignore[no-untyped-def]
    """Two communities, a running campaign, residents mid-question, the three kinds of login."""
    add_community(live_services)
    add_campaign(live_services)
    add_community(live_services, "othertown", "Other Town")
    for number in RESIDENTS[:2]:
        Phone(live_services, address=number).join()
    add_user(live_services, LOGINS["admin"], "admin")
    add_user(live_services, LOGINS["organiser"], "organiser", ("cumnock",))
    add_user(live_services, LOGINS["staff"], "staff", ("cumnock",))
    return live_services


def _browsers(live_client) -> tuple[dict[str, object], dict[str, str]]:  # type: ignore[no-untyped-def]
    """A signed-in test client per role (and one for nobody), with its CSRF token."""
    clients, tokens = {}, {}
    for role in [*LOGINS, "anon"]:
        client = live_client.application.test_client()
        client.telegram_api, client.token = live_client.telegram_api, TELEGRAM_TOKEN
        if role in LOGINS:
            assert log_in(client, LOGINS[role]).status_code == 302
        page = client.get("/admin/" if role in LOGINS else "/admin/login")
        clients[role], tokens[role] = client, csrf_token(page.get_data(as_text=True))
    return clients, tokens


def test_hostile_requests_to_the_webhooks_and_pages_never_get_a_5xx(live_client, town):  # type: ignore[no-untyped-def]
    clients, tokens = _browsers(live_client)
    target = Target(
        base_url=PUBLIC_BASE_URL,
        twilio_token=TWILIO_TOKEN,
        telegram_secret=TELEGRAM_SECRET,
        sms_senders=RESIDENTS,
        telegram_chats=CHATS,
        slugs=["cumnock", "othertown"],
        campaigns=["festival-ideas"],
        group_keys=["area"],
        tokens=tokens,
        rules=page_rules(live_client.application),
    )
    tally = Tally()
    for case in generate(random.Random(SEED), target, REQUESTS):
        tally.record(case, *answer_in_process(clients[case.who or "anon"], case))
    assert tally.count == REQUESTS
    assert not tally.server_errors, tally.report()
    # The requests got past the signature, the secret and the login, not only bounced off them.
    for route in (SMS_PATH, STATUS_PATH, TELEGRAM_PATH):
        assert tally.by_route[route, 200] + tally.by_route[route, 204] > 10, tally.report()
    calls = sum(
        n
        for (route, status), n in tally.by_route.items()
        if route in VOICE_ROUTES and status in (200, 204)
    )
    assert calls > 10, tally.report()
    pages_seen = {route for route, status in tally.by_route if status == 200}
    assert len(pages_seen - {SMS_PATH, STATUS_PATH, TELEGRAM_PATH, *VOICE_ROUTES}) >= 8
