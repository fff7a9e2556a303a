"""A resident who finishes a campaign is thanked with the link to what everyone said, when the
community has published its results page; never on a call, where a link cannot be followed."""

from __future__ import annotations

import secrets

import pytest

from storage.publishing import set_published
from tests.conftest import PUBLIC_BASE_URL, load_twilio, post_twilio
from tests.helpers import Phone, add_campaign, add_community
from tests.test_sms_webhook import PATH, twiml_messages
from tests.voice_support import Call, said

CAMPAIGN_THANKS = "Thank you! Your words go straight to the planning group."
LINK_LINE = f"See what everyone said: {PUBLIC_BASE_URL}/results/cumnock"


def _town(services, *, published: bool):  # type: ignore[no-untyped-def]
    community_id = add_community(services, sms_number="+447700900000")
    add_campaign(services)
    with services.db.session_scope() as session:
        set_published(session, community_id, published)
    return services


def _text(client, body: str) -> list[str]:  # type: ignore[no-untyped-def]
    params = load_twilio("sms_answer", Body=body, MessageSid="SM" + secrets.token_hex(16))
    response = post_twilio(client, PATH, params)
    assert response.status_code == 200
    return twiml_messages(response)


def _finish_by_sms(client) -> list[str]:  # type: ignore[no-untyped-def]
    for fixture in ("sms_keyword", "sms_yes"):
        assert post_twilio(client, PATH, load_twilio(fixture)).status_code == 200
    assert _text(client, "Lanterns along the river")[0].startswith("Would you like to help")
    return _text(client, "I could bake for the stalls")


def test_finishing_a_campaign_by_sms_ends_the_thanks_with_the_results_link(client, services):
    _town(services, published=True)
    assert _finish_by_sms(client) == [f"{CAMPAIGN_THANKS}\n{LINK_LINE}"]


def test_no_link_while_the_results_page_is_unpublished(client, services):
    _town(services, published=False)
    assert _finish_by_sms(client) == [CAMPAIGN_THANKS]


def test_no_link_where_the_caller_gives_no_base_url(services):
    _town(services, published=True)
    phone = Phone(services)
    phone.join()
    phone.send("Lanterns along the river")
    assert phone.send("I could bake for the stalls") == [CAMPAIGN_THANKS]


@pytest.mark.parametrize("published", [True, False], ids=["published", "unpublished"])
def test_a_caller_who_finishes_hears_the_thanks_and_no_link(client, services, published):
    _town(services, published=published)
    call = Call(client)
    call.start()
    call.press("1")
    call.say("Lanterns along the river.")
    heard = said(call.say("I could bake for the stalls."))
    assert CAMPAIGN_THANKS in heard
    assert not any("results" in line or "See what" in line for line in heard)
