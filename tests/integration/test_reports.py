"""Report sections from Postgres against figures computed by hand (issue 6).

The hand scenario (tests/integration/scenarios.py) with `now` = Friday 20 November 2026,
12:00 UTC; the weekly report is ISO week 47 (Monday 16 to Sunday 22 November, UTC),
still running, against week 46. By hand, in week 47:

- deployments 1.1 (Tue 17 12:00, failed by inc-1), 1.2 (Tue 17 15:00, rework, restores)
  and 1.3 (Thu 19 11:55, its rollout's finish); week 46 has 1.0 only (Tue 10 12:00);
- lead times: c1 created Mon 16 12:00, shipped Tue 17 12:00 (1 d); c2 merged Tue 17
  12:00, shipped Thu 19 11:55 (2 d - 5 min);
- recovery: inc-1 detected Tue 17 13:00, restored by 1.2 at 15:00 (2 h), resolved 16:00;
- rollout r1: no ready instance for 30 s (Thu 19 11:51:00 to 11:51:30);
- tasks T1 (Wed 18) and T2 (Thu 19) done; T3, T4 open and due Thu 19 12:00 (overdue);
  T5 (storefront) due Sat 21.
- team activity (checkout is payments'): payments has 14 events in the week (deployments
  1.1, 1.2, 1.3, inc-1 detected and resolved, r1's 4 events, T1, T2, T3, CM1 and the
  pipeline run), the last Fri 20 11:00; storefront none (T5, Sun 15, is its last).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from golive.alerting.lifecycle import AlertState
from golive.clock import FrozenClock
from golive.domain.periods import Period, PeriodKind, period_containing
from golive.reports.document import to_document
from golive.reports.markdown import render
from golive.reports.model import Report
from golive.reports.text import NO_DATA
from golive.store.alerts import save_alerts
from golive.store.db import _init, create_pool
from golive.store.reports import UnknownRelease, load_report
from tests.integration.scenarios import CATALOG, NOW, SCENARIO, ago, ev
from tests.integration.service import api_client
from tests.integration.test_kpi_snapshot import ingest

CORRECTIVE = ev(
    "golive-task.scheduled",
    "CM1",
    {
        "release": "R1",
        "team": "payments",
        "kind": "corrective",
        "owner": "alice",
        "title": "Add a readiness probe to checkout",
    },
    ago(days=2),
)
WEEK_47 = period_containing("weekly", NOW.date(), "UTC")


async def report_of(
    database_url: str, release: str | None = None, period: Period = WEEK_47, alerts: bool = True
) -> Report:
    conn = await ingest(database_url, [*SCENARIO, CORRECTIVE])
    try:
        if alerts:
            await add_alerts(conn)
        return await load_report(conn, CATALOG, period, NOW, release)
    finally:
        await conn.close()


async def add_alerts(conn: asyncpg.Connection) -> None:
    """Three alerts as the leader stores them: one fired and resolved in week 47, one
    fired in week 46 and resolved in week 47, one fired in week 47 and still firing."""
    await save_alerts(
        conn,
        [
            AlertState(
                fingerprint,
                name,
                "warning",
                {"release": "R1"},
                {"summary": f"{name} summary"},
                "/api/v1/alerts",
                starts,
                resolved,
            )
            for fingerprint, name, starts, resolved in (
                ("a1", "GoliveTasksOverdue", ago(days=1), ago(hours=2)),
                ("a2", "GoliveRolloutDowntime", ago(days=8), ago(days=3)),
                ("a3", "GoliveReleaseAtRisk", ago(days=2), None),
            )
        ],
    )


@pytest.mark.asyncio
async def test_headline_figures_against_the_previous_week(database_url: str) -> None:
    report = await report_of(database_url)
    assert report.period.label == "2026-W47"
    assert report.complete is False  # Friday: the week is still running
    trends = {t.headline.name: t for t in report.headline}
    values = {name: (t.value, t.previous) for name, t in trends.items()}
    assert values["deployments"] == (3, 1)
    assert values["deployment_frequency"] == (pytest.approx(3 / 7), pytest.approx(1 / 7))
    assert values["lead_time_p50"] == (86400, None)
    assert values["lead_time_p90"] == (172800 - 300, None)
    assert values["change_failure_ratio"] == (pytest.approx(1 / 3), 0)
    assert values["recovery_time_p50"] == (7200, None)
    assert values["rework_ratio"] == (pytest.approx(1 / 3), 0)
    assert values["rollout_downtime"] == (30, 0)
    assert values["tasks_done"] == (2, 0)
    assert values["throughput"] == (pytest.approx(2 / 5), 0)  # 5 business days a week
    assert (trends["deployments"].direction, trends["deployments"].improved) == ("up", True)
    assert (trends["change_failure_ratio"].direction, trends["change_failure_ratio"].improved) == (
        "up",
        False,
    )
    assert trends["lead_time_p50"].direction == "new"


@pytest.mark.asyncio
async def test_sections_of_the_weekly_report(database_url: str) -> None:
    report = await report_of(database_url)

    teams = {t.team: t for t in report.tasks_by_team}
    assert (teams["payments"].done, teams["payments"].open, teams["payments"].overdue) == (2, 3, 2)
    assert (teams["storefront"].done, teams["storefront"].open) == (0, 1)
    assert teams["storefront"].overdue == 0

    (measure,) = report.corrective_measures
    assert (measure.task, measure.owner, measure.team, measure.release) == (
        "CM1",
        "alice",
        "payments",
        "R1",
    )
    assert measure.title == "Add a readiness probe to checkout"
    assert measure.created_at == ago(days=2)

    (rollout,) = report.rollouts
    assert (rollout.rollout, rollout.version, rollout.outcome) == ("r1", "1.3", "succeeded")
    assert (rollout.downtime_s, rollout.degraded_s) == (30, 30)

    (incident,) = report.incidents
    assert (incident.incident, incident.recovery_s) == ("inc-1", 3 * 3600)

    assert [a.alertname for a in report.alerts_fired] == [
        "GoliveReleaseAtRisk",
        "GoliveTasksOverdue",
    ]
    assert [a.alertname for a in report.alerts_resolved] == [
        "GoliveRolloutDowntime",
        "GoliveTasksOverdue",
    ]
    assert report.alerts_fired[1].summary == "GoliveTasksOverdue summary"
    assert report.alerts_fired[1].labels == {"release": "R1"}

    assert report.deployments_by_day == tuple(
        (date(2026, 11, 16) + timedelta(days=n), count)
        for n, count in enumerate([0, 2, 0, 1, 0, 0, 0])
    )
    (burn_up,) = report.burn_up
    assert (burn_up.release, burn_up.scope) == ("R1", 6)
    # Days begun by Friday noon only: the rest of the week has not happened.
    assert burn_up.done_by_day == tuple(
        (date(2026, 11, 16) + timedelta(days=n), done) for n, done in enumerate([0, 0, 1, 2, 2])
    )
    (release,) = report.releases
    assert release.release == "R1"
    assert release.progress == pytest.approx(2 / 6)
    assert {t.team for t in report.teams} == {"payments", "storefront"}


@pytest.mark.asyncio
async def test_team_activity_and_idle_periods_in_business_time(database_url: str) -> None:
    """Idle = quiet for more than 4 business hours (the default) with open work; business
    hours are 09:00-18:00 UTC, Monday to Friday (the default calendar)."""
    teams = {t.team: t for t in (await report_of(database_url)).teams}
    payments, storefront = teams["payments"], teams["storefront"]
    assert (payments.events, payments.last_activity) == (14, ago(hours=1))
    assert payments.open_tasks == 3  # T3, T4, CM1
    day = lambda d, h, m=0: datetime(2026, 11, d, h, m, tzinfo=UTC)  # noqa: E731
    quiet = [(p.start, p.end, p.business_seconds / 3600) for p in payments.idle_periods]
    assert quiet == [
        # From deployment 1.0 (Tue 10 12:00) to T3's update: 6 h + 3 x 9 h + 3 h.
        (day(10, 12), day(16, 12), 36),
        (day(16, 12), day(17, 12), 9),  # Mon 12:00-18:00, Tue 09:00-12:00
        (day(17, 16), day(18, 12), 5),  # after inc-1's resolution: 2 h + 3 h
        (day(18, 12), day(19, 11, 50), 6 + 2 + 50 / 60),
        (day(19, 12), day(20, 11), 8),  # deployment 1.3 to the pipeline run
    ]
    assert payments.idle_periods[1].idle_from == day(16, 16)
    assert not any(p.ongoing for p in payments.idle_periods)  # active at 11:00, now 12:00

    assert (storefront.events, storefront.last_activity) == (0, ago(days=5))
    (idle,) = storefront.idle_periods  # T5 open since Sun 15 12:00, no news since
    assert (idle.start, idle.end, idle.ongoing) == (ago(days=5), NOW, True)
    assert idle.business_seconds == (4 * 9 + 3) * 3600
    assert idle.idle_from == day(16, 13)

    scoped = {t.team for t in (await report_of(database_url, release="R1")).teams}
    assert scoped == {"payments", "storefront"}  # R1 names both


@pytest.mark.asyncio
async def test_a_release_report_and_an_empty_month(database_url: str) -> None:
    report = await report_of(database_url, release="R1")
    assert report.release == "R1"
    figures = {t.headline.name: t.value for t in report.headline}
    assert (figures["deployments"], figures["tasks_done"]) == (3, 2)  # checkout in prod

    october = period_containing("monthly", date(2026, 10, 1), "UTC")
    empty = await report_of(database_url, period=october, alerts=False)
    assert empty.complete is True
    figures = {t.headline.name: t.value for t in empty.headline}
    assert (figures["deployments"], figures["tasks_done"]) == (0, 0)
    assert figures["lead_time_p50"] is None
    assert (empty.rollouts, empty.incidents, empty.alerts_fired) == ((), (), ())
    assert len(empty.deployments_by_day) == 31
    assert sum(n for _, n in empty.deployments_by_day) == 0


@pytest.mark.asyncio
async def test_an_unknown_release_is_named_in_the_error(database_url: str) -> None:
    with pytest.raises(UnknownRelease, match="R404"):
        await report_of(database_url, release="R404")


@pytest.mark.asyncio
async def test_the_json_document_is_versioned_and_carries_every_section(database_url: str) -> None:
    report = await report_of(database_url)
    document = json.loads(json.dumps(to_document(report)))
    assert document["schema"] == "golive.report/v1"
    assert document["period"] == {
        "kind": "weekly",
        "label": "2026-W47",
        "first_day": "2026-11-16",
        "last_day": "2026-11-22",
        "start": "2026-11-16T00:00:00Z",
        "end": "2026-11-23T00:00:00Z",
        "timezone": "UTC",
        "complete": False,
    }
    deployments = document["headline"][0]
    assert deployments | {"title": ""} == {
        "name": "deployments",
        "title": "",
        "unit": "count",
        "value": 3,
        "previous": 1,
        "change": 2.0,
        "direction": "up",
        "improved": True,
    }
    assert document["rollouts"][0]["downtime_seconds"] == 30
    assert document["incidents"][0]["recovery_seconds"] == 10800
    assert document["corrective_measures"][0]["age_seconds"] == 2 * 86400
    assert [a["alertname"] for a in document["alerts"]["fired"]] == [
        "GoliveReleaseAtRisk",
        "GoliveTasksOverdue",
    ]
    assert document["burn_up"][0]["done_by_day"][-1] == {"day": "2026-11-20", "done": 2}


@pytest.mark.asyncio
async def test_markdown_reads_as_a_report_and_escapes_what_producers_wrote(
    database_url: str,
) -> None:
    conn = await ingest(database_url, [*SCENARIO, CORRECTIVE, HOSTILE])
    try:
        report = await load_report(conn, CATALOG, WEEK_47, NOW)
    finally:
        await conn.close()
    page = render(report)
    assert page.startswith("# golive weekly report: 2026-W47\n")
    assert "The week is not over: figures so far." in page
    assert "| Deployments | 3 | 1 | ▲ +200% (better) |" in page
    assert "| Change failure ratio | 33% | 0% | ▲ (worse) |" in page  # no ratio from 0
    assert f"| Lead time for changes (median) | 1 d | {NO_DATA} | new |" in page
    assert "| r1 | checkout | prod | 1.3 | 2026-11-19 11:50 | succeeded | 30 s | 30 s |" in page
    assert "| inc-1 | checkout | prod | 2026-11-17 13:00 | 2026-11-17 16:00 | 3 h |" in page
    # A title with markup and a pipe stays one cell of text.
    assert "&lt;img src=x onerror=alert(1)&gt; \\| fix" in page
    assert "<img" not in page


HOSTILE = ev(
    "golive-task.scheduled",
    "CM2",
    {"release": "R1", "kind": "corrective", "title": "<img src=x onerror=alert(1)> | fix"},
    ago(days=1),
)


def test_golive_report_prints_the_week_and_refuses_what_it_cannot_do(
    database_url: str,
) -> None:
    asyncio.run(ingest_and_close(database_url))
    env = {**os.environ, "GOLIVE_DATABASE_URL": database_url}
    week = golive("report", "--period", "weekly", "--at", "2026-11-18", "--format", "json", env=env)
    assert week.returncode == 0, week.stderr
    document = json.loads(week.stdout)
    assert (document["period"]["label"], document["headline"][0]["value"]) == ("2026-W47", 3)

    markdown = golive("report", "--period", "weekly", "--at", "2026-11-18", env=env)
    assert markdown.stdout.startswith("# golive weekly report: 2026-W47")

    page = golive("report", "--period", "weekly", "--at", "2026-11-18", "--format", "html", env=env)
    assert page.stdout.lower().startswith("<!doctype html>")
    for chart in ("chart-burn-up", "chart-deployments", "chart-downtime"):
        assert f'class="chart {chart}"' in page.stdout

    unknown = golive("report", "--release", "R404", env=env)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "golive: no release 'R404' is known to golive\n",
    )

    zone = golive("report", "--timezone", "Mars/Olympus", env=env)
    assert zone.returncode == 2
    assert "unknown time zone" in zone.stderr


async def ingest_and_close(database_url: str) -> None:
    conn = await ingest(database_url, [*SCENARIO, CORRECTIVE])
    await conn.close()


def golive(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "golive", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.asyncio
async def test_the_api_serves_the_report_as_json_or_markdown(database_url: str) -> None:
    await ingest_and_close(database_url)
    pool = await create_pool(database_url)
    try:
        async with api_client(pool, CATALOG, FrozenClock(NOW)) as client:
            week = await client.get("/api/v1/reports/weekly", params={"at": "2026-11-18"})
            assert week.status_code == 200
            assert week.headers["content-type"] == "application/json"
            document = week.json()
            assert (document["period"]["label"], document["headline"][0]["value"]) == (
                "2026-W47",
                3,
            )
            # Default: the last complete period at `now` (Friday 20 November): Thursday.
            day = await client.get("/api/v1/reports/daily", headers={"Accept": "text/markdown"})
            assert day.headers["content-type"] == "text/markdown; charset=utf-8"
            assert day.text.startswith("# golive daily report: 2026-11-19\n")
            forced = await client.get(
                "/api/v1/reports/monthly",
                params={"format": "md", "timezone": "Europe/Paris"},
                headers={"Accept": "application/json"},
            )
            assert forced.text.startswith("# golive monthly report: 2026-10\n")
            assert "(Europe/Paris)" in forced.text

            unknown = await client.get("/api/v1/reports/weekly", params={"release": "R404"})
            assert (unknown.status_code, unknown.json()["detail"]) == (
                404,
                "no release 'R404' is known to golive",
            )
            zone = await client.get("/api/v1/reports/daily", params={"timezone": "Mars/Olympus"})
            assert zone.status_code == 422
            assert "unknown time zone" in zone.json()["detail"]
            assert (await client.get("/api/v1/reports/yearly")).status_code == 422
            spec = (await client.get("/openapi.json")).json()
            operation = spec["paths"]["/api/v1/reports/{period}"]["get"]
            assert set(operation["responses"]["200"]["content"]) == {
                "application/json",
                "text/markdown",
                "text/html",
            }
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_periods_are_local_days_across_the_autumn_clock_change(database_url: str) -> None:
    """Paris leaves summer time on Sunday 25 October 2026 at 03:00 (01:00 UTC): that day
    runs from 24 Oct 22:00 UTC to 25 Oct 23:00 UTC, 25 hours. Deployments at its edges
    land on the local day a reader in Paris would name."""
    edges = {
        "1.0": datetime(2026, 10, 24, 21, 59, tzinfo=UTC),  # Sat 24 23:59 CEST
        "1.1": datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # Sun 25 00:00 CEST
        "1.2": datetime(2026, 10, 25, 22, 59, tzinfo=UTC),  # Sun 25 23:59 CET
        "1.3": datetime(2026, 10, 25, 23, 0, tzinfo=UTC),  # Mon 26 00:00 CET
        "1.4": datetime(2026, 10, 31, 22, 59, tzinfo=UTC),  # Sat 31 23:59 CET
        "1.5": datetime(2026, 10, 31, 23, 0, tzinfo=UTC),  # Sun 1 November 00:00 CET
    }
    events = [
        ev(
            "service.deployed",
            "checkout",
            {"environment": {"id": "prod"}, "artifactId": f"pkg:oci/checkout@{v}"},
            t,
        )
        for v, t in edges.items()
    ]
    conn = await ingest(database_url, events)
    try:

        async def deployments(kind: PeriodKind, day: date) -> tuple[float | None, Report]:
            period = period_containing(kind, day, "Europe/Paris")
            report = await load_report(conn, CATALOG, period, NOW)
            return report.headline[0].value, report

        sunday, report = await deployments("daily", date(2026, 10, 25))
        assert sunday == 2  # 1.1 and 1.2
        assert report.period.end - report.period.start == timedelta(hours=25)
        assert (await deployments("daily", date(2026, 10, 24)))[0] == 1
        assert (await deployments("daily", date(2026, 10, 26)))[0] == 1
        # ISO week 43 (Mon 19 to Sun 25 October) holds 1.0 to 1.2; week 44 the rest.
        week, report = await deployments("weekly", date(2026, 10, 25))
        assert (report.period.label, week) == ("2026-W43", 3)
        assert [n for _, n in report.deployments_by_day] == [0, 0, 0, 0, 0, 1, 2]
        october, report = await deployments("monthly", date(2026, 10, 1))
        assert october == 5  # 1.5 is on 1 November in Paris
        assert report.deployments_by_day[-1] == (date(2026, 10, 31), 1)
        assert (await deployments("monthly", date(2026, 11, 1)))[0] == 1
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_a_rollout_across_the_end_counts_its_cost_up_to_the_end(database_url: str) -> None:
    """r9 starts Sunday 22 November 23:59 with no instance ready until Monday 00:05: week 47
    gets its first minute (in progress at the week's end), week 48 the finished rollout."""
    start = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    events = [
        ev(
            "golive-rollout.started",
            "r9",
            {
                "service": "checkout",
                "environment": "prod",
                "toVersion": "2.0",
                "desiredInstances": 2,
            },
            start,
        ),
        ev("golive-rollout.progressed", "r9", {"readyOld": 0, "readyNew": 0}, start),
        ev(
            "golive-rollout.progressed",
            "r9",
            {"readyOld": 0, "readyNew": 2},
            start + timedelta(minutes=6),
        ),
        ev("golive-rollout.finished", "r9", {"outcome": "succeeded"}, start + timedelta(minutes=7)),
    ]
    later = datetime(2026, 11, 30, 12, tzinfo=UTC)
    conn = await ingest(database_url, events)
    try:
        week_47 = await load_report(conn, CATALOG, WEEK_47, later)
        week_48 = await load_report(conn, CATALOG, WEEK_47.following(), later)
    finally:
        await conn.close()
    (running,) = week_47.rollouts
    assert (running.rollout, running.finished_at, running.downtime_s) == ("r9", None, 60)
    (finished,) = week_48.rollouts
    assert (finished.outcome, finished.downtime_s) == ("succeeded", 360)
    assert finished.finished_at == start + timedelta(minutes=7)


@pytest.mark.asyncio
async def test_a_helper_connection_gives_the_same_report(database_url: str) -> None:
    """The open releases computed on a second connection in the same snapshot."""
    conn = await ingest(database_url, [*SCENARIO, CORRECTIVE])
    helper = await asyncpg.connect(database_url)
    try:
        await _init(helper)
        alone = await load_report(conn, CATALOG, WEEK_47, NOW)
        shared = await load_report(conn, CATALOG, WEEK_47, NOW, helper=helper)
        assert shared == alone
        assert [r.release for r in shared.releases] == ["R1"]
        with pytest.raises(UnknownRelease):
            await load_report(conn, CATALOG, WEEK_47, NOW, "R404", helper=helper)
        # Both connections are usable afterwards: no transaction left open.
        assert await helper.fetchval("SELECT 1") == await conn.fetchval("SELECT 1") == 1
    finally:
        await helper.close()
        await conn.close()
