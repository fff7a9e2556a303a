"""From the campaign page: "you said, we did" to those who answered; erasure reaches the counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import OutboundMessage
from tests.admin_support import add_user, error_beside, flash_box, log_in, post_form
from tests.helpers import Phone, add_campaign, add_community

PAGE = "/admin/communities/cumnock/campaigns/festival-ideas/"


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock", quiet_start=None, quiet_end=None)
    add_campaign(services)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def report_backs(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return list(
            session.scalars(
                select(OutboundMessage.text).where(OutboundMessage.kind == "report_back")
            )
        )


def test_a_report_back_goes_to_everyone_who_answered_and_no_one_else(client, organiser):
    answered, quiet, stopped = (Phone(organiser, f"+4477009000{n}") for n in (11, 12, 13))
    for phone in (answered, quiet, stopped):
        phone.join()
    answered.send("A ceilidh")
    stopped.send("Fireworks")
    stopped.send("STOP")
    update = "You said the square needs music, so the ceilidh band is booked for 12 Dec."
    response = post_form(client, PAGE, {"text": update}, PAGE + "report-back")
    assert response.status_code == 302
    assert "on its way to 1 resident" in client.get(PAGE).get_data(as_text=True)
    assert report_backs(organiser) == [update]


def test_a_second_report_back_needs_the_organiser_to_confirm_it(client, organiser):
    Phone(organiser).join()
    Phone(organiser).send("A ceilidh")
    first = "The ceilidh band is booked for 12 Dec."
    assert post_form(client, PAGE, {"text": first}, PAGE + "report-back").status_code == 302
    again = "And the square gets lights too."
    html = post_form(client, PAGE, {"text": again}, PAGE + "report-back").get_data(as_text=True)
    assert "already sent on" in error_beside(html, "text")
    assert again in html  # kept, with the tick to send it anyway
    assert report_backs(organiser) == [first]
    confirmed = {"text": again, "another": "y"}
    assert post_form(client, PAGE, confirmed, PAGE + "report-back").status_code == 302
    assert report_backs(organiser) == [first, again]


def test_a_report_back_too_long_is_an_error_beside_it_and_the_text_is_kept(client, organiser):
    Phone(organiser).join()
    Phone(organiser).send("A ceilidh")
    typed = "Thanks! " * 60
    html = post_form(client, PAGE, {"text": typed}, PAGE + "report-back").get_data(as_text=True)
    assert error_beside(html, "text").startswith("Not sent: the report-back text is 479 characters")
    assert "Not sent" not in flash_box(html)
    assert typed.strip() in html  # still in the box, ready to shorten
    assert report_backs(organiser) == []


def test_an_empty_report_back_says_what_to_write(client, organiser):
    html = post_form(client, PAGE, {"text": "   "}, PAGE + "report-back").get_data(as_text=True)
    assert error_beside(html, "text") == "Write the update before sending it."
    assert report_backs(organiser) == []


def test_erasure_reaches_the_community_page_counts(client, organiser):
    phone = Phone(organiser)
    phone.join()
    phone.send("More benches")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert '<dd id="joined">1</dd>' in page
    phone.send("DELETE")
    phone.send("CONFIRM")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert '<dd id="joined">0</dd>' in page
    responses = client.get("/admin/communities/cumnock/responses")
    assert responses.status_code == 200
    assert "More benches" not in responses.get_data(as_text=True)


def test_the_funnel_counts_sent_delivered_answered_and_stalled(client, organiser):
    import re

    from sqlalchemy import update

    from storage.models import Assignment

    phones = [Phone(organiser, f"+4477009001{n}") for n in range(4)]
    for phone in phones:
        phone.join()  # each gets the first prompt in the reply
    with organiser.db.session_scope() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "prompt")
            .order_by(OutboundMessage.id)
        ).all()
        assert all(row.campaign_id is not None for row in rows)
        for row, status in zip(rows, ("sent", "delivered", "delivered", "queued"), strict=True):
            row.status = status  # as the provider's status callbacks would have it
        session.execute(
            update(Assignment)
            .where(Assignment.resident_id == rows[0].resident_id)
            .values(status="stalled")
        )
    phones[1].send("A ceilidh")
    page = re.sub(r">\s+<", "><", client.get("/admin/communities/cumnock/").get_data(as_text=True))
    # Waiting: the fourth first prompt, and the second prompt that followed the answer.
    expected = {"Sent": 3, "Delivered": 2, "Stalled": 1, "Waiting to send": 2}
    for label, number in expected.items():
        assert f"<dt>{label}</dt><dd>{number}</dd>" in page, label
    assert "<dt>Answered</dt><dd>1</dd>" in page
