"""Seeded answers to a campaign with closed questions: residents, their groups, their replies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.conversation import profile
from bot.services import Services
from storage.models import ProfileAnswer, Prompt, Resident, Response
from tests.helpers import CLOSED_PARK as PARK
from tests.helpers import add_campaign, add_community

AREA = ("area", "Which part of town do you live in?", ["North", "South", "Centre"])
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Seeded:
    """A community running PARK, asking AREA on joining; rows added straight to the tables."""

    services: Services
    community_id: int = 0
    campaign_id: int = 0
    prompts: dict[str, int] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=itertools.count)

    @classmethod
    def start(cls, services: Services, source: str = PARK) -> Seeded:
        seeded = cls(services)
        seeded.community_id = add_community(services)
        seeded.campaign_id = add_campaign(services, source=source)
        with services.db.session_scope() as session:
            profile.set_question(session, seeded.community_id, *AREA)
            found = session.execute(
                select(Prompt.key, Prompt.id).where(Prompt.campaign_id == seeded.campaign_id)
            )
            seeded.prompts = {key: prompt_id for key, prompt_id in found}
        return seeded

    def resident(self, area: str | None = None) -> int:
        """A joined resident, in `area` (None: skipped the question)."""
        number = next(self._numbers)
        with self.services.db.session_scope() as session:
            resident = Resident(
                community_id=self.community_id,
                channel="sms",
                address_enc=f"enc-{number}",
                address_hash=f"hash-{number}",
                pseudonym=f"r-seed{number:05d}",
                status="joined",
                joined_at=T0,
            )
            session.add(resident)
            session.flush()
            question = profile.questions(session, self.community_id)[0]
            session.add(
                ProfileAnswer(
                    resident_id=resident.id, question_id=question.id, choice=area, answered_at=T0
                )
            )
            return resident.id

    def reply(
        self,
        resident_id: int,
        prompt: str,
        text: str,
        choice: str | None = None,
        safeguarding: bool = False,
    ) -> None:
        """A reply to `prompt`, later than every reply before it; `choice` None: no match."""
        with self.services.db.session_scope() as session:
            session.add(
                Response(
                    community_id=self.community_id,
                    campaign_id=self.campaign_id,
                    prompt_id=self.prompts[prompt],
                    resident_id=resident_id,
                    channel="sms",
                    language="en",
                    text=text,
                    choice=choice,
                    safeguarding=safeguarding,
                    received_at=T0 + timedelta(minutes=next(self._numbers)),
                )
            )

    def answers(self, area: str | None, choice: str, count: int, prompt: str = "park") -> None:
        """`count` residents in `area` who each answered `choice` straight away."""
        for _ in range(count):
            self.reply(self.resident(area), prompt, choice, choice)
