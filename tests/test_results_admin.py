"""Organisers publish the results page, write "you said, we did" updates and approve quotes."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage.models import CampaignUpdate, Community, OutboundMessage
from tests.admin_support import add_user, csrf_token, error_beside, log_in, post_form
from tests.conftest import PUBLIC_BASE_URL
from tests.helpers import add_community
from tests.results_support import (
    CAMPAIGN_PAGE,
    RESULTS,
    publish,
    residents_answer,
    response_id,
    town,
)
from webhooks.cli import cli

COMMUNITY_PAGE = "/admin/communities/cumnock/"
MUSIC = [f"Music in the square, idea {n}" for n in range(5)]


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    town(services, published=False)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def published(services) -> bool:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return bool(session.scalar(select(Community.results_published)))


def test_an_organiser_publishes_and_takes_down_the_page_from_the_community_page(client, organiser):
    assert client.get(RESULTS).status_code == 404
    post_form(client, COMMUNITY_PAGE, {"publish": "y"}, COMMUNITY_PAGE + "publish")
    assert published(organiser)
    assert client.get(RESULTS).status_code == 200  # at once, though the 404 was cached
    assert f"{PUBLIC_BASE_URL}/results/cumnock" in client.get(COMMUNITY_PAGE).get_data(as_text=True)
    post_form(client, COMMUNITY_PAGE, {}, COMMUNITY_PAGE + "publish")
    assert not published(organiser)
    assert client.get(RESULTS).status_code == 404


def test_publishing_needs_the_forms_token(client, organiser):
    assert client.post(COMMUNITY_PAGE + "publish", data={"publish": "y"}).status_code == 400
    assert not published(organiser)


@pytest.mark.parametrize(
    ("role", "communities", "status"),
    [("organiser", ("elsewhere",), 404), ("staff", ("cumnock",), 403)],
    ids=["another-communitys-organiser", "staff"],
)
def test_only_this_communitys_organisers_and_admins_may_publish(
    client, services, role, communities, status
):
    town(services, published=False)
    add_community(services, "elsewhere", "Elsewhere")
    add_user(services, "other@example.org", role, communities)
    log_in(client, "other@example.org")
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    response = client.post(COMMUNITY_PAGE + "publish", data={"publish": "y", "csrf_token": token})
    assert response.status_code == status
    assert not published(services)


def test_voices_community_publish_and_off(cli_env, services):
    town(services, published=False)
    result = CliRunner().invoke(cli, ["community", "publish", "cumnock"], catch_exceptions=False)
    assert result.exit_code == 0 and "/results/cumnock" in result.output
    assert published(services)
    result = CliRunner().invoke(cli, ["community", "publish", "cumnock", "--off"])
    assert result.exit_code == 0 and "taken down" in result.output
    assert not published(services)
    result = CliRunner().invoke(cli, ["community", "publish", "nowhere"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def updates(services) -> list[tuple[str, date, str]]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        rows = session.scalars(select(CampaignUpdate).order_by(CampaignUpdate.id))
        return [(row.text, row.happened_on, row.status) for row in rows]


def test_an_organiser_writes_edits_and_removes_an_update_shown_on_the_page(client, organiser):
    publish(organiser)
    typed = {"text": "The ceilidh band is booked", "happened_on": "2026-12-12", "status": "planned"}
    assert post_form(client, CAMPAIGN_PAGE, typed, CAMPAIGN_PAGE + "updates").status_code == 302
    assert updates(organiser) == [("The ceilidh band is booked", date(2026, 12, 12), "planned")]
    html = client.get(RESULTS).get_data(as_text=True)
    assert "The ceilidh band is booked" in html and "12 December 2026" in html
    assert "Planned" in html
    with organiser.db.session_scope() as session:
        update_id = session.scalar(select(CampaignUpdate.id))
    done = {**typed, "status": "done", "text": "The ceilidh band played"}
    post_form(client, CAMPAIGN_PAGE, done, f"{CAMPAIGN_PAGE}updates/{update_id}")
    assert "The ceilidh band played" in client.get(RESULTS).get_data(as_text=True)
    post_form(client, CAMPAIGN_PAGE, {}, f"{CAMPAIGN_PAGE}updates/{update_id}/delete")
    assert updates(organiser) == []
    assert "ceilidh" not in client.get(RESULTS).get_data(as_text=True)


def test_an_update_without_text_is_an_error_beside_it(client, organiser):
    typed = {"text": " ", "happened_on": "2026-12-12", "status": "done"}
    html = post_form(client, CAMPAIGN_PAGE, typed, CAMPAIGN_PAGE + "updates").get_data(as_text=True)
    assert error_beside(html, "update-text") == "Write what was done with what residents said."
    assert updates(organiser) == []


def test_another_communitys_organiser_cannot_touch_the_updates(client, organiser):
    typed = {"text": "Ours", "happened_on": "2026-12-12", "status": "done"}
    post_form(client, CAMPAIGN_PAGE, typed, CAMPAIGN_PAGE + "updates")
    with organiser.db.session_scope() as session:
        update_id = session.scalar(select(CampaignUpdate.id))
    add_community(organiser, "elsewhere", "Elsewhere")
    add_user(organiser, "other@example.org", "organiser", ("elsewhere",))
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/").text)})
    log_in(client, "other@example.org")
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    for action in (f"updates/{update_id}/delete", "updates"):
        response = client.post(CAMPAIGN_PAGE + action, data={**typed, "csrf_token": token})
        assert response.status_code == 404
    assert updates(organiser) == [("Ours", date(2026, 12, 12), "done")]


def test_quotes_are_approved_and_hidden_on_the_campaign_page(client, organiser):
    publish(organiser)
    residents_answer(organiser, MUSIC)
    residents_answer(organiser, ["Music, but keep this to yourselves"], quotable=False, first=40)
    html = client.get(CAMPAIGN_PAGE).get_data(as_text=True)
    assert MUSIC[0] in html and "keep this to yourselves" not in html
    chosen = f"{CAMPAIGN_PAGE}quotes/{response_id(organiser, MUSIC[0])}/"
    post_form(client, CAMPAIGN_PAGE, {}, chosen + "approve")
    assert MUSIC[0] in client.get(RESULTS).get_data(as_text=True)
    post_form(client, CAMPAIGN_PAGE, {}, chosen + "hide")
    assert MUSIC[0] not in client.get(RESULTS).get_data(as_text=True)
    refused = (
        f"{CAMPAIGN_PAGE}quotes/{response_id(organiser, 'Music, but keep this to yourselves')}/"
    )
    assert post_form(client, CAMPAIGN_PAGE, {}, refused + "approve").status_code == 404


def sent_report_backs(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        query = select(OutboundMessage.text).where(OutboundMessage.kind == "report_back")
        return list(session.scalars(query.order_by(OutboundMessage.id)))  # PostgreSQL: any order


def test_a_report_back_ends_with_the_pages_link_once_published_and_shows_there(client, organiser):
    residents_answer(organiser, MUSIC[:1])
    post_form(client, CAMPAIGN_PAGE, {"text": "Band booked."}, CAMPAIGN_PAGE + "report-back")
    assert sent_report_backs(organiser) == ["Band booked."]
    publish(organiser)
    again = {"text": "Lights too.", "another": "y"}
    post_form(client, CAMPAIGN_PAGE, again, CAMPAIGN_PAGE + "report-back")
    assert sent_report_backs(organiser)[1] == f"Lights too. {PUBLIC_BASE_URL}/results/cumnock"
    assert [text for text, _, status in updates(organiser)] == ["Band booked.", "Lights too."]
    html = client.get(RESULTS).get_data(as_text=True)
    assert "Band booked." in html and "Lights too." in html


def test_the_link_counts_in_the_report_backs_segment_budget(client, organiser):
    publish(organiser)
    residents_answer(organiser, MUSIC[:1])
    typed = "x" * 290  # fits two segments alone, not with the link after it
    html = post_form(client, CAMPAIGN_PAGE, {"text": typed}, CAMPAIGN_PAGE + "report-back").text
    assert "the results page&#39;s link takes the rest" in error_beside(html, "text")
    assert sent_report_backs(organiser) == [] and updates(organiser) == []
