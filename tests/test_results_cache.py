"""The results page's cache: repeated views reach no database; changes show within the bound."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.results_support import RESULTS, publish, residents_answer, town
from webhooks.results import CACHE_KEY
from webhooks.results_cache import CHECK_SECONDS, MAX_AGE_SECONDS, ResultsCache

MUSIC = [f"Music in the square, idea {n}" for n in range(6)]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> FakeClock:  # type: ignore[no-untyped-def]
    fake = FakeClock()
    app.extensions[CACHE_KEY] = ResultsCache(clock=fake)
    return fake


@contextmanager
def queries(db) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_repeated_views_reach_no_database_until_the_check_interval(client, services, clock):
    town(services)
    residents_answer(services, MUSIC[:5])
    first = client.get(RESULTS).get_data()
    with queries(services.db) as seen:
        for _ in range(20):
            assert client.get(RESULTS).get_data() == first
    assert seen == []
    clock.now += CHECK_SECONDS
    with queries(services.db) as seen:
        assert client.get(RESULTS).get_data() == first
    assert len(seen) == 1 and "results_version" in seen[0]  # one small read, no rebuild


def test_the_page_built_for_a_logged_in_organiser_is_the_one_everyone_gets(client, services, clock):
    from tests.admin_support import add_user, log_in

    town(services)
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    with queries(services.db) as seen:
        assert client.get(RESULTS).status_code == 200
    assert seen and not any("users" in statement for statement in seen)


def test_unknown_slugs_are_remembered_too(client, services, clock):
    assert client.get("/results/nowhere").status_code == 404
    with queries(services.db) as seen:
        assert client.get("/results/nowhere").status_code == 404
    assert seen == []


def test_a_change_made_by_another_process_shows_within_the_check_interval(client, services, clock):
    town(services)
    assert client.get(RESULTS).status_code == 200
    publish(services, False)  # as `voices community publish --off` would, elsewhere
    clock.now += CHECK_SECONDS - 1
    assert client.get(RESULTS).status_code == 200  # the documented bound, not yet past
    clock.now += 1
    assert client.get(RESULTS).status_code == 404


def test_new_answers_reach_the_counts_within_the_longest_age(client, services, clock):
    town(services)
    residents_answer(services, MUSIC[:5])
    assert "<strong>5</strong> residents answered" in client.get(RESULTS).text
    residents_answer(services, MUSIC[5:], first=50)
    clock.now += CHECK_SECONDS
    assert "<strong>5</strong> residents answered" in client.get(RESULTS).text
    clock.now += MAX_AGE_SECONDS
    assert "<strong>6</strong> residents answered" in client.get(RESULTS).text


def test_a_browser_revalidates_with_the_etag_and_gets_304(client, services, clock):
    town(services)
    response = client.get(RESULTS)
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert "Accept-Language" in response.headers["Vary"]
    again = client.get(RESULTS, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_each_language_has_its_own_etag(client, services, clock):
    town(services)
    english = client.get(RESULTS + "?lang=en").headers["ETag"]
    gaelic = client.get(RESULTS + "?lang=gd").headers["ETag"]
    assert english != gaelic
