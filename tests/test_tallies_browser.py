"""The campaign page's tallies in a real browser: the chart and its table render, quotes insert."""

from __future__ import annotations

import pytest

from tests.admin_support import PASSWORD, add_user
from tests.browser_check import skip_without_browser
from tests.tally_support import Seeded
from tests.test_admin_browser import browser_page, live_app, shot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, skip_without_browser()]


def test_an_organiser_sees_the_chart_and_table_and_quotes_a_tally(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    services,
    shot,  # noqa: F811
):
    seeded = Seeded.start(services)
    seeded.answers("North", "Not at all safe", 6)
    seeded.answers("South", "Quite safe", 4)
    seeded.reply(seeded.resident("North"), "park", "<b>only at night</b>", None)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    page = browser_page
    page.goto(f"{live_app}/admin/login")
    page.get_by_label("E-mail").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your communities").wait_for()
    page.goto(f"{live_app}/admin/communities/cumnock/campaigns/park/")

    chart = page.locator("#tally-park svg.chart.tally")
    chart.wait_for()
    assert chart.get_attribute("aria-label") == (
        "How safe does the park feel after dark?: answers of 10 resident(s)"
    )
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    # One bar per answer; the longest is Not at all safe's six, drawn wider than Quite safe's four.
    bars = chart.locator("rect")
    assert bars.count() == 4
    widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(4)]
    assert widths[3] > widths[1] > widths[0] == widths[2]
    table = page.get_by_role("table", name="10 resident(s) answered")
    assert table.get_by_role("row", name="Not at all safe 6 60%").is_visible()
    groups = page.locator("#tally-park table.tally-groups")
    assert groups.get_by_role("row", name="South").text_content().count("fewer than 5") == 1
    unmatched = page.locator("#tally-park .unmatched li")
    assert unmatched.all_text_contents() == ["<b>only at night</b>"]

    update = page.get_by_label("Update to send")
    update.fill("Thank you.")
    page.get_by_role("button", name="6 of you said: Not at all safe").click()
    assert update.input_value() == "Thank you. 6 of you said: Not at all safe"
    counter = page.locator('[data-segments-for="text"]')
    assert counter.text_content() == "1 SMS segment (GSM-7)"
    shot(page, "campaign-tallies")
