"""Release progress, schedule, risk and objectives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from golive.domain.catalog import Catalog
from golive.domain.releases import (
    at_risk,
    forecast,
    is_late,
    objectives,
    progress,
    release_kpis,
    schedule_slip,
)
from golive.domain.state import apply_all, known_releases
from tests.unit.events import at, cdevent, deployed, incident, release, rollout, task

TARGET = "2026-11-20T18:00:00Z"


def planned(**extra: object):  # type: ignore[no-untyped-def]
    content: dict[str, object] = {
        "targetDate": TARGET,
        "environment": "prod",
        "services": ["checkout"],
        "teams": ["payments"],
    }
    content.update(extra)
    return release("planned", "R1", time=at(0), **content)


def test_progress_counts_tasks_by_status_and_overdue_by_team() -> None:
    state = apply_all(
        [
            planned(),
            task(
                "scheduled",
                "T1",
                time=at(1),
                release="R1",
                team="payments",
                dueDate="2026-11-03T12:00:00Z",
            ),
            task(
                "scheduled",
                "T2",
                time=at(1),
                release="R1",
                team="payments",
                dueDate="2026-11-10T12:00:00Z",
            ),
            task(
                "scheduled",
                "T3",
                time=at(1),
                release="R1",
                team="storefront",
                dueDate="2026-11-03T12:00:00Z",
            ),
            task("scheduled", "T4", time=at(1), release="R1", team="storefront"),
            task("updated", "T1", time=at(days=1), status="done"),
            task("updated", "T3", time=at(days=1), status="blocked"),
            task("updated", "T4", time=at(days=1), status="in_progress"),
        ]
    )
    result = progress(state, "R1", at(days=3))
    assert result.tasks_by_status == {"todo": 1, "in_progress": 1, "blocked": 1, "done": 1}
    assert result.ratio == 0.25
    assert result.overdue_by_team == {"storefront": 1}  # T1 overdue but done; T2 not yet due


def test_older_status_never_overwrites_a_newer_one() -> None:
    events = [
        task("scheduled", "T1", time=at(0), release="R1"),
        task("updated", "T1", time=at(10), status="done"),
        task("updated", "T1", time=at(5), status="in_progress"),
    ]
    for order in (events, events[::-1]):
        t = apply_all(order).tasks["T1"]
        assert (t.status, t.done_at, t.started_at) == ("done", at(10), at(5))


def test_ticket_events_are_tasks() -> None:
    ticket = {
        "summary": "Rotate keys",
        "group": "security",
        "milestone": "R1",
        "uri": "https://t/1",
        "creator": "a",
        "assignees": ["bob"],
    }
    state = apply_all(
        [
            cdevent(
                "ticket.created",
                "SEC-1",
                ticket,
                time=at(0),
                custom_data={"dueDate": "2026-11-05T09:00:00Z", "kind": "corrective"},
            ),
            cdevent(
                "ticket.closed", "SEC-1", {**ticket, "resolution": "completed"}, time=at(days=1)
            ),
        ]
    )
    t = state.tasks["SEC-1"]
    assert (t.release, t.team, t.kind, t.owner, t.status, t.due) == (
        "R1",
        "security",
        "corrective",
        "bob",
        "done",
        datetime(2026, 11, 5, 9, tzinfo=UTC),
    )
    assert "R1" not in state.releases
    assert known_releases(state)["R1"].target_date is None  # named by work, not planned yet


def test_reschedule_moves_the_target_and_is_kept_as_slip() -> None:
    state = apply_all(
        [planned(), release("updated", "R1", time=at(days=5), targetDate="2026-11-27T18:00:00Z")]
    )
    r = state.releases["R1"]
    assert r.target_date == datetime(2026, 11, 27, 18, tzinfo=UTC)
    assert schedule_slip(r) == timedelta(days=7)
    assert r.services == ("checkout",)  # untouched by the update


def test_closed_release_is_neither_late_nor_at_risk() -> None:
    state = apply_all(
        [
            planned(),
            task("scheduled", "T1", release="R1", team="payments"),
            release("closed", "R1", time=at(days=30), outcome="cancelled"),
        ]
    )
    r = state.releases["R1"]
    assert r.status == "cancelled"
    assert not is_late(state, r, at(days=40))
    assert at_risk(r, forecast(state, r, Catalog(), at(days=40))) is None


def test_release_past_its_target_with_work_left_is_late() -> None:
    state = apply_all([planned(), task("scheduled", "T1", release="R1", team="payments")])
    r = state.releases["R1"]
    assert not is_late(state, r, at(days=18))
    assert is_late(state, r, at(days=19))


def test_release_whose_p85_forecast_passes_the_target_is_at_risk() -> None:
    # payments finished one task per business day for two weeks; 20 tasks remain,
    # about four weeks of work with two and a half weeks to go.
    events = [planned()]
    for i in range(10):
        day = at(days=[0, 1, 2, 3, 4, 7, 8, 9, 10, 11][i] - 14, hours=3)
        events += [
            task(
                "scheduled", f"old{i}", time=day - timedelta(hours=1), release="R0", team="payments"
            ),
            task("updated", f"old{i}", time=day, status="done"),
        ]
    events += [
        task("scheduled", f"T{i}", time=at(1), release="R1", team="payments") for i in range(20)
    ]
    state = apply_all(events)
    r = state.releases["R1"]
    prediction = forecast(state, r, Catalog(), at(0))
    assert prediction.basis == "throughput"
    assert prediction.remaining == 20
    assert at_risk(r, prediction) is True
    fewer = apply_all(
        [task("updated", f"T{i}", time=at(2), status="done") for i in range(15)], state=state
    )
    assert at_risk(r, forecast(fewer, r, Catalog(), at(3))) is False


def test_without_any_history_the_risk_is_unknown() -> None:
    state = apply_all([planned(), task("scheduled", "T1", release="R1", team="payments")])
    r = state.releases["R1"]
    prediction = forecast(state, r, Catalog(), at(1))
    assert prediction.basis == "no_history"
    assert at_risk(r, prediction) is None


def test_objectives_are_met_or_not_from_the_release_kpis() -> None:
    objectives_spec = [
        {"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.15},
        {"id": "downtime", "kpi": "rollout_downtime_max", "op": "<=", "target": 5},
        {"id": "done", "kpi": "tasks_done_ratio", "op": ">=", "target": 1},
        {"id": "lead", "kpi": "lead_time_p50", "op": "<=", "target": 3600},
    ]
    state = apply_all(
        [
            planned(objectives=objectives_spec),
            task("scheduled", "T1", time=at(1), release="R1", team="payments"),
            task("updated", "T1", time=at(2), status="done"),
            deployed("checkout", "1.0", time=at(10)),
            deployed("checkout", "1.1", time=at(20)),
            incident("detected", "i", "checkout", time=at(21)),
            deployed("other", "9.9", time=at(30)),  # not a release service
            rollout(
                "started",
                "r",
                time=at(40),
                service="checkout",
                environment="prod",
                toVersion="1.2",
                desiredInstances=2,
            ),
            rollout("progressed", "r", time=at(41), readyOld=0, readyNew=0),
            rollout("progressed", "r", time=at(41.5), readyOld=0, readyNew=2),
            rollout("finished", "r", time=at(42), outcome="succeeded"),
        ]
    )
    r = state.releases["R1"]
    kpis = release_kpis(state, r, at(60))
    assert kpis["deployments"] == 3
    assert kpis["change_failure_ratio"] == pytest.approx(1 / 3)
    assert kpis["rollout_downtime_max"] == 30
    assert kpis["lead_time_p50"] is None
    status = {s.objective.id: (s.value, s.met) for s in objectives(state, r, at(60))}
    assert status["cfr"][1] is False
    assert status["downtime"] == (30, False)
    assert status["done"] == (1.0, True)
    assert status["lead"] == (None, None)  # no data yet: neither met nor missed


def test_rescheduling_a_done_task_keeps_it_done() -> None:
    state = apply_all(
        [
            task(
                "scheduled",
                "T1",
                time=at(0),
                release="R1",
                team="payments",
                dueDate="2026-11-10T12:00:00Z",
            ),
            task("updated", "T1", time=at(10), status="done"),
            task(
                "scheduled",
                "T1",
                time=at(20),
                release="R1",
                team="payments",
                dueDate="2026-11-12T12:00:00Z",
            ),
        ]
    )
    t = state.tasks["T1"]
    assert (t.status, t.due) == ("done", datetime(2026, 11, 12, 12, tzinfo=UTC))
