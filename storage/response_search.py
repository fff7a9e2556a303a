"""The responses page's query: newest first, words, campaign, prompt, channel and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from storage.models import Campaign, Prompt, Resident, Response

PAGE_SIZE = 50


@dataclass(frozen=True)
class ResponseQuery:
    """What an organiser asked to see."""

    community_id: int
    words: str = ""
    campaign_id: int | None = None
    prompt_key: str = ""
    channel: str = ""
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    # Exactly these responses (a theme's answers), or any when None.
    response_ids: frozenset[int] | None = None


def _escape_like(words: str) -> str:
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, spec: ResponseQuery) -> tuple[list[dict[str, Any]], bool]:
    """One page of matching responses, newest first, and whether there are more."""
    query = _matching(spec)
    offset = (max(spec.page, 1) - 1) * PAGE_SIZE
    found = session.execute(
        query.order_by(Response.received_at.desc(), Response.id.desc())
        .offset(offset)
        .limit(PAGE_SIZE + 1)
    ).all()
    rows = [
        {
            "id": rid,
            "received_at": at,
            "channel": channel,
            "text": text,
            "resident": pseudonym,
            "address_enc": address_enc,
            "campaign": title or "",
            "prompt": key or "",
            "recording": bool(recording),
        }
        for rid, at, channel, text, pseudonym, address_enc, title, key, recording in found[
            :PAGE_SIZE
        ]
    ]
    return rows, len(found) > PAGE_SIZE


def count(session: Session, spec: ResponseQuery) -> int:
    """How many responses match, on every page together."""
    return session.scalar(select(func.count()).select_from(_matching(spec).subquery())) or 0


def _matching(spec: ResponseQuery) -> Any:
    campaign = aliased(Campaign)
    prompt = aliased(Prompt)
    query = (
        select(
            Response.id,
            Response.received_at,
            Response.channel,
            Response.text,
            Resident.pseudonym,
            Resident.address_enc,
            campaign.title,
            prompt.key,
            Response.recording,
        )
        .join(Resident, Resident.id == Response.resident_id)
        .outerjoin(campaign, campaign.id == Response.campaign_id)
        .outerjoin(prompt, prompt.id == Response.prompt_id)
        .where(Response.community_id == spec.community_id)
    )
    for word in spec.words.split()[:8]:
        query = query.where(
            func.lower(Response.text).like(f"%{_escape_like(word.lower())}%", escape="\\")
        )
    if spec.campaign_id is not None:
        query = query.where(Response.campaign_id == spec.campaign_id)
    if spec.prompt_key:
        query = query.where(prompt.key == spec.prompt_key)
    if spec.channel:
        query = query.where(Response.channel == spec.channel)
    if spec.since is not None:
        query = query.where(Response.received_at >= spec.since)
    if spec.until is not None:
        query = query.where(Response.received_at < spec.until)
    if spec.response_ids is not None:
        # Inlined as literals: a theme can hold more answers than a driver takes parameters.
        chosen = bindparam("response_ids", sorted(spec.response_ids), expanding=True)
        query = query.where(Response.id.in_(chosen.render_literal_execute()))
    return query


def prompt_keys(session: Session, community_id: int) -> list[str]:
    """Prompt ids used in a community's campaigns, for the filter."""
    return list(
        session.scalars(
            select(Prompt.key)
            .join(Campaign, Campaign.id == Prompt.campaign_id)
            .where(Campaign.community_id == community_id)
            .distinct()
            .order_by(Prompt.key)
        )
    )
