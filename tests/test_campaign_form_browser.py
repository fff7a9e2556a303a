"""An organiser builds closed questions and branches in a real browser, counting SMS segments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation.choices import QuestionForm
from bot.texts import sms_segments
from storage.models import Campaign
from tests.admin_support import PASSWORD, add_user
from tests.browser_check import skip_without_browser
from tests.helpers import add_community
from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS, browser_page, live_app  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, skip_without_browser()]

NEW = "/admin/communities/cumnock/campaigns/new"
# Questions and choices the page must count exactly as the server does: plain GSM-7, the
# extension table, Gaelic's accents (lower case in GSM-7, capitals not), an emoji, long ones.
CASES = [
    ("How safe does the park feel after dark?", ["Very safe", "Quite safe", "Not safe"], None),
    ("Dè cho sàbhailte 's a tha a' phàirc?", ["Glè shàbhailte", "Caran", "Chan eil"], None),
    ("Òran no dàn? Cò as fheàrr leat?", ["Òran", "Dàn"], None),
    ("Which would you like most? 🌳", ["Trees", "Benches", "Lights"], None),
    ("Costs in € [roughly] — fair?", ["Yes", "No"], None),
    ("Tell us which of these matters most to you this year, please. " * 2, ["A", "B"], None),
    ("How often do you use the park?", [], (1, 5, "never", "every day")),
    ("Cia cho tric?", [], (0, 10, "", "gach là")),
]


def log_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/login")
    page.get_by_label("E-mail").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your communities").wait_for()


def python_asked(question: str, choices: list[str], scale: tuple | None) -> str:
    """The SMS the server sends for this question."""
    if scale:
        low, high, low_label, high_label = scale
        labels = {v: {"en": t} for v, t in ((low, low_label), (high, high_label)) if t}
        form = QuestionForm("en", scale=(low, high), labels=labels)
    else:
        form = QuestionForm("en", choices=tuple({"en": words} for words in choices))
    return form.asked(question, "en").text


def counter_says(body: str) -> str:
    count, encoding = sms_segments(body)
    return f"{count} SMS segment{'' if count == 1 else 's'} ({encoding})"


@pytest.fixture
def organiser_page(live_app, browser_page, services):  # type: ignore[no-untyped-def]  # noqa: F811
    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(browser_page, live_app)
    browser_page.goto(f"{live_app}{NEW}")
    return browser_page


def test_the_page_counts_a_closed_question_as_the_server_sends_it(organiser_page):
    page = organiser_page
    for question, choices, scale in CASES:
        shape = {"kind": "scale" if scale else "choices", "choices": choices}
        if scale:
            shape.update(low=scale[0], high=scale[1], lowLabel=scale[2], highLabel=scale[3])
        in_browser = page.evaluate(
            """([question, shape]) => {
                const form = document.querySelector("[data-campaign-form]");
                const hints = {choices: form.dataset.choicesReply, scale: form.dataset.scaleReply};
                const body = window.voicesSms.asked(question, shape, hints);
                const s = window.voicesSms.segments(body);
                return [body, s.count, s.encoding];
            }""",
            [question, shape],
        )
        body = python_asked(question, choices, scale)
        assert in_browser == [body, *sms_segments(body)], question


def test_an_organiser_builds_a_choice_question_with_a_branch_and_launches_it(
    organiser_page, services
):
    page = organiser_page
    page.get_by_label("Title").fill("The park after dark")
    page.get_by_label("Short name for links").fill("park")
    first = page.locator('[data-question="1"]')
    question = "How safe does the park feel after dark, walking home on your own in winter?"
    page.locator("#prompts-0-text").fill(question)
    counter = page.locator('[data-segments-for="prompts-0-text"]')
    assert counter.text_content() == "1 SMS segment (GSM-7)"
    assert not first.get_by_label("Choice 1", exact=True).is_visible()  # open until told otherwise

    first.get_by_label("Kind of question 1").select_option("choices")
    choices = ["Very safe", "Quite safe", "Not very safe", "Not at all safe"]
    for number, words in enumerate(choices[:2], start=1):
        first.get_by_label(f"Choice {number}", exact=True).fill(words)
    assert counter.text_content() == counter_says(python_asked(question, choices[:2], None))
    # The keyboard alone: a third choice on its own line, typed where the focus lands.
    first.get_by_label("Choice 3", exact=True).fill(choices[2])
    first.get_by_label("Choice 4", exact=True).fill(choices[3])
    first.get_by_role("button", name="Add a choice to question 1").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("Never out after dark")
    assert first.get_by_label("Choice 5", exact=True).input_value() == "Never out after dark"
    five = python_asked(question, [*choices, "Never out after dark"], None)
    assert counter.text_content() == counter_says(five) == "2 SMS segments (GSM-7)"
    first.get_by_role("button", name="Remove choice 5 of question 1").click()
    assert first.get_by_label("Choice 5", exact=True).count() == 0
    assert counter.text_content() == counter_says(python_asked(question, choices, None))

    second = page.locator('[data-question="2"]')
    page.locator("#prompts-1-text").fill("How often do you use the park?")
    second.get_by_label("Kind of question 2").select_option("scale")
    second.get_by_label("The highest means (optional)").fill("every day")
    second.get_by_label("Highest number").fill("4")
    assert second.get_by_label("After 5, go to").count() == 0
    second.get_by_label("After 1, go to").select_option("end")

    page.locator("#prompts-2-text").fill("What would make it feel safer?")
    first.get_by_label("After choice 3, go to").select_option(
        label="question 3: What would make it feel safer?"
    )
    first.get_by_label("After choice 4, go to").select_option("3")
    page.locator('[data-question="3"]').get_by_label("After question 3, go to").select_option("end")
    page.get_by_label("Yes, send these questions").check()
    page.get_by_role("button", name="Launch campaign").click()
    page.get_by_text("Launched The park after dark").wait_for()

    with services.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        prompts = [(p.key, p.form, p.branches) for p in made.prompts]
    assert prompts == [
        (
            "q1",
            {"choices": [{"en": words} for words in choices]},
            {"Not very safe": "q3", "Not at all safe": "q3"},
        ),
        ("q2", {"scale": [1, 4], "labels": {"4": {"en": "every day"}}}, {"1": "end"}),
        ("q3", None, {"*": "end"}),
    ]


def test_without_javascript_every_part_shows_and_the_server_builds_the_same_campaign(
    live_app,  # noqa: F811
    services,
):
    from playwright import sync_api

    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=False)
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            log_in(page, live_app)
            page.goto(f"{live_app}{NEW}")
            first = page.locator('[data-question="1"]')
            assert first.get_by_label("Choice 4", exact=True).is_visible()
            assert first.get_by_label("After 5, go to").is_visible()
            page.get_by_label("Title").fill("Benches")
            page.get_by_label("Short name for links").fill("benches")
            page.locator("#prompts-0-text").fill("Do we need more benches?")
            first.get_by_label("Kind of question 1").select_option("choices")
            first.get_by_label("Choice 1", exact=True).fill("Yes")
            first.get_by_label("Choice 2", exact=True).fill("No")
            first.get_by_label("After choice 1, go to").select_option("2")
            first.get_by_label("After choice 2, go to").select_option("end")
            page.locator("#prompts-1-text").fill("Where should they go?")
            page.get_by_label("Yes, send these questions").check()
            page.get_by_role("button", name="Launch campaign").click()
            page.get_by_text("Launched Benches").wait_for()
        finally:
            context.close()
            browser.close()
    with services.db.session_scope() as session:
        made = session.scalar(select(Campaign))
        prompts = [(p.key, p.form, p.branches) for p in made.prompts]
    assert prompts == [
        ("q1", {"choices": [{"en": "Yes"}, {"en": "No"}]}, {"Yes": "q2", "No": "end"}),
        ("q2", None, None),
    ]
