"""Pages on a phone-sized screen (375 x 667) in headless chromium."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.helpers import add_community
from tests.test_admin_browser import CHROMIUM, browser_page, live_app  # noqa: F401
from webhooks.charts import replies_chart

CSS = Path(__file__).resolve().parent.parent / "webhooks" / "static" / "voices.css"
PHONE = {"width": 375, "height": 667}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]


def test_on_a_phone_the_simulators_message_box_shows_without_scrolling(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    services,
):
    add_community(services)
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_app}/simulator/")
    for control in (page.get_by_label("Your message"), page.get_by_role("button", name="Send")):
        box = control.bounding_box()
        assert box is not None and box["y"] >= 0
        assert box["y"] + box["height"] <= PHONE["height"], "below the fold"
    assert page.evaluate("window.scrollY") == 0


def test_on_a_phone_the_chart_labels_are_whole_and_readable(browser_page):  # noqa: F811
    start = date(2026, 11, 1)
    series = [(start + timedelta(days=n), 20_000 if n == 3 else 40 * n) for n in range(30)]
    chart = replies_chart(series, "Replies per day")
    page = browser_page
    page.set_viewport_size(PHONE)
    page.set_content(
        f"<style>{CSS.read_text()}</style><main><div class='card'>{chart}</div></main>"
    )
    svg = page.locator("svg.chart").bounding_box()
    labels = page.locator("svg.chart text")
    assert labels.all_text_contents() == ["20,000", "0", "01 Nov", "30 Nov"]
    for index in range(labels.count()):
        box = labels.nth(index).bounding_box()
        assert box["x"] >= svg["x"] - 0.5, f"{labels.nth(index).text_content()} is cut off"
        assert box["x"] + box["width"] <= svg["x"] + svg["width"] + 0.5
        assert box["height"] >= 10, "too small to read on a phone"
