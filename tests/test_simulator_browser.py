"""The simulator in a real browser (headless Debian chromium via Playwright)."""

from __future__ import annotations

import pytest

from tests.helpers import add_campaign, add_community
from tests.test_admin_browser import CHROMIUM, browser_page, live_app  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]


def say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def test_after_erasure_the_simulator_shows_the_erasure_and_what_comes_next(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    services,
):
    add_community(services)
    add_campaign(services)
    page = browser_page
    page.goto(f"{live_app}/simulator/")
    page.get_by_role("button", name="CUMNOCK").click()
    page.locator(".msg.bot", has_text="Reply YES to join").wait_for()
    say(page, "YES")
    page.locator(".msg.bot", has_text="festival feel like yours").wait_for()
    say(page, "Lanterns along the river")
    page.locator(".msg.me", has_text="Lanterns along the river").wait_for()
    say(page, "DELETE")
    page.locator(".msg.bot", has_text="CONFIRM").wait_for()
    say(page, "CONFIRM")
    erased = page.locator(".msg.bot", has_text="been erased")
    erased.wait_for()

    say(page, "CUMNOCK")
    page.locator(".msg.me", has_text="CUMNOCK").last.wait_for()
    again = page.locator(".msg.bot", has_text="Reply YES to join")
    again.nth(1).wait_for()
    # The erasure stays on screen, and the new welcome comes after it.
    page.wait_for_timeout(4500)  # one history refresh later
    assert erased.is_visible()
    texts = page.locator(".msg").all_text_contents()
    assert any("been erased" in t for t in texts)
    last_erased = max(i for i, t in enumerate(texts) if "been erased" in t)
    assert "Reply YES to join" in texts[-1] and len(texts) - 1 > last_erased


def test_a_closed_question_shows_its_choices_as_buttons_and_a_click_answers(
    live_app,  # noqa: F811
    browser_page,  # noqa: F811
    services,
):
    from pathlib import Path

    park = (Path(__file__).parents[1] / "prompts" / "park-after-dark.yaml").read_text()
    add_community(services)
    add_campaign(services, source=park)
    page = browser_page
    page.goto(f"{live_app}/simulator/")
    page.get_by_role("button", name="CUMNOCK").click()
    page.locator(".msg.bot", has_text="Reply YES to join").wait_for()
    say(page, "YES")
    page.locator(".msg.bot", has_text="Reply 1, 2, 3 or 4").wait_for()
    page.get_by_role("button", name="Not at all safe").click()
    page.locator(".msg.bot", has_text="What would make the park feel safer").wait_for()
    say(page, "Lights")
    page.locator(".msg.bot", has_text="friends group").wait_for()
