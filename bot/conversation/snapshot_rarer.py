"""The rarer parts of a snapshot: group questions, a stalled prompt, and where branches lead.

Read only for the turns that may need them, after the context SELECT (snapshot_query).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.conversation.choices import QuestionForm
from bot.conversation.prompt_order import next_prompt_select
from bot.conversation.snapshot import ProfileQuestionView, PromptView, ResidentView
from storage.models import Assignment, Campaign, ProfileAnswer, ProfileQuestion, Prompt
from storage.statuses import AssignmentStatus, ResidentStatus

_assignments = Assignment.__table__
_campaigns = Campaign.__table__
_prompts = Prompt.__table__


def with_rarer_parts(
    connection: Connection, view: ResidentView, waiting: bool, unasked: bool, now: datetime
) -> ResidentView:
    """Group questions, a stalled prompt and branches: read only for turns that may need them."""
    if waiting or (unasked and view.status == ResidentStatus.INVITED):
        view = replace(
            view,
            waiting_profile=_waiting_question(connection, view.id) if waiting else None,
            unasked_profile=_unasked_questions(connection, view) if unasked else (),
        )
    if view.pending is None and view.status == ResidentStatus.JOINED:
        view = replace(view, stalled=_latest_stalled(connection, view.id))
    answering = view.pending or view.stalled
    if answering is not None and answering.branches:
        view = _with_routes(connection, view, answering, now)
    return view


def _question(row: Any) -> ProfileQuestionView:
    choices = tuple(str(choice) for choice in (row.choices or {}).get("choices", []))
    return ProfileQuestionView(id=row.id, text=row.text, choices=choices)


def _waiting_question(connection: Connection, resident_id: int) -> ProfileQuestionView | None:
    q = ProfileQuestion.__table__
    row = connection.execute(
        select(q.c.id, q.c.text, q.c.choices)
        .join(ProfileAnswer, ProfileAnswer.question_id == q.c.id)
        .where(ProfileAnswer.resident_id == resident_id, ProfileAnswer.answered_at.is_(None))
        .limit(1)
    ).first()
    return _question(row) if row is not None else None


def _unasked_questions(
    connection: Connection, view: ResidentView
) -> tuple[ProfileQuestionView, ...]:
    q = ProfileQuestion.__table__
    asked = select(ProfileAnswer.question_id).where(ProfileAnswer.resident_id == view.id)
    rows = connection.execute(
        select(q.c.id, q.c.text, q.c.choices)
        .where(q.c.community_id == view.community.id, q.c.id.not_in(asked))
        .order_by(q.c.position, q.c.id)
    ).all()
    return tuple(_question(row) for row in rows)


# A prompt's own columns, as every PromptView built here reads them.
_PROMPT_COLUMNS = (
    _prompts.c.id.label("prompt_id"),
    _prompts.c.campaign_id,
    _prompts.c.text,
    _prompts.c.key,
    _prompts.c.position,
    _prompts.c.form,
    _prompts.c.branches,
)


def prompt_view(row: Any, language: str, **more: Any) -> PromptView:
    """A prompt as the engine sees it, from a row with the _PROMPT_COLUMNS."""
    return PromptView(
        prompt_id=row.prompt_id,
        campaign_id=row.campaign_id,
        text=row.text,
        campaign_language=language,
        key=row.key,
        position=row.position,
        form=QuestionForm.of(row.form, language),
        branches=row.branches,
        **more,
    )


def _latest_stalled(connection: Connection, resident_id: int) -> PromptView | None:
    a, c = _assignments, _campaigns
    row = connection.execute(
        select(*_PROMPT_COLUMNS, a.c.id.label("assignment_id"), c.c.language, c.c.thanks)
        .join(c, c.c.id == a.c.campaign_id)
        .join(_prompts, _prompts.c.id == a.c.prompt_id)
        .where(a.c.resident_id == resident_id, a.c.status == AssignmentStatus.STALLED)
        .order_by(a.c.assigned_at.desc(), a.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    # Its text is not needed: a late answer to it is never asked again.
    return replace(
        prompt_view(row, row.language, thanks=row.thanks, assignment_id=row.assignment_id),
        text=None,
    )


def _with_routes(
    connection: Connection, view: ResidentView, answering: PromptView, now: datetime
) -> ResidentView:
    """For a branching prompt: the rest of its campaign not yet asked (or passed over), in
    order, and the prompt the resident would get after the campaign ends."""
    p, a = _prompts, _assignments
    rows = connection.execute(
        select(*_PROMPT_COLUMNS, a.c.status)
        .outerjoin(a, (a.c.prompt_id == p.c.id) & (a.c.resident_id == view.id))
        .where(
            p.c.campaign_id == answering.campaign_id,
            p.c.id != answering.prompt_id,
            (a.c.id.is_(None)) | (a.c.status == AssignmentStatus.SKIPPED),
        )
        .order_by(p.c.position)
    ).all()
    language = answering.campaign_language
    rest = tuple(
        prompt_view(row, language, skipped=row.status == AssignmentStatus.SKIPPED) for row in rows
    )
    after = next_prompt_select(view.id, view.community.id, now, answering.campaign_id)
    return replace(view, campaign_rest=rest, after_campaign=_first_prompt(connection, after))


def _first_prompt(connection: Connection, found: Any) -> PromptView | None:
    """The prompt `found` (a SELECT of one prompt id) selects, as the engine sees it."""
    c = _campaigns
    row = connection.execute(
        select(*_PROMPT_COLUMNS, c.c.language)
        .join(c, c.c.id == _prompts.c.campaign_id)
        .where(_prompts.c.id == found.scalar_subquery())
    ).first()
    return prompt_view(row, row.language) if row is not None else None
