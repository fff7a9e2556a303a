"""The campaign form builds closed questions and branches, judged by the prompt file checker."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from bot.campaigns.prompt_files import parse_prompt_file
from storage.models import Campaign
from tests.admin_support import add_user, error_beside, log_in, post_form
from tests.helpers import add_community

NEW = "/admin/communities/cumnock/campaigns/new"

# The campaign the form below describes, written as an organiser would write the file.
PARK_FILE = """
slug: park
title: The park after dark
language: en
prompts:
  - id: park
    text: How safe does the park feel after dark?
    choices: [Very safe, Quite safe, Not very safe, Not at all safe]
    next: {Not very safe: why, Not at all safe: why}
  - id: often
    text: How often do you use the park?
    scale: [1, 5]
    labels: {1: never, 5: every day}
    next: {1: end}
  - id: why
    text: What would make it feel safer?
    next: end
"""


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def park_form(**changes: str) -> dict[str, str]:
    """The park campaign as the form posts it: choices, a scale with labels, and branches."""
    form = {
        "title": "The park after dark",
        "slug": "park",
        "language": "en",
        "prompts-0-key": "park",
        "prompts-0-text": "How safe does the park feel after dark?",
        "prompts-0-kind": "choices",
        "prompts-0-choices-0-text": "Very safe",
        "prompts-0-choices-1-text": "Quite safe",
        "prompts-0-choices-2-text": "Not very safe",
        "prompts-0-choices-2-next": "3",
        "prompts-0-choices-3-text": "Not at all safe",
        "prompts-0-choices-3-next": "3",
        "prompts-0-choices-4-text": "",  # a blank slot is left out
        "prompts-1-key": "often",
        "prompts-1-text": "How often do you use the park?",
        "prompts-1-kind": "scale",
        "prompts-1-scale_low": "1",
        "prompts-1-scale_high": "5",
        "prompts-1-low_label": "never",
        "prompts-1-high_label": "every day",
        "prompts-1-scale_next-0": "end",
        "prompts-1-scale_next-1": "",
        "prompts-2-key": "why",
        "prompts-2-text": "What would make it feel safer?",
        "prompts-2-kind": "open",
        "prompts-2-next": "end",
        "confirm": "y",
    }
    return {**form, **changes}


def campaigns(services) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Campaign)) or 0


def test_a_choice_question_a_scale_and_branches_are_stored_as_a_file_would_be(client, organiser):
    assert client.post(NEW, data=park_form()).status_code == 400  # no CSRF token: refused
    assert campaigns(organiser) == 0
    response = post_form(client, NEW, park_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    written = parse_prompt_file(PARK_FILE)
    with organiser.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        stored = [(p.key, p.text, p.form, p.branches) for p in made.prompts]
        from_source = parse_prompt_file(made.source).prompts
    expected = [(p.key, p.text, p.form, p.branches) for p in written.prompts]
    assert stored == expected
    assert stored[0][2] == {"choices": [{"en": "Very safe"}, {"en": "Quite safe"}, {"en": (
        "Not very safe")}, {"en": "Not at all safe"}]}  # fmt: skip
    assert stored[0][3] == {"Not very safe": "why", "Not at all safe": "why"}
    assert stored[1][2] == {"scale": [1, 5], "labels": {"1": {"en": "never"}, "5": {"en": (
        "every day")}}}  # fmt: skip
    assert stored[1][3] == {"1": "end"}
    assert [(p.key, p.form, p.branches) for p in from_source] == [
        (key, form, branches) for key, _, form, branches in expected
    ]


@pytest.mark.parametrize(
    ("changes", "field", "sentence"),
    [
        (
            {"prompts-2-next": "1"},
            "prompts-0-choices-2-next",
            "The prompts go round in a circle: park -> often -> why -> park.",
        ),
        (
            {"prompts-0-choices-2-next": "nowhere"},
            "prompts-0-choices-2-next",
            "Prompt 'park' goes next to 'nowhere', which is no prompt id.",
        ),
        (
            {"prompts-0-choices-3-next": "5"},
            "prompts-0-choices-3-next",
            "Question 5 is empty: write it, or choose another place.",
        ),
        (
            {
                "prompts-0-choices-2-next": "",
                "prompts-0-choices-3-next": "",
                "prompts-1-kind": "open",
                "prompts-1-next": "end",
            },
            "prompts-2-next",
            "No answer leads to prompt 'why': residents would never see it.",
        ),
        (
            {"prompts-0-choices-1-text": "very safe"},
            "prompts-0-choices-1-text",
            "The choice 'very safe' is there twice.",
        ),
        (
            {f"prompts-0-choices-{i}-text": "" for i in (1, 2, 3)},
            "prompts-0-choices-0-text",
            "Choices must be a list of 2 to 9 choices.",
        ),
        (
            {"prompts-1-scale_high": "1"},
            "prompts-1-scale_low",
            "A scale goes up from 0 or more, with 2 to 11 steps.",
        ),
    ],
    ids=[
        "cycle",
        "unknown-target",
        "empty-target",
        "unreached",
        "choice-twice",
        "one-choice",
        "scale-backwards",
    ],
)
def test_a_broken_branch_or_question_is_refused_beside_its_field_and_nothing_is_made(
    client, organiser, changes, field, sentence
):
    html = post_form(client, NEW, park_form(**changes)).get_data(as_text=True)
    assert unescape(error_beside(html, field)) == sentence
    assert "nothing was sent" in html
    assert campaigns(organiser) == 0


def test_a_closed_question_is_counted_with_its_choices_against_the_segment_budget(
    client, organiser
):
    question = "Which of these would you most like to see in the park? " * 4  # 224 characters
    choices = {f"prompts-0-choices-{i}-text": f"Choice number {i} for the park" for i in range(4)}
    form = park_form(**{"prompts-0-text": question, **choices})
    for i in range(2, 4):
        form.pop(f"prompts-0-choices-{i}-next")
    form["prompts-2-next"] = ""
    html = post_form(client, NEW, form).get_data(as_text=True)
    assert unescape(error_beside(html, "prompts-0-text")) == (
        'This is 3 SMS segments, over the budget of 2; shorten it or tick "Allow long texts".'
    )
    assert campaigns(organiser) == 0
    form["allow_long"] = "y"
    assert post_form(client, NEW, form).status_code == 302
    assert campaigns(organiser) == 1


def test_the_form_offers_each_question_as_a_place_to_go_next(client, organiser):
    html = client.get(NEW).get_data(as_text=True)
    assert 'id="prompts-0-choices-3-next"' in html and 'id="prompts-0-kind"' in html
    assert '<label for="prompts-0-choices-0-text">Choice 1</label>' in html
    assert '<option value="2">question 2</option>' in html
    assert '<option value="end">the end (thank them)</option>' in html
    assert 'data-choices-reply="Reply {numbers} or {last}"' in html


def test_a_file_with_closed_questions_fills_the_form_and_comes_back_the_same(app):
    from webhooks.admin.campaign_form import fill_from_starter, form_to_source
    from webhooks.admin.forms import CampaignForm

    translated = PARK_FILE.replace(
        "choices: [Very safe,", "choices: [{en: Very safe, gd: Glè shàbhailte},"
    ).replace("labels: {1: never,", "labels: {1: {en: never, gd: chan ann idir},")
    written = parse_prompt_file(translated)
    with app.test_request_context(method="GET"):
        form = CampaignForm(formdata=None)
        fill_from_starter(form, written)
        assert form.prompts[0].form.kind.data == "choices"
        assert form.prompts[0].form.choices[3].form.next.data == "3"  # question 3 on the form
        assert form.prompts[2].form.next.data == "end"
        again = parse_prompt_file(form_to_source(form))
    assert [(p.key, p.text, p.form, p.branches) for p in again.prompts] == [
        (p.key, p.text, p.form, p.branches) for p in written.prompts
    ]
    assert again.prompts[0].form["choices"][0] == {"en": "Very safe", "gd": "Glè shàbhailte"}


def test_translations_carried_by_the_page_that_make_no_sense_are_left_out(client, organiser):
    odd = '{"prompts": 5, "choices": {"park": "Very safe"}, "labels": {"often": {"1": [1]}}}'
    response = post_form(client, NEW, park_form(translations=odd))
    assert response.status_code == 302
    with organiser.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        assert made.prompts[0].form["choices"][0] == {"en": "Very safe"}
        assert made.prompts[1].form["labels"]["1"] == {"en": "never"}
