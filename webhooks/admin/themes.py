"""The Themes view: what a campaign's answers say, with quotes, and a way to every answer."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from flask import render_template, request
from sqlalchemy.orm import Session

from bot.conversation import profile
from storage.small_groups import SMALL_GROUP
from storage.theme_groups import GroupShare, group_shares, groups_by_question
from storage.themes import Theme, ThemeFilter, ThemeMap, find_themes, select_answers
from webhooks.admin.access import community_or_404
from webhooks.admin.blueprint import bp
from webhooks.admin.campaigns import _campaign_or_404
from webhooks.services import services

OTHER = "other"
CACHE_SIZE = 8  # theme maps kept per process, so paging through a theme does not recompute it

_cache: OrderedDict[tuple[ThemeFilter, int | None, int], ThemeMap] = OrderedDict()
_cache_lock = Lock()


def themes_of(session: Session, spec: ThemeFilter, upto: int | None = None) -> ThemeMap:
    """Themes for the chosen answers up to response id `upto`: the same answers, the same map."""
    # `upto` pins a link to the answers that were there when the themes were shown; the themes
    # are deterministic (fixed seeds), so recomputing them from those answers gives the same ids.
    answers = [
        answer
        for answer in select_answers(session, spec)
        if upto is None or answer.response_id <= upto
    ]
    key = (spec, upto, hash(tuple(answers)))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found = find_themes(answers)
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def last_response_id(found: ThemeMap) -> int:
    """The newest answer in a theme map (0 when there are none)."""
    ids = [rid for theme in found.themes for rid in theme.response_ids]
    return max([*ids, *found.other_response_ids, 0])


def theme_response_ids(found: ThemeMap, which: str) -> tuple[str, frozenset[int]] | None:
    """The title and answers of theme number `which` (from 1) or of "other"; None if not there."""
    if which == OTHER:
        return "Other: answers that fit no theme", frozenset(found.other_response_ids)
    if which.isascii() and which.isdigit() and 1 <= int(which) <= len(found.themes):
        theme = found.themes[int(which) - 1]
        return f"Theme: {theme.label}", frozenset(theme.response_ids)
    return None


@dataclass(frozen=True)
class ThemeRow:
    """A theme as the page shows it, with each self-described group's share."""

    number: int
    theme: Theme
    shares: dict[str, list[GroupShare]]


def share_text(share: GroupShare) -> str:
    """A group's share of a theme as people see it; small groups never exact."""
    if share.suppressed or share.share is None:
        return f"{share.label}: fewer than {SMALL_GROUP}"
    return f"{share.label}: {share.share:.0%}"


@bp.get("/communities/<slug>/campaigns/<campaign_slug>/themes")
def themes(slug: str, campaign_slug: str) -> str:
    """Themes across a campaign's answers, or one prompt's, each linked to its answers."""
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        campaign = _campaign_or_404(session, community.id, campaign_slug)
        prompt_keys = [prompt.key for prompt in campaign.prompts]
        prompt_key = request.args.get("prompt") or None
        if prompt_key not in prompt_keys:
            prompt_key = None
        spec = ThemeFilter(
            community_id=community.id, campaign_id=campaign.id, prompt_key=prompt_key
        )
        found = themes_of(session, spec)
        everyone = sorted({r for theme in found.themes for r in theme.resident_ids})
        questions = [question.key for question in profile.questions(session, community.id)]
        by_question = groups_by_question(profile.groups_of(session, everyone))
        rows = [
            ThemeRow(
                number,
                theme,
                {
                    key: group_shares(theme.resident_ids, by_question.get(key, {}))
                    for key in questions
                },
            )
            for number, theme in enumerate(found.themes, start=1)
        ]
        link = {
            "slug": community.slug,
            "campaign": campaign.slug,
            "upto": last_response_id(found),
            **({"prompt": prompt_key} if prompt_key else {}),
        }
        return render_template(
            "admin/themes.html",
            community=community,
            campaign=campaign,
            prompt_keys=prompt_keys,
            prompt_key=prompt_key,
            found=found,
            rows=rows,
            link=link,
            share_text=share_text,
        )
