"""Tallies of a campaign's closed questions: each answer's count and share, overall and by group.

Each resident counts once per question, with their latest matched answer. Replies that matched no
choice are listed beside, verbatim and without who sent them. Safeguarding-flagged replies are
left out, as routine exports leave them out. Counting is done by GROUP BY in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from bot import texts
from bot.conversation import profile
from bot.conversation.choices import QuestionForm
from bot.insights.coverage import NO_ANSWER, Reach, suppress_small
from storage.languages import pick_text
from storage.models import Campaign, ProfileAnswer, Prompt, Response
from storage.small_groups import FEWER_THAN, SMALL_GROUP

# Unmatched replies listed per question, newest first; the count covers them all.
UNMATCHED_SHOWN = 100


def percent(count: int, answered: int) -> int:
    """A count as a whole percentage of those who answered, 0 when nobody did."""
    return round(100 * count / answered) if answered else 0


@dataclass(frozen=True)
class Answer:
    """One answer of a closed question: its key (as stored), how it reads, and its count."""

    key: str
    label: str
    count: int
    answered: int

    @property
    def percent(self) -> int:
        return percent(self.count, self.answered)


@dataclass(frozen=True)
class GroupTally:
    """The answers of one self-described group; a small group's counts are never shown."""

    label: str
    counts: tuple[int, ...]
    suppressed: bool = False

    @property
    def answered(self) -> int:
        return sum(self.counts)

    def cells(self) -> tuple[str, ...]:
        """Answered, then "count (share%)" per answer, as shown to people."""
        if self.suppressed:
            return (FEWER_THAN, *("-" for _ in self.counts))
        shares = (f"{count} ({percent(count, self.answered)}%)" for count in self.counts)
        return (str(self.answered), *shares)


@dataclass(frozen=True)
class GroupQuestion:
    """A self-described question and the tallies of each of its groups."""

    key: str
    text: str
    rows: list[GroupTally]


@dataclass(frozen=True)
class QuestionTally:
    """A closed question's tally: every answer (zeros too), groups, and unmatched replies."""

    prompt_key: str
    question: str
    answers: list[Answer]
    groups: list[GroupQuestion] = field(default_factory=list)
    unmatched_residents: int = 0
    unmatched: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(answer.count for answer in self.answers)


def _latest_answers(campaign_id: int, prompt_ids: list[int]) -> Any:
    """Each resident's latest matched answer per prompt (prompt_id, resident_id, choice)."""
    order = func.row_number().over(
        partition_by=(Response.prompt_id, Response.resident_id),
        order_by=(Response.received_at.desc(), Response.id.desc()),
    )
    ranked = (
        select(Response.prompt_id, Response.resident_id, Response.choice, order.label("rank"))
        .where(
            Response.campaign_id == campaign_id,
            Response.prompt_id.in_(prompt_ids),
            Response.choice.is_not(None),
            Response.safeguarding.is_(False),
        )
        .subquery()
    )
    return (
        select(ranked.c.prompt_id, ranked.c.resident_id, ranked.c.choice)
        .where(ranked.c.rank == 1)
        .subquery()
    )


def _counts(
    session: Session, latest: Any, asked: list[Any]
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, int, str, str], int]]:
    """Residents per prompt and answer, and per prompt, profile question, group and answer.

    One pass over the latest answers: each profile question (at most two) is an outer join, so
    everyone is counted once overall and once in each question's group they chose.
    """
    joined = [aliased(ProfileAnswer) for _ in asked]
    query = select(latest.c.prompt_id, latest.c.choice, *(a.choice for a in joined), func.count())
    for answer, question in zip(joined, asked, strict=True):
        query = query.outerjoin(
            answer,
            and_(
                answer.resident_id == latest.c.resident_id,
                answer.question_id == question.id,
                answer.choice.is_not(None),
            ),
        )
    query = query.group_by(latest.c.prompt_id, latest.c.choice, *(a.choice for a in joined))
    overall: dict[tuple[int, str], int] = {}
    by_group: dict[tuple[int, int, str, str], int] = {}
    for prompt_id, choice, *groups, count in session.execute(query):
        overall[(prompt_id, choice)] = overall.get((prompt_id, choice), 0) + count
        for question, group in zip(asked, groups, strict=True):
            if group is not None:
                key = (prompt_id, question.id, group, choice)
                by_group[key] = by_group.get(key, 0) + count
    return overall, by_group


def _unmatched(
    session: Session, campaign_id: int, prompt_ids: list[int]
) -> tuple[dict[int, int], dict[int, list[str]]]:
    """Per prompt: residents none of whose replies matched a choice, and their newest replies."""
    matched = aliased(Response)
    never_matched = and_(
        Response.campaign_id == campaign_id,
        Response.prompt_id.in_(prompt_ids),
        Response.choice.is_(None),
        Response.safeguarding.is_(False),
        ~exists().where(
            matched.prompt_id == Response.prompt_id,
            matched.resident_id == Response.resident_id,
            matched.choice.is_not(None),
            matched.safeguarding.is_(False),
        ),
    )
    residents = session.execute(
        select(Response.prompt_id, func.count(Response.resident_id.distinct()))
        .where(never_matched)
        .group_by(Response.prompt_id)
    ).all()
    order = func.row_number().over(
        partition_by=Response.prompt_id,
        order_by=(Response.received_at.desc(), Response.id.desc()),
    )
    ranked = (
        select(Response.prompt_id, Response.text, order.label("rank"))
        .where(never_matched)
        .subquery()
    )
    newest = session.execute(
        select(ranked.c.prompt_id, ranked.c.text)
        .where(ranked.c.rank <= UNMATCHED_SHOWN)
        .order_by(ranked.c.prompt_id, ranked.c.rank)
    ).all()
    listed: dict[int, list[str]] = {}
    for prompt_id, text in newest:
        listed.setdefault(prompt_id, []).append(text)
    return {prompt_id: int(count) for prompt_id, count in residents}, listed


def _groups(
    prompt_id: int,
    keys: list[str],
    overall: list[int],
    asked: list[Any],
    by_group: dict[tuple[int, int, str, str], int],
) -> list[GroupQuestion]:
    """Each self-described question's groups, then those who gave no answer to it."""
    found = []
    for question in asked:
        rows = [
            (group, [by_group.get((prompt_id, question.id, group, key), 0) for key in keys])
            for group in profile.choices_of(question)
        ]
        described = [sum(row[1][i] for row in rows) for i in range(len(keys))]
        rows.append((NO_ANSWER, [total - d for total, d in zip(overall, described, strict=True)]))
        # The one definition of which groups to hide: coverage's, with a group's size its answers.
        hidden = suppress_small([Reach(label, sum(counts), 0) for label, counts in rows])
        tallied = [
            GroupTally(label, tuple(counts), reach.suppressed)
            for (label, counts), reach in zip(rows, hidden, strict=True)
        ]
        found.append(GroupQuestion(question.key, question.text, tallied))
    return found


def closed_prompts(campaign: Campaign) -> list[tuple[Prompt, QuestionForm]]:
    """The campaign's closed questions in order, each with its form."""
    found = []
    for prompt in campaign.prompts:
        form = QuestionForm.of(prompt.form, campaign.language)
        if form is not None:
            found.append((prompt, form))
    return found


def tallies(session: Session, campaign: Campaign) -> list[QuestionTally]:
    """Every closed question's tally, overall and by group, small groups suppressed."""
    closed = closed_prompts(campaign)
    if not closed:
        return []
    prompt_ids = [prompt.id for prompt, _ in closed]
    latest = _latest_answers(campaign.id, prompt_ids)
    asked = profile.questions(session, campaign.community_id)
    overall, by_group = _counts(session, latest, asked)
    unmatched_residents, unmatched = _unmatched(session, campaign.id, prompt_ids)
    found = []
    for prompt, form in closed:
        keys = form.answers()
        counts = [overall.get((prompt.id, key), 0) for key in keys]
        answered = sum(counts)
        found.append(
            QuestionTally(
                prompt_key=prompt.key,
                question=pick_text(prompt.text, campaign.language, campaign.language) or "",
                answers=[
                    Answer(key, form.label(key, campaign.language), count, answered)
                    for key, count in zip(keys, counts, strict=True)
                ],
                groups=_groups(prompt.id, keys, counts, asked, by_group),
                unmatched_residents=unmatched_residents.get(prompt.id, 0),
                unmatched=unmatched.get(prompt.id, []),
            )
        )
    return found


def quotes(found: list[QuestionTally]) -> list[str]:
    """Ready sentences for a report-back, never for fewer than SMALL_GROUP residents."""
    sentences = []
    for tally in found:
        for answer in tally.answers:
            if answer.count < SMALL_GROUP:
                continue
            if answer.percent > 50:
                sentences.append(
                    texts.text("tally_most", percent=str(answer.percent), answer=answer.label)
                )
            sentences.append(
                texts.text("tally_count", count=str(answer.count), answer=answer.label)
            )
    return sentences
