"""Idle teams, counted in their own business time (DESIGN sections 1.4 and 9)."""

from __future__ import annotations

from datetime import UTC, datetime

from golive.domain.catalog import parse_catalog
from golive.domain.state import apply_all
from golive.domain.teams import all_team_statuses, team_status
from tests.unit.events import cdevent, release, task

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
