"""`voices results`: the tallies of a campaign's closed questions, overall and by group."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import click

from bot.cli.base import Context, cli, community_or_fail, fail, pass_ctx
from bot.cli.terminal import inert

if TYPE_CHECKING:
    from bot.insights.tallies import Answer, GroupTally, QuestionTally

CSV_COLUMNS = ("prompt_id", "group_by", "group", "answered", "answer", "count", "percent")
EVERYONE = "everyone"


@cli.command("results")
@click.option("--community", "slug", required=True)
@click.option("--campaign", "campaign_slug", required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
@pass_ctx
def results(ctx: Context, slug: str, campaign_slug: str, fmt: str) -> None:
    """Tallies of the campaign's closed questions, overall and per self-described group."""
    from sqlalchemy import select

    from bot.insights.tallies import tallies
    from storage.models import Campaign

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        campaign = session.scalar(
            select(Campaign).where(
                Campaign.community_id == target.id, Campaign.slug == campaign_slug
            )
        )
        if campaign is None:
            fail(f"no campaign {campaign_slug!r} in {slug}")
        found = tallies(session, campaign)
        title = campaign.title
    if fmt == "json":
        payload = {"campaign": campaign_slug, "questions": [as_dict(tally) for tally in found]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(as_csv(found), nl=False)
    else:
        click.echo(f"{inert(title)} ({campaign_slug})")
        for tally in found:
            click.echo("\n".join(text_lines(tally)))
        if not found:
            click.echo("no closed questions: every question of this campaign is an open one")


def as_dict(tally: QuestionTally) -> dict[str, Any]:
    """A tally as plain data: counts, whole percentages and groups, small ones hidden."""
    return {
        "prompt_id": tally.prompt_key,
        "question": tally.question,
        "answered": tally.answered,
        "answers": [
            {"answer": a.key, "label": a.label, "count": a.count, "percent": a.percent}
            for a in tally.answers
        ],
        "groups": {
            asked.key: [_group_dict(row, tally.answers) for row in asked.rows]
            for asked in tally.groups
        },
        "unmatched_residents": tally.unmatched_residents,
        "unmatched": tally.unmatched,
    }


def _group_dict(row: GroupTally, answers: list[Answer]) -> dict[str, Any]:
    if row.suppressed:
        return {"group": row.label, "answered": row.cells()[0]}
    return {
        "group": row.label,
        "answered": row.answered,
        "counts": {a.key: count for a, count in zip(answers, row.counts, strict=True)},
    }


def as_csv(found: list[QuestionTally]) -> str:
    """One row per answer, for everyone and for each group; a small group's counts are "-"."""
    from bot.insights.tallies import percent

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for tally in found:
        for a in tally.answers:
            writer.writerow(
                (tally.prompt_key, "", EVERYONE, tally.answered, a.key, a.count, a.percent)
            )
        for asked in tally.groups:
            for row in asked.rows:
                answered = row.cells()[0]
                for a, count in zip(tally.answers, row.counts, strict=True):
                    counted = (
                        ("-", "-") if row.suppressed else (count, percent(count, row.answered))
                    )
                    writer.writerow(
                        (tally.prompt_key, asked.key, row.label, answered, a.key, *counted)
                    )
    return buffer.getvalue()


def text_lines(tally: QuestionTally) -> list[str]:
    """A tally for a terminal: each answer's count and share, groups, unmatched replies."""
    width = max(len(a.label) for a in tally.answers) + 2
    lines = [f"\n{tally.prompt_key}: {inert(tally.question)}"]
    lines += [f"  {inert(a.label):<{width}} {a.count:>7} {a.percent:>4}%" for a in tally.answers]
    lines.append(f"  {'answered':<{width}} {tally.answered:>7}")
    for asked in tally.groups:
        lines.append(f"  by {asked.key}:")
        for row in asked.rows:
            cells = row.cells()
            if row.suppressed:
                lines.append(f"    {inert(row.label)}: {cells[0]}")
                continue
            shares = ", ".join(
                f"{inert(a.label)} {shown}"
                for a, shown in zip(tally.answers, cells[1:], strict=True)
            )
            lines.append(f"    {inert(row.label)} ({cells[0]}): {shares}")
    if tally.unmatched_residents:
        lines.append(f"  replies that matched no choice ({tally.unmatched_residents} resident(s)):")
        lines += [f"    {inert(text)}" for text in tally.unmatched]
    return lines
