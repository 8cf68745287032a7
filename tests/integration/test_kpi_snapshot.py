"""The leader's SQL snapshot against KPI values computed by hand (issue 4), and against
the in-memory domain on a large random stream."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

import pytest

from golive.contract import Event, decode_record
from golive.contract.content import ObjectiveKpi
from golive.domain.dora import WINDOWS, dora_all
from golive.domain.releases import objectives
from golive.domain.rollouts import availability
from golive.domain.snapshot import (
    ROLLOUT_DOWNTIME_BUCKETS,
    ROLLOUT_DURATION_BUCKETS,
    Histogram,
    KpiSnapshot,
)
from golive.domain.state import apply_all
from golive.store.kpis import load_snapshot
from tests.integration.scenarios import CATALOG, NOW, SCENARIO, ago, build, ev, ingest
from tests.integration.streams import synthetic_stream


async def snapshot_of(database_url: str, events: list[Event], now: datetime = NOW) -> KpiSnapshot:
    conn = await ingest(database_url, events)
    try:
        return await load_snapshot(conn, CATALOG, now)
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_snapshot_matches_the_kpis_computed_by_hand(database_url: str) -> None:
    snap = await snapshot_of(database_url, SCENARIO)
    dora = {(r.service, r.environment, r.window): r for r in snap.dora}
    week = dora[("checkout", "prod", "7d")]
    # 7 days: 1.1 (failed by inc-1), 1.2 (rework, restores), 1.3; 1.0 is older.
    assert (week.deployments, week.failed_deployments, week.rework_deployments) == (3, 1, 1)
    assert week.deployment_frequency_per_day == pytest.approx(3 / 7)
    assert week.change_failure_ratio == pytest.approx(1 / 3)
    assert week.rework_ratio == pytest.approx(1 / 3)
    assert (week.recovery_time_p50, week.recovery_time_p90) == (7200, 7200)  # detected -> 1.2
    # c1: created 4 d ago, shipped in 1.1 3 d ago (1 d). c2: merged 3 d ago, shipped in 1.3,
    # whose deployment time is its rollout's finish, 1 d + 5 min ago (2 d - 5 min).
    assert (week.lead_time_p50, week.lead_time_p90) == (86400, 172800 - 300)
    month = dora[("checkout", "prod", "30d")]
    assert (month.deployments, month.change_failure_ratio) == (4, pytest.approx(0.25))
    assert {(d.service, d.environment, d.succeeded, d.failed) for d in snap.deployments} == {
        ("checkout", "prod", 4, 0)
    }

    downtime = {(h.service, h.environment): h for h in snap.rollout_downtime}[("checkout", "prod")]
    assert (downtime.count, downtime.total) == (1, 30.0)  # 0 ready from -9 min to -8.5 min
    assert dict(downtime.buckets)[5.0] == 0
    assert dict(downtime.buckets)[30.0] == 1
    duration = {(h.service, h.environment): h for h in snap.rollout_duration}[("checkout", "prod")]
    assert duration.total == 300.0
    assert snap.rollouts_in_progress == 0

    (release,) = snap.releases
    assert release.progress == pytest.approx(2 / 5)
    assert release.tasks == {"todo": 2, "in_progress": 1, "blocked": 0, "done": 2}
    assert snap.overdue == {("R1", "payments"): 2}  # T3, T4 due yesterday
    assert release.late is False
    assert release.forecast_basis == "throughput"
    assert release.at_risk is True  # 3 tasks left at ~0.1 a day, target in 2 days
    objectives = {o.objective: (o.value, o.met) for o in release.objectives}
    assert objectives == {
        "cfr": (pytest.approx(0.25), True),
        "downtime": (30.0, False),
        "done": (pytest.approx(0.4), False),
    }

    teams = {t.team: t for t in snap.teams}
    assert teams["payments"].idle is False  # a pipeline run an hour ago
    assert teams["payments"].last_activity == ago(hours=1)
    assert teams["storefront"].idle is True  # silent for five days with an open task
    assert teams["storefront"].open_tasks == 1


@pytest.mark.asyncio
async def test_sql_dora_figures_equal_the_domain_on_a_random_stream(database_url: str) -> None:
    events = []
    for _, value, headers in synthetic_stream(3000, seed=5):
        event = decode_record(value, headers)
        assert isinstance(event, Event)
        events.append(event)
    now = max(e.time for e in events) + timedelta(hours=1)
    snap = await snapshot_of(database_url, events, now)
    state = apply_all(events, CATALOG)
    expected = {}
    for name, length in WINDOWS.items():
        for f in dora_all(state, length, now):
            expected[(f.service, f.environment, name)] = (
                f.deployments,
                f.failed_deployments,
                f.rework_deployments,
                f.lead_time(0.5),
                f.lead_time(0.9),
                f.recovery_time(0.5),
                f.recovery_time(0.9),
            )
    got = {
        (r.service, r.environment, r.window): (
            r.deployments,
            r.failed_deployments,
            r.rework_deployments,
            r.lead_time_p50,
            r.lead_time_p90,
            r.recovery_time_p50,
            r.recovery_time_p90,
        )
        for r in snap.dora
    }
    assert got == expected
    assert sum(r.deployments for r in snap.dora) > 0


EVERY_KPI: tuple[ObjectiveKpi, ...] = get_args(ObjectiveKpi)


def measured_releases(now: datetime) -> list[Event]:
    """Three releases with an objective on every KPI: one in prod, one in every environment,
    and one planned two hours ago, whose DORA figures still span a day (`ReleaseWindow`)."""
    objectives = [
        {"id": kpi, "kpi": kpi, "op": "<=", "target": 0.5 if "ratio" in kpi else 3600}
        for kpi in EVERY_KPI
    ]
    return [
        ev(
            "golive-release.planned",
            release,
            {
                "targetDate": (now + timedelta(days=10)).isoformat(),
                "services": services,
                "teams": ["payments"],
                "objectives": objectives,
            }
            | ({"environment": environment} if environment else {}),
            now - age,
        )
        for release, services, environment, age in (
            ("R-prod", ["checkout", "svc-0", "svc-1", "svc-2"], "prod", timedelta(days=6)),
            ("R-all", ["checkout", "svc-3", "svc-4", "svc-5", "svc-6"], None, timedelta(days=6)),
            ("R-new", ["svc-0", "svc-3", "svc-4", "svc-5"], None, timedelta(hours=2)),
        )
    ]


def bucketed(
    values: dict[tuple[str, str], list[float]], bounds: tuple[float, ...]
) -> set[tuple[object, ...]]:
    return {
        (*key, tuple((b, sum(v <= b for v in vs)) for b in bounds), len(vs), sum(vs))
        for key, vs in values.items()
    }


def as_set(histograms: tuple[Histogram, ...]) -> set[tuple[object, ...]]:
    return {(h.service, h.environment, h.buckets, h.count, round(h.total, 6)) for h in histograms}


@pytest.mark.asyncio
async def test_sql_objectives_and_histograms_equal_the_domain(database_url: str) -> None:
    """The leader's batched objective queries and one-scan histograms against the domain,
    on a random stream plus the hand scenario (for lead times) and two measured releases."""
    stream = [decode_record(value, headers) for _, value, headers in synthetic_stream(3000, seed=9)]
    randoms = [e for e in stream if isinstance(e, Event)]
    now = max(e.time for e in randoms) + timedelta(hours=1)
    events = randoms + build(now) + measured_releases(now)
    snap = await snapshot_of(database_url, events, now)
    state = apply_all(events, CATALOG)

    got = {(r.release, o.objective): (o.value, o.met) for r in snap.releases for o in r.objectives}
    expected = {
        (release.id, s.objective.id): (s.value, s.met)
        for release in state.releases.values()
        if release.status == "open"
        for s in objectives(state, release, now)
    }
    assert {r for r, _ in got} >= {"R-prod", "R-all", "R-new"}
    assert got.keys() == expected.keys()
    for key, (value, met) in expected.items():
        assert got[key][1] == met, (key, got[key], value, met)
        assert got[key][0] == (None if value is None else pytest.approx(value)), key
    measured = [got[("R-all", kpi)][0] for kpi in EVERY_KPI]
    assert sum(v is not None for v in measured) >= 10  # the comparison is not all None
    # The events span more than R-new's window (a day): the queries must leave out the rest.
    assert min(e.time for e in randoms) < now - timedelta(days=1)
    assert got[("R-new", "deployments")][0]

    costs: dict[str, dict[tuple[str, str], list[float]]] = {
        "duration": {},
        "downtime": {},
        "degraded": {},
    }
    for rollout in state.rollouts.values():
        if rollout.finished_at and rollout.service and rollout.environment:
            cost = availability(rollout, rollout.finished_at)
            assert cost is not None
            key = (rollout.service, rollout.environment)
            costs["duration"].setdefault(key, []).append(cost.duration)
            costs["downtime"].setdefault(key, []).append(cost.downtime)
            costs["degraded"].setdefault(key, []).append(cost.degraded)
    rounded = {  # bucket edges compared exactly, sums to 1e-6
        name: {(s, e, b, n, round(t, 6)) for s, e, b, n, t in bucketed(values, bounds)}
        for name, values, bounds in (
            ("duration", costs["duration"], ROLLOUT_DURATION_BUCKETS),
            ("downtime", costs["downtime"], ROLLOUT_DOWNTIME_BUCKETS),
            ("degraded", costs["degraded"], ROLLOUT_DOWNTIME_BUCKETS),
        )
    }
    assert as_set(snap.rollout_duration) == rounded["duration"]
    assert as_set(snap.rollout_downtime) == rounded["downtime"]
    assert as_set(snap.rollout_degraded) == rounded["degraded"]
    # Values on a bound land in its bucket (le is inclusive): the scenario's 0 s downtimes.
    assert any(v == 0.0 for vs in costs["downtime"].values() for v in vs)
