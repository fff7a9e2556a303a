"""Answers residents might give about a play park, bus times and a youth club, plus noise."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Campaign, Community, Prompt, Resident, Response

# Each topic: what residents ask for, and why or what else; an answer joins one of each.
PLAY_PARK = (
    [
        "The swings in the play park have been broken for months",
        "the play park needs new swings",
        "Fix the slide at the play park",
        "weans have nowhere safe to play",
        "A proper fence round the play park",
        "the roundabout in the playpark is rusted solid",
        "More for toddlers at the play park, baby swings and a sandpit",
        "Benches at the play park for grannies",
        "the play park floor is all ripped up",
        "a zip wire and climbing frame at the play park",
        "The playground swings are broken again",
        "the kids need a better play park",
        "Play park gate doesn't shut",
        "swing park by the school needs a climbing frame",
        "Lights at the play park",
    ],
    [
        "the park is full of broken glass",
        "so dogs can't get in the play area",
        "my wee one tripped on it",
        "it would be brilliant for the bairns",
        "the swings and slide are falling apart",
        "the wee ones run straight out onto the road",
        "the see-saw has been taped off for ages",
        "so it's not so dark at the park in winter",
        "before the summer holidays",
        "it's a disgrace for the children",
    ],
)
BUS_TIMES = (
    [
        "The buses never turn up on time",
        "No bus after 7pm",
        "the 42 bus is always late in the morning",
        "bus timetable changed and nobody told us",
        "We need a later bus back from Ayr",
        "Bus to the hospital takes two hours",
        "buses are late every single day",
        "Sunday bus service is useless",
        "The bus stop has no shelter",
        "busses dont run on time",
        "Bring back the evening bus service",
        "bus times are terrible",
        "Need more buses in the morning",
        "The timetable at the bus stop is wrong",
        "later buses please",
    ],
    [
        "I can't get home from my shift",
        "I miss my train to work",
        "waited an hour at the stop",
        "the last bus leaves at half six",
        "there's no direct bus",
        "one bus every two hours on a Sunday",
        "half the buses just don't come",
        "the 8am bus is always full",
        "fares are too dear for a bus that never comes",
        "the timetable is a joke",
    ],
)
YOUTH_CLUB = (
    [
        "Bring back the youth club",
        "A youth club on a Friday night",
        "the youth club closed years ago",
        "My son used to love the youth club in the church hall",
        "somewhere for teenagers to go at night",
        "youth club with a pool table and games",
        "The youth club gave my daughter friends",
        "More youth workers and a proper youth club",
        "teenagers hang about the shops",
        "A youth club with football and music",
        "open the youth club again",
        "youth club in the community centre",
        "a drop-in youth club with youth workers",
        "the yoof club was the best thing when I was young",
    ],
    [
        "the teenagers have nothing to do",
        "so young people aren't hanging about the streets",
        "nothing replaced it",
        "teens need a safe place at night",
        "there's no youth club any more",
        "the young ones need somewhere to go",
        "please open it again for the teens",
        "our teenagers are bored stiff",
        "the youth workers were brilliant",
    ],
)
NOISE = [
    "yes",
    "Yes",
    "no",
    "dunno",
    "Dunno really",
    "no idea",
    "👍",
    "🙂🙂",
    "ok",
    "aye",
    "nothing really",
    "?",
    "Not sure tbh",
    "ta",
    "idk 🤷",
    "😡😡😡",
]
SAID_ONCE = [
    "We need a defibrillator at the community hall after what happened to Tam",
    "The library should open on Saturdays for folk who work all week",
    "Gaelic lessons for adults in the evenings, tha mi ag iarraidh Gàidhlig ionnsachadh",
    "Potholes on Glebe Road are wrecking car tyres and wheel alignment",
    "Allotments behind the old mill for growing vegetables together",
]
JOINERS = [", ", " because ", ", ", " - ", ". ", " and "]
OPENERS = ["", "", "", "I think ", "Honestly ", "For me ", "Aye ", "Tbh "]
TAILS = [
    "",
    "",
    "",
    "",
    " 😡",
    " 👍",
    "!!",
    " please",
    " ffs",
    ". Call me on 07700 900123",
    ". Email me at jo.smith@example.com",
    " - text me 07700900456 if you want to chat",
    " (my email is wee.davie@example.co.uk)",
]
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
TOPICS = {"play park": PLAY_PARK, "bus times": BUS_TIMES, "youth club": YOUTH_CLUB}


@dataclass(frozen=True)
class Written:
    """One answer, who wrote it and which topic (or "noise" / "said once") it is about."""

    resident: int
    topic: str
    text: str


def realistic_answers(per_topic: int = 90, noise: int = 40, seed: int = 8) -> list[Written]:
    """A few hundred answers about three topics, in residents' own words, plus noise."""
    rng = random.Random(seed)
    written: list[Written] = []
    resident = 0
    for topic, lines in TOPICS.items():
        for _ in range(per_topic):
            resident += 1
            starts, ends = lines
            line = f"{rng.choice(starts)}{rng.choice(JOINERS)}{rng.choice(ends)}"
            opener = rng.choice(OPENERS)
            text = opener + (line[0].lower() + line[1:] if opener else line) + rng.choice(TAILS)
            written.append(Written(resident=resident, topic=topic, text=text))
    for _ in range(noise):
        resident += 1
        written.append(Written(resident=resident, topic="noise", text=rng.choice(NOISE)))
    for line in SAID_ONCE:
        resident += 1
        written.append(Written(resident=resident, topic="said once", text=line))
    rng.shuffle(written)
    return written


def store(
    db: Database,
    written: list[Written],
    slug: str = "cumnock",
    campaign_slug: str = "town-ideas",
    start: datetime = START,
) -> dict[int, Written]:
    """Save answers as responses to one campaign prompt, ten minutes apart; map id -> answer."""
    with db.session_scope() as session:
        community = session.scalar(select(Community).where(Community.slug == slug))
        if community is None:
            community = Community(slug=slug, name=slug.title(), keyword=slug.upper())
            session.add(community)
            session.flush()
        campaign = Campaign(community_id=community.id, slug=campaign_slug, title=campaign_slug)
        session.add(campaign)
        session.flush()
        prompt = Prompt(campaign_id=campaign.id, position=0, key="idea", text={"en": "Ideas?"})
        session.add(prompt)
        session.flush()
        residents = dict(
            session.execute(
                select(Resident.pseudonym, Resident.id).where(Resident.community_id == community.id)
            ).all()
        )
        for answer in written:
            pseudonym = f"{slug}-r{answer.resident}"
            if pseudonym not in residents:
                resident = Resident(
                    community_id=community.id,
                    channel="sms",
                    address_enc="sealed",
                    address_hash=pseudonym,
                    pseudonym=pseudonym,
                    status="joined",
                )
                session.add(resident)
                residents[pseudonym] = resident
        session.flush()
        responses = [
            Response(
                community_id=community.id,
                campaign_id=campaign.id,
                prompt_id=prompt.id,
                resident_id=residents[f"{slug}-r{answer.resident}"].id,
                channel="sms",
                text=answer.text,
                received_at=start + timedelta(minutes=10 * number),
            )
            for number, answer in enumerate(written)
        ]
        session.add_all(responses)
        session.flush()
        return {response.id: answer for response, answer in zip(responses, written, strict=True)}


def community_id(db: Database, slug: str = "cumnock") -> int:
    """The id of the community with this slug."""
    with db.session_scope() as session:
        return session.scalars(select(Community.id).where(Community.slug == slug)).one()
