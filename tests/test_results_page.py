"""The public results page: published or 404, what it shows, what it never shows, languages."""

from __future__ import annotations

import re

import pytest

from bot.campaigns import quotes
from storage.models import Campaign
from tests.results_support import RESULTS, publish, residents_answer, response_id, town

MUSIC = [
    "More music in the square please",
    "Music and dancing in the square",
    "Live music in the square",
    "A band playing music in the square",
    "Music for the kids in the square, call 07700 900123",
]
# Themes need ten answers to a question (storage/theme_clusters.py MIN_ANSWERS).
LANTERNS = [
    "Lanterns along the river walk",
    "Lanterns made by the school on the river",
    "Warm lanterns by the river path",
    "Lanterns and a river parade at dusk",
    "Paper lanterns floating on the river",
    "River lanterns for every street",
]


def page(client, path: str = RESULTS, **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def approve(services, text: str) -> None:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        campaign = session.query(Campaign).one()
        quotes.approve(session, campaign, response_id(services, text), None)


def test_an_unpublished_community_and_an_unknown_one_get_the_same_404(client, services):
    town(services, published=False)
    residents_answer(services, MUSIC)
    hidden, unknown = client.get(RESULTS), client.get("/results/nowhere")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data() == unknown.get_data()
    assert "Cumnock" not in hidden.get_data(as_text=True)


def test_a_published_page_shows_what_was_asked_who_answered_and_the_themes(client, services):
    town(services)
    residents_answer(services, MUSIC + LANTERNS)
    html = page(client)
    assert "<h1>What Cumnock told us</h1>" in html
    assert "What&#39;s one thing that would make the festival feel like yours?" in html
    assert "<strong>11</strong> residents answered" in html
    assert re.search(r'<th scope="row">[^<]*music[^<]*</th><td>5</td>', html)
    assert re.search(r'<th scope="row">[^<]*lantern[^<]*</th><td>6</td>', html)


def test_the_page_never_links_to_a_resident(client, services):
    town(services)
    phones = residents_answer(services, MUSIC)
    approve(services, MUSIC[4])
    html = page(client)
    assert "[phone]" in html  # the approved quote, redacted
    assert "07700" not in html and "+44" not in html
    with services.db.session_scope() as session:
        from storage.models import Resident

        pseudonyms = [r.pseudonym for r in session.query(Resident)]
    assert len(pseudonyms) == len(phones)
    assert not any(p in html for p in pseudonyms)


@pytest.mark.parametrize("residents", [4, 5], ids=["four-residents", "five-residents"])
def test_no_figure_theme_or_quote_from_fewer_than_five_residents(client, services, residents):
    town(services)
    residents_answer(services, MUSIC[:residents])
    approve(services, MUSIC[0])
    html = page(client)
    shown = residents >= 5
    assert ("<strong>5</strong> residents answered" in html) is shown
    assert ("Fewer than 5 residents have answered" in html) is not shown
    assert (MUSIC[0] in html) is shown
    assert "<strong>4</strong>" not in html


@pytest.mark.parametrize("residents", [4, 5], ids=["four-residents", "five-residents"])
def test_a_theme_held_by_fewer_than_five_residents_is_folded_away(client, services, residents):
    town(services)
    residents_answer(services, LANTERNS + MUSIC[:residents])
    approve(services, MUSIC[0])
    html = page(client)
    shown = residents >= 5
    assert bool(re.search(r'<th scope="row">[^<]*music[^<]*</th><td>5</td>', html)) is shown
    assert bool(re.search(r'<th scope="row">[^<]*music', html)) is shown  # no label, no count
    # An approved quote stays (consented, approved, 9+ residents answered), under no theme.
    assert ("In residents' own words" in html) is not shown and MUSIC[0] in html
    assert re.search(r'<th scope="row">[^<]*lantern[^<]*</th><td>6</td>', html)


def test_only_approved_quotes_from_residents_who_agreed_appear(client, services):
    town(services)
    agreed = residents_answer(services, MUSIC)
    refused = residents_answer(
        services, ["Music by the loch, my own idea"], quotable=False, first=40
    )
    assert agreed and refused
    approve(services, MUSIC[1])
    html = page(client)
    assert MUSIC[1] in html
    for unapproved in (MUSIC[0], MUSIC[2], MUSIC[3]):
        assert unapproved not in html
    with pytest.raises(LookupError):
        approve(services, "Music by the loch, my own idea")  # never agreed: cannot be approved
    assert "my own idea" not in page(client)


def test_a_quote_goes_when_its_resident_stops_or_erases(client, services):
    town(services)
    phones = residents_answer(services, [*MUSIC, "Music from the school choir"])
    approve(services, MUSIC[1])
    approve(services, MUSIC[2])
    client.application.extensions["voices_results_cache"].forget("cumnock")
    assert MUSIC[1] in page(client) and MUSIC[2] in page(client)
    phones[1].send("STOP")
    phones[2].send("DELETE")
    phones[2].send("CONFIRM")
    client.application.extensions["voices_results_cache"].forget("cumnock")
    html = page(client)
    assert MUSIC[1] not in html and MUSIC[2] not in html


def test_campaign_texts_follow_the_visitors_language_with_a_switcher(client, services):
    town(services)
    gaelic = "Am bu toigh leat cuideachadh? Innis dhuinn ciamar, no freagair NO."
    english = "Would you like to help make it happen? Tell us how, or reply NO."
    html = page(client, **{"Accept-Language": "gd-GB, en;q=0.5"})
    assert gaelic in html and english not in html
    assert '<html lang="gd">' in html
    assert 'href="?lang=en"' in html
    chosen = page(client, RESULTS + "?lang=en", **{"Accept-Language": "gd"})
    assert english in chosen and '<html lang="en">' in chosen
    assert english in page(client, **{"Accept-Language": "fr"})  # none of ours: the default


def test_a_page_taken_down_answers_404_again(client, services):
    town(services)
    assert client.get(RESULTS).status_code == 200
    publish(services, False)
    client.application.extensions["voices_results_cache"].forget("cumnock")
    assert client.get(RESULTS).status_code == 404


def test_the_page_loads_nothing_from_elsewhere(client, services):
    town(services)
    response = client.get(RESULTS)
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("quite", [4, 5], ids=["four-said-it", "five-said-it"])
def test_a_closed_questions_tally_shows_answers_held_by_five_or_more_only(client, services, quite):
    from pathlib import Path

    from storage.models import Community
    from storage.publishing import set_published
    from tests.helpers import Phone, add_campaign, add_community

    add_community(services, "cumnock", "Cumnock", quiet_start=None, quiet_end=None)
    add_campaign(
        services,
        source=(Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text(),
    )
    with services.db.session_scope() as session:
        set_published(session, session.query(Community).one().id, True)
    for number, words in enumerate(["4"] * 6 + ["quite safe"] * quite):
        phone = Phone(services, f"+4477009002{number:02d}")
        phone.join()
        phone.send(words)
    html = page(client)
    everyone = 6 + quite
    assert f"Answers of {everyone} residents" in html
    share = round(100 * 6 / everyone)
    assert f'<th scope="row">Not at all safe</th><td>6</td><td>{share}%</td>' in html
    assert ('<th scope="row">Quite safe</th>' in html) is (quite >= 5)
    assert "Very safe</th>" not in html  # nobody said it: nothing to show
    assert "<svg" in html and 'role="img"' in html
