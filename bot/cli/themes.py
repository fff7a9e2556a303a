"""`voices themes`: what a community said, as themes with their words and real quotes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from bot.cli.base import (
    Context,
    campaign_id_or_fail,
    cli,
    community_or_fail,
    fail,
    local_day_bounds,
    parse_timezone,
    pass_ctx,
)
from bot.cli.terminal import inert_lines

if TYPE_CHECKING:
    from storage.theme_groups import GroupShare
    from storage.themes import ThemeMap


@cli.command("themes")
@click.option("--community", "slug", required=True)
@click.option("--campaign", "campaign_slug")
@click.option("--prompt", "prompt_key", help="a prompt id from the campaign file, like idea")
@click.option("--since", help="a date or time; dates are the community's local days")
@click.option("--until", help="a date or time; a date includes that whole day")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def themes(
    ctx: Context,
    slug: str,
    campaign_slug: str | None,
    prompt_key: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
) -> None:
    """Themes and quotes across the chosen answers."""
    from sqlalchemy import select

    from bot.conversation import profile
    from storage.models import Campaign, Prompt
    from storage.theme_groups import groups_by_question
    from storage.themes import ThemeFilter, theme_map

    with ctx.services.db.session_scope() as session:
        target = community_or_fail(session, slug)
        zone = parse_timezone(target.timezone)
        campaign_id = campaign_id_or_fail(session, target, campaign_slug)
        if prompt_key:
            asked = (
                select(Prompt.id)
                .join(Campaign)
                .where(Campaign.community_id == target.id, Prompt.key == prompt_key)
            )
            if campaign_id is not None:
                asked = asked.where(Campaign.id == campaign_id)
            if session.scalar(asked.limit(1)) is None:
                where = f"campaign {campaign_slug}" if campaign_slug else slug
                fail(f"no prompt {prompt_key!r} in {where}")
        spec = ThemeFilter(
            community_id=target.id,
            campaign_id=campaign_id,
            prompt_key=prompt_key,
            since=local_day_bounds(since, zone, "--since", end=False) if since else None,
            until=local_day_bounds(until, zone, "--until", end=True) if until else None,
        )
        found_themes = theme_map(session, spec)
        told = sorted({rid for theme in found_themes.themes for rid in theme.resident_ids})
        groups = groups_by_question(profile.groups_of(session, told))
    if fmt == "json":
        click.echo(json.dumps(found_themes.as_json(), ensure_ascii=False))
        return
    click.echo(inert_lines(render_text(found_themes, groups)))


def render_text(found: ThemeMap, groups: Mapping[str, Mapping[int, str]] | None = None) -> str:
    """Themes for a terminal: counts, words, quotes, and each group's share when given."""
    from storage.theme_groups import group_shares

    # `groups`: question key -> resident id -> self-described group (bot.conversation.profile).
    if found.answers == 0:
        return "no answers to read yet for this choice"
    lines = [
        f"{found.answers} answers: {len(found.themes)} theme(s), "
        f"{len(found.other_response_ids)} other"
    ]
    for number, theme in enumerate(found.themes, start=1):
        lines += [
            "",
            f"{number}. {theme.label} ({theme.answers} answers from {theme.residents} residents)",
            f"   words: {', '.join(theme.words)}",
        ]
        lines += [f'   "{quote}"' for quote in theme.quotes]
        for question, answers in (groups or {}).items():
            shares = group_shares(theme.resident_ids, answers)
            lines.append(f"   {question}: " + ", ".join(_share_text(share) for share in shares))
    lines += [
        "",
        f"other: {len(found.other_response_ids)} answers that fit no theme "
        "(very short replies, or said by fewer than 5 people)",
    ]
    if found.said_once:
        lines += ["", "said once (far from every theme):"]
        lines += [f'   "{item.quote}"' for item in found.said_once]
    lines += ["", "every answer behind a theme: --format json gives its response_ids"]
    return "\n".join(lines)


def _share_text(share: GroupShare) -> str:
    from storage.small_groups import SMALL_GROUP

    if share.suppressed:
        return f"{share.label} fewer than {SMALL_GROUP}"
    return f"{share.label} {share.share:.0%}"
