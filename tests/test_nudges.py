"""Quiet residents are asked again kindly, inside sending hours, and never pestered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from bot.campaigns import nudges
from storage.models import Assignment, Community, OutboundMessage, Prompt, Resident, Response
from tests.helpers import Phone, add_campaign, add_community, deliver_queued

PARK = """\
slug: park
title: The park
prompts:
  - id: wish
    text: What would make the park better?
  - id: when
    text: When do you use the park?
nudge:
  after: 2d
  max: 2
  text:
    en: Still keen to hear from you. What would make the park better?
    gd: Fhathast airson cluinntinn bhuat. Dè a dhèanadh a' phàirc nas fheàrr?
thanks: Thank you!
"""
PARK_WITHOUT_NUDGES = PARK.split("nudge:")[0]
NUDGE_TEXT = "Still keen to hear from you. What would make the park better?"
# 1 December 2026, 10:00 UTC: winter, so London local time is UTC.
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(moment: datetime):  # type: ignore[no-untyped-def]
    """Freeze the clock at `moment`."""
    return time_machine.travel(moment, tick=False)


def sweep(services, moment: datetime, **options) -> nudges.SweepReport:  # type: ignore[no-untyped-def]
    with at(moment), services.db.session_scope() as session:
        return nudges.sweep(session, moment, **options)


def queued(services, kind: str = "nudge") -> list[tuple[str, datetime, int]]:  # type: ignore[no-untyped-def]
    """(text, not before, resident id) of every queued outbox row of a kind, in queue order."""
    with services.db.session_scope() as session:
        rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == kind).order_by(OutboundMessage.id)
        ).all()
        return [(row.text, row.next_attempt_at, row.resident_id) for row in rows]


def resident_id(services, phone: Phone) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        address_hash = services.vault.address_hash(phone.channel, phone.address)
        return session.scalars(
            select(Resident.id).where(Resident.address_hash == address_hash)
        ).one()


def statuses(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(session.scalars(select(Assignment.status).order_by(Assignment.id)))


@pytest.fixture
def park(services):  # type: ignore[no-untyped-def]
    with at(T0 - timedelta(hours=1)):
        add_community(services)
        add_campaign(services, source=PARK)
    return services


def join_at(services, moment: datetime, address: str = "+447700900123", **extra) -> Phone:  # type: ignore[no-untyped-def]
    phone = Phone(services, address=address, **extra)
    with at(moment):
        phone.join()
    return phone


def test_a_quiet_resident_is_nudged_after_two_days_twice_at_most_then_stalled(park):
    join_at(park, T0)
    assert sweep(park, T0 + timedelta(days=1, hours=23)).queued() == 0
    first = sweep(park, T0 + timedelta(days=2))
    assert first.counts["cumnock"][nudges.NUDGE_NEVER_HEARD] == 1
    assert queued(park) == [(NUDGE_TEXT, T0 + timedelta(days=2), queued(park)[0][2])]
    # Spaced by `after`: nothing new until two days after the first nudge.
    assert sweep(park, T0 + timedelta(days=3, hours=23)).queued() == 0
    assert sweep(park, T0 + timedelta(days=4)).queued() == 1
    assert len(queued(park)) == 2
    assert statuses(park) == ["pending"]
    # After the last nudge and `after` again with no answer: stalled, not failed, nothing sent.
    report = sweep(park, T0 + timedelta(days=6))
    assert report.counts["cumnock"][nudges.STALLED] == 1
    assert statuses(park) == ["stalled"]
    assert sweep(park, T0 + timedelta(days=8)).queued() == 0
    assert len(queued(park)) == 2


def test_the_nudge_is_in_the_residents_language(park):
    join_at(park, T0, address="5550001", channel="telegram", language="gd")
    sweep(park, T0 + timedelta(days=2))
    assert queued(park)[0][0].startswith("Fhathast")


def test_a_late_reply_after_stalling_attaches_to_the_stalled_prompt(park):
    phone = join_at(park, T0)
    for days in (2, 4, 6):
        sweep(park, T0 + timedelta(days=days))
    assert statuses(park) == ["stalled"]
    with at(T0 + timedelta(days=9)):
        replies = phone.send("Benches by the pond")
    assert replies == ["When do you use the park?"]
    with park.db.session_scope() as session:
        response = session.scalars(select(Response)).one()
        assert session.get(Prompt, response.prompt_id).key == "wish"
    assert statuses(park) == ["answered", "pending"]


def test_an_answer_stops_the_nudges(park):
    phone = join_at(park, T0)
    with at(T0 + timedelta(days=1)):
        phone.send("A playground")
    # The second prompt was put a day later, so its first nudge is due two days after that.
    assert sweep(park, T0 + timedelta(days=2)).queued() == 0
    assert sweep(park, T0 + timedelta(days=3)).queued() == 1


def test_a_double_sweep_queues_nothing_twice_and_a_dry_run_queues_nothing(park):
    join_at(park, T0)
    due = T0 + timedelta(days=2)
    dry = sweep(park, due, dry_run=True)
    assert dry.queued() == 1 and queued(park) == []
    assert sweep(park, due).queued() == 1
    assert sweep(park, due).queued() == 0
    assert sweep(park, due + timedelta(minutes=5)).queued() == 0
    assert len(queued(park)) == 1


def test_opted_out_unreachable_and_erased_residents_are_never_nudged_or_checked_in(park):
    stays = join_at(park, T0, address="+447700900001")
    stopped = join_at(park, T0, address="+447700900002")
    erased = join_at(park, T0, address="+447700900003")
    unreachable = join_at(park, T0, address="+447700900004")
    with at(T0 + timedelta(hours=1)):
        stopped.send("STOP")
        erased.send("DELETE")
        erased.send("CONFIRM")
    with park.db.session_scope() as session:
        # What the sender records when a provider says the number or chat no longer exists.
        session.get(Resident, resident_id(park, unreachable)).status = "unreachable"
    for days in range(1, 40):
        sweep(park, T0 + timedelta(days=days))
    reached = {row[2] for row in queued(park) + queued(park, "checkin")}
    assert reached == {resident_id(park, stays)}
    assert len(queued(park)) == 2 and len(queued(park, "checkin")) == 1


@pytest.mark.parametrize(
    "quiet_moment",
    ["2026-12-03T21:30", "2026-12-03T23:59", "2026-12-04T00:30", "2026-12-04T08:59"],
)
def test_no_nudge_is_queued_in_quiet_hours_across_midnight(park, quiet_moment):
    join_at(park, datetime(2026, 12, 1, 21, 30, tzinfo=UTC))
    moment = datetime.fromisoformat(quiet_moment).replace(tzinfo=UTC)
    report = sweep(park, moment)
    assert report.queued() == 0
    assert report.counts["cumnock"][nudges.WAIT_QUIET] == 1
    morning = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert sweep(park, morning).queued() == 1
    assert queued(park)[0][1] == morning


@pytest.mark.parametrize(
    ("joined", "still_quiet", "opens"),
    [
        # Clocks go back at 01:00 UTC on 25 October 2026: 09:00 local is 09:00 UTC that morning.
        ("2026-10-22T20:30", "2026-10-25T08:00", "2026-10-25T09:00"),
        # Clocks go forward at 01:00 UTC on 29 March 2026: 09:00 local is 08:00 UTC that morning.
        ("2026-03-26T21:30", "2026-03-29T07:59", "2026-03-29T08:00"),
    ],
    ids=["autumn", "spring"],
)
def test_nudges_follow_the_europe_london_clock_change(services, joined, still_quiet, opens):
    start = datetime.fromisoformat(joined).replace(tzinfo=UTC)
    with at(start - timedelta(hours=1)):
        add_community(services)
        add_campaign(services, source=PARK)
    join_at(services, start)
    assert sweep(services, datetime.fromisoformat(still_quiet).replace(tzinfo=UTC)).queued() == 0
    open_at = datetime.fromisoformat(opens).replace(tzinfo=UTC)
    assert sweep(services, open_at).queued() == 1
    assert queued(services)[0][1] == open_at


HOURLY = """\
slug: {slug}
title: {slug}
prompts:
  - id: q
    text: {question}
nudge: {{after: 1h, max: 1, text: "{nudge}"}}
"""


@pytest.mark.parametrize(("gap_hours", "second_nudge_hours"), [(24, 25), (2, 3)])
def test_one_nudge_a_day_across_two_campaigns(services, gap_hours, second_nudge_hours):
    with at(T0 - timedelta(hours=1)):
        add_community(services, nudge_gap_hours=gap_hours)
        for slug, question in (("bins", "How are the bins?"), ("buses", "How are the buses?")):
            nudge = f"Any thoughts on the {slug}?"
            add_campaign(services, source=HOURLY.format(slug=slug, question=question, nudge=nudge))
    phone = join_at(services, T0)
    assert sweep(services, T0 + timedelta(hours=1)).queued() == 1
    with at(T0 + timedelta(hours=1, minutes=30)):
        assert phone.send("Too few")[-1] == "How are the buses?"
    # The buses prompt is due a nudge after an hour, but one nudge was already sent today.
    report = sweep(services, T0 + timedelta(hours=2, minutes=30))
    assert report.queued() == 0
    assert report.counts["cumnock"][nudges.WAIT_GAP] == 1
    assert sweep(services, T0 + timedelta(hours=second_nudge_hours - 1)).queued() == 0
    assert sweep(services, T0 + timedelta(hours=second_nudge_hours)).queued() == 1
    assert [row[0] for row in queued(services)] == [
        "Any thoughts on the bins?",
        "Any thoughts on the buses?",
    ]


def test_a_resident_quiet_for_thirty_days_gets_one_check_in_with_the_current_prompt(services):
    with at(T0 - timedelta(hours=1)):
        add_community(services)
    phone = join_at(services, T0)
    with at(T0 + timedelta(hours=1)):
        phone.send("The library closes too early")  # an open response: heard at T0 + 1h
    with at(T0 + timedelta(days=10)):
        add_campaign(services, source=PARK_WITHOUT_NUDGES)
    assert sweep(services, T0 + timedelta(days=30)).queued() == 0  # 29 days 23 hours
    report = sweep(services, T0 + timedelta(days=30, hours=1))
    assert report.counts["cumnock"][nudges.CHECKIN] == 1
    [(text, _, _)] = queued(services, "checkin")
    assert text.startswith("Hello from Cumnock Voices! It's been a while")
    assert text.endswith("What would make the park better?")
    # One per silence: nothing more however long the quiet lasts.
    for days in (31, 45, 59):
        assert sweep(services, T0 + timedelta(days=days, hours=2)).queued() == 0
    # The reply answers the prompt the check-in carried; a new silence may bring a new check-in.
    deliver_queued(services)  # the worker's sender delivered the prompt and the check-in
    with at(T0 + timedelta(days=60)):
        assert phone.send("More benches") == ["When do you use the park?"]
    with services.db.session_scope() as session:
        answered = session.scalars(select(Response).order_by(Response.id)).all()[-1]
        assert session.get(Prompt, answered.prompt_id).key == "wish"
    assert sweep(services, T0 + timedelta(days=90, hours=1)).queued() == 1
    assert len(queued(services, "checkin")) == 2


def test_check_in_days_are_a_community_setting_and_without_a_prompt_it_is_open(services):
    with at(T0 - timedelta(hours=1)):
        add_community(services, checkin_after_days=7)
    join_at(services, T0)
    assert sweep(services, T0 + timedelta(days=7)).queued() == 1
    [(text, _, _)] = queued(services, "checkin")
    assert "Tell us anything" in text


def test_never_heard_go_first_then_not_heard_in_this_campaign_then_longest_silence(services):
    with at(T0 - timedelta(days=21)):
        add_community(services)
        add_campaign(services, source=HOURLY.format(slug="old", question="Old?", nudge="Old?"))
        add_campaign(services, source=PARK)
    # Two answer the old campaign, long ago and recently, and so get the park prompt then.
    talked_long_ago = join_at(services, T0 - timedelta(days=20), address="+447700900001")
    talked_recently = join_at(services, T0 - timedelta(days=20), address="+447700900002")
    with at(T0 - timedelta(days=19)):
        talked_long_ago.send("fine")
    with at(T0 - timedelta(days=2)):
        talked_recently.send("fine")
    # Two never say anything at all.
    never_late = join_at(services, T0 - timedelta(days=1), address="+447700900003")
    never_early = join_at(services, T0 - timedelta(days=5), address="+447700900004")
    sweep(services, T0 + timedelta(hours=1))
    order = [row[2] for row in queued(services)]
    expected = [never_early, never_late, talked_long_ago, talked_recently]
    assert order == [resident_id(services, phone) for phone in expected]


def test_a_sweep_limit_nudges_the_first_in_order_and_counts_the_rest_as_waiting(park):
    for number in range(3):
        join_at(park, T0 + timedelta(minutes=number), address=f"+44770090010{number}")
    report = sweep(park, T0 + timedelta(days=2, hours=1), limit=2)
    assert report.queued() == 2
    assert report.counts["cumnock"][nudges.WAIT_BUDGET] == 1
    with park.db.session_scope() as session:
        community = session.scalars(select(Community)).one()
        assert community.nudge_gap_hours == 24 and community.checkin_after_days == 30
