"""A flood of disclosures: every one in the lead's queue, but the lead is not flooded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.conversation import inbox, safeguarding
from bot.conversation.snapshot import Limits
from bot.messages import Inbound
from storage.models import Community, OutboundMessage, SafeguardingAlert, utcnow
from tests.helpers import Phone, add_campaign, add_community

LIMITS = Limits(replies=20, window=timedelta(minutes=10), lead_alerts_per_hour=10)
DISCLOSURE = "I want to die"


def _town(services) -> None:  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    with services.db.session_scope() as session:
        community = session.scalar(select(Community))
        safeguarding.set_lead(session, services.vault, community, "sms", "+447700900555")


def _disclose(services, address: str, number: int, channel: str = "sms") -> list[str]:  # type: ignore[no-untyped-def]
    message = Inbound(channel, address, DISCLOSURE, f"d-{address}-{number}", utcnow(), raw={})
    reception = inbox.receive(services.db, services.vault, message, limits=LIMITS)
    return [reply.text for reply in reception.replies]


def _lead_messages(services) -> list[OutboundMessage]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.kind == "safeguarding")
                .order_by(OutboundMessage.id)
            )
        )


def test_two_hundred_disclosures_from_one_resident_reach_the_queue_and_the_lead_once(services):
    _town(services)
    Phone(services).join()
    for number in range(200):
        _disclose(services, Phone(services).address, number)
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SafeguardingAlert)) == 200
    lead = _lead_messages(services)
    assert len(lead) == 1
    assert "200 messages from one resident" in lead[0].text


def test_many_residents_reach_the_lead_up_to_the_hourly_cap_then_in_one_digest(services):
    _town(services)
    for number in range(15):
        phone = Phone(services, address=f"+4477009001{number:02d}")
        phone.join()
        _disclose(services, phone.address, number)
    lead = _lead_messages(services)
    individual = [row for row in lead if row.dedupe_key.startswith("safeguarding:")]
    digests = [row for row in lead if row.dedupe_key.startswith("safeguarding-digest:")]
    assert len(individual) == LIMITS.lead_alerts_per_hour
    assert len(digests) == 1 and "5 more messages" in digests[0].text
    # The digest waits for the end of its hour, so it can count what comes after it.
    assert digests[0].next_attempt_at > utcnow()
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SafeguardingAlert)) == 15


def test_after_stop_a_disclosure_still_reaches_the_lead_and_telegram_still_gets_help(services):
    _town(services)
    sms = Phone(services)
    sms.join()
    sms.send("STOP")
    assert _disclose(services, sms.address, 1) == []  # the provider blocks SMS after STOP
    telegram = Phone(services, address="5551", channel="telegram")
    telegram.send("/start cumnock")
    telegram.send("YES")
    telegram.send("/stop")
    replies = _disclose(services, "5551", 2, channel="telegram")
    assert len(replies) == 1 and "999" in replies[0]
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SafeguardingAlert)) == 2
