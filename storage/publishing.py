"""Whether a community's public results page is shown, and the version its caches compare."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Community

RESULTS_PATH = "/results/"


@dataclass(frozen=True)
class PageState:
    """What a cache needs to know about a community's page, read in one small query."""

    community_id: int
    published: bool
    version: int


def page_state(session: Session, slug: str) -> PageState | None:
    """The page's state by slug (unique index), or None when there is no such community."""
    row = session.execute(
        select(Community.id, Community.results_published, Community.results_version).where(
            Community.slug == slug
        )
    ).first()
    return None if row is None else PageState(row[0], bool(row[1]), row[2])


def results_changed(session: Session, community_id: int) -> None:
    """Move the page's version on, so every worker's cache rebuilds it at its next check."""
    session.execute(
        update(Community)
        .where(Community.id == community_id)
        .values(results_version=Community.results_version + 1)
    )


def set_published(session: Session, community_id: int, published: bool) -> bool:
    """Publish or take down the page; return whether that changed anything."""
    changed = session.execute(
        update(Community)
        .where(Community.id == community_id, Community.results_published != published)
        .values(results_published=published, results_version=Community.results_version + 1)
    ).rowcount
    return bool(changed)


def results_link(public_base_url: str, slug: str) -> str:
    """The page's short link, as residents are sent it and posters print it."""
    return public_base_url.rstrip("/") + RESULTS_PATH + slug


def published_link(session: Session, public_base_url: str, community_id: int) -> str | None:
    """The page's link when the community has published it, else None."""
    row = session.execute(
        select(Community.slug, Community.results_published).where(Community.id == community_id)
    ).first()
    return results_link(public_base_url, row[0]) if row is not None and row[1] else None
