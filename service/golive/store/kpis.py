"""The leader's KPI snapshot: set-based SQL over the derived tables, then the pure
domain rules (forecast, idle, objectives) on the aggregated facts.

Query count is constant: it does not grow with events, services or teams; only the few
open releases are looked at one by one (their objectives and forecast).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from golive.contract.content import TaskStatus
from golive.domain.catalog import Catalog
from golive.domain.delivery import Deployment, Recovery
from golive.domain.dora import WINDOWS
from golive.domain.forecast import HISTORY_BUSINESS_DAYS, daily_throughput, forecast_completion
from golive.domain.model import Release
from golive.domain.releases import (
    TASK_STATUSES,
    Progress,
    ReleaseWindow,
    at_risk,
    evaluate,
    late,
    objective_values,
)
from golive.domain.rollouts import Availability, availability, last_progress
from golive.domain.snapshot import (
    ROLLOUT_DOWNTIME_BUCKETS,
    ROLLOUT_DURATION_BUCKETS,
    DeploymentCount,
    DoraRow,
    Histogram,
    KpiSnapshot,
    ObjectiveValue,
    OpenRecovery,
    ReleaseRow,
    RolloutRow,
    TeamRow,
)
from golive.domain.teams import idle_status
from golive.store import codec
from golive.store.db import Connection

# Lead time of every change per (service, environment): first completed deployment
# carrying it, minus its start. The same rule as domain.dora.lead_times.
LEAD_TIMES = """
    SELECT s.service, s.environment, s.shipped_at,
           extract(epoch FROM s.shipped_at - c.started_at) AS seconds
    FROM (SELECT d.service, d.environment, ac.change, min(d.deployed_at) AS shipped_at
          FROM deployments d JOIN artifact_changes ac ON ac.artifact = d.artifact
          WHERE d.completed
          GROUP BY 1, 2, 3) AS s
    JOIN changes c ON c.key = s.change
    WHERE c.started_at IS NOT NULL AND c.started_at <= s.shipped_at
"""

DORA = f"""
    WITH d AS (
        SELECT service, environment, count(*) AS deployments,
               count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
               count(*) FILTER (WHERE rework) AS rework
        FROM deployments WHERE deployed_at > $1 AND deployed_at <= $2 GROUP BY 1, 2),
    lt AS (
        SELECT service, environment,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
        FROM ({LEAD_TIMES}) AS l WHERE shipped_at > $1 AND shipped_at <= $2 GROUP BY 1, 2),
    r AS (
        SELECT service, environment,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
        FROM (SELECT service, environment, extract(epoch FROM restored_at - started_at) AS seconds
              FROM recoveries WHERE restored_at > $1 AND restored_at <= $2) AS rs
        GROUP BY 1, 2),
    k AS (SELECT service, environment FROM deployments
          UNION SELECT service, environment FROM recoveries)
    SELECT k.service, k.environment, coalesce(d.deployments, 0) AS deployments,
           coalesce(d.failed, 0) AS failed, coalesce(d.rework, 0) AS rework,
           lt.p50 AS lead_p50, lt.p90 AS lead_p90, r.p50 AS rec_p50, r.p90 AS rec_p90
    FROM k LEFT JOIN d USING (service, environment) LEFT JOIN lt USING (service, environment)
           LEFT JOIN r USING (service, environment)
    ORDER BY 1, 2
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def dora_rows(conn: Connection, now: datetime) -> list[DoraRow]:
    rows = []
    for name, length in WINDOWS.items():
        for r in await conn.fetch(DORA, now - length, now):
            rows.append(
                DoraRow(
                    r["service"],
                    r["environment"],
                    name,
                    length / timedelta(days=1),
                    r["deployments"],
                    r["failed"],
                    r["rework"],
                    _float(r["lead_p50"]),
                    _float(r["lead_p90"]),
                    _float(r["rec_p50"]),
                    _float(r["rec_p90"]),
                )
            )
    return rows


async def deployment_counts(conn: Connection) -> list[DeploymentCount]:
    rows = await conn.fetch(
        """SELECT service, environment, count(*) FILTER (WHERE completed) AS succeeded,
                  count(*) FILTER (WHERE attempt_failed) AS failed
           FROM deployments GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    return [
        DeploymentCount(r["service"], r["environment"], r["succeeded"], r["failed"]) for r in rows
    ]


async def histograms(conn: Connection, column: str, bounds: tuple[float, ...]) -> list[Histogram]:
    """Cumulative bucket counts per (service, environment) of a finished-rollout column."""
    finished = f"{column} IS NOT NULL AND service IS NOT NULL AND environment IS NOT NULL"
    buckets: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for r in await conn.fetch(
        f"""SELECT service, environment, b.le, count(*) FILTER (WHERE {column} <= b.le) AS n
            FROM rollouts CROSS JOIN unnest($1::float8[]) AS b(le)
            WHERE {finished}
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
        list(bounds),
    ):
        buckets[(r["service"], r["environment"])].append((float(r["le"]), r["n"]))
    rows = await conn.fetch(
        f"""SELECT service, environment, count(*) AS n, sum({column}) AS total FROM rollouts
            WHERE {finished} GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    return [
        Histogram(
            r["service"],
            r["environment"],
            tuple(buckets[(r["service"], r["environment"])]),
            r["n"],
            float(r["total"]),
        )
        for r in rows
    ]


async def load_snapshot(conn: Connection, catalog: Catalog, now: datetime) -> KpiSnapshot:
    """Everything `/metrics` serves, as of `now`, in one read-only transaction."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        releases, overdue = await release_rows(conn, catalog, now)
        return KpiSnapshot(
            taken_at=now,
            dora=tuple(await dora_rows(conn, now)),
            deployments=tuple(await deployment_counts(conn)),
            rollout_duration=tuple(await histograms(conn, "duration_s", ROLLOUT_DURATION_BUCKETS)),
            rollout_downtime=tuple(await histograms(conn, "downtime_s", ROLLOUT_DOWNTIME_BUCKETS)),
            rollout_degraded=tuple(await histograms(conn, "degraded_s", ROLLOUT_DOWNTIME_BUCKETS)),
            rollouts_in_progress=int(
                await conn.fetchval(
                    "SELECT count(*) FROM rollouts WHERE outcome IS NULL AND started_at IS NOT NULL"
                )
            ),
            releases=tuple(releases),
            overdue=overdue,
            teams=tuple(await team_rows(conn, catalog, now)),
            rollouts=tuple(await rollout_rows(conn, now)),
            open_recoveries=tuple(
                OpenRecovery(r["service"], r["environment"], r["started_at"], r["cause"])
                for r in await conn.fetch(
                    """SELECT service, environment, started_at, cause FROM recoveries
                       WHERE restored_at IS NULL ORDER BY 1, 2"""
                )
            ),
        )


RECENT_ROLLOUTS = timedelta(hours=24)


async def rollout_rows(conn: Connection, now: datetime) -> list[RolloutRow]:
    """The latest rollout per (service, environment) that is in progress or finished in
    the last 24 h, with its downtime (so far, for one in progress)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (service, environment) key, doc
           FROM rollouts
           WHERE service IS NOT NULL AND environment IS NOT NULL AND started_at IS NOT NULL
             AND (outcome IS NULL OR finished_at > $1)
           ORDER BY service, environment, started_at DESC""",
        now - RECENT_ROLLOUTS,
    )
    result = []
    for row in rows:
        rollout = codec.decode_rollout(row["doc"])
        cost = availability(rollout, now)
        last = last_progress(rollout)
        if cost is None or last is None or rollout.started_at is None:
            continue
        result.append(
            RolloutRow(
                rollout.id,
                rollout.service or "",
                rollout.environment or "",
                rollout.to_version,
                rollout.started_at,
                last,
                rollout.finished_at,
                rollout.outcome,
                cost.downtime,
                cost.degraded,
            )
        )
    return result


async def team_rows(conn: Connection, catalog: Catalog, now: datetime) -> list[TeamRow]:
    last: dict[str, datetime] = {}

    def seen(team: str | None, time: datetime | None) -> None:
        if team and time and (team not in last or time > last[team]):
            last[team] = time

    for r in await conn.fetch("SELECT key, last_activity FROM teams WHERE doc IS NOT NULL"):
        seen(r["key"], r["last_activity"])
    for r in await conn.fetch("SELECT team, max(last_event_at) AS t FROM tasks GROUP BY team"):
        seen(r["team"], r["t"])
    for r in await conn.fetch(
        "SELECT service, max(last_event_at) AS t FROM rollouts GROUP BY service"
    ):
        seen(catalog.owner(r["service"]), r["t"])
    open_tasks = {
        r["team"]: r["n"]
        for r in await conn.fetch(
            """SELECT t.team, count(*) AS n FROM tasks t LEFT JOIN releases r ON r.key = t.release
               WHERE t.status IS DISTINCT FROM 'done'
                 AND t.team IS NOT NULL AND t.release IS NOT NULL
                 AND coalesce(r.status, 'open') = 'open'
               GROUP BY 1"""
        )
    }
    names = set(last) | set(open_tasks) | set(catalog.teams) | set(catalog.service_owners.values())
    rows = []
    for team in sorted(names):
        status = idle_status(
            team, open_tasks.get(team, 0), last.get(team), last.get(team), catalog, now
        )
        rows.append(
            TeamRow(
                team,
                status.last_activity,
                status.open_tasks,
                status.idle,
                status.quiet_business_seconds,
                status.idle_after_seconds,
            )
        )
    return rows


async def release_rows(
    conn: Connection, catalog: Catalog, now: datetime
) -> tuple[list[ReleaseRow], dict[tuple[str, str], int]]:
    """Open releases: progress, schedule, forecast, risk and objectives."""
    docs = await conn.fetch(
        "SELECT key, doc FROM releases WHERE doc IS NOT NULL AND status = 'open' ORDER BY key"
    )
    releases = [codec.decode_release(r["doc"]) for r in docs]
    ids = [r.id for r in releases]
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for r in await conn.fetch(
        """SELECT release, status, count(*) AS n FROM tasks
           WHERE release = ANY($1::text[]) GROUP BY 1, 2""",
        ids,
    ):
        counts[r["release"]][r["status"]] = r["n"]
    overdue: dict[tuple[str, str], int] = {}
    for r in await conn.fetch(
        """SELECT release, coalesce(team, '') AS team, count(*) AS n FROM tasks
           WHERE release = ANY($1::text[]) AND status IS DISTINCT FROM 'done' AND due < $2
           GROUP BY 1, 2""",
        ids,
        now,
    ):
        overdue[(r["release"], r["team"])] = r["n"]
    task_teams: dict[str, set[str]] = defaultdict(set)
    for r in await conn.fetch(
        """SELECT DISTINCT release, team FROM tasks
           WHERE release = ANY($1::text[]) AND team IS NOT NULL""",
        ids,
    ):
        task_teams[r["release"]].add(r["team"])
    history_start = now - timedelta(days=HISTORY_BUSINESS_DAYS * 2 + 14)
    done_at: dict[str, list[datetime]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT team, done_at FROM tasks WHERE done_at > $1 AND team IS NOT NULL", history_start
    ):
        done_at[r["team"]].append(r["done_at"])

    rows = []
    for release in releases:
        by_status: dict[TaskStatus, int] = {s: counts[release.id].get(s, 0) for s in TASK_STATUSES}
        progress = Progress(
            release.id,
            by_status,
            {team: n for (rel, team), n in overdue.items() if rel == release.id},
        )
        teams = set(release.teams) | task_teams[release.id]
        calendar = catalog.defaults.calendar
        throughput = daily_throughput([t for team in teams for t in done_at[team]], calendar, now)
        prediction = forecast_completion(progress.remaining, throughput, calendar, now)
        objectives = await objective_rows(conn, release, progress, now)
        rows.append(
            ReleaseRow(
                release=release.id,
                target=release.target_date,
                progress=progress.ratio,
                tasks={str(k): v for k, v in by_status.items()},
                forecast_p50=prediction.p50,
                forecast_p85=prediction.p85,
                forecast_basis=prediction.basis,
                at_risk=at_risk(release, prediction),
                late=late(release, progress.remaining, now),
                objectives=objectives,
            )
        )
    return rows, overdue


async def objective_rows(
    conn: Connection, release: Release, progress: Progress, now: datetime
) -> tuple[ObjectiveValue, ...]:
    if not release.objectives:
        return ()
    window = ReleaseWindow.of(release, now)
    env = release.environment
    scope = "service = ANY($1::text[]) AND ($2::text IS NULL OR environment = $2)"
    services = list(release.services)
    deployments = [
        Deployment(
            r["service"],
            r["environment"],
            r["version"],
            r["deployed_at"],
            r["artifact"],
            r["failed_at"],
            r["rework"],
            r["completed"],
            r["attempt_failed"],
        )
        for r in await conn.fetch(f"SELECT * FROM deployments WHERE {scope}", services, env)
    ]
    recoveries = [
        Recovery(r["service"], r["environment"], r["started_at"], r["restored_at"])
        for r in await conn.fetch(f"SELECT * FROM recoveries WHERE {scope}", services, env)
    ]
    shipped = [
        (r["shipped_at"], float(r["seconds"]))
        for r in await conn.fetch(f"SELECT * FROM ({LEAD_TIMES}) AS l WHERE {scope}", services, env)
    ]
    rollouts = [
        Availability(r["key"], r["duration_s"], r["downtime_s"], r["degraded_s"], True)
        for r in await conn.fetch(
            f"""SELECT key, duration_s, downtime_s, degraded_s FROM rollouts
                WHERE {scope} AND duration_s IS NOT NULL
                  AND started_at >= $3 AND started_at <= $4""",
            services,
            env,
            window.start,
            window.end,
        )
    ]
    values = objective_values(
        deployments=deployments,
        recoveries=recoveries,
        shipped=shipped,
        rollouts=rollouts,
        progress=progress,
        window=window,
    )
    return tuple(
        ObjectiveValue(o.id, o.kpi, s.value, s.met)
        for o in release.objectives
        if (s := evaluate(o, values[o.kpi]))
    )
