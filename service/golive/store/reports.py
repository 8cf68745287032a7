"""A period's report from Postgres: set-based queries over the projections and derived
tables, one per section; the rules (trends, forecast, objectives, idle) are the domain's.

Periods are half-open, [start, end). Figures about the period (deployments, lead and
recovery times, downtime, tasks done, alerts) are read at its bounds; states (release
progress, open tasks, corrective measures, teams) are as of generation time, since the
projections hold current state only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from golive.domain.catalog import Catalog
from golive.domain.model import Release
from golive.domain.periods import Period, local_midnight
from golive.domain.rollouts import availability
from golive.domain.snapshot import ReleaseRow
from golive.domain.trends import headline_trends
from golive.reports.model import (
    AlertRow,
    BurnUp,
    CorrectiveMeasure,
    IncidentRow,
    Report,
    RolloutCost,
    TeamTasks,
)
from golive.store import codec
from golive.store.activity import known_teams, team_activity
from golive.store.alerts import alerts_in
from golive.store.db import Connection
from golive.store.kpis import changes_deployed, lead_times_sql, release_rows


class UnknownRelease(LookupError):
    """The report names a release golive has no record of."""


def in_scope(services: int, environment: int) -> str:
    """Delivery facts in scope: every service, or a release's services (in its environment);
    the parameters hold the services (NULL = all) and the environment (NULL = all)."""
    s, e = f"${services}", f"${environment}"
    return (
        f"({s}::text[] IS NULL OR service = ANY({s})) AND ({e}::text IS NULL OR environment = {e})"
    )


IN_SCOPE = in_scope(3, 4)

# The period ($2 to $6) and the one before it ($1 to $2) in one statement: each table is
# scanned once for both, and the lead-time join (the costly part) runs once.
# `cur` says which period a row is about.
DELIVERY = f"""
    WITH d AS (
      SELECT deployed_at >= $2 AS cur, count(*) AS deployments,
             count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
             count(*) FILTER (WHERE rework) AS rework
      FROM deployments WHERE deployed_at >= $1 AND deployed_at < $6 AND {IN_SCOPE}
      GROUP BY 1),
    r AS (
      SELECT finished_at >= $2 AS cur, sum(downtime_s) AS downtime, sum(degraded_s) AS degraded
      FROM rollouts WHERE finished_at >= $1 AND finished_at < $6 AND {IN_SCOPE}
      GROUP BY 1),
    l AS (
      SELECT shipped_at >= $2 AS cur,
             array[percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds),
                   percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds)] AS lead
      FROM ({
    lead_times_sql(
        changes_deployed(
            "d.deployed_at >= $1 AND d.deployed_at < $6 "
            "AND ($3::text[] IS NULL OR d.service = ANY($3)) "
            "AND ($4::text IS NULL OR d.environment = $4)"
        )
    )
}) AS l
      WHERE shipped_at >= $1 AND shipped_at < $6 AND {IN_SCOPE}
      GROUP BY 1),
    rec AS (
      SELECT restored_at >= $2 AS cur,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY
                 extract(epoch FROM restored_at - started_at)) AS recovery
      FROM recoveries WHERE restored_at >= $1 AND restored_at < $6 AND {IN_SCOPE}
      GROUP BY 1),
    t AS (
      SELECT done_at >= $2 AS cur, count(*) AS tasks_done
      FROM tasks WHERE done_at >= $1 AND done_at < $6 AND ($5::text IS NULL OR release = $5)
      GROUP BY 1)
    SELECT p.cur, coalesce(d.deployments, 0) AS deployments, coalesce(d.failed, 0) AS failed,
           coalesce(d.rework, 0) AS rework, coalesce(r.downtime, 0) AS downtime,
           coalesce(r.degraded, 0) AS degraded, l.lead, rec.recovery,
           coalesce(t.tasks_done, 0) AS tasks_done
    FROM (VALUES (false), (true)) AS p(cur)
    LEFT JOIN d USING (cur) LEFT JOIN r USING (cur) LEFT JOIN l USING (cur)
    LEFT JOIN rec USING (cur) LEFT JOIN t USING (cur)
"""

Figures = dict[str, float | None]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def headline_figures(
    conn: Connection, period: Period, scope: tuple[Any, ...], catalog: Catalog
) -> tuple[Figures, Figures]:
    """The headline figures of `period` and of the period before it."""
    previous = period.previous()
    rows = {
        r["cur"]: r
        for r in await conn.fetch(DELIVERY, previous.start, period.start, *scope, period.end)
    }
    return (
        _figures(rows[True], period, catalog),
        _figures(rows[False], previous, catalog),
    )


def _figures(r: Any, period: Period, catalog: Catalog) -> Figures:
    days = (period.end - period.start) / timedelta(days=1)
    calendar = catalog.defaults.calendar
    business_days = sum(calendar.is_business_day(day) for day in _days(period))
    lead = r["lead"] or [None, None]
    return {
        "deployments": float(r["deployments"]),
        "deployment_frequency": r["deployments"] / days,
        "lead_time_p50": None if lead[0] is None else float(lead[0]),
        "lead_time_p90": None if lead[1] is None else float(lead[1]),
        "change_failure_ratio": _ratio(r["failed"], r["deployments"]),
        "recovery_time_p50": None if r["recovery"] is None else float(r["recovery"]),
        "rework_ratio": _ratio(r["rework"], r["deployments"]),
        "rollout_downtime": float(r["downtime"]),
        "rollout_degraded": float(r["degraded"]),
        "tasks_done": float(r["tasks_done"]),
        "throughput": r["tasks_done"] / business_days if business_days else None,
    }


async def load_report(
    conn: Connection,
    catalog: Catalog,
    period: Period,
    now: datetime,
    release: str | None = None,
    *,
    helper: Connection | None = None,
) -> Report:
    """The report of `period` as of `now`, for everything or for one release.

    With a `helper` connection, the open releases (the costliest section: objectives and
    Monte Carlo forecasts, in Python) are computed on it while `conn` reads the others,
    in the same snapshot of the database (`pg_export_snapshot`): the two overlap on two
    cores, and the report stays consistent."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if helper is None:
            return await _load_report(conn, catalog, period, now, release, None)
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        async with helper.transaction(isolation="repeatable_read", readonly=True):
            await helper.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            releases = asyncio.create_task(release_rows(helper, catalog, now))
            try:
                return await _load_report(conn, catalog, period, now, release, releases)
            finally:
                if not releases.done():
                    releases.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await releases


async def _load_report(
    conn: Connection,
    catalog: Catalog,
    period: Period,
    now: datetime,
    release: str | None,
    releases_on_helper: asyncio.Task[tuple[list[ReleaseRow], Any]] | None,
) -> Report:
    scope: tuple[Any, ...] = (None, None, None)
    subject = None
    if release is not None:
        doc = await conn.fetchval("SELECT doc FROM releases WHERE key = $1", release)
        if doc is None:
            raise UnknownRelease(f"no release {release!r} is known to golive")
        subject = codec.decode_release(doc)
        scope = (sorted(subject.services), subject.environment, release)
    current, previous = await headline_figures(conn, period, scope, catalog)
    # Figures "at the period's end" cannot look past now for a period still running.
    until = min(period.end, now)
    return Report(
        period=period,
        generated_at=now,
        release=release,
        headline=headline_trends(current, previous),
        releases=tuple(
            r
            for r in await _releases(conn, catalog, now, releases_on_helper)
            if release is None or r.release == release
        ),
        tasks_by_team=await tasks_by_team(conn, period, until, release),
        corrective_measures=await corrective_measures(conn, release),
        rollouts=await rollout_costs(conn, period, until, scope),
        incidents=await incidents(conn, period, scope),
        alerts_fired=await alerts(conn, "starts_at", period),
        alerts_resolved=await alerts(conn, "resolved_at", period),
        teams=await team_activity(
            conn, catalog, period, until, await _teams(conn, catalog, release, subject)
        ),
        deployments_by_day=await deployments_by_day(conn, period, scope),
        burn_up=await burn_up(conn, period, until, release),
    )


async def _releases(
    conn: Connection,
    catalog: Catalog,
    now: datetime,
    on_helper: asyncio.Task[tuple[list[ReleaseRow], Any]] | None,
) -> list[ReleaseRow]:
    rows, _ = await (on_helper if on_helper is not None else release_rows(conn, catalog, now))
    return rows


async def _teams(
    conn: Connection, catalog: Catalog, release: str | None, subject: Release | None
) -> set[str]:
    """The teams a report covers: all, or those of the release (named by it, owning its
    services or its tasks)."""
    if release is None or subject is None:
        return await known_teams(conn, catalog)
    rows = await conn.fetch(
        "SELECT DISTINCT team FROM tasks WHERE release = $1 AND team IS NOT NULL", release
    )
    owners = {catalog.owner(s) for s in subject.services}
    return {r["team"] for r in rows} | set(subject.teams) | {o for o in owners if o}


async def tasks_by_team(
    conn: Connection, period: Period, until: datetime, release: str | None
) -> tuple[TeamTasks, ...]:
    rows = await conn.fetch(
        """SELECT coalesce(team, '') AS team,
                  count(*) FILTER (WHERE done_at >= $1 AND done_at < $2) AS done,
                  count(*) FILTER (WHERE status IS DISTINCT FROM 'done') AS open,
                  count(*) FILTER (WHERE status IS DISTINCT FROM 'done' AND due < $3) AS overdue,
                  count(*) FILTER (WHERE status = 'blocked') AS blocked
           FROM tasks WHERE doc IS NOT NULL AND ($4::text IS NULL OR release = $4)
           GROUP BY 1 ORDER BY 1""",
        period.start,
        period.end,
        until,
        release,
    )
    return tuple(
        TeamTasks(r["team"], r["done"], r["open"], r["overdue"], r["blocked"])
        for r in rows
        if r["done"] or r["open"]
    )


async def corrective_measures(
    conn: Connection, release: str | None
) -> tuple[CorrectiveMeasure, ...]:
    """Open corrective measures, oldest first."""
    tasks = [
        codec.decode_task(r["doc"])
        for r in await conn.fetch(
            """SELECT doc FROM tasks
               WHERE kind = 'corrective' AND status IS DISTINCT FROM 'done' AND doc IS NOT NULL
                 AND ($1::text IS NULL OR release = $1)""",
            release,
        )
    ]
    tasks.sort(key=lambda t: (t.created_at is None, t.created_at, t.id))
    return tuple(
        CorrectiveMeasure(t.id, t.title, t.owner, t.team, t.release, t.status, t.created_at, t.due)
        for t in tasks
    )


async def rollout_costs(
    conn: Connection, period: Period, until: datetime, scope: tuple[Any, ...]
) -> tuple[RolloutCost, ...]:
    """Rollouts finished in the period with downtime or degraded time, and those still in
    progress at its end with some so far; the longest downtime first. A finished
    rollout's cost is in its row (the projection computes it once); only those running at
    the period's end are decoded, to measure their cost up to it."""
    finished = await conn.fetch(
        f"""SELECT key, service, environment, to_version, started_at, finished_at, outcome,
                   downtime_s, degraded_s
            FROM rollouts
            WHERE service IS NOT NULL AND environment IS NOT NULL AND started_at IS NOT NULL
              AND {IN_SCOPE}
              AND finished_at >= $1 AND finished_at < $2
              AND (downtime_s > 0 OR degraded_s > 0)""",
        period.start,
        period.end,
        *scope[:2],
    )
    costs = [
        RolloutCost(
            r["key"],
            r["service"],
            r["environment"],
            r["to_version"],
            r["started_at"],
            r["finished_at"],
            r["outcome"],
            r["downtime_s"],
            r["degraded_s"],
        )
        for r in finished
    ]
    running = await conn.fetch(
        f"""SELECT doc FROM rollouts
            WHERE doc IS NOT NULL AND service IS NOT NULL AND environment IS NOT NULL
              AND {in_scope(2, 3)}
              AND started_at < $1 AND (finished_at IS NULL OR finished_at >= $1)""",
        period.end,
        *scope[:2],
    )
    for row in running:
        # Its cost up to the period's end (or now), not to a finish after it.
        rollout = replace(codec.decode_rollout(row["doc"]), finished_at=None)
        cost = availability(rollout, until)
        if cost is None or rollout.started_at is None or not (cost.downtime or cost.degraded):
            continue
        costs.append(
            RolloutCost(
                rollout.id,
                rollout.service or "",
                rollout.environment or "",
                rollout.to_version,
                rollout.started_at,
                None,
                None,
                cost.downtime,
                cost.degraded,
            )
        )
    costs.sort(key=lambda c: (-c.downtime_s, -c.degraded_s, c.rollout))
    return tuple(costs)


async def incidents(
    conn: Connection, period: Period, scope: tuple[Any, ...]
) -> tuple[IncidentRow, ...]:
    """Incidents detected or resolved in the period, or open across it."""
    rows = await conn.fetch(
        f"""SELECT doc FROM incidents
            WHERE doc IS NOT NULL AND {IN_SCOPE}
              AND detected_at < $2 AND (resolved_at IS NULL OR resolved_at >= $1)
            ORDER BY detected_at, key""",
        period.start,
        period.end,
        *scope[:2],
    )
    result = []
    for row in rows:
        incident = codec.decode_incident(row["doc"])
        result.append(
            IncidentRow(
                incident.id,
                incident.service,
                incident.environment,
                incident.description,
                incident.detected_at,
                incident.resolved_at,
            )
        )
    return tuple(result)


async def alerts(conn: Connection, column: str, period: Period) -> tuple[AlertRow, ...]:
    """golive's alerts that started (`starts_at`) or resolved (`resolved_at`) in the period."""
    return tuple(
        AlertRow(
            a.alertname,
            a.severity,
            dict(a.labels),
            a.annotations.get("summary"),
            a.starts_at,
            a.resolved_at,
        )
        for a in await alerts_in(conn, column, period.start, period.end)
    )


async def deployments_by_day(
    conn: Connection, period: Period, scope: tuple[Any, ...]
) -> tuple[tuple[date, int], ...]:
    """Deployments per local day of the period, every day listed (0 included)."""
    counts = {
        r["day"]: r["n"]
        for r in await conn.fetch(
            f"""SELECT (deployed_at AT TIME ZONE $5)::date AS day, count(*) AS n
                FROM deployments
                WHERE deployed_at >= $1 AND deployed_at < $2 AND {IN_SCOPE}
                GROUP BY 1""",
            period.start,
            period.end,
            *scope[:2],
            period.timezone,
        )
    }
    return tuple((day, counts.get(day, 0)) for day in _days(period))


async def burn_up(
    conn: Connection, period: Period, until: datetime, release: str | None
) -> tuple[BurnUp, ...]:
    """Per open release (or the one reported on): tasks done by the end of each day."""
    releases = [
        r["key"]
        for r in await conn.fetch(
            """SELECT key FROM releases WHERE doc IS NOT NULL
                 AND (($1::text IS NULL AND status = 'open') OR key = $1) ORDER BY key""",
            release,
        )
    ]
    rows = await conn.fetch(
        """SELECT release, count(*) AS scope,
                  count(*) FILTER (WHERE done_at < $1) AS before,
                  array_agg((done_at AT TIME ZONE $3)::date)
                      FILTER (WHERE done_at >= $1 AND done_at < $2) AS days
           FROM tasks WHERE release = ANY($4::text[]) AND doc IS NOT NULL GROUP BY 1""",
        period.start,
        min(period.end, until),
        period.timezone,
        releases,
    )
    by_release = {r["release"]: r for r in rows}
    result = []
    for key in releases:
        r = by_release.get(key)
        done_on: dict[date, int] = defaultdict(int)
        for day in (r["days"] or []) if r else []:
            done_on[day] += 1
        total = r["before"] if r else 0
        series = []
        for day in _days(period, until):
            total += done_on[day]
            series.append((day, total))
        result.append(BurnUp(key, r["scope"] if r else 0, tuple(series)))
    return tuple(result)


def _days(period: Period, until: datetime | None = None) -> list[date]:
    """The period's local days (those begun before `until`, if given)."""
    days = [
        period.first_day + timedelta(days=n)
        for n in range((period.last_day - period.first_day).days + 1)
    ]
    if until is None:
        return days
    return [day for day in days if local_midnight(day, period.timezone) < until]
