"""The community page's groups least heard, and the Themes view with its link to the answers."""

from __future__ import annotations

import re
from html import unescape

from tests.admin_support import add_user, log_in
from tests.helpers import Phone
from tests.test_groups import AGE, AREA, ask, join_group
from tests.test_nudges import T0, at


def rows_of(page: str, caption: str) -> list[tuple[str, ...]]:
    """The body rows of the groups table with this caption, as the cells' text."""
    table = page.split(f"<caption>{caption}", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        tuple(unescape(cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_groups_least_heard_come_first_and_small_groups_are_never_exact(client, services):
    ask(services, AREA, AGE)
    with at(T0):
        for number in range(8):  # North: 8 joined, 6 heard
            join_group(services, f"+4477009001{number:02}", "North", None)
        for number in range(6):  # South: 6 joined, 1 heard
            join_group(services, f"+4477009002{number:02}", "South", None)
        for number in range(3):  # Centre: 3 joined, all heard
            join_group(services, f"+4477009003{number:02}", "Centre", None)
    with at(T0):
        for number in range(6):
            Phone(services, f"+4477009001{number:02}").send("SKIP")
            Phone(services, f"+4477009001{number:02}").send("More benches please")
        for number in range(6):
            Phone(services, f"+4477009002{number:02}").send("SKIP")
        Phone(services, "+447700900200").send("Trees")
        for number in range(3):
            Phone(services, f"+4477009003{number:02}").send("SKIP")
            Phone(services, f"+4477009003{number:02}").send("Lights")
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert "Groups least heard" in page
    area = rows_of(page, AREA[1])
    # South is least heard (17%), then North (75%); Centre (3 people) and "no answer" (0) are
    # under five, shown last and never as a number.
    assert area == [
        ("South", "6", "17%"),
        ("North", "8", "75%"),
        ("Centre", "fewer than 5", "-"),
        ("no answer", "fewer than 5", "-"),
    ]
    age = rows_of(page, AGE[1])
    assert [row[1] for row in age] == ["17"] + ["fewer than 5"] * 3  # everyone skipped age
    assert ">3<" not in page.split("Groups least heard", 1)[1].split("</section>", 1)[0]


def test_a_community_without_group_questions_says_how_to_ask_them(client, services):
    ask(services)
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/cumnock/").get_data(as_text=True)
    assert "No self-described groups yet" in page
