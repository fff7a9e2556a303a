"""PostgreSQL stopped under inbound load: fast 503s, nothing half written, all stored once after."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.conversation import inbox
from bot.messages import Inbound
from bot.services import Services
from storage.db import Database
from storage.models import Base, InboundMessage, OutboundMessage, Resident, Response, utcnow
from tests.conftest import load_twilio, post_twilio
from tests.helpers import add_campaign, add_community
from tests.pg_cluster import ThrowawayCluster, find_bin_dir
from webhooks.app import create_app

pytestmark = pytest.mark.slow
PATH = "/webhooks/twilio/sms"
FAST_SECONDS = 2.0
SENDERS = ("+447700900201", "+447700900202", "+447700900203")


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("initdb not found: PostgreSQL server binaries are not installed")
    made = ThrowawayCluster(bin_dir)
    made.start()
    Database(made.url).upgrade()
    yield made
    made.remove()


@pytest.fixture
def town(cluster: ThrowawayCluster, settings) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    cluster_settings = settings.with_changes(database_url=cluster.url)
    built = Services.build(cluster_settings, db=Database(cluster.url))
    add_community(built)
    add_campaign(built)
    app = create_app(cluster_settings, built=built, test_config={"TESTING": True})
    built.extra["client"] = app.test_client()
    for sender in SENDERS:
        for body in ("CUMNOCK", "YES"):
            answer = post_twilio(built.extra["client"], PATH, _message(sender, body))
            assert answer.status_code == 200
    yield built
    with built.db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    built.db.dispose()


def _message(sender: str, body: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return load_twilio(
        "sms_answer", From=sender, Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid
    )


def test_webhooks_answer_503_fast_while_postgresql_is_down_and_retries_store_once(
    cluster: ThrowawayCluster, town: Services
) -> None:
    client = town.extra["client"]
    sent: list[dict[str, str]] = []
    outcomes: list[tuple[str, int, float]] = []
    stop = threading.Event()

    def residents_texting() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            params = _message(SENDERS[number % len(SENDERS)], f"Idea number {number}")
            started = time.monotonic()
            status = post_twilio(client, PATH, params).status_code
            sent.append(params)
            outcomes.append((params["MessageSid"], status, time.monotonic() - started))
            time.sleep(0.02)

    load = threading.Thread(target=residents_texting)
    load.start()
    try:
        time.sleep(0.5)
        cluster.stop()
        time.sleep(0.3)
        health = client.get("/healthz")
        time.sleep(1.0)
        cluster.start()
        time.sleep(0.8)
    finally:
        stop.set()
        load.join(timeout=30)
    assert health.status_code == 503
    assert health.get_json()["database"] != "ok"
    statuses = Counter(status for _, status, _ in outcomes)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 1 and statuses[200] >= 2, statuses
    refusals = [seconds for _, status, seconds in outcomes if status == 503]
    assert max(refusals) < FAST_SECONDS
    assert client.get("/healthz").status_code == 200

    # Twilio retries each refused message with the same MessageSid.
    for params in sent:
        if dict((sid, status) for sid, status, _ in outcomes)[params["MessageSid"]] == 503:
            assert post_twilio(client, PATH, params).status_code == 200

    with town.db.session_scope() as session:
        stored = Counter(
            session.scalars(
                select(InboundMessage.provider_id).where(InboundMessage.processed_at.is_not(None))
            )
        )
        answers = session.scalar(select(func.count(Response.id)))
    for params in sent:
        assert stored[params["MessageSid"]] == 1
    assert answers == len(sent)


def test_a_message_stored_before_the_outage_is_processed_when_twilio_retries(
    town: Services,
) -> None:
    params = _message(SENDERS[0], "A bigger bus shelter")
    # The first attempt stored the message, then the database went away before the engine ran.
    half_written = Inbound(
        channel="sms",
        address=SENDERS[0],
        text=params["Body"],
        external_id=params["MessageSid"],
        received_at=utcnow(),
        raw=params,
    )
    with town.db.session_scope() as session:
        inbox.store_unprocessed(session, town.vault, half_written)

    retry = post_twilio(town.extra["client"], PATH, params)

    assert retry.status_code == 200
    assert b"<Message>" in retry.data  # the next prompt, sent in this answer
    with town.db.session_scope() as session:
        texts = session.scalars(
            select(Response.text).join(Resident, Response.resident_id == Resident.id)
        ).all()
        inbound = session.scalar(
            select(InboundMessage).where(InboundMessage.provider_id == params["MessageSid"])
        )
        reply_statuses = session.scalars(
            select(OutboundMessage.status).where(OutboundMessage.in_reply_to_id == inbound.id)
        ).all()
    assert texts.count("A bigger bus shelter") == 1
    assert inbound.processed_at is not None
    # The prompt went out in the TwiML answer, so it is not left queued to be sent a second time.
    assert reply_statuses and set(reply_statuses) == {"sent"}


def test_after_a_database_restart_a_stale_connection_costs_at_most_one_503(
    cluster: ThrowawayCluster, town: Services
) -> None:
    """No ping before each checkout: the first failure invalidates the pool, then all is well."""
    client = town.extra["client"]
    assert post_twilio(client, PATH, _message(SENDERS[0], "Before the restart")).status_code == 200
    assert town.db.engine.pool.checkedin() >= 1  # a connection from before the restart waits
    cluster.stop()
    cluster.start()
    statuses = []
    for number in range(4):
        params = _message(SENDERS[number % len(SENDERS)], f"After the restart {number}")
        status = post_twilio(client, PATH, params).status_code
        if status == 503:
            status = post_twilio(client, PATH, params).status_code  # Twilio's retry
            statuses.append(503)
        statuses.append(status)
    assert statuses.count(503) <= 1, statuses
    assert statuses[-3:] == [200, 200, 200], statuses
    assert client.get("/healthz").status_code == 200
    with town.db.session_scope() as session:
        answers = session.scalars(select(Response.text).where(Response.text.like("After%"))).all()
    assert sorted(answers) == [f"After the restart {number}" for number in range(4)]


def test_health_check_right_after_a_restart_says_ok(
    cluster: ThrowawayCluster, town: Services
) -> None:
    client = town.extra["client"]
    assert client.get("/healthz").status_code == 200
    cluster.stop()
    cluster.start()
    # The pooled connection is stale; the check tries once more on a fresh one.
    assert client.get("/healthz").status_code == 200
