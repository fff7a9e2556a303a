"""Demo Town's residents and answers: made-up, plausible, enough for every page to show something.

Written through the models in one transaction (no messages are sent), so `make run` stays quick.
The phone numbers are Ofcom's drama range (07700 900000-900999), which never reach anyone.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation import profile
from bot.insights import coverage
from storage.crypto import Vault
from storage.models import (
    Assignment,
    Campaign,
    Community,
    Consent,
    ProfileAnswer,
    Resident,
    Response,
    utcnow,
)
from storage.statuses import AssignmentStatus, ResidentStatus

RESIDENTS = 240
DAYS = 21
AREAS = ["North", "South", "Old Town", "Riverside"]
# How likely a resident is to answer each prompt of the demo campaign, in order.
ANSWER_CHANCE = {"love": 0.9, "change": 0.7, "missing": 0.45}
APPROVED_QUOTES = 5
DEMO_UPDATES = [
    ("You said the evening buses matter: we have asked the council for a later 42.", 9, "doing"),
    (
        "You said the library is a warm place in winter: it now opens until 7pm on Thursdays.",
        2,
        "done",
    ),
]

# Each prompt's topics: things residents say, and what they add; an answer joins one of each.
TOPICS: dict[str, list[tuple[list[str], list[str]]]] = {
    "love": [
        (
            ["the walk along the river", "the river path", "walking the dog by the river"],
            ["on a summer evening", "it's so peaceful", "you see herons"],
        ),
        (
            ["the neighbours look out for each other", "my neighbours", "friendly neighbours"],
            ["everybody says hello", "they helped when I was ill", "real community spirit"],
        ),
        (
            ["the library", "the wee library on the high street", "the library and its staff"],
            ["the kids' reading group", "warm place in winter", "free computers"],
        ),
        (
            ["the Saturday market", "the market in the square", "the farmers market"],
            ["local veg and bread", "you bump into everyone", "great for a blether"],
        ),
    ],
    "change": [
        (
            ["the buses", "no bus after 7pm", "the bus to the hospital", "the 42 bus"],
            ["never turn up on time", "takes two hours", "we need an evening service"],
        ),
        (
            [
                "the potholes on Main Street",
                "potholes everywhere",
                "the roads are full of potholes",
            ],
            ["ruined my tyre", "dangerous for bikes", "been like that for a year"],
        ),
        (
            ["somewhere for the young ones to go", "a youth club", "bring back the youth club"],
            ["teenagers hang about the shops", "nothing for them at night", "open it on Fridays"],
        ),
        (
            ["litter in the park", "bins overflowing", "fly tipping behind the shops"],
            ["more bins please", "needs emptying more often", "it's a disgrace"],
        ),
    ],
    "missing": [
        (
            ["young people", "teenagers", "the young ones"],
            [
                "they never get asked",
                "they're on their phones not at meetings",
                "ask at the school",
            ],
        ),
        (
            [
                "older folk living alone",
                "pensioners on their own",
                "elderly people who can't get out",
            ],
            ["they're lonely", "nobody checks on them", "they're not online"],
        ),
        (
            ["people working shifts", "folk who work nights", "carers"],
            ["meetings are always at 7pm", "they never have the time", "they're exhausted"],
        ),
        (
            ["families new to the area", "people who don't speak much English", "newcomers"],
            ["nobody tells them what's on", "they don't know who to ask", "make them welcome"],
        ),
    ],
}
OPENERS = ["", "", "I'd say ", "Honestly ", "Has to be ", "Definitely "]
SHORT = ["Don't know", "not sure", "Everything!", "nothing really", "👍", "pass"]
SAID_ONCE = [
    "A community orchard where the old bowling green was",
    "Braille on the bus stop timetables for my dad",
    "The church clock has said ten past four since the spring",
]


def _answer(rng: random.Random, key: str) -> str:
    if rng.random() < 0.08:
        return rng.choice(SHORT)
    said, added = rng.choice(TOPICS[key])
    text = f"{rng.choice(OPENERS)}{rng.choice(said)}, {rng.choice(added)}"
    return text[0].upper() + text[1:]


def _resident(vault: Vault, community: Community, number: int, joined: datetime) -> Resident:
    address = f"+447700900{number:03d}"
    hashed = vault.address_hash("sms", address)
    return Resident(
        community_id=community.id,
        channel="sms",
        address_enc=vault.encrypt(address),
        address_hash=hashed,
        pseudonym=vault.pseudonym(community.slug, hashed),
        status=ResidentStatus.JOINED,
        language="en",
        created_at=joined,
        joined_at=joined,
    )


def load(session: Session, vault: Vault, community: Community, campaign: Campaign) -> int:
    """Add residents, their areas and their answers to the campaign; return the answers added."""
    rng = random.Random(2026)
    now = utcnow()
    start = now - timedelta(days=DAYS)
    area = profile.set_question(
        session, community.id, "area", "Which part of town do you live in?", AREAS
    )
    prompts = {prompt.key: prompt for prompt in campaign.prompts}
    residents = []
    for number in range(RESIDENTS):
        # Most people join in the first days after a launch, a few trickle in later.
        joined = start + timedelta(days=min(rng.expovariate(1 / 4), DAYS - 1), hours=rng.random())
        residents.append(_resident(vault, community, number, joined))
    session.add_all(residents)
    session.flush()
    answers = 0
    extra = list(SAID_ONCE)
    for resident in residents:
        when = resident.joined_at
        assert when is not None
        if rng.random() < 0.8:
            session.add(
                ProfileAnswer(
                    resident_id=resident.id,
                    question_id=area.id,
                    choice=rng.choice(AREAS),
                    asked_at=when,
                    answered_at=when,
                )
            )
        for key, chance in ANSWER_CHANCE.items():
            if rng.random() > chance:
                break
            when = min(when + timedelta(hours=rng.uniform(0.05, 30)), now)
            text = extra.pop() if extra and rng.random() < 0.05 else _answer(rng, key)
            _add_answer(session, resident, campaign, prompts[key].id, text, when)
            resident.last_inbound_at = resident.last_heard_at = when
            answers += 1
    session.flush()
    coverage.refresh_counts(session, community.id, now)
    return answers


def _add_answer(
    session: Session,
    resident: Resident,
    campaign: Campaign,
    prompt_id: int,
    text: str,
    at: datetime,
) -> None:
    session.add(
        Assignment(
            resident_id=resident.id,
            prompt_id=prompt_id,
            campaign_id=campaign.id,
            status=AssignmentStatus.ANSWERED,
            assigned_at=at - timedelta(minutes=5),
            answered_at=at,
            language="en",
        )
    )
    session.add(
        Response(
            community_id=resident.community_id,
            campaign_id=campaign.id,
            prompt_id=prompt_id,
            resident_id=resident.id,
            channel="sms",
            language="en",
            text=text,
            received_at=at,
        )
    )


def publish_results(session: Session, community: Community, campaign: Campaign) -> None:
    """Publish Demo Town's results page: some residents agreed to be quoted, a few of their
    answers approved, and two "you said, we did" updates."""
    from bot import texts
    from bot.campaigns import quotes, updates
    from bot.conversation import consent
    from storage.publishing import set_published

    wording = texts.text("quotes_ask")
    agreed = session.scalars(
        select(Resident.id).where(Resident.community_id == community.id).order_by(Resident.id)
    ).all()[::3]
    session.add_all(
        Consent(
            resident_id=resident_id,
            purpose=consent.QUOTES,
            wording=wording,
            wording_version=consent.wording_version(wording),
            channel="sms",
        )
        for resident_id in agreed
    )
    session.flush()
    chosen = session.scalars(
        select(Response.id)
        .where(Response.campaign_id == campaign.id, Response.resident_id.in_(agreed))
        .order_by(Response.id)
        .limit(APPROVED_QUOTES * 5)
    ).all()[::5]
    for response_id in chosen:
        quotes.approve(session, campaign, response_id, None)
    today = utcnow().date()
    for text, days_ago, status in DEMO_UPDATES:
        draft = updates.UpdateDraft(text, today - timedelta(days=days_ago), status)
        updates.add_update(session, campaign, draft, None)
    set_published(session, community.id, True)
