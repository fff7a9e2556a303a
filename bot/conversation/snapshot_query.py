"""Reading a Snapshot: one SELECT for the contact's records with all a common answer needs.

The SELECT returns one row per resident record of the contact, each with its community, its
pending prompt (and whether that prompt's send still waits in the outbox), the next prompt it
would be given, whether a group question waits, and the community a one-word message names.
Only the rarer turns (joining, a stranger, a group question, no pending prompt) read more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection, Row

from bot.conversation.choices import QuestionForm
from bot.conversation.driver_select import DriverSelect
from bot.conversation.prompt_order import next_prompt_select
from bot.conversation.snapshot import (
    CommunityView,
    Limits,
    PromptView,
    ResidentView,
    Snapshot,
)
from bot.conversation.snapshot_rarer import with_rarer_parts
from bot.conversation.words import JoinLookup
from bot.sending import outbox
from storage.models import (
    Assignment,
    Campaign,
    Community,
    InboundMessage,
    OutboundMessage,
    ProfileAnswer,
    ProfileQuestion,
    Prompt,
    Resident,
)
from storage.statuses import AssignmentStatus

_residents = Resident.__table__
_communities = Community.__table__
_assignments = Assignment.__table__
_prompts = Prompt.__table__
_campaigns = Campaign.__table__
_outbound = OutboundMessage.__table__
# LIMITs written into the SQL, not bound: PostgreSQL's generic plan for a prepared statement
# estimates a bound LIMIT as 10 % of the rows, which turns the outbox check into a hashed scan.
_ONE = literal_column("1", Integer)
MAX_RECORDS = literal_column("20", Integer)
# Counting a flood stops here: past any sensible reply limit.
RECENT_CAP = literal_column("100", Integer)


def _next_prompt_joins(lateral: bool) -> tuple[list[tuple[Any, Any]], list[Any]]:
    """The next prompt correlated to each row: LATERAL on PostgreSQL, a subquery on SQLite."""
    r = _residents
    now = bindparam("now", type_=_campaigns.c.starts_at.type)
    first = next_prompt_select(r.c.id, r.c.community_id, now).correlate(r)
    if lateral:
        cp = first.selected_columns[0].table
        cc = _campaigns.alias("next_campaign")
        found = first.add_columns(
            cp.c.campaign_id, cp.c.text, cp.c.key, cp.c.position, cp.c.form, cp.c.branches
        ).lateral("next_prompt")
        joins = [(found, true()), (cc, cc.c.id == found.c.campaign_id)]
        return joins, _next_columns(found, cc)
    np, nc = _prompts.alias("next_prompt"), _campaigns.alias("next_campaign")
    joins = [(np, np.c.id == first.scalar_subquery()), (nc, nc.c.id == np.c.campaign_id)]
    return joins, _next_columns(np, nc)


def _next_columns(prompt: Any, campaign: Any) -> list[Any]:
    return [
        prompt.c.id.label("next_prompt_id"),
        prompt.c.campaign_id.label("next_campaign_id"),
        prompt.c.text.label("next_text"),
        prompt.c.key.label("next_key"),
        prompt.c.position.label("next_position"),
        prompt.c.form.label("next_form"),
        prompt.c.branches.label("next_branches"),
        campaign.c.language.label("next_campaign_language"),
    ]


def _recent_messages() -> Any:
    """How many messages this contact sent since :since, counted up to a cap."""
    i = InboundMessage.__table__
    latest = (
        select(literal_column("1"))
        .where(i.c.address_hash == bindparam("address_hash"), i.c.received_at > bindparam("since"))
        .limit(RECENT_CAP)
        .subquery()
    )
    return select(func.count()).select_from(latest)


def _profile_questions(r: Any) -> tuple[Any, Any]:
    """Whether a group question waits for this resident's answer, and whether one is unasked."""
    profile_waiting = exists().where(
        ProfileAnswer.resident_id == r.c.id, ProfileAnswer.answered_at.is_(None)
    )
    # Most communities ask no group questions: then none is read for a joining resident.
    profile_unasked = (
        exists()
        .where(
            ProfileQuestion.community_id == r.c.community_id,
            ProfileQuestion.id.not_in(
                select(ProfileAnswer.question_id)
                .where(ProfileAnswer.resident_id == r.c.id)
                .correlate(r)
            ),
        )
        .correlate(r)
    )
    return profile_waiting, profile_unasked


def _context_query(lateral: bool, naming: bool) -> Any:
    """The snapshot's SELECT; with `naming`, also the community the message's words name."""
    r, c = _residents, _communities
    a, pp = _assignments.alias("pending"), _prompts.alias("pending_prompt")
    pc = _campaigns.alias("pending_campaign")
    o = _outbound.alias("queued_prompt")
    unsent_prompt = exists().where(
        o.c.dedupe_key == outbox.prompt_key_sql(r.c.id, a.c.prompt_id),
        outbox.still_to_send(o.c.status, o.c.next_attempt_at),
    )
    profile_waiting, profile_unasked = _profile_questions(r)
    recent = _recent_messages().scalar_subquery()
    named = _named_community() if naming else None
    anywhere = _communities.alias("anywhere")
    next_joins, next_columns = _next_prompt_joins(lateral)
    joined = (
        r.join(c, c.c.id == r.c.community_id)
        .outerjoin(a, and_(a.c.resident_id == r.c.id, a.c.status == AssignmentStatus.PENDING))
        .outerjoin(pp, pp.c.id == a.c.prompt_id)
        .outerjoin(pc, pc.c.id == a.c.campaign_id)
    )
    for target, on in next_joins:
        joined = joined.outerjoin(target, on)
    return (
        select(
            *(r.c[name] for name in _RESIDENT_COLUMNS),
            *(c.c[name].label(f"community_{name}") for name in _COMMUNITY_COLUMNS),
            a.c.id.label("assignment_id"),
            a.c.prompt_id,
            a.c.campaign_id,
            pp.c.text.label("pending_text"),
            pp.c.key.label("pending_key"),
            pp.c.position.label("pending_position"),
            pp.c.form.label("pending_form"),
            pp.c.branches.label("pending_branches"),
            a.c.unmatched_answers,
            pc.c.language.label("campaign_language"),
            pc.c.thanks,
            *next_columns,
            unsent_prompt.label("unsent_prompt"),
            profile_waiting.label("profile_waiting"),
            profile_unasked.label("profile_unasked"),
            *(
                named.c[name].label(f"named_{name}")
                for name in ("id", *_COMMUNITY_COLUMNS)
                if named is not None
            ),
            exists().select_from(anywhere).label("any_community"),
            recent.label("recent_messages"),
        )
        # One row even for a contact with no record: the community their words name, and
        # whether any community exists, come with it.
        .select_from(
            (_ONE_ROW if named is None else _ONE_ROW.outerjoin(named, true())).outerjoin(
                joined, r.c.address_hash == bindparam("address_hash")
            )
        )
        .limit(MAX_RECORDS)
    )


_ONE_ROW = select(literal_column("1").label("one")).subquery("one")


def _named_community() -> Any:
    """The community a message names: a deep link by its slug exactly, a word by its keyword."""
    c = _communities.alias("named_community")
    return (
        select(c.c.id, *(c.c[name] for name in _COMMUNITY_COLUMNS))
        .where(or_(c.c.slug == bindparam("slug"), c.c.keyword == bindparam("keyword")))
        .limit(_ONE)
        .subquery("named")
    )


_RESIDENT_COLUMNS = (
    "id",
    "community_id",
    "status",
    "language",
    "consent_question",
    "age_band",
    "delete_requested_at",
    "quotes_asked_at",
    "opted_out_at",
    "joined_at",
    "last_inbound_at",
    "created_at",
)
_COMMUNITY_COLUMNS = (
    "slug",
    "keyword",
    "name",
    "young_people",
    "safeguarding_words",
    "help_contacts",
    "results_published",
    "sms_number",
)
# Most messages name no community: their SELECT leaves that part out (fewer columns to read).
CONTEXT = {
    (dialect, naming): _context_query(lateral=dialect == "postgresql", naming=naming)
    for dialect in ("postgresql", "sqlite")
    for naming in (False, True)
}
DRIVER_SELECT = {
    key: DriverSelect(query) for key, query in CONTEXT.items() if key[0] == "postgresql"
}


def load(
    connection: Connection,
    *,
    address_hash: str,
    to: str | None,
    lookup: JoinLookup | None,
    now: datetime,
    limits: Limits | None = None,
) -> Snapshot:
    """The snapshot decide() needs for one message from this contact, in one SELECT."""
    since = now - limits.window if limits else now
    values = {"address_hash": address_hash, "now": now, "since": since}
    if lookup:
        values.update(slug=lookup.slug, keyword=None if lookup.slug else lookup.keyword)
    key = (connection.dialect.name, bool(lookup))
    if key[0] == "postgresql":
        rows = DRIVER_SELECT[key].rows(connection, values)
    else:
        rows = connection.execute(CONTEXT[key], values).all()
    first = rows[0]
    named = None
    if lookup and first.named_id:
        named = _community(first, "named_", "named_id")
    shared = {
        "reply_limit": limits.replies if limits else None,
        "public_base_url": limits.public_base_url if limits else None,
        "recent_messages": first.recent_messages,
    }
    if first.id is None:  # no record: a stranger, or someone joining the community they named
        return Snapshot(
            now=now, join_community=named, any_community=bool(first.any_community), **shared
        )
    resident = _resident(connection, _choose(rows, to), now)
    if named is None:
        return Snapshot(now=now, resident=resident, **shared)
    mine = next((row for row in rows if row.community_id == named.id), None)
    return Snapshot(
        now=now,
        resident=resident,
        join_community=named,
        join_resident=_resident(connection, mine, now) if mine is not None else None,
        **shared,
    )


def _choose(rows: list[Row[Any]], to: str | None) -> Row[Any]:
    """The record a message belongs to: the community of the number texted, else the latest."""
    texted = [row for row in rows if to and row.community_sms_number == to]
    return max(texted or rows, key=_recency)


def _recency(row: Row[Any]) -> tuple[datetime, int]:
    return (row.last_inbound_at or row.created_at, row.id)


def _community(row: Any, prefix: str, id_key: str) -> CommunityView:
    return CommunityView(
        id=getattr(row, id_key),
        slug=getattr(row, f"{prefix}slug"),
        keyword=getattr(row, f"{prefix}keyword"),
        name=getattr(row, f"{prefix}name"),
        young_people=bool(getattr(row, f"{prefix}young_people")),
        safeguarding_words=tuple(getattr(row, f"{prefix}safeguarding_words") or ()),
        help_contacts=getattr(row, f"{prefix}help_contacts"),
        results_published=bool(getattr(row, f"{prefix}results_published")),
    )


def _prompt_view(row: Any, prefix: str, **more: Any) -> PromptView:
    """A prompt from the context row's `pending_…` or `next_…` columns."""
    language = row.campaign_language if prefix == "pending" else row.next_campaign_language
    pending = prefix == "pending"
    return PromptView(
        prompt_id=row.prompt_id if pending else row.next_prompt_id,
        campaign_id=row.campaign_id if pending else row.next_campaign_id,
        text=getattr(row, f"{prefix}_text"),
        campaign_language=language,
        key=getattr(row, f"{prefix}_key"),
        position=getattr(row, f"{prefix}_position"),
        form=QuestionForm.of(getattr(row, f"{prefix}_form"), language),
        branches=getattr(row, f"{prefix}_branches"),
        **more,
    )


def _resident(connection: Connection, row: Row[Any], now: datetime) -> ResidentView:
    pending = None
    if row.assignment_id is not None:
        pending = _prompt_view(
            row,
            "pending",
            thanks=row.thanks,
            assignment_id=row.assignment_id,
            unsent=bool(row.unsent_prompt),
            unmatched=row.unmatched_answers or 0,
        )
    following = _prompt_view(row, "next") if row.next_prompt_id is not None else None
    view = ResidentView(
        id=row.id,
        community=_community(row, "community_", "community_id"),
        status=row.status,
        language=row.language,
        consent_question=row.consent_question,
        age_band=row.age_band,
        delete_requested_at=row.delete_requested_at,
        quotes_asked_at=row.quotes_asked_at,
        opted_out_at=row.opted_out_at,
        joined_at=row.joined_at,
        pending=pending,
        next_prompt=following,
    )
    return with_rarer_parts(
        connection, view, bool(row.profile_waiting), bool(row.profile_unasked), now
    )
