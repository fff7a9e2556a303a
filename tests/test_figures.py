"""Heard, joined and the campaign funnel: every page and command shows the same numbers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.conversation.retention import sweep
from storage.db import MIGRATIONS
from storage.models import OutboundMessage, Resident, Response, utcnow
from tests.admin_support import add_user, log_in
from tests.helpers import Phone, add_campaign, add_community, deliver_queued
from webhooks.cli import cli


def voices(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _through_0010(db) -> None:  # type: ignore[no-untyped-def]
    """Take the database back to the previous head and up again, as an upgrade would."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    command.downgrade(config, "0009")
    db.upgrade()


@pytest.fixture
def four_residents(client, services, cli_env):  # type: ignore[no-untyped-def]
    """Four joined: one heard today, one heard before last_heard_at was kept, one whose old
    words retention erased, one never heard; the funnel's messages in every state."""
    add_community(services)
    add_campaign(services)
    phones = [Phone(services, address=f"+44770090070{n}") for n in range(4)]
    for phone in phones:
        phone.join()
    deliver_queued(services)
    for phone in phones[:3]:
        phone.send("More music by the river")
    with services.db.session_scope() as session:
        ids = session.scalars(select(Resident.id).order_by(Resident.id)).all()
        session.execute(update(Resident).where(Resident.id == ids[1]).values(last_heard_at=None))
        long_ago = utcnow() - timedelta(days=400)
        session.execute(
            update(Response).where(Response.resident_id == ids[2]).values(received_at=long_ago)
        )
        prompts = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "prompt")
            .order_by(OutboundMessage.id)
        ).all()
        for row, status in zip(prompts, ("delivered", "read", "undelivered", "sent"), strict=False):
            row.status = status
        sweep(session, older_than_days=365)
    _through_0010(services.db)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return client


def _page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r">\s+<", "><", client.get(path).get_data(as_text=True))


def _funnel_on(page: str) -> dict[str, str]:
    funnel = page.split('<dl class="stats funnel">', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r"<dt>([A-Za-z ]+)</dt><dd>(\d+)</dd>", funnel))


def test_heard_is_the_same_on_the_page_and_in_every_command(four_residents):
    client = four_residents
    page = _page(client, "/admin/communities/cumnock/")
    assert '<dd id="joined">4</dd>' in page
    assert '<dd id="heard">3 <small>(75%)</small></dd>' in page
    assert '<dd id="unheard">1</dd>' in page
    home = _page(client, "/admin/")
    assert "<dt>Joined</dt><dd>4</dd><dt>Heard</dt><dd>3</dd>" in home.replace("</div><div>", "")
    listed = voices("community", "list").splitlines()[1].split()
    assert listed[2:6] == ["4", "3", "1", "75%"]  # joined heard unheard heard %
    everyone = next(
        line
        for line in voices("coverage", "--community", "cumnock").splitlines()
        if line.startswith("everyone")
    )
    assert everyone.split()[1:] == ["4", "3", "1", "75%"]


def test_the_funnel_is_the_same_on_both_pages_and_in_campaign_list(four_residents):
    client = four_residents
    on_community = _funnel_on(_page(client, "/admin/communities/cumnock/"))
    on_campaign = _funnel_on(_page(client, "/admin/communities/cumnock/campaigns/festival-ideas/"))
    assert on_community == on_campaign
    # First prompts to four, second prompts to the three who answered; three answers, although
    # retention erased one of them.
    assert on_campaign["Asked"] == "7"
    assert on_campaign["Answered"] == "3"
    header, row = voices("campaign", "list", "--community", "cumnock").strip().splitlines()
    listed = dict(zip(header.split()[3:], row.split()[3:], strict=True))
    assert listed == {
        "queued": on_campaign["Waiting to send"],
        "sent": on_campaign["Sent"],
        "delivered": on_campaign["Delivered"],
        "failed": on_campaign["Failed"],
        "answered": on_campaign["Answered"],
        "heard": "75%",  # three of the four joined answered this campaign
    }
    assert (listed["sent"], listed["delivered"], listed["failed"]) == ("4", "2", "1")
