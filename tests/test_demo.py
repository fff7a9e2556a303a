"""`voices demo`: a demo town with enough made-up answers for every page to show something."""

from __future__ import annotations

import re
from html import unescape

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.insights import coverage
from storage.models import Community, Response, utcnow
from storage.themes import ThemeFilter, theme_map
from tests.admin_support import add_user, log_in
from webhooks.cli import cli


def test_the_demo_town_is_marked_as_demo_and_has_answers_to_look_at(cli_env, client, services):
    result = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0 and "made-up answers" in result.output
    with cli_env.session_scope() as session:
        town = session.scalar(select(Community).where(Community.slug == "demo"))
        assert town.name == "Demo Town (demo data)"
        answers = session.scalar(select(func.count()).select_from(Response))
        assert 300 <= answers <= 800
        days = session.scalars(select(Response.received_at)).all()
        assert len({moment.date() for moment in days}) >= 10, "the chart has days to show"
        found = theme_map(session, ThemeFilter(community_id=town.id))
        assert len(found.themes) >= 4
        assert found.said_once
        groups = coverage.counted_groups(session, town.id, utcnow())
        shown = {reach.label for reach in groups["area"] if not reach.suppressed}
        assert shown >= {"North", "South", "Old Town", "Riverside"}

    results = client.get("/results/demo").get_data(as_text=True)
    assert "What Demo Town (demo data) told us" in results
    assert results.count('<blockquote class="quote">') >= 3
    assert "opens until 7pm on Thursdays" in results

    add_user(services, "staff@example.org", "staff", ("demo",))
    log_in(client, "staff@example.org")
    page = client.get("/admin/communities/demo/").get_data(as_text=True)
    assert "Demo Town (demo data)" in page and "<rect" in page
    text = unescape(re.sub(r"<[^>]+>", " ", page))
    assert "North" in text and "Riverside" in text

    again = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert "nothing loaded" in again.output
