"""The responses page says how many responses match, on every page together."""

from __future__ import annotations

import re
from html import unescape

from storage.response_search import PAGE_SIZE
from tests.admin_support import add_user, log_in
from tests.helpers import Phone, add_campaign, add_community


def total_line(client, url: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'<p id="responses-total">(.*?)</p>', page, re.S)
    return unescape(found.group(1)) if found else ""


def test_the_responses_page_shows_how_many_match(client, services):
    add_community(services)
    add_campaign(services)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    phone = Phone(services, "+447700900001")
    phone.join()
    phone.send("Lanterns along the river")
    url = "/admin/communities/cumnock/responses"
    assert total_line(client, url) == "1 response."
    for n in range(2, 5):
        Phone(services, f"+44770090000{n}").join()
        Phone(services, f"+44770090000{n}").send(f"Lanterns, and a stage number {n}")
    assert total_line(client, url) == "4 responses."
    assert total_line(client, url + "?q=stage") == "3 responses."
    for n in range(PAGE_SIZE):
        phone.send(f"And another thought, number {n}")
    everyone = PAGE_SIZE + 4
    assert total_line(client, url) == f"{everyone} responses: 1–{PAGE_SIZE} shown, newest first."
    second = total_line(client, url + "?page=2")
    assert second == f"{everyone} responses: {PAGE_SIZE + 1}–{everyone} shown, newest first."
