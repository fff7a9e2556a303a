"""The group counts nudges are ranked by: kept by their own job, recounted when stale, never shown.

Also the sweep's set-based queueing: one INSERT ... ON CONFLICT (dedupe_key) DO NOTHING, which
must queue nothing twice even when two sweeps run at the same moment.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.campaigns import nudges
from bot.conversation import profile
from bot.insights import coverage
from bot.worker import jobs
from bot.worker.scheduler import JOBS, JobContext
from storage.models import Assignment, GroupCount, OutboundMessage, Resident
from tests.helpers import Phone, add_campaign, add_community
from tests.test_groups import AGE, AREA, ask, join_group
from tests.test_nudges import PARK, T0, at, queued, resident_id, sweep


def run_job(services, moment) -> int:  # type: ignore[no-untyped-def]
    """Run the worker's group-counts job at `moment` (it only needs the database)."""
    with at(moment):
        return jobs.refresh_group_counts(JobContext(services.db, services.vault, None))  # type: ignore[arg-type]


def counted(services, community_id: int, moment):  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return coverage.counted_groups(session, community_id, moment)


def live(services, community_id: int):  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return coverage.raw_groups(session, community_id)


def cells(groups) -> dict[tuple[str, str], tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {
        (key, row.label): (row.joined, row.heard) for key, rows in groups.items() for row in rows
    }


def test_the_job_is_registered_every_few_minutes():
    names = {job.name: job for job in JOBS}
    assert names["group-counts"].seconds <= 300
    assert names["group-counts"].leader_only


def test_counts_match_live_counts_after_joins_answers_opt_out_and_erasure(services):
    community_id = ask(services, AREA, AGE)
    moment = T0
    with at(moment):
        # Two questions: the second reply answers the age one (a choice or SKIP, not heard).
        north = [join_group(services, f"+4477009001{n:02}", "North", "16-24") for n in range(4)]
        south = join_group(services, "+447700900200", "South", "SKIP")
    assert run_job(services, moment) == 1
    first = cells(counted(services, community_id, moment))
    assert first == cells(live(services, community_id))
    assert first[("area", "North")] == (4, 0) and first[("age", "16-24")] == (4, 0)
    assert first[("area", "no answer")] == (0, 0) and first[("age", "no answer")] == (1, 0)

    steps = [
        lambda: north[0].send("Benches by the pond"),  # heard
        lambda: south.send("More trees"),  # heard, and the first answer to "no answer" on age
        lambda: north[1].send("STOP"),  # opted out: no longer joined
        lambda: (north[2].send("DELETE"), north[2].send("CONFIRM")),  # erased
        lambda: join_group(services, "+447700900300", "Centre", "25+"),  # a new join, answered
        lambda: Phone(services, address="+447700900400").join(),  # joined, question waiting
    ]
    for step in steps:
        moment += timedelta(minutes=5)
        with at(moment):
            step()
        run_job(services, moment)
        assert cells(counted(services, community_id, moment)) == cells(live(services, community_id))
    final = cells(live(services, community_id))
    assert final[("area", "North")] == (2, 1)
    assert final[("area", "South")] == (1, 1)
    assert final[("area", "Centre")] == (1, 0)


def test_counts_a_few_minutes_old_are_used_and_stale_ones_recounted_on_demand(services):
    community_id = ask(services, AREA)
    with at(T0):
        quiet = join_group(services, "+447700900100", "North")
    run_job(services, T0)
    with at(T0 + timedelta(minutes=1)):
        quiet.send("Benches")
    # Within COUNTS_MAX_AGE the stored counts stand (ranking tolerates that), nothing recounted.
    soon = T0 + coverage.COUNTS_MAX_AGE
    assert cells(counted(services, community_id, soon))[("area", "North")] == (1, 0)
    # Past it, whoever reads them recounts first, and stores the new counts.
    later = soon + timedelta(seconds=1)
    assert cells(counted(services, community_id, later))[("area", "North")] == (1, 1)
    with services.db.session_scope() as session:
        stamps = set(session.scalars(select(GroupCount.counted_at)))
    assert stamps == {later}


def test_missing_counts_or_a_changed_question_are_recounted_at_once(services):
    community_id = ask(services, AREA)
    with at(T0):
        join_group(services, "+447700900100", "North", "Benches")
    # Never counted: the first reader counts.
    assert cells(counted(services, community_id, T0))[("area", "North")] == (1, 1)
    with services.db.session_scope() as session:
        profile.set_question(session, community_id, "area", "Where?", ["North", "East"])
        profile.set_question(session, community_id, *AGE)
    found = cells(counted(services, community_id, T0 + timedelta(minutes=1)))
    assert found == cells(live(services, community_id))
    assert ("area", "East") in found and ("age", "25+") in found
    with services.db.session_scope() as session:
        profile.remove_question(session, community_id, "age")
        # The question's rows go with it (foreign key), and the counts are still whole.
        assert session.scalar(select(func.count()).select_from(GroupCount)) == 3
    assert cells(counted(services, community_id, T0 + timedelta(minutes=2))) == cells(
        live(services, community_id)
    )


def test_a_dry_run_ranks_by_live_counts_when_stale_and_writes_none(services):
    community_id = ask(services, AREA)
    with at(T0 - timedelta(days=3)):
        join_group(services, "+447700900100", "North")
    report = sweep(services, T0, dry_run=True)
    assert report.queued() == 1
    with services.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(GroupCount)) == 0
    # The same numbers a stored recount gives.
    with services.db.session_scope() as session:
        dry = coverage.counted_groups(session, community_id, T0, store=False)
    assert cells(dry) == cells(live(services, community_id))


def test_coverage_stays_live_and_hides_small_groups_whatever_the_stored_counts_say(services):
    community_id = ask(services, AREA)
    with at(T0):
        for number in range(5):
            join_group(services, f"+4477009001{number:02}", "North", "Benches")
    run_job(services, T0)
    with at(T0 + timedelta(minutes=1)):
        join_group(services, "+447700900200", "South", "Trees")
    with services.db.session_scope() as session:
        shown = coverage.coverage(session, community_id)
    rows = {row.label: row.cells() for row in shown.groups["area"]}
    assert shown.overall.cells() == ("6", "6", "0", "100%")
    assert rows["North"] == ("5", "5", "0", "100%")
    assert rows["South"] == ("fewer than 5", "-", "-", "-")


def test_ranking_reads_the_stored_counts(services):
    # The sweep ranks by the job's counts, not by counting every resident again.
    ask(services, AREA)
    with at(T0 - timedelta(days=3)):
        quiet_north = join_group(services, "+447700900100", "North")
        for number in range(3):
            join_group(services, f"+44770090011{number}", "North", "Benches")
    with at(T0 - timedelta(days=2, hours=12)):
        quiet_south = join_group(services, "+447700900200", "South")
    run_job(services, T0 - timedelta(minutes=3))
    with services.db.session_scope() as session:
        # Make the stored counts say the opposite of the live ones: South well heard.
        for row in session.scalars(select(GroupCount).where(GroupCount.choice == "South")):
            row.joined, row.heard = 10, 10
    sweep(services, T0)
    order = [row[2] for row in queued(services)]
    assert order[:2] == [resident_id(services, quiet_north), resident_id(services, quiet_south)]


def many_quiet(services, number: int):  # type: ignore[no-untyped-def]
    with at(T0 - timedelta(hours=1)):
        add_community(services)
        add_campaign(services, source=PARK)
    phones = []
    with at(T0):
        for index in range(number):
            phone = Phone(services, address=f"+4477009005{index:02}")
            phone.join()
            phones.append(phone)
    return phones


def test_a_double_sweep_of_many_queues_each_nudge_once_with_the_same_keys(services):
    phones = many_quiet(services, 6)
    with at(T0 + timedelta(days=1)):
        phones[0].send("Benches")  # heard, then silent long enough for a check-in
    due = T0 + timedelta(days=2)
    first = sweep(services, due)
    assert first.queued() == 5 and sweep(services, due).queued() == 0
    rows = queued(services)
    assert len(rows) == 5 and len({row[2] for row in rows}) == 5
    with services.db.session_scope() as session:
        keys = sorted(
            session.scalars(
                select(OutboundMessage.dedupe_key).where(OutboundMessage.kind == "nudge")
            )
        )
        nudged = session.execute(
            select(Assignment.resident_id, Assignment.prompt_id, Assignment.nudges_sent).where(
                Assignment.nudges_sent > 0
            )
        ).all()
    # The keys nudge_key makes: nudge:{resident}:{prompt}:{number}.
    assert keys == sorted(f"nudge:{r}:{p}:1" for r, p, _ in nudged)
    sent = [number for _, _, number in nudged]
    assert sent == [1] * 5


def test_a_double_sweep_queues_each_check_in_once(services):
    with at(T0 - timedelta(hours=1)):
        add_community(services)
    with at(T0):
        for index in range(3):
            Phone(services, address=f"+4477009006{index:02}").join()
    due = T0 + timedelta(days=30, hours=1)
    with at(due):
        assert sweep(services, due).counts["cumnock"][nudges.CHECKIN] == 3
        assert sweep(services, due).queued() == 0
    rows = queued(services, "checkin")
    assert len(rows) == 3 and len({row[2] for row in rows}) == 3


def test_two_sweeps_at_the_same_moment_queue_and_count_each_nudge_once(services):
    phones = many_quiet(services, 3)
    due = T0 + timedelta(days=2)
    first = services.db.sessions()
    outcome: dict[str, object] = {}
    try:
        with at(due):
            assert nudges.sweep(first, due).queued() == 3  # queued, not yet committed

            def second_sweep() -> None:
                try:
                    with at(due), services.db.session_scope() as session:
                        outcome["report"] = nudges.sweep(session, due)
                except Exception as exc:  # SQLite: the second writer is refused
                    outcome["error"] = exc

            racer = threading.Thread(target=second_sweep)
            racer.start()
            racer.join(timeout=1.0)  # on PostgreSQL it waits on the first sweep's keys
            first.commit()
            racer.join(timeout=30)
            assert not racer.is_alive()
    finally:
        first.close()
    if services.db.is_postgresql:
        assert "error" not in outcome
    with services.db.session_scope() as session:
        keys = list(
            session.scalars(
                select(OutboundMessage.dedupe_key).where(OutboundMessage.kind == "nudge")
            )
        )
        sent = list(session.scalars(select(Assignment.nudges_sent)))
        nudged = list(session.scalars(select(Resident.last_nudged_at)))
    assert len(keys) == len(set(keys)) == len(phones)
    assert sorted(sent) == [1, 1, 1]
    assert nudged == [due] * 3
