"""Idle teams, counted in their own business time (DESIGN sections 1.4 and 9)."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from golive.domain.catalog import parse_catalog
from golive.domain.state import State, apply_all
from golive.domain.teams import (
    ActivityFolding,
    activity_bucket,
    activity_team,
    all_team_statuses,
    apply_counting_activity,
    idle_periods,
    team_status,
)
from tests.unit.events import cdevent, release, rollout, task

PARIS = parse_catalog(
    {
        "defaults": {
            "timezone": "Europe/Paris",
            "workhours": ["09:00", "18:00"],
            "holidays": ["2026-12-25"],
            "idle_after": "4h",
        },
        "teams": {"payments": {"idle_after": "6h"}},
        "services": {"checkout": {"team": "payments"}},
    }
)


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def with_open_work(team: str, last_seen: datetime):  # type: ignore[no-untyped-def]
    return apply_all(
        [
            release("planned", "R1", time=utc(1, 8), targetDate="2027-01-15T18:00:00Z"),
            cdevent("golive-task.scheduled", "T1", {"release": "R1", "team": team}, time=last_seen),
        ],
        PARIS,
    )


def test_team_is_idle_after_its_threshold_in_business_hours() -> None:
    # Tuesday 1 Dec 2026, Paris is UTC+1: last seen 10:00 local.
    state = with_open_work("storefront", utc(1, 9))
    assert not team_status(state, "storefront", PARIS, utc(1, 13)).idle  # 4 h exactly
    assert team_status(state, "storefront", PARIS, utc(1, 13, 1)).idle


def test_nights_and_weekends_do_not_count() -> None:
    # Last seen Friday 4 Dec 16:00 local: 2 h left that day, then the weekend.
    state = with_open_work("storefront", utc(4, 15))
    monday_early = team_status(state, "storefront", PARIS, utc(7, 9, 59))  # Mon 10:59 local
    assert monday_early.quiet_business_seconds == (2 * 60 + 1 * 60 + 59) * 60
    assert not monday_early.idle
    assert team_status(state, "storefront", PARIS, utc(7, 10, 1)).idle


def test_holidays_do_not_count() -> None:
    # Last seen Thursday 24 Dec 17:00 local; Friday 25 Dec is a holiday.
    state = with_open_work("storefront", utc(24, 16))
    status = team_status(state, "storefront", PARIS, utc(28, 9))  # Mon 28 Dec 10:00 local
    assert status.quiet_business_seconds == 2 * 3600
    assert not status.idle


def test_per_team_threshold_comes_from_the_catalog() -> None:
    state = with_open_work("payments", utc(1, 8))  # 09:00 local
    assert not team_status(state, "payments", PARIS, utc(1, 13, 30)).idle  # 5.5 h < 6 h
    assert team_status(state, "payments", PARIS, utc(1, 14, 30)).idle


def test_team_without_open_work_is_never_idle() -> None:
    state = with_open_work("storefront", utc(1, 9))
    state = apply_all(
        [task("updated", "T1", time=utc(1, 9, 30), status="done")], PARIS, state=state
    )
    assert not team_status(state, "storefront", PARIS, utc(20, 12)).idle


def test_work_in_a_closed_release_does_not_keep_a_team_on_watch() -> None:
    state = with_open_work("storefront", utc(1, 9))
    state = apply_all(
        [release("closed", "R1", time=utc(1, 10), outcome="cancelled")], PARIS, state=state
    )
    assert team_status(state, "storefront", PARIS, utc(20, 12)).open_tasks == 0


def test_any_event_attributed_to_the_team_is_activity() -> None:
    state = with_open_work("payments", utc(1, 8))
    # A pipeline run of a service the catalog says payments owns.
    deploy = cdevent(
        "service.deployed",
        "checkout",
        {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@2"},
        time=utc(1, 15),
    )
    state = apply_all([deploy], PARIS, state=state)
    status = team_status(state, "payments", PARIS, utc(1, 16))
    assert status.last_activity == utc(1, 15)
    assert not status.idle


def test_catalog_teams_are_listed_even_before_any_event() -> None:
    names = [s.team for s in all_team_statuses(apply_all([]), PARIS, utc(1, 9))]
    assert names == ["payments"]


def test_an_update_of_the_teams_task_that_names_no_team_is_activity() -> None:
    state = with_open_work("storefront", utc(1, 9))
    state = apply_all(
        [
            task("scheduled", "T2", time=utc(1, 9), release="R1", team="storefront"),
            task("updated", "T2", time=utc(2, 9), status="done"),
        ],
        PARIS,
        state=state,
    )
    status = team_status(state, "storefront", PARIS, utc(2, 10))
    assert status.last_activity == utc(2, 9)
    assert not status.idle


def test_rollout_progress_of_an_owned_service_is_the_owners_activity() -> None:
    state = with_open_work("payments", utc(1, 8))
    events = [
        cdevent(
            "golive-rollout.started",
            "r1",
            {"service": "checkout", "environment": "prod", "toVersion": "2", "desiredInstances": 2},
            time=utc(2, 8),
        ),
        cdevent("golive-rollout.progressed", "r1", {"readyOld": 1, "readyNew": 1}, time=utc(2, 15)),
    ]
    state = apply_all(events, PARIS, state=state)
    assert team_status(state, "payments", PARIS, utc(2, 16)).last_activity == utc(2, 15)


# --- activity in a period (reports) -------------------------------------------------------


def test_activity_team_follows_the_same_attribution_as_last_activity() -> None:
    state = with_open_work("storefront", utc(1, 9))
    bare_update = task("updated", "T1", time=utc(2, 9), status="in_progress")
    progress = rollout("progressed", "r1", time=utc(2, 15), readyOld=1, readyNew=1)
    started = cdevent(
        "golive-rollout.started",
        "r1",
        {"service": "checkout", "environment": "prod", "toVersion": "2", "desiredInstances": 2},
        time=utc(2, 8),
    )
    state = apply_all([started], PARIS, state=state)
    assert activity_team(bare_update, state, PARIS) == "storefront"  # the task's team
    assert activity_team(started, state, PARIS) == "payments"  # the service's owner
    assert activity_team(progress, state, PARIS) == "payments"  # the rollout's service
    assert activity_team(task("updated", "T9", time=utc(2, 9)), state, PARIS) is None


def test_activity_buckets_are_quarter_hours_on_which_every_zone_midnight_falls() -> None:
    assert activity_bucket(utc(1, 9, 14)) == utc(1, 9, 0)
    assert activity_bucket(utc(1, 9, 15)) == utc(1, 9, 15)
    # 02:00 does not exist in St John's on 8 March 2026 (clocks go from 02:00 to 03:00):
    # Python reads it as 05:30 UTC, the bucket is that instant's.
    gap = datetime(2026, 3, 8, 2, 0, tzinfo=ZoneInfo("America/St_Johns"))
    assert activity_bucket(gap) == datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
    for zone in ("Asia/Kolkata", "Asia/Kathmandu", "Australia/Eucla", "America/St_Johns"):
        midnight = datetime(2026, 12, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        assert activity_bucket(midnight) == midnight, zone


def test_buckets_count_events_with_their_first_and_last_time() -> None:
    state = with_open_work("payments", utc(1, 8))
    events = [
        cdevent("pipelinerun.finished", f"run-{n}", {"outcome": "success"}, time=t)
        for n, t in enumerate([utc(2, 9, 14), utc(2, 9, 1), utc(2, 9, 40)])
    ]
    events = [replace(e, team="payments") for e in events]
    assert apply_counting_activity(events, PARIS, state)[1] == {
        ("payments", utc(2, 9, 0)): (2, utc(2, 9, 1), utc(2, 9, 14)),
        ("payments", utc(2, 9, 30)): (1, utc(2, 9, 40), utc(2, 9, 40)),
    }


# Hypothesis takes naive bounds and puts each datetime in one of `timezones`; St John's
# has daylight saving time (events' times are UTC, but a bucket is an instant).
_FROM, _TO = datetime(2025, 12, 31), datetime(2027, 1, 2)  # noqa: DTZ001
_ZONES = [UTC, timezone(timedelta(hours=5, minutes=45)), ZoneInfo("America/St_Johns")]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["payments", "storefront"]),
            st.datetimes(_FROM, _TO, timezones=st.sampled_from(_ZONES)),
        ),
        max_size=40,
    )
)
def test_buckets_are_what_activity_bucket_gives_each_event_whatever_its_zone(
    moments: list[tuple[str, datetime]],
) -> None:
    base = cdevent("pipelinerun.finished", "run", {"outcome": "success"}, time=utc(2, 9))
    events = [
        replace(base, id=f"run-{n}", team=team, time=time) for n, (team, time) in enumerate(moments)
    ]
    expected: dict[tuple[str, datetime], tuple[int, datetime, datetime]] = {}
    for event in events:
        assert event.team is not None
        key = (event.team, activity_bucket(event.time))
        n, first, last = expected.get(key, (0, event.time, event.time))
        expected[key] = (n + 1, min(first, event.time), max(last, event.time))

    buckets = apply_counting_activity(events, PARIS, State())[1]

    assert buckets == expected
    assert all(start.tzinfo is UTC for _, start in buckets)


# Tuesday 1 December 2026, Paris (UTC+1), work 09:00-18:00 local = 08:00-17:00 UTC.
FOUR_HOURS = timedelta(hours=4)


def test_a_quiet_stretch_longer_than_idle_after_in_business_time_is_idle() -> None:
    calendar = PARIS.defaults.calendar
    quiet = [(utc(1, 10), utc(2, 10), False), (utc(2, 10), utc(2, 13), False)]
    (period,) = idle_periods(quiet, [(utc(1, 8), None)], calendar, FOUR_HOURS)
    # 10:00-17:00 UTC on the 1st (7 h) and 08:00-10:00 on the 2nd (2 h): idle from 14:00.
    assert (period.start, period.end, period.ongoing) == (utc(1, 10), utc(2, 10), False)
    assert period.business_seconds == 9 * 3600
    assert period.idle_from == utc(1, 14)


def test_nights_and_weekends_do_not_make_a_team_idle() -> None:
    calendar = PARIS.defaults.calendar
    # Friday 4 December 16:00 UTC to Monday 7 December 09:00 UTC: 1 h + 1 h of business time.
    quiet = [(utc(4, 16), utc(7, 9), False)]
    assert idle_periods(quiet, [(utc(1, 8), None)], calendar, FOUR_HOURS) == []


def test_only_time_with_open_work_counts() -> None:
    calendar = PARIS.defaults.calendar
    quiet = [(utc(1, 8), utc(3, 17), True)]
    # Work open on the 1st 08:00-09:00 and 10:00-11:00 (merged gaps too short), then from the
    # 3rd 08:00 on: only the last piece (9 h) makes the team idle, still going at the end.
    work = [(utc(1, 8), utc(1, 9)), (utc(1, 10), utc(1, 11)), (utc(3, 8), None)]
    (period,) = idle_periods(quiet, work, calendar, FOUR_HOURS)
    assert (period.start, period.end, period.ongoing) == (utc(3, 8), utc(3, 17), True)
    assert idle_periods(quiet, [], calendar, FOUR_HOURS) == []


def test_overlapping_work_is_one_interval() -> None:
    calendar = PARIS.defaults.calendar
    quiet = [(utc(1, 8), utc(1, 17), False)]
    work = [(utc(1, 8), utc(1, 12)), (utc(1, 11), utc(1, 17)), (utc(1, 9), utc(1, 10))]
    (period,) = idle_periods(quiet, work, calendar, FOUR_HOURS)
    assert (period.start, period.end, period.business_seconds) == (utc(1, 8), utc(1, 17), 9 * 3600)


def test_a_fold_in_parts_is_freed_without_the_cycle_collector() -> None:
    # `golive run` collects cycles rarely (runtime.GC_THRESHOLDS): a batch's fold held in
    # a cycle stayed in memory, a batch's worth of maps at a time, until it did.
    events = [
        task("scheduled", f"T{n}", time=utc(2, 9, n), release="R1", team="payments")
        for n in range(5)
    ]
    gc.collect()
    gc.disable()
    try:
        folding = ActivityFolding(State(), PARIS)
        folding.apply(events[:2])
        folding.apply(events[2:])
        assert folding.state().tasks.keys() == {f"T{n}" for n in range(5)}
        del folding
        assert gc.collect() == 0
    finally:
        gc.enable()
