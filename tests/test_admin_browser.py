"""An organiser and a staff member in a real browser (headless Debian chromium via Playwright)."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from werkzeug.serving import make_server

from storage.exports import COLUMNS
from tests.admin_support import PASSWORD, add_user
from tests.browser_check import CHROMIUM, skip_without_browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    skip_without_browser(),
]


@pytest.fixture
def live_app(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served on a free loopback port in a background thread."""
    app.config["TELEGRAM_BOT_USERNAME"] = "CumnockVoicesBot"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    """A fresh page in headless chromium, phone-sized enough to check the layout holds."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1000, "height": 900}
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def shot(tmp_path):  # type: ignore[no-untyped-def]
    """Screenshot a page: into docs/screenshots with VOICES_SCREENSHOTS=1, else a temp folder."""
    folder = SCREENSHOTS if os.environ.get("VOICES_SCREENSHOTS") == "1" else tmp_path

    def take(page, name: str) -> None:  # type: ignore[no-untyped-def]
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        assert (folder / f"{name}.png").stat().st_size > 1000

    return take


def download(page, button_text: str) -> bytes:  # type: ignore[no-untyped-def]
    with page.expect_download() as info:
        page.get_by_role("button", name=button_text).click()
    return Path(info.value.path()).read_bytes()


def test_an_organiser_runs_a_campaign_and_staff_export_it_in_the_browser(
    live_app, browser_page, services, shot
):
    page = browser_page
    add_user(services, "org@example.org", "organiser")

    # Log in with the keyboard only.
    page.goto(f"{live_app}/admin/")
    assert page.url.endswith("/admin/login?next=%2Fadmin%2F")
    shot(page, "login")
    page.get_by_label("E-mail").focus()
    page.keyboard.type("org@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your communities").wait_for()

    # Create a community.
    page.get_by_role("link", name="Add a community").click()
    page.get_by_label("Name residents see").fill("Cumnock")
    page.get_by_label("Short name for links").fill("cumnock")
    page.get_by_role("button", name="Create community").click()
    page.get_by_text("Residents text CUMNOCK to join").wait_for()

    # Launch a campaign from a starter, watching the live SMS segment count.
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Starter").select_option("festival-ideas")
    page.get_by_role("button", name="Use this").click()
    page.wait_for_url("**/campaigns/new?starter=festival-ideas")  # loaded: its scripts have run
    first_question = page.locator("#prompts-0-text")
    assert "festival feel like yours" in first_question.input_value()
    counter = page.locator('[data-segments-for="prompts-0-text"]')
    assert counter.text_content() == "1 SMS segment (GSM-7)"
    first_question.fill("What would make the festival yours? 🎄")
    assert counter.text_content() == "1 SMS segment (UCS-2)"
    first_question.fill("x" * 400)
    assert "3 SMS segments (GSM-7)" in counter.text_content()
    first_question.fill("What's one thing that would make the festival feel like yours?")
    shot(page, "campaign-new")
    page.get_by_label("Yes, send these questions").check()
    page.get_by_role("button", name="Launch campaign").click()
    page.get_by_text("Launched Ideas for the winter festival").wait_for()

    # Answer it in the simulator as a resident.
    page.goto(f"{live_app}/simulator/")
    page.get_by_role("button", name="CUMNOCK").click()
    page.locator(".msg.bot", has_text="Reply YES to join").wait_for()
    page.get_by_label("Your message").fill("YES")
    page.get_by_label("Your message").press("Enter")
    page.locator(".msg.bot", has_text="festival feel like yours").wait_for()
    page.get_by_label("Your message").fill("Lanterns along the river, please")
    page.get_by_label("Your message").press("Enter")
    page.locator(".msg.bot", has_text="anything that might stop you").wait_for()
    shot(page, "simulator")

    # See the response appear.
    page.goto(f"{live_app}/admin/communities/cumnock/")
    assert page.locator("#heard").text_content().startswith("1")
    shot(page, "community")
    page.get_by_role("link", name="Responses").click()
    page.locator("#responses").get_by_text("Lanterns along the river, please").wait_for()
    shot(page, "responses")

    # Print a poster.
    page.goto(f"{live_app}/admin/communities/cumnock/poster")
    page.get_by_text("https://t.me/CumnockVoicesBot?start=cumnock").wait_for()
    assert page.locator("img").evaluate("img => img.naturalWidth") > 100
    shot(page, "poster")
    assert page.pdf(format="A4").startswith(b"%PDF")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF poster").click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")

    # A staff member logs in and downloads every format.
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("E-mail").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Cumnock").click()
    page.get_by_role("heading", name="Cumnock").wait_for()
    assert page.get_by_role("link", name="New campaign").count() == 0
    table = list(csv.reader(io.StringIO(download(page, "Download CSV").decode("utf-8"))))
    assert table[0][-1] == "choice" and table[1][-1] == ""  # an open question: no choice
    assert table[1][COLUMNS.index("text")] == "Lanterns along the river, please"
    lines = download(page, "Download JSON Lines").decode("utf-8").splitlines()
    assert json.loads(lines[0])["prompt_id"] == "idea"
    workbook = load_workbook(io.BytesIO(download(page, "Download Excel")), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[1][COLUMNS.index("text")] == "Lanterns along the river, please"
    assert "+44" not in json.dumps(rows, default=str)


def test_the_pages_fit_a_phone_screen(live_app, browser_page, services, shot):
    page = browser_page
    add_user(services, "boss@example.org", "admin")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_app}/admin/login")
    page.get_by_label("E-mail").fill("boss@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Add a community").click()
    # evaluate during the navigation finds no document yet
    page.get_by_role("heading", name="Add a community").wait_for()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 375
    shot(page, "phone-community-new")


def test_staff_read_the_themes_on_a_phone_and_click_through_to_the_answers(
    live_app, browser_page, services, shot
):
    from tests.theme_answers import realistic_answers, store

    store(services.db, realistic_answers())
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_app}/admin/login")
    page.get_by_label("E-mail").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_app}/admin/communities/cumnock/campaigns/town-ideas/")
    page.get_by_role("link", name="See the themes").click()
    page.get_by_role("heading", name="What people said").wait_for()
    assert page.locator("#themes > li").count() >= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "themes")
    first = page.locator("#themes > li h2 a").first
    label = first.text_content()
    first.click()
    page.locator("#theme-filter").get_by_text(f"Theme: {label}").wait_for()
    assert page.locator("#responses > li").count() > 10
    assert not [text for text in refused if "Content Security Policy" in text]


def test_an_organiser_sees_every_mistake_at_once_then_fixes_them_and_launches(
    live_app, browser_page, services, shot
):
    from tests.helpers import add_community

    page = browser_page
    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    page.goto(f"{live_app}/admin/login")
    page.get_by_label("E-mail").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_app}/admin/communities/cumnock/campaigns/new")

    # Everything wrong at once: no title, a question far too long, a start last year, no tick.
    page.get_by_label("Short name for links").fill("benches")
    page.locator("#prompts-0-text").fill("Where should the new benches go, and why there? " * 8)
    assert (
        "please shorten to 2 or fewer"
        in page.locator('[data-segments-for="prompts-0-text"]').text_content()
    )
    page.locator("#start").fill("2020-01-01T10:00")
    page.get_by_role("button", name="Launch campaign").click()
    page.locator("#form-problems").wait_for()
    assert page.locator("#title-error").text_content().strip() == "Give the campaign a title."
    assert "over the budget of 2" in page.locator("#prompts-0-text-error").text_content()
    assert "is in the past" in page.locator("#start-error").text_content()
    assert "confirm the launch" in page.locator("#confirm-error").text_content()
    assert page.get_by_label("Short name for links").input_value() == "benches"  # kept
    shot(page, "campaign-new-mistakes")

    # Fix them, tick to confirm, launch.
    page.get_by_label("Title").fill("New benches")
    page.locator("#prompts-0-text").fill("Where should the new benches go?")
    page.locator("#start").fill("")
    page.get_by_label("Yes, send these questions").check()
    page.get_by_role("button", name="Launch campaign").click()
    page.get_by_text("Launched New benches.").wait_for()
    assert page.locator("[role=alert]").count() == 0
