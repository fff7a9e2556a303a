"""The community page's groups least heard, and the Themes view with its link to the answers."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from bot.conversation import profile
from storage.models import Campaign, ProfileAnswer, Resident, Response
from storage.themes import ThemeFilter, theme_map
from tests.admin_support import add_user, csrf_token, log_in
from tests.helpers import Phone, add_campaign, add_community
from tests.test_groups import AGE, AREA, ask, join_group
from tests.test_nudges import T0, at
from tests.theme_answers import community_id, realistic_answers, store


def rows_of(page: str, caption: str) -> list[tuple[str, ...]]:
    """The body rows of the groups table with this caption, as the cells' text."""
    table = page.split(f"<caption>{caption}", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        tuple(unescape(cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_groups_least_heard_come_first_and_small_groups_are_never_exact(client, services):
    ask(services, AREA, AGE)
    with at(T0):
        for number in range(8):  # North: 8 joined, 6 heard
            join_group(services, f"+4477009001{number:02}", "North", None)
        for number in range(6):  # South: 6 joined, 1 heard
            join_group(services, f"+4477009002{number:02}", "South", None)
        for number in range(3):  # Centre: 3 joined, all heard
            join_group(services, f"+4477009003{number:02}", "Centre", None)
    with at(T0):
        for number in range(6):
            Phone(services, f"+4477009001{number:02}").send("SKIP")
            Phone(services, f"+4477009001{number:02}").send("More benches please")
        for number in range(6):
            Phone(services, f"+4477009002{number:02}").send("SKIP")
        Phone(services, "+447700900200").send("Trees")
        for number in range(3):
            Phone(services, f"+4477009003{number:02}").send("SKIP")
            Phone(services, f"+4477009003{number:02}").send("Lights")
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert "Groups least heard" in page
    area = rows_of(page, AREA[1])
    # South is least heard (17%), then North (75%); Centre (3 people) and "no answer" (0) are
    # under five, shown last and never as a number.
    assert area == [
        ("South", "6", "17%"),
        ("North", "8", "75%"),
        ("Centre", "fewer than 5", "-"),
        ("no answer", "fewer than 5", "-"),
    ]
    age = rows_of(page, AGE[1])
    assert [row[1] for row in age] == ["17"] + ["fewer than 5"] * 3  # everyone skipped age
    assert ">3<" not in page.split("Groups least heard", 1)[1].split("</section>", 1)[0]


def test_a_community_without_group_questions_says_how_to_ask_them(client, services):
    ask(services)
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert "No self-described groups yet" in page


@pytest.fixture
def town(client, services):  # type: ignore[no-untyped-def]
    """A few hundred answers about a play park, bus times and a youth club; staff logged in."""
    stored = store(services.db, realistic_answers())
    with services.db.session_scope() as session:
        community = community_id(services.db)
        question = profile.set_question(session, community, "area", "Where?", ["North", "South"])
        residents = session.execute(
            select(Resident.id, Resident.pseudonym).where(Resident.community_id == community)
        ).all()
        for resident, pseudonym in residents:
            number = int(pseudonym.rsplit("r", 1)[1])
            if number % 40:  # a handful of residents never said where they live
                choice = "North" if number % 2 else "South"
                session.add(
                    ProfileAnswer(resident_id=resident, question_id=question.id, choice=choice)
                )
        campaign = session.scalar(select(Campaign.id).where(Campaign.slug == "town-ideas"))
        found = theme_map(session, ThemeFilter(community_id=community, campaign_id=campaign))
    add_user(services, "staff@cumnock.example", "staff", ("cumnock",))
    log_in(client, "staff@cumnock.example")
    return stored, found


THEMES_PAGE = "/admin/communities/cumnock/campaigns/town-ideas/themes"


def answers_listed(client, url: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (pseudonym, words) on a responses page and the older pages after it."""
    listed: list[tuple[str, str]] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        for item in re.findall(r'<li class="card">(.*?)</li>', page, flags=re.S):
            words = unescape(re.search(r'<p class="words">(.*?)</p>', item, re.S).group(1))
            meta = unescape(re.search(r'<p class="meta">(.*?)</p>', item, re.S).group(1))
            listed.append((meta.split(" · ")[0].strip(), words))
        older = re.search(r'<a href="([^"]+)">Older</a>', page)
        url = unescape(older.group(1)) if older else ""
    return listed


def test_the_themes_view_shows_each_theme_with_counts_quotes_and_groups(client, town):
    _, found = town
    page = client.get(THEMES_PAGE).get_data(as_text=True)
    text = unescape(re.sub(r"<[^>]+>", "", page))
    assert f"{found.answers} answers: {len(found.themes)} themes" in text
    assert len(found.themes) >= 3
    for theme in found.themes:
        assert f"{theme.answers} answers from {theme.residents} residents" in text
        assert theme.label in text
        assert theme.quotes and theme.quotes[0] in text
    assert f"{len(found.other_response_ids)} answers fit no theme" in text
    assert found.said_once and found.said_once[0].quote in text
    assert "By area: North: " in text and "%" in text.split("By area:", 1)[1]
    assert "07700" not in text and "@example" not in text  # quotes are redacted


def test_a_theme_links_to_exactly_its_answers(client, town, services):
    stored, found = town
    page = client.get(THEMES_PAGE).get_data(as_text=True)
    links = re.findall(r'<h2><a href="([^"]+)">', page)
    assert len(links) == len(found.themes)
    for link, theme in zip(links, found.themes, strict=True):
        assert len(unescape(link)) < 200
        expected = sorted(
            (f"cumnock-r{stored[rid].resident}", stored[rid].text) for rid in theme.response_ids
        )
        assert sorted(answers_listed(client, unescape(link))) == expected
    other = unescape(re.search(r'<a href="([^"]+)">Read them</a>', page).group(1))
    expected = sorted(
        (f"cumnock-r{stored[rid].resident}", stored[rid].text) for rid in found.other_response_ids
    )
    assert sorted(answers_listed(client, other)) == expected


def test_a_theme_link_keeps_its_answers_when_more_arrive(client, town, services):
    _, found = town
    link = unescape(
        re.search(r'<h2><a href="([^"]+)">', client.get(THEMES_PAGE).get_data(as_text=True)).group(
            1
        )
    )
    with services.db.session_scope() as session:  # more answers to the same question since
        first = session.scalars(select(Response).order_by(Response.id)).first()
        for number, resident in enumerate(session.scalars(select(Resident.id).limit(60))):
            words = ("the play park swings are broken", "buses are late", "youth club please")
            session.add(
                Response(
                    community_id=first.community_id,
                    campaign_id=first.campaign_id,
                    prompt_id=first.prompt_id,
                    resident_id=resident,
                    channel="sms",
                    text=words[number % 3],
                )
            )
    assert f"{found.answers + 60} answers:" in client.get(THEMES_PAGE).get_data(as_text=True)
    assert len(answers_listed(client, link)) == found.themes[0].answers


def test_themes_per_prompt_and_the_campaign_page_links_to_them(client, town):
    campaign_page = client.get("/admin/communities/cumnock/campaigns/town-ideas/").get_data(
        as_text=True
    )
    assert 'href="/admin/communities/cumnock/campaigns/town-ideas/themes"' in campaign_page
    page = client.get(THEMES_PAGE + "?prompt=idea").get_data(as_text=True)
    assert "What people said to “idea”" in page
    assert "prompt=idea" in page


def test_themes_are_for_logged_in_users_of_that_community_only(client, town, services):
    add_community(services, "blacklands", "Blacklands")
    add_user(services, "staff@blacklands.example", "staff", ("blacklands",))
    link = unescape(
        re.search(r'<h2><a href="([^"]+)">', client.get(THEMES_PAGE).get_data(as_text=True)).group(
            1
        )
    )
    client.post(
        "/admin/logout",
        data={"csrf_token": csrf_token(client.get("/admin/").get_data(as_text=True))},
    )
    anonymous = client.get(THEMES_PAGE)
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    assert client.get(link).status_code == 302
    log_in(client, "staff@blacklands.example")
    assert client.get(THEMES_PAGE).status_code == 404
    assert client.get(link).status_code == 404
    theirs = link.replace("cumnock", "blacklands")
    assert client.get(theirs).status_code == 200
    assert "fewer than" not in client.get(theirs).get_data(as_text=True)
    assert answers_listed(client, theirs) == []


def test_an_empty_campaign_says_there_is_nothing_to_read_yet(client, services):
    add_community(services, "cumnock", "Cumnock")
    add_campaign(services)
    add_user(services, "staff@cumnock.example", "staff", ("cumnock",))
    log_in(client, "staff@cumnock.example")
    page = client.get("/admin/communities/cumnock/campaigns/festival-ideas/themes")
    assert page.status_code == 200
    assert "No answers to read yet." in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["theme=²&upto=1", "theme=1&upto=²", "theme=1&upto=" + "9" * 5000, "page=²"]
)
def test_odd_theme_links_show_a_page_not_an_error(client, town, query):
    page = client.get(f"/admin/communities/cumnock/responses?campaign=town-ideas&{query}")
    assert page.status_code == 200


def test_one_answer_is_counted_as_one_answer_not_one_answers(client, services):
    add_community(services, "cumnock", "Cumnock")
    add_campaign(services)
    phone = Phone(services, address="+447700900555")
    phone.send("CUMNOCK")
    phone.send("YES")
    phone.send("A covered stage by the river for the winter festival")
    add_user(services, "staff@cumnock.example", "staff", ("cumnock",))
    log_in(client, "staff@cumnock.example")
    page = client.get("/admin/communities/cumnock/campaigns/festival-ideas/themes")
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", page.get_data(as_text=True))).split())
    assert "1 answer: 0 themes, 1 other." in text
    assert "1 answer fits no theme" in text
    assert "1 answers" not in text
