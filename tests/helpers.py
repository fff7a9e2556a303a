"""Small test helpers: a pretend phone that talks to the engine through the real inbox."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.campaigns.prompt_files import launch, parse_prompt_file
from bot.conversation import inbox
from bot.messages import Inbound
from bot.services import Services
from storage.models import DEFAULT_QUIET_HOURS, Community, utcnow

_ids = itertools.count(1)

FESTIVAL = """\
slug: festival-ideas
title: Ideas for the winter festival
language: en
prompts:
  - id: idea
    text: What's one thing that would make the festival feel like yours?
  - id: help
    text:
      en: Would you like to help make it happen? Tell us how, or reply NO.
      gd: Am bu toigh leat cuideachadh? Innis dhuinn ciamar, no freagair NO.
thanks: Thank you! Your words go straight to the planning group.
"""

# A campaign with a closed question that branches, a scale with labels, and an open question that
# ends it; the first question's last choice is also in Gaelic.
CLOSED_PARK = """\
slug: park
title: The park after dark
language: en
prompts:
  - id: park
    text: How safe does the park feel after dark?
    choices: [Very safe, Quite safe, Not very safe, {en: Not at all safe, gd: Chan eil idir}]
    next: {Not very safe: why, Not at all safe: why}
  - id: often
    text: How often do you use the park?
    scale: [1, 5]
    labels: {1: never, 5: every day}
  - id: why
    text: What would make it feel safer?
    next: end
"""


def add_community(
    services: Services, slug: str = "cumnock", name: str = "Cumnock", **extra: object
) -> int:
    """Create a community (quiet 20:00-09:00 unless told otherwise) and return its id."""
    extra.setdefault("quiet_start", DEFAULT_QUIET_HOURS[0])
    extra.setdefault("quiet_end", DEFAULT_QUIET_HOURS[1])
    with services.db.session_scope() as session:
        extra.setdefault("keyword", slug.upper().replace("-", ""))
        community = Community(slug=slug, name=name, **extra)
        session.add(community)
        session.flush()
        return community.id


def add_campaign(services: Services, slug: str = "cumnock", source: str = FESTIVAL) -> int:
    """Launch a prompt file's text in a community now and return the campaign id."""
    with services.db.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == slug))
        return launch(session, community, parse_prompt_file(source)).id


@dataclass
class Phone:
    """A resident's phone on one channel, sending through inbox.receive like a webhook does."""

    services: Services
    address: str = "+447700900123"
    channel: str = "sms"
    language: str | None = None
    inbox_ids: list[int] = field(default_factory=list)

    def send(
        self, text: str, external_id: str | None = None, media: tuple[str, ...] = ()
    ) -> list[str]:
        """Send `text`; return the texts of the replies."""
        message = Inbound(
            channel=self.channel,
            address=self.address,
            text=text,
            external_id=external_id or f"test-{next(_ids)}",
            received_at=utcnow(),
            raw={"Body": text},
            language=self.language,
            media=media,
        )
        reception = inbox.receive(self.services.db, self.services.vault, message)
        self.inbox_ids.append(reception.inbound_id)
        return [reply.text for reply in reception.replies]

    def join(self, keyword: str = "CUMNOCK") -> list[str]:
        self.send(keyword)
        return self.send("YES")


def deliver_queued(services: Services) -> int:
    """Mark every queued outbox row sent, as the worker's sender does once it has delivered them."""
    from sqlalchemy import update

    from storage.models import OutboundMessage

    with services.db.session_scope() as session:
        return session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "queued")
            .values(status="sent", sent_at=utcnow())
        ).rowcount
