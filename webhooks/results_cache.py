"""An in-process cache of the public results pages, so a poster's QR code scanned by a whole town
does not reach the database for each view.

Each worker process keeps its own copy. Correct with several processes because every change an
organiser makes moves the community's `results_version` on (storage.publishing): a worker reads
that one small row at most once per CHECK_SECONDS per page and rebuilds when it moved. So a
change shows at once in the worker that made it (`forget`), and in every other worker within
CHECK_SECONDS; new answers reach the counts and themes within MAX_AGE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.insights.results import ResultsPage
from storage.publishing import PageState

CHECK_SECONDS = 5.0
MAX_AGE_SECONDS = 300.0
# Unknown slugs are remembered too (a 404 costs no query either); the oldest go first.
MAX_ENTRIES = 512


@dataclass
class Entry:
    """One community's page as last built: None when it is unknown or not published."""

    state: PageState | None
    page: ResultsPage | None
    built_at: float
    checked_at: float
    # The page rendered per language: (html, etag).
    rendered: dict[str, tuple[str, str]] = field(default_factory=dict)

    def still(self, state: PageState | None) -> bool:
        """Whether a freshly read state is the one this entry was built from."""
        return self.state == state


class ResultsCache:
    """Pages by slug, checked against the database's version at most once per interval."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        check_seconds: float = CHECK_SECONDS,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.clock = clock
        self.check_seconds = check_seconds
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        # One rebuild at a time: a crowd arriving as an entry expires waits for one build.
        self._build_lock = threading.Lock()

    def get(
        self,
        slug: str,
        read_state: Callable[[str], PageState | None],
        build: Callable[[PageState], ResultsPage],
    ) -> Entry:
        """The entry for `slug`, from memory while it is fresh, else checked or rebuilt."""
        fresh = self._fresh(slug)
        if fresh is not None:
            return fresh
        with self._build_lock:
            fresh = self._fresh(slug)  # another thread may have just built it
            if fresh is not None:
                return fresh
            now = self.clock()
            state = read_state(slug)
            with self._lock:
                known = self._entries.get(slug)
            if (
                known is not None
                and known.still(state)
                and now - known.built_at < self.max_age_seconds
            ):
                known.checked_at = now
                return known
            page = build(state) if state is not None and state.published else None
            entry = Entry(state, page, built_at=now, checked_at=now)
            with self._lock:
                self._entries[slug] = entry
                self._entries.move_to_end(slug)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return entry

    def forget(self, slug: str) -> None:
        """Drop a page so this worker rebuilds it on the next view (after an organiser's change)."""
        with self._lock:
            self._entries.pop(slug, None)

    def _fresh(self, slug: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(slug)
            if entry is not None and self.clock() - entry.checked_at < self.check_seconds:
                return entry
        return None
