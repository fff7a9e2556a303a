"""Themes and quotes across residents' free-text answers, computed locally with scikit-learn."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Prompt, Response
from storage.redact import redact
from storage.theme_clusters import Clustering, cluster_answers
from storage.theme_words import phrases, terms

MAX_THEMES = 10
MIN_RESIDENTS = 5  # a theme told by fewer people could point at someone, so it joins "other"
LABEL_WORDS = 3
THEME_WORDS = 6
QUOTES = 3
QUOTE_MIN_WORDS = 3
QUOTE_MAX_CHARS = 240
QUOTE_POOL = 30
QUOTE_OVERLAP = 0.5  # share of words two quotes may have in common before one is a repeat
SAID_ONCE_MIN_WORDS = 3
SAID_ONCE_FAR = 0.15  # cosine similarity below which an answer is far from a theme
SAID_ONCE_LIMIT = 25
# A run of digits that redaction left alone but could still be a contact number.
LEFTOVER_NUMBER = re.compile(r"\d[\d\s().-]{5,}\d")


@dataclass(frozen=True)
class ThemeFilter:
    """Which answers to read: a community, and optionally a campaign, prompt and time window."""

    community_id: int
    campaign_id: int | None = None
    prompt_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Responses that must never be shown here (for example safeguarding messages).
    hidden_response_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Answer:
    """One response as theme finding sees it."""

    response_id: int
    resident_id: int
    text: str


@dataclass
class Theme:
    """A group of answers that say the same kind of thing, with its words and quotes."""

    label: str
    words: list[str]
    response_ids: list[int]
    resident_ids: set[int]
    quotes: list[str]

    @property
    def answers(self) -> int:
        return len(self.response_ids)

    @property
    def residents(self) -> int:
        return len(self.resident_ids)


@dataclass(frozen=True)
class SaidOnce:
    """An answer far from every theme, so an unusual voice is not lost in the averages."""

    response_id: int
    quote: str


@dataclass
class ThemeMap:
    """Themes, the answers that fit none ("other"), and the answers said once."""

    answers: int
    themes: list[Theme]
    other_response_ids: list[int]
    said_once: list[SaidOnce] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The shape `voices themes --format json` prints."""
        return {
            "answers": self.answers,
            "themes": [
                {
                    "label": theme.label,
                    "words": theme.words,
                    "answers": theme.answers,
                    "residents": theme.residents,
                    "quotes": theme.quotes,
                    "response_ids": theme.response_ids,
                }
                for theme in self.themes
            ],
            "other": {
                "answers": len(self.other_response_ids),
                "response_ids": self.other_response_ids,
            },
        }


def select_answers(session: Session, spec: ThemeFilter) -> list[Answer]:
    """The chosen answers in response order, without safeguarding or hidden messages."""
    # Erased residents' answers need no filter: erasure deletes them.
    query = (
        select(Response.id, Response.resident_id, Response.text)
        .where(Response.community_id == spec.community_id, Response.safeguarding.is_(False))
        .order_by(Response.id)
    )
    if spec.campaign_id is not None:
        query = query.where(Response.campaign_id == spec.campaign_id)
    if spec.prompt_key is not None:
        query = query.join(Prompt, Response.prompt_id == Prompt.id).where(
            Prompt.key == spec.prompt_key
        )
    if spec.since is not None:
        query = query.where(Response.received_at >= spec.since)
    if spec.until is not None:
        query = query.where(Response.received_at < spec.until)
    hidden = spec.hidden_response_ids
    return [
        Answer(response_id=rid, resident_id=resident, text=text or "")
        for rid, resident, text in session.execute(query.execution_options(yield_per=5000))
        if rid not in hidden
    ]


def theme_map(session: Session, spec: ThemeFilter) -> ThemeMap:
    """Themes for the chosen answers: what the CLI prints and the dashboard shows."""
    return find_themes(select_answers(session, spec))


def themes_json(session: Session, spec: ThemeFilter) -> dict[str, Any]:
    """The same object `voices themes --format json` prints, for the dashboard to show."""
    return theme_map(session, spec).as_json()


def find_themes(
    answers: Sequence[Answer],
    *,
    max_themes: int = MAX_THEMES,
    min_residents: int = MIN_RESIDENTS,
    seed: int = 0,
) -> ThemeMap:
    """Group answers into up to `max_themes` themes; the same answers give the same themes."""
    ordered = sorted(answers, key=lambda answer: answer.response_id)
    runs = [phrases(answer.text) for answer in ordered]
    words = [[word for run in found for word in run] for found in runs]
    clustering = cluster_answers([terms(found) for found in runs], max_themes=max_themes, seed=seed)
    themes: list[Theme] = []
    kept_centroids: list[int] = []
    for cluster in range(clustering.count):
        members = np.flatnonzero(clustering.assigned == cluster)
        resident_ids = {ordered[i].resident_id for i in members}
        if len(resident_ids) < min_residents:
            continue
        top = clustering.top_terms(cluster, THEME_WORDS)
        themes.append(
            Theme(
                label=", ".join(top[:LABEL_WORDS]),
                words=top,
                response_ids=[ordered[i].response_id for i in members],
                resident_ids=resident_ids,
                quotes=_quotes(ordered, words, clustering, members),
            )
        )
        kept_centroids.append(cluster)
    in_theme = {rid for theme in themes for rid in theme.response_ids}
    other = [answer.response_id for answer in ordered if answer.response_id not in in_theme]
    themes.sort(key=lambda theme: (-theme.answers, theme.label))
    return ThemeMap(
        answers=len(ordered),
        themes=themes,
        other_response_ids=other,
        said_once=_said_once(ordered, words, clustering, kept_centroids, in_theme),
    )


def quotable(text: str) -> str | None:
    """`text` redacted and trimmed for showing, or None when it should not be shown at all."""
    shown = redact(" ".join(text.split()))
    if LEFTOVER_NUMBER.search(shown):
        return None
    if len(shown) > QUOTE_MAX_CHARS:
        shown = shown[: QUOTE_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return shown


def _quotes(
    ordered: Sequence[Answer], words: list[list[str]], clustering: Clustering, members: np.ndarray
) -> list[str]:
    """Up to three answers closest to the theme's centre, each from a different resident."""
    ranked = sorted(members, key=lambda i: (-clustering.similarity[i], ordered[i].response_id))
    # Among the most central answers, words shown whole read better than ones with [phone] in.
    head = ranked[:QUOTE_POOL]
    clean = [i for i in head if redact(ordered[i].text) == ordered[i].text]
    masked = [i for i in head if redact(ordered[i].text) != ordered[i].text]
    ranked = clean + masked + ranked[QUOTE_POOL:]
    quotes: list[str] = []
    seen_residents: set[int] = set()
    said: list[set[str]] = []
    # First answers that say something in a few words and differ from each other; then, for a
    # theme of short answers ("more buses please"), any different words.
    for least_words, overlap in ((QUOTE_MIN_WORDS, QUOTE_OVERLAP), (1, 0.99)):
        for index in ranked:
            answer = ordered[index]
            these = set(words[index])
            if answer.resident_id in seen_residents or len(words[index]) < least_words:
                continue
            if any(len(these & other) > overlap * len(these | other) for other in said):
                continue  # three ways of saying it tell staff more than one said three times
            shown = quotable(answer.text)
            if shown is None or shown in quotes:
                continue
            quotes.append(shown)
            said.append(these)
            seen_residents.add(answer.resident_id)
            if len(quotes) == QUOTES:
                return quotes
    return quotes


def _same_words(text: str) -> str:
    """The text as compared for "said once": case, spacing and end punctuation aside."""
    return " ".join(text.casefold().split()).strip(" .!?,;:")


def _said_once(
    ordered: Sequence[Answer],
    words: list[list[str]],
    clustering: Clustering,
    kept: list[int],
    in_theme: set[int],
) -> list[SaidOnce]:
    """Answers with something to say that are far from every theme, most unusual first."""
    nearest = clustering.nearest_similarity(kept)
    # The same words from more than one answer were not said once, however far from the themes.
    repeated = Counter(_same_words(answer.text) for answer in ordered)
    candidates = [
        i
        for i, answer in enumerate(ordered)
        if answer.response_id not in in_theme
        and repeated[_same_words(answer.text)] == 1
        and len(set(words[i])) >= SAID_ONCE_MIN_WORDS
        and nearest[i] < SAID_ONCE_FAR
    ]
    candidates.sort(key=lambda i: (nearest[i], ordered[i].response_id))
    found: list[SaidOnce] = []
    for index in candidates:
        shown = quotable(ordered[index].text)
        if shown is not None:
            found.append(SaidOnce(response_id=ordered[index].response_id, quote=shown))
        if len(found) == SAID_ONCE_LIMIT:
            break
    return found
