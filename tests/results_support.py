"""Residents who answer a campaign and agree to be quoted, for the public results page's tests."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import Services
from storage.models import Community, Response
from storage.publishing import set_published
from tests.helpers import Phone, add_campaign, add_community

RESULTS = "/results/cumnock"
CAMPAIGN_PAGE = "/admin/communities/cumnock/campaigns/festival-ideas/"


def town(services: Services, published: bool = True) -> int:
    """Cumnock (no quiet hours) running the festival campaign; published unless told not."""
    add_community(services, "cumnock", "Cumnock", quiet_start=None, quiet_end=None)
    campaign_id = add_campaign(services)
    publish(services, published)
    return campaign_id


def publish(services: Services, published: bool = True) -> None:
    with services.db.session_scope() as session:
        found = session.scalar(select(Community.id).where(Community.slug == "cumnock"))
        set_published(session, found, published)


def residents_answer(
    services: Services, answers: list[str], quotable: bool = True, first: int = 10
) -> list[Phone]:
    """Each answer from a new resident, who then answers the second question and the quote one."""
    phones = []
    for number, answer in enumerate(answers, start=first):
        phone = Phone(services, f"+4477009001{number:02d}")
        phone.join()
        phone.send(answer)
        phone.send("I could help set up the stalls")
        phone.send("YES" if quotable else "NO")
        phones.append(phone)
    return phones


def response_id(services: Services, text: str) -> int:
    with services.db.session_scope() as session:
        found = session.scalar(select(Response.id).where(Response.text == text))
        assert found is not None, f"no response {text!r}"
        return found
