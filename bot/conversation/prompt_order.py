"""What a resident is asked next: the one rule, as a SELECT the snapshot, nudges and
check-ins share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, literal_column, select
from sqlalchemy.orm import Session

from storage.models import Assignment, Campaign, Prompt, Resident
from storage.statuses import CampaignStatus

_assignments = Assignment.__table__
_prompts = Prompt.__table__
_campaigns = Campaign.__table__
# Written into the SQL, not bound: see snapshot_query on PostgreSQL's generic plans.
_ONE = literal_column("1", Integer)


def next_prompt_select(
    resident_id: Any, community_id: Any, now: Any, other_than_campaign: int | None = None
) -> Any:
    """The first prompt, in campaign order, of the community's running campaigns not yet put
    to the resident: the one rule for "what they are asked next", as a SELECT of its id."""
    cp, cc, asked = _prompts.alias("cp"), _campaigns.alias("cc"), _assignments.alias("asked")
    found = (
        select(cp.c.id)
        .join(cc, cp.c.campaign_id == cc.c.id)
        .where(
            cc.c.community_id == community_id,
            cc.c.status == CampaignStatus.ACTIVE,
            cc.c.starts_at <= now,
            cp.c.id.not_in(
                select(asked.c.prompt_id)
                .where(asked.c.resident_id == resident_id)
                .correlate_except(asked)
            ),
        )
        .order_by(cc.c.starts_at, cc.c.id, cp.c.position)
        .limit(_ONE)
    )
    return found if other_than_campaign is None else found.where(cc.c.id != other_than_campaign)


def next_prompt(session: Session, resident: Resident, now: datetime) -> Prompt | None:
    """The prompt a resident would be asked next (nudges and check-ins ask it too)."""
    prompt_id = session.scalar(next_prompt_select(resident.id, resident.community_id, now))
    return session.get(Prompt, prompt_id) if prompt_id is not None else None
