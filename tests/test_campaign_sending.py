"""A launched campaign reaches each joined resident once, at each channel's pace, through faults."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text

from bot.campaigns import fanout
from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.sending.outbox import reclaim_stuck
from bot.sending.pacing import PacingLimits
from storage.models import Campaign, Community, OutboundMessage, Resident
from tests.conftest import post_twilio
from tests.helpers import FESTIVAL, add_community
from tests.outbox_support import add_residents, fast_sender, open_rows, send_until_idle

# Equal start and end mean no quiet window.
ALWAYS_OPEN = {"quiet_start": "00:00", "quiet_end": "00:00"}
FIRST_PROMPT = "What's one thing that would make the festival feel like yours?"
TEST_LIMITS = PacingLimits(
    telegram_per_second=120, telegram_per_chat_per_second=1, twilio_segments_per_second=100
)


def _launch(services, community_id: int, starts_at: datetime | None = None) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        community = session.get(Community, community_id)
        return launch(session, community, parse_prompt_file(FESTIVAL), starts_at).id


def _most_in_any_second(times: list[float], weights: list[float] | None = None) -> float:
    """The largest total in any one-second window [t, t + 1) of the server's own timestamps."""
    weights = weights or [1.0] * len(times)
    pairs = sorted(zip(times, weights, strict=True))
    best = 0.0
    for start, (at, _) in enumerate(pairs):
        total = sum(w for t, w in pairs[start:] if t < at + 1.0)
        best = max(best, total)
    return best


def _statuses(services, ids: list[int]) -> Counter:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return Counter(session.scalars(select(Resident.status).where(Resident.id.in_(ids))))


@pytest.mark.slow
def test_launch_reaches_500_residents_once_each_through_rate_limits_and_errors(
    live_services, twilio_api, telegram_api
):
    town = add_community(live_services, **ALWAYS_OPEN)
    phones = [f"+4477009{n:05d}" for n in range(250)]
    chats = [str(5_000_000 + n) for n in range(250)]
    add_residents(live_services, town, "sms", phones[:240])
    add_residents(live_services, town, "telegram", chats[:240])
    add_residents(live_services, town, "sms", phones[240:245], status="opted_out")
    add_residents(live_services, town, "sms", phones[245:], status="unreachable")
    add_residents(live_services, town, "telegram", chats[240:245], status="opted_out")
    add_residents(live_services, town, "telegram", chats[245:], status="unreachable")

    # Faults on the way: rate limits, server errors, a recipient who opted out at Twilio,
    # and a Telegram user who blocked the bot.
    twilio_api.fail_next(429, 20429, "Too Many Requests", count=3)
    twilio_api.fail_next(503, 20503, "Service Unavailable", count=2)
    twilio_api.fail_next(400, 21610, "Attempt to send to unsubscribed recipient", to=phones[7])
    telegram_api.fail_next("sendMessage", 429, retry_after=1)
    telegram_api.fail_next("sendMessage", 500, count=2)
    telegram_api.fail_next("sendMessage", 403)

    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    try:
        send_until_idle(sender, live_services, timeout=60)
    finally:
        sender.stop()

    sms_copies = Counter(c.to for c in twilio_api.messages() if c.body == FIRST_PROMPT)
    assert set(sms_copies) == set(phones[:240]) - {phones[7]}
    assert set(sms_copies.values()) == {1}
    telegram_copies = Counter(
        str(c.params["chat_id"])
        for c in telegram_api.calls_for("sendMessage")
        if c.status == 200 and c.params.get("text") == FIRST_PROMPT
    )
    assert set(telegram_copies.values()) == {1}
    blocked = set(chats[:240]) - set(telegram_copies)
    assert len(blocked) == 1, "exactly the one user who blocked the bot misses the prompt"
    assert not set(telegram_copies) & set(chats[240:])

    with live_services.db.session_scope() as session:
        stopped = dict(
            session.execute(
                select(Resident.channel, func.count())
                .where(Resident.status == "opted_out")
                .group_by(Resident.channel)
            ).all()
        )
    assert stopped == {"sms": 5 + 1, "telegram": 5 + 1}

    # The servers' own clocks: never more than the configured rate in any one second.
    twilio_times = [c.at for c in twilio_api.calls]
    assert _most_in_any_second(twilio_times) <= TEST_LIMITS.twilio_segments_per_second
    telegram_times = [c.at for c in telegram_api.calls_for("sendMessage")]
    assert _most_in_any_second(telegram_times) <= TEST_LIMITS.telegram_per_second
    assert open_rows(live_services) == 0


def test_a_launch_scheduled_in_quiet_hours_goes_out_when_they_end(live_services, telegram_api):
    town = add_community(live_services)  # quiet 20:00-09:00 Europe/London
    chats = [str(7_000_000 + n) for n in range(5)]
    add_residents(live_services, town, "telegram", chats)
    sender = fast_sender(live_services, TEST_LIMITS)
    # 07:00 on a December morning in London (UTC+0); the organiser launches for 08:00.
    with time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=UTC), tick=True) as clock:
        _launch(live_services, town, starts_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
        with live_services.db.session_scope() as session:
            assert fanout.activate_due(session) == 0, "nothing before the start time"
        clock.move_to(datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC))
        with live_services.db.session_scope() as session:
            assert fanout.activate_due(session) == 5
        sender.run_lane_once("telegram")
        assert telegram_api.sent_texts() == [], "quiet hours: nothing at 08:00"
        clock.move_to(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
        send_until_idle(sender, live_services)
    sender.stop()
    assert sorted(telegram_api.sent_texts()) == [FIRST_PROMPT] * 5


def test_quiet_hours_follow_the_clock_change_in_london(live_services, telegram_api):
    town = add_community(live_services)
    add_residents(live_services, town, "telegram", ["7100001"])
    # 07:30 UTC on a July morning is 08:30 in London (BST): still quiet until 08:00 UTC.
    with time_machine.travel(datetime(2026, 7, 1, 7, 30, tzinfo=UTC), tick=True):
        _launch(live_services, town)
        with live_services.db.session_scope() as session:
            due = session.scalar(select(OutboundMessage.next_attempt_at))
    assert due == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_killing_the_sender_between_claim_and_send_loses_nothing(live_services, telegram_api):
    town = add_community(live_services, **ALWAYS_OPEN)
    chats = [str(8_000_000 + n) for n in range(20)]
    add_residents(live_services, town, "telegram", chats)
    _launch(live_services, town)
    crashed = fast_sender(live_services, TEST_LIMITS)
    claimed = crashed.claim(("telegram",), limit=8)
    assert len(claimed) == 8  # ...and the process dies here, before sending any of them.
    crashed.stop()

    restarted = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(restarted, live_services)
    assert len(telegram_api.sent_texts()) == 12, "claimed rows wait for their claim to expire"
    assert reclaim_stuck(live_services.db, now=datetime.now(UTC) + timedelta(minutes=6)) == 8
    send_until_idle(restarted, live_services)
    restarted.stop()
    copies = Counter(str(c.params["chat_id"]) for c in telegram_api.calls_for("sendMessage"))
    assert copies == Counter({chat: 1 for chat in chats})


def test_a_stopping_sender_hands_back_what_it_has_not_sent(live_services, telegram_api):
    town = add_community(live_services, **ALWAYS_OPEN)
    add_residents(live_services, town, "telegram", [str(8_100_000 + n) for n in range(10)])
    _launch(live_services, town)
    slow = PacingLimits(telegram_per_second=2, telegram_per_chat_per_second=1)
    sender = fast_sender(live_services, slow)
    telegram_api.hang_next("sendMessage", 0.3)
    # Ask it to stop while it waits for its pace: what it sent is sent, the rest is queued.
    import threading

    threading.Timer(0.6, sender.stopping.set).start()
    sender.run_lane_once("telegram")
    sender.stop()
    with live_services.db.session_scope() as session:
        states = Counter(session.scalars(select(OutboundMessage.status)))
    assert states["sending"] == 0
    assert states["sent"] == len(telegram_api.sent_texts()) >= 1
    assert states["queued"] == 10 - states["sent"]


def test_twilio_status_callbacks_reach_rows_the_sender_sent(live_services, live_client, twilio_api):
    town = add_community(live_services, **ALWAYS_OPEN)
    add_residents(live_services, town, "sms", ["+447700900555"])
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    (message,) = twilio_api.messages()
    assert message.status_callback == "https://voices.example.org/webhooks/twilio/status"
    for status in ("delivered", "sent"):  # out of order: "sent" must not undo "delivered"
        response = post_twilio(
            live_client,
            "/webhooks/twilio/status",
            {"MessageSid": message.sid, "MessageStatus": status, "AccountSid": "AC1"},
        )
        assert response.status_code == 204
    with live_services.db.session_scope() as session:
        row = session.scalar(select(OutboundMessage))
    assert (row.provider_id, row.status) == (message.sid, "delivered")


def test_a_second_fan_out_of_the_same_campaign_queues_nothing_more(services):
    town = add_community(services, **ALWAYS_OPEN)
    add_residents(services, town, "simulator", [f"sim-resident{n:04d}" for n in range(30)])
    campaign_id = _launch(services, town)
    with services.db.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        assert fanout.fan_out(session, campaign) == 0
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 30


def _scheduled(services, town: int) -> int:  # type: ignore[no-untyped-def]
    """A campaign committed to run now and not yet fanned out, as `voices campaign launch` or
    the worker at its start time finds it."""
    with services.db.session_scope() as session:
        community = session.get(Community, town)
        return launch(session, community, parse_prompt_file(FESTIVAL), fan_out_now=False).id


def _queued_per_resident(services) -> Counter:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return Counter(session.scalars(select(OutboundMessage.resident_id)))


def test_a_large_scheduled_launch_is_queued_in_parts_once_per_resident(services, monkeypatch):
    monkeypatch.setattr(fanout, "PARTS_AFTER", 10)
    monkeypatch.setattr(fanout, "PART_SIZE", 7)
    town = add_community(services, **ALWAYS_OPEN)
    add_residents(services, town, "simulator", [f"sim-resident{n:04d}" for n in range(45)])
    add_residents(services, town, "simulator", ["sim-gone"], status="opted_out")
    campaign_id = _scheduled(services, town)
    with services.db.session_scope() as session:
        parts = fanout._parts(session, town)
        assert fanout.activate_due(session) == 45
    # Seven parts of seven ids; on PostgreSQL each commits on a connection of its own, SQLite
    # (one writer) queues them all in one go.
    assert len(parts) == 7
    queued = _queued_per_resident(services)
    assert len(queued) == 45 and set(queued.values()) == {1}
    if services.db.is_postgresql:
        with services.db.session_scope() as session:
            transactions = session.scalar(
                text("SELECT count(DISTINCT xmin::text) FROM outbound_messages")
            )
        assert transactions == 7
    with services.db.session_scope() as session:
        assert session.get(Campaign, campaign_id).fanned_out_at is not None
        assert fanout.activate_due(session) == 0


def test_a_launch_cut_short_after_some_parts_is_finished_by_the_next_activation(
    services, monkeypatch
):
    """A worker that died after committing some parts: the next activation queues the rest."""
    monkeypatch.setattr(fanout, "PARTS_AFTER", 10)
    monkeypatch.setattr(fanout, "PART_SIZE", 10)
    town = add_community(services, **ALWAYS_OPEN)
    add_residents(services, town, "simulator", [f"sim-resident{n:04d}" for n in range(40)])
    campaign_id = _scheduled(services, town)
    with services.db.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        first = min(campaign.prompts, key=lambda prompt: prompt.position)
        launch_values = fanout._Launch(
            campaign.id, town, campaign.language, first.id, dict(first.text), datetime.now(UTC)
        )
        low, high = fanout._parts(session, town)[1]
    # Only the second part got committed before the worker died.
    with services.db.session_scope() as session:
        assert (
            fanout._queue_first_prompt(session, launch_values, datetime.now(UTC), (low, high)) == 10
        )
    with services.db.session_scope() as session:
        assert fanout.activate_due(session) == 30
    queued = _queued_per_resident(services)
    assert len(queued) == 40 and set(queued.values()) == {1}


def test_a_large_launch_leaves_the_planner_statistics_of_what_it_queued(services, monkeypatch):
    if not services.db.is_postgresql:
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(fanout, "ANALYZE_AFTER", 20)
    town = add_community(services, **ALWAYS_OPEN)
    add_residents(services, town, "simulator", [f"sim-resident{n:04d}" for n in range(40)])
    _launch(services, town)
    with services.db.engine.connect() as connection:
        counted = dict(
            connection.execute(
                text(
                    "SELECT relname, reltuples FROM pg_class WHERE relnamespace ="
                    " current_schema()::regnamespace"
                    " AND relname IN ('outbound_messages', 'assignments')"
                )
            ).all()
        )
    # What the sender's claim is planned with: 40 queued rows, not an empty table.
    assert counted == {"outbound_messages": 40, "assignments": 40}


def test_residents_busy_with_another_campaign_get_the_new_one_after_answering(services):
    from tests.helpers import Phone, add_campaign

    add_community(services, **ALWAYS_OPEN)
    first = """slug: first\ntitle: First\nprompts:\n  - id: a\n    text: Question A?\n"""
    add_campaign(services, source=first)
    phone = Phone(services, address="sim-busyresident01", channel="simulator")
    assert phone.join()[-1].endswith("Question A?")
    with services.db.session_scope() as session:
        community = session.scalar(select(Community))
        launch(session, community, parse_prompt_file(FESTIVAL))
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.kind == "prompt", OutboundMessage.in_reply_to_id.is_(None))
            )
            == 0
        ), "no campaign send while another prompt is pending"
    assert phone.send("my answer to A")[-1] == FIRST_PROMPT


def test_a_telegram_reply_that_failed_is_sent_later_by_the_sender(
    live_services, live_client, telegram_api
):
    import json as jsonlib

    from tests.conftest import TELEGRAM_SECRET, load_telegram

    add_community(live_services)

    def post(name: str) -> int:
        return live_client.post(
            "/webhooks/telegram",
            data=jsonlib.dumps(load_telegram(name)),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        ).status_code

    assert post("start_payload") == 200  # the welcome travels in the webhook answer
    telegram_api.fail_next("sendMessage", 500, "Internal Server Error")
    assert post("callback_join") == 200  # a pressed button is answered through the Bot API
    with live_services.db.session_scope() as session:
        failed = session.scalars(
            select(OutboundMessage.text).where(OutboundMessage.status == "failed")
        ).all()
    assert len(failed) == 1
    assert [c.via for c in telegram_api.calls_for("sendMessage") if c.status == 200] == [
        "webhook-answer"
    ]
    sender = fast_sender(live_services, TEST_LIMITS)
    later = datetime.now(UTC) + timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        send_until_idle(sender, live_services)
    sender.stop()
    welcome, joined = telegram_api.sent_texts()
    assert "YES" in welcome and joined == failed[0]


def test_sms_leaves_from_the_number_the_community_s_residents_text(live_services, twilio_api):
    town = add_community(live_services, sms_number="+447700900999", **ALWAYS_OPEN)
    add_residents(live_services, town, "sms", ["+447700900556"])
    _launch(live_services, town)
    sender = fast_sender(live_services, TEST_LIMITS)
    send_until_idle(sender, live_services)
    sender.stop()
    (message,) = twilio_api.messages()
    assert (message.from_, message.to, message.body) == (
        "+447700900999",
        "+447700900556",
        FIRST_PROMPT,
    )


def test_a_row_that_falls_due_in_quiet_hours_waits_for_the_morning(live_services, telegram_api):
    town = add_community(live_services, **ALWAYS_OPEN)
    add_residents(live_services, town, "telegram", ["7200001"])
    # Queued at 21:00 while the community had no quiet hours; they are set before it leaves.
    with time_machine.travel(datetime(2026, 12, 1, 21, 0, tzinfo=UTC), tick=True):
        _launch(live_services, town)
        with live_services.db.session_scope() as session:
            community = session.get(Community, town)
            community.quiet_start, community.quiet_end = "20:00", "09:00"
        sender = fast_sender(live_services, TEST_LIMITS)
        assert sender.run_lane_once("telegram") == 0
        with live_services.db.session_scope() as session:
            row = session.scalar(select(OutboundMessage))
        assert (row.status, row.next_attempt_at) == (
            "queued",
            datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        )
        sender.stop()
    assert telegram_api.sent_texts() == []
