"""The campaign page's tallies agree with `voices results` and the export, and show safely."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from click.testing import CliRunner

from storage.small_groups import FEWER_THAN
from tests.admin_support import add_user, log_in
from tests.tally_support import PARK, Seeded
from webhooks.cli import cli

PAGE = "/admin/communities/cumnock/campaigns/park/"
ROW = re.compile(r'<tr><th scope="row">(.*?)</th>((?:<td>.*?</td>)+)</tr>')


def table(html: str, prompt_key: str, css_class: str) -> dict[str, list[str]]:
    """One table of a question's tally on the page: its rows' cells by their headings."""
    article = html.split(f'id="tally-{prompt_key}"')[1].split("</article>")[0]
    found = article.split(f'class="{css_class}')[1].split("</table>")[0]
    return {label: re.findall(r"<td>(.*?)</td>", cells) for label, cells in ROW.findall(found)}


@pytest.fixture
def seeded(cli_env, services):  # type: ignore[no-untyped-def]
    seeded = Seeded.start(services)
    seeded.answers("North", "Not at all safe", 5)
    seeded.answers("South", "Very safe", 4)
    seeded.answers("Centre", "3", 6, prompt="often")
    changed_mind = seeded.resident("Centre")
    seeded.reply(changed_mind, "park", "no idea", None)
    seeded.reply(changed_mind, "park", "1", "Very safe")
    seeded.reply(changed_mind, "park", "actually 2", "Quite safe")
    # Left out of routine exports, and so out of the tallies too.
    seeded.reply(seeded.resident("North"), "park", "4, he hurt me", "Not at all safe", True)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    return seeded


def test_the_page_the_command_and_the_export_agree(client, seeded):
    log_in(client, "org@example.org")
    html = client.get(PAGE).get_data(as_text=True)
    result = CliRunner().invoke(
        cli, ["results", "--community", "cumnock", "--campaign", "park", "--format", "json"]
    )
    exported = client.get("/admin/communities/cumnock/export.jsonl?campaign=park")
    assert result.exit_code == 0 and exported.status_code == 200
    latest: dict[tuple[str, str], str] = {}
    for line in exported.get_data(as_text=True).splitlines():
        record = json.loads(line)
        if record["choice"]:
            latest[(record["prompt_id"], record["resident"])] = record["choice"]
    from_export = Counter((prompt_id, choice) for (prompt_id, _), choice in latest.items())
    for question in json.loads(result.stdout)["questions"]:
        on_page = table(html, question["prompt_id"], "tally-table")
        for answer in question["answers"]:
            shown = on_page[answer["label"]]
            assert shown == [str(answer["count"]), f"{answer['percent']}%"]
            assert from_export[(question["prompt_id"], answer["answer"])] == answer["count"]
    assert table(html, "park", "tally-table")["Quite safe"] == ["1", "10%"]
    assert table(html, "often", "tally-table")["3"] == ["6", "100%"]


def test_small_groups_are_fewer_than_5_on_the_page(client, seeded):
    log_in(client, "org@example.org")
    groups = table(client.get(PAGE).get_data(as_text=True), "park", "groups tally-groups")
    assert groups["North"] == ["5", "0 (0%)", "0 (0%)", "0 (0%)", "5 (100%)"]
    assert groups["South"] == [FEWER_THAN, "-", "-", "-", "-"]
    assert groups["Centre"][0] == FEWER_THAN


def test_unmatched_replies_and_answers_are_shown_escaped(client, cli_env, services):
    hostile = PARK.replace("Very safe", "'Safe <i>& \"sound\"</i>'")
    seeded = Seeded.start(services, source=hostile)
    seeded.answers("North", 'Safe <i>& "sound"</i>', 5)
    someone = seeded.resident("North")
    seeded.reply(someone, "park", "<script>alert('hi')</script>\nsecond line", None)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert" not in html and "<i>&" not in html
    unmatched = html.split('class="unmatched"')[1].split("</aside>")[0]
    assert "From 1 resident(s)" in unmatched
    assert "<li>&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;\nsecond line</li>" in unmatched
    # The answer's words in the chart, the table and the ready sentences, all escaped.
    assert html.count("Safe &lt;i&gt;&amp; &#34;sound&#34;&lt;/i&gt;") >= 4


def test_ready_sentences_quote_counts_of_five_or_more_only(client, seeded):
    log_in(client, "org@example.org")
    html = client.get(PAGE).get_data(as_text=True)
    quotes = html.split('id="tally-quotes"')[1].split("</ul>")[0]
    sentences = re.findall(r'data-text="(.*?)"', quotes)
    assert sentences == [
        "5 of you said: Not at all safe",
        "Most of you (100%) said: 3",
        "6 of you said: 3",
    ]


def test_staff_see_the_tallies_but_no_report_back_sentences(client, seeded, services):
    add_user(services, "staff@example.org", "staff", ("cumnock",))
    log_in(client, "staff@example.org")
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="tally-park"' in html and "tally-quotes" not in html


def test_a_campaign_of_open_questions_has_no_tallies_section(client, cli_env, services):
    from tests.helpers import add_campaign, add_community

    add_community(services)
    add_campaign(services)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    html = client.get("/admin/communities/cumnock/campaigns/festival-ideas/").get_data(as_text=True)
    assert 'id="tallies"' not in html
