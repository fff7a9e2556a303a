"""A resident's answer stays theirs: no organiser's keyword can capture it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation.words import keyword_problem
from storage.models import Community, Resident, Response
from tests.helpers import Phone, add_campaign, add_community


@pytest.fixture
def two_towns(services):  # type: ignore[no-untyped-def]
    add_community(services, quiet_start=None, quiet_end=None)
    add_campaign(services)
    add_community(services, slug="gamma", name="Gamma", quiet_start=None, quiet_end=None)
    return services


def test_another_communitys_keyword_sent_mid_question_is_kept_as_the_answer(two_towns):
    phone = Phone(two_towns)
    phone.join()
    replies = phone.send("GAMMA")
    assert replies[-1] == "We kept that as your answer. To join Gamma Voices too, text JOIN GAMMA."
    assert replies[0].startswith("Would you like to help")  # the next question came too
    with two_towns.db.session_scope() as session:
        answer = session.execute(select(Response.text, Response.prompt_id)).one()
        assert answer.text == "GAMMA" and answer.prompt_id is not None
        gamma = session.scalar(select(Community.id).where(Community.slug == "gamma"))
        assert session.scalar(select(Resident.id).where(Resident.community_id == gamma)) is None


def test_join_and_the_keyword_joins_the_other_community_on_purpose(two_towns):
    phone = Phone(two_towns)
    phone.join()
    assert "Gamma" in phone.send("JOIN GAMMA")[0]
    with two_towns.db.session_scope() as session:
        assert session.scalar(select(Response.id)) is None


def test_a_deep_link_names_its_community_by_slug_never_by_another_keyword(services):
    add_community(services, slug="gamma", name="Gamma", keyword="GAMMAJOIN")
    add_community(services, slug="rival", name="Rival", keyword="GAMMA")
    reply = Phone(services, address="5551", channel="telegram").send("/start gamma")
    assert "Hello from Gamma Voices" in reply[0]


def test_without_a_question_waiting_a_keyword_still_joins(two_towns):
    assert "Hello from Gamma Voices" in Phone(two_towns, address="+447700900777").send("gamma")[0]


@pytest.mark.parametrize(
    ("keyword", "problem"),
    [
        ("16", "at least 3 letters"),
        ("AB", "at least 3 letters"),
        ("OK", "at least 3 letters"),
        ("SKIP", "already use"),
        ("stop", "already use"),
        ("YES", "already use"),
        ("THANKS", "already use"),
        ("two words", "one word"),
    ],
)
def test_keywords_that_a_reply_could_be_are_refused_with_a_reason(keyword, problem):
    found = keyword_problem(keyword)
    assert found is not None and problem in found


@pytest.mark.parametrize("keyword", ["GAMMA", "Cumnock", "AYR2026"])
def test_ordinary_keywords_are_fine(keyword):
    assert keyword_problem(keyword) is None
