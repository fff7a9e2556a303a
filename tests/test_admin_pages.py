"""Organiser pages with the Flask test client: communities, campaigns, responses, posters."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.models import Campaign, Community, OutboundMessage, UserCommunity
from tests.admin_support import add_user, error_beside, log_in, post_form
from tests.helpers import Phone, add_campaign, add_community

NEW = "/admin/communities/cumnock/campaigns/new"


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def test_the_community_page_shows_who_was_heard_and_a_chart(client, organiser):
    add_campaign(organiser)
    Phone(organiser, "+447700900001").join()
    Phone(organiser, "+447700900001").send("More benches by the river")
    Phone(organiser, "+447700900002").join()
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert '<dd id="joined">2</dd>' in page
    assert '<dd id="heard">1 <small>(50%)</small></dd>' in page
    assert '<dd id="unheard">1</dd>' in page
    assert "<svg" in page and "Replies per day in Cumnock" in page
    assert "Ideas for the winter festival" in page
    compact = re.sub(r">\s+<", "><", page)
    assert "<dt>Asked</dt><dd>3</dd>" in compact  # two first questions, one second
    assert "<dt>Answered</dt><dd>1</dd>" in compact


def test_an_organiser_creates_a_community_and_may_then_see_it(client, organiser):
    response = post_form(
        client,
        "/admin/communities/new",
        {"name": "Auchinleck", "slug": "auchinleck", "keyword": "", "timezone": "Europe/London"},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Created Auchinleck. Residents text AUCHINLECK to join." in page
    with organiser.db.session_scope() as session:
        created = session.scalar(select(Community).where(Community.slug == "auchinleck"))
        assert created.quiet_start == "20:00"
        assert session.scalar(select(UserCommunity).where(UserCommunity.community_id == created.id))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "cumnock"}, "already has this short name"),
        ({"keyword": "STOP"}, "residents already use"),
        ({"keyword": "16"}, "at least 3 letters"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"slug": "Not A Slug"}, "Lower-case letters"),
    ],
)
def test_a_community_form_with_mistakes_says_what_to_fix(client, organiser, changes, message):
    data = {"name": "Somewhere", "slug": "somewhere", "keyword": "", "timezone": "Europe/London"}
    response = post_form(client, "/admin/communities/new", {**data, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_a_starter_fills_the_form_and_launches_with_its_translations(client, organiser):
    Phone(organiser, address="+447700900777").join()  # there before the launch
    page = client.get("/admin/communities/cumnock/campaigns/new?starter=festival-ideas")
    html = page.get_data(as_text=True)
    assert "Ideas for the winter festival" in html and 'data-segments="1"' in html
    form = {
        "title": "Ideas for the winter festival",
        "slug": "festival-ideas",
        "language": "en",
        "prompts-0-key": "idea",
        "prompts-0-text": "What's one thing that would make the festival feel like yours?",
        "prompts-1-key": "help",
        "prompts-1-text": "Would you like to help make it happen?",
        "translations": '{"prompts": {"help": {"gd": "Am bu toigh leat cuideachadh?"}}}',
        "nudge_after": "2d",
        "nudge_max": "2",
        "nudge_text": "Still keen to hear from you.",
        "thanks": "Thank you!",
        "confirm": "y",
    }
    response = post_form(client, "/admin/communities/cumnock/campaigns/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Launched Ideas for the winter festival" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    with organiser.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        assert made.status == "active" and made.nudge_after_seconds == 2 * 86400
        assert made.prompts[1].text == {"en": "Would you like to help make it happen?", "gd": (
            "Am bu toigh leat cuideachadh?"
        )}  # fmt: skip
    assert "What's one thing" in Phone(organiser).join()[-1]
    with organiser.db.session_scope() as session:
        queued = session.scalars(
            select(OutboundMessage.text).where(
                OutboundMessage.kind == "prompt", OutboundMessage.in_reply_to_id.is_(None)
            )
        )
        assert list(queued) == ["What's one thing that would make the festival feel like yours?"]


def test_a_campaign_from_scratch_can_be_scheduled_in_local_time(client, organiser):
    form = {
        "title": "Summer streets",
        "slug": "summer",
        "language": "en",
        "prompts-0-key": "",
        "prompts-0-text": "What would make your street nicer this summer?",
        "start": "2030-07-01T10:00",
        "confirm": "y",
    }
    response = post_form(client, "/admin/communities/cumnock/campaigns/new", form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Scheduled Summer streets" in page and "Mon 01 Jul 2030, 10:00" in page
    with organiser.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        assert made.status == "scheduled"
        assert made.starts_at == datetime(2030, 7, 1, 9, 0, tzinfo=UTC)  # BST is UTC+1
        assert made.prompts[0].key == "q1"


def test_the_campaign_form_shows_every_mistake_at_once_beside_its_field(client, organiser):
    add_campaign(organiser)
    form = {
        "title": "",
        "slug": "festival-ideas",
        "language": "english",
        "prompts-0-key": "q",
        "prompts-1-key": "q",
        "prompts-1-text": "x" * 400,
        "nudge_after": "soon",
        "nudge_text": "Hello?",
        "start": "2020-01-01T10:00",
    }
    html = post_form(client, NEW, form).get_data(as_text=True)
    assert error_beside(html, "title") == "Give the campaign a title."
    assert "already has this short name" in error_beside(html, "slug")
    assert "short language code like en" in error_beside(html, "language")
    assert "already has this short name" in error_beside(html, "prompts-1-key")
    assert "3 SMS segments, over the budget of 2" in error_beside(html, "prompts-1-text")
    assert "like 2d, 12h or 30m" in error_beside(html, "nudge_after")
    assert error_beside(html, "start") == (
        "The start 2020-01-01 10:00 Europe/London is in the past; leave it empty to start now."
    )
    assert error_beside(html, "confirm") == "Tick this box to confirm the launch."
    with organiser.db.session_scope() as session:
        assert session.scalars(select(Campaign.slug)).all() == ["festival-ideas"]


def test_a_form_without_questions_asks_for_one(client, organiser):
    form = {"title": "Empty", "slug": "empty", "language": "en", "confirm": "y"}
    html = post_form(client, NEW, form).get_data(as_text=True)
    assert error_beside(html, "prompts-0-text") == "Write at least one question."
    assert "Please fix what is marked below; nothing was sent." in html


def test_long_texts_launch_only_when_the_organiser_allows_them(client, organiser):
    form = {
        "title": "Long",
        "slug": "long",
        "language": "en",
        "prompts-0-text": "Tell us about the park. " * 20,
        "confirm": "y",
    }
    html = post_form(client, NEW, form).get_data(as_text=True)
    assert "4 SMS segments, over the budget of 2" in error_beside(html, "prompts-0-text")
    response = post_form(client, NEW, {**form, "allow_long": "y"})
    assert response.status_code == 302
    with organiser.db.session_scope() as session:
        assert session.scalars(select(Campaign.slug)).all() == ["long"]


def test_the_form_speaks_an_organisers_words_and_lists_starters_by_title(client, organiser):
    html = client.get(NEW).get_data(as_text=True)
    for label in ("Short name for links", "Question", "Language (e.g. en, gd)"):
        assert f">{label}</label>" in html
    assert "Prompt id" not in html and "Language code" not in html
    assert '<option value="festival-ideas">Ideas for the winter festival</option>' in html


def test_closing_a_campaign_stops_its_questions(client, organiser):
    add_campaign(organiser)
    page = "/admin/communities/cumnock/campaigns/festival-ideas/"
    html = post_form(client, page, {}, page + "close").get_data(as_text=True)
    assert error_beside(html, "confirm") == "Tick this box to confirm closing the campaign."
    assert "We'll text" not in Phone(organiser, "+447700900555").join()[-1]
    response = post_form(client, page, {"confirm": "y"}, page + "close")
    assert response.status_code == 302
    assert "Closed Ideas for the winter festival" in client.get(page).get_data(as_text=True)
    assert "We'll text when we have a question" in Phone(organiser).join()[-1]


def test_responses_are_newest_first_searchable_and_filtered(client, organiser):
    add_campaign(organiser)
    sms, tg = Phone(organiser, "+447700900001"), Phone(organiser, "tg-42", channel="telegram")
    sms.join()
    sms.send("Lanterns along the river")
    tg.join()
    tg.send("A ceilidh in the town hall")
    url = "/admin/communities/cumnock/responses"
    page = client.get(url).get_data(as_text=True)
    assert page.index("A ceilidh") < page.index("Lanterns")
    assert "+447700900001" not in page and "tg-42" not in page
    assert "Lanterns" not in client.get(url + "?q=CEILIDH+hall").get_data(as_text=True)
    only_sms = client.get(url + "?channel=sms").get_data(as_text=True)
    assert "Lanterns" in only_sms and "ceilidh" not in only_sms
    assert "ceilidh" in client.get(url + "?campaign=festival-ideas&prompt=idea").get_data(True)
    assert "No responses match" in client.get(url + "?since=2099-01-01").get_data(True)
    assert "No responses match" in client.get(url + "?q=100%25").get_data(True)


def test_a_poster_has_the_keyword_number_and_a_telegram_qr(app, client, organiser):
    app.config["TELEGRAM_BOT_USERNAME"] = "@CumnockVoicesBot"
    page = client.get("/admin/communities/cumnock/poster").get_data(as_text=True)
    assert "Text <strong>CUMNOCK</strong> to <strong>+447700900000</strong>" in page
    assert "https://t.me/CumnockVoicesBot?start=cumnock" in page
    png = client.get("/admin/communities/cumnock/poster.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    pdf = client.get("/admin/communities/cumnock/poster.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_without_a_bot_username_the_poster_says_how_to_add_the_qr(app, client, organiser):
    app.config["TELEGRAM_BOT_USERNAME"] = ""
    page = client.get("/admin/communities/cumnock/poster").get_data(as_text=True)
    assert "Set TELEGRAM_BOT_USERNAME" in page
    assert client.get("/admin/communities/cumnock/poster.png").status_code == 404
    assert client.get("/admin/communities/cumnock/poster.pdf").data.startswith(b"%PDF")


def test_only_admins_can_choose_to_see_contact_details(client, organiser, services):
    add_campaign(organiser)
    Phone(organiser, "+447700900001").join()
    Phone(organiser, "+447700900001").send("Lanterns")
    url = "/admin/communities/cumnock/responses?contact=1"
    page = client.get(url).get_data(as_text=True)
    assert "Lanterns" in page and "+447700900001" not in page and "Show contact" not in page
    add_user(services, "boss@example.org", "admin")
    admin = client.application.test_client()
    log_in(admin, "boss@example.org")
    assert "+447700900001" not in admin.get(url.replace("contact=1", "")).get_data(True)
    assert "+447700900001" in admin.get(url).get_data(as_text=True)


def test_campaigns_from_one_starter_are_told_apart_by_start_and_status(client, organiser):
    for slug, start in (
        ("festival-2029", "2029-12-01T10:00"),
        ("festival-2030", "2030-12-01T10:00"),
    ):
        form = {"title": "Ideas for the winter festival", "slug": slug, "language": "en"}
        form |= {"prompts-0-text": "What would make it yours?", "start": start, "confirm": "y"}
        assert post_form(client, NEW, form).status_code == 302
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    listed = re.sub(r"(<[^>]+>|\s)+", " ", page.split('id="all-campaigns"')[1].split("</ul>")[0])
    assert "starts 01 Dec 2030, 10:00 scheduled" in listed
    assert "starts 01 Dec 2029, 10:00 scheduled" in listed


def test_the_time_zone_is_chosen_from_a_list_and_typed_in_any_case(client, organiser):
    html = client.get("/admin/communities/new").get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="([^"]+)"', html)
    assert offered[0] == "Europe/London" and "Asia/Tokyo" in offered and len(offered) > 300
    data = {"name": "Oban", "slug": "oban", "keyword": "", "timezone": "europe/london"}
    assert post_form(client, "/admin/communities/new", data).status_code == 302
    with organiser.db.session_scope() as session:
        oban = session.scalar(select(Community).where(Community.slug == "oban"))
        assert oban.timezone == "Europe/London"


GROUPS = "/admin/communities/cumnock/groups"


def test_an_organiser_sets_up_and_removes_the_groups_questions_on_the_community_page(
    client, organiser
):
    page = "/admin/communities/cumnock/"
    question = {"key": "area", "text": "Which part of town?", "choices": "North, South, Centre"}
    response = post_form(client, page, question, GROUPS)
    assert response.status_code == 302
    assert "New residents will be asked: Which part of town?" in client.get(page).get_data(
        as_text=True
    )
    joined = Phone(organiser, "+447700900321").join()
    assert any("Which part of town?" in text for text in joined)
    post_form(client, page, {"key": "age", "text": "How old?", "choices": "Under 25, 25+"}, GROUPS)
    html = client.get(page).get_data(as_text=True)
    assert "remove one to add another" in html and "group-question-form" not in html
    assert post_form(client, page, {}, GROUPS + "/area/remove").status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Which part of town?" not in html and "group-question-form" in html


def test_a_groups_question_with_mistakes_says_what_to_fix_beside_each_field(client, organiser):
    page = "/admin/communities/cumnock/"
    html = post_form(client, page, {"key": "Area!", "text": "", "choices": "Only one"}, GROUPS)
    html = html.get_data(as_text=True)
    assert "like area" in error_beside(html, "key")
    assert error_beside(html, "text") == "Write the question residents will be asked."
    html = post_form(client, page, {"key": "area", "text": "Where?", "choices": "A"}, GROUPS)
    assert "Give 2 to 8 choices" in error_beside(html.get_data(as_text=True), "choices")


def test_the_login_page_says_who_to_ask_for_an_account(client, services):
    html = client.get("/admin/login").get_data(as_text=True)
    assert "Ask your administrator for an account." in html
    assert "voices user add" not in html
