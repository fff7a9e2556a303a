"""The results page in headless chromium: an organiser publishes it, approves a quote and writes
an update in the browser; a visitor reads it at desktop and phone width."""

from __future__ import annotations

import pytest

from tests.admin_support import PASSWORD, add_user
from tests.browser_check import skip_without_browser
from tests.results_support import residents_answer, town
from tests.test_admin_browser import browser_page, live_app, shot  # noqa: F401

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1200, "height": 900}
ANSWERS = [
    "More live music in the square please",
    "Music and dancing in the square for everyone",
    "A brass band playing music in the square",
    "Music for the kids in the square",
    "Live music in the square on Saturday",
    "Lanterns along the river walk",
    "Lanterns made by the school on the river",
    "Warm drinks by the lanterns on the river",
    "Lanterns and a river parade at dusk",
    "River lanterns, my number is 07700 900456",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow, skip_without_browser()]


def organiser_sets_up_the_page(page, base: str) -> None:  # type: ignore[no-untyped-def]
    """Log in, publish, approve two quotes and write an update, as an organiser would."""
    page.goto(f"{base}/admin/login")
    page.get_by_label("E-mail").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/admin/communities/cumnock/")
    page.get_by_role("button", name="Publish the results page").click()
    page.get_by_text("Published. Anyone can now see").wait_for()
    page.goto(f"{base}/admin/communities/cumnock/campaigns/festival-ideas/")
    for words in (ANSWERS[4], "River lanterns, my number is [phone]"):
        page.locator("#quote-list li", has_text=words).get_by_role("button").click()
        page.get_by_text("Quote approved").wait_for()
    form = page.locator("#update-form")
    form.get_by_label("What was done").fill(
        "You asked for music: the brass band plays in the square on 12 December."
    )
    form.get_by_label("Date").fill("2026-12-12")
    form.get_by_label("Status").select_option("planned")
    form.get_by_role("button", name="Add to the results page").click()
    page.get_by_text("Update added to the results page.").wait_for()


def check_reads_well(page, width: int) -> None:  # type: ignore[no-untyped-def]
    """Headings in order, a language, and nothing wider than the screen."""
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("heading", level=2, name="Ideas for the winter festival").count() == 1
    assert page.get_by_role("heading", level=3, name="You said, we did").count() == 1
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"scrolls sideways: {scroll_width} > {width}"


def test_a_visitor_reads_the_published_page_at_desktop_and_phone_width(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    services,
    shot,  # noqa: F811
):
    town(services, published=False)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    residents_answer(services, ANSWERS)
    page = browser_page
    organiser_sets_up_the_page(page, live_app)

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_app}/results/cumnock")
    check_reads_well(page, DESKTOP["width"])
    text = page.locator("main").inner_text()
    assert "10 residents answered" in text
    assert ANSWERS[4] in text and "[phone]" in text and "07700" not in text
    assert ANSWERS[0] not in text  # not approved
    assert "brass band plays in the square" in text and "Planned" in text
    shot(page, "results")

    page.set_viewport_size(PHONE)
    page.reload()
    check_reads_well(page, PHONE["width"])
    shot(page, "phone-results")

    page.get_by_role("link", name="Gàidhlig").click()
    assert page.locator("html").get_attribute("lang") == "gd"
    assert "Am bu toigh leat cuideachadh?" in page.locator("main").inner_text()
