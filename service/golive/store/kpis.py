"""The leader's KPI snapshot: set-based SQL over the derived tables, then the pure
domain rules (forecast, idle, objectives) on the aggregated facts.

Query count is constant: it does not grow with events, services, teams or releases
(the open releases' objectives come from one query per kind of fact; only their
forecasts run one by one, in Python).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

from golive.domain.catalog import Catalog
from golive.domain.delivery import Deployment, Recovery
from golive.domain.dora import WINDOWS
from golive.domain.forecast import HISTORY_BUSINESS_DAYS, forecast_completion, throughput_of_days
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


def lead_times_sql(carried: str) -> str:
    """Lead time of every change carried by a deployment matching `carried` (a condition
    on `d`, the deployment, and `ac`, the change it carries), per (service, environment):
    its first completed deployment there, minus its start. The same rule as
    domain.dora.lead_times."""
    return f"""
    SELECT s.service, s.environment, s.shipped_at,
           extract(epoch FROM s.shipped_at - c.started_at) AS seconds
    FROM (SELECT d.service, d.environment, ac.change, min(d.deployed_at) AS shipped_at
          FROM deployments d JOIN artifact_changes ac ON ac.artifact = d.artifact
          WHERE d.completed AND {carried}
          GROUP BY 1, 2, 3) AS s
    JOIN changes c ON c.key = s.change
    WHERE c.started_at IS NOT NULL AND c.started_at <= s.shipped_at"""


def changes_deployed(condition: str) -> str:
    """A condition for `lead_times_sql`: the change was carried by a completed deployment
    matching `condition` (on `d`). Only such changes can have first shipped then, so the
    lead-time aggregate need not cover the whole history."""
    return f"""ac.change IN (
        SELECT ac.change FROM deployments d JOIN artifact_changes ac ON ac.artifact = d.artifact
        WHERE d.completed AND {condition})"""


# The changes deployed in the longest window.
_RECENT_CHANGES = changes_deployed(
    "d.deployed_at > (SELECT min(start) FROM w) AND d.deployed_at <= $3"
)

# The DORA figures of every (service, environment) for every window (w), in one statement.
DORA = f"""
    WITH w AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS w(name, start)),
    d AS (
        SELECT w.name, service, environment, count(*) AS deployments,
               count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
               count(*) FILTER (WHERE rework) AS rework
        FROM deployments JOIN w ON deployed_at > w.start AND deployed_at <= $3
        GROUP BY 1, 2, 3),
    lt AS (
        SELECT w.name, service, environment,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
        FROM ({lead_times_sql(_RECENT_CHANGES)}) AS l
        JOIN w ON shipped_at > w.start AND shipped_at <= $3
        GROUP BY 1, 2, 3),
    r AS (
        SELECT w.name, service, environment,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
        FROM (SELECT service, environment, restored_at,
                     extract(epoch FROM restored_at - started_at) AS seconds
              FROM recoveries) AS rs
        JOIN w ON restored_at > w.start AND restored_at <= $3
        GROUP BY 1, 2, 3),
    k AS (SELECT w.name, p.service, p.environment
          FROM w CROSS JOIN (SELECT service, environment FROM deployments
                             UNION SELECT service, environment FROM recoveries) AS p)
    SELECT k.name, k.service, k.environment, coalesce(d.deployments, 0) AS deployments,
           coalesce(d.failed, 0) AS failed, coalesce(d.rework, 0) AS rework,
           lt.p50 AS lead_p50, lt.p90 AS lead_p90, r.p50 AS rec_p50, r.p90 AS rec_p90
    FROM k LEFT JOIN d USING (name, service, environment)
           LEFT JOIN lt USING (name, service, environment)
           LEFT JOIN r USING (name, service, environment)
    ORDER BY 2, 3, 1
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def dora_rows(conn: Connection, now: datetime) -> list[DoraRow]:
    rows = await conn.fetch(DORA, list(WINDOWS), [now - length for length in WINDOWS.values()], now)
    return [
        DoraRow(
            r["service"],
            r["environment"],
            r["name"],
            WINDOWS[r["name"]] / timedelta(days=1),
            r["deployments"],
            r["failed"],
            r["rework"],
            _float(r["lead_p50"]),
            _float(r["lead_p90"]),
            _float(r["rec_p50"]),
            _float(r["rec_p90"]),
        )
        for r in rows
    ]


async def deployment_counts(conn: Connection) -> list[DeploymentCount]:
    rows = await conn.fetch(
        """SELECT service, environment, count(*) FILTER (WHERE completed) AS succeeded,
                  count(*) FILTER (WHERE attempt_failed) AS failed
           FROM deployments GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    return [
        DeploymentCount(r["service"], r["environment"], r["succeeded"], r["failed"]) for r in rows
    ]


# Finished-rollout columns served as histograms, with their bucket bounds.
HISTOGRAMS = {
    "duration_s": ROLLOUT_DURATION_BUCKETS,
    "downtime_s": ROLLOUT_DOWNTIME_BUCKETS,
    "degraded_s": ROLLOUT_DOWNTIME_BUCKETS,
}


def _first_bucket(column: str, parameter: int) -> str:
    """SQL for the index of the first bound >= the column's value (Prometheus `le` is
    inclusive), len(bounds) above them all: width_bucket counts the bounds <= its operand,
    so it is given the negated value and the negated bounds in ascending order."""
    return f"cardinality(${parameter}::float8[]) - width_bucket(-{column}, ${parameter})"


ROLLOUT_HISTOGRAMS = f"""
    SELECT service, environment, m.metric, m.bucket, count(*) AS n, sum(m.value) AS total
    FROM rollouts CROSS JOIN LATERAL (VALUES
        {", ".join(f"('{c}', {c}, {_first_bucket(c, i)})" for i, c in enumerate(HISTOGRAMS, 1))}
    ) AS m(metric, value, bucket)
    WHERE service IS NOT NULL AND environment IS NOT NULL AND m.value IS NOT NULL
    GROUP BY 1, 2, 3, 4
"""


async def rollout_histograms(conn: Connection) -> dict[str, list[Histogram]]:
    """Per finished-rollout column, cumulative bucket counts per (service, environment),
    from one scan of the rollouts."""
    counts: dict[str, dict[tuple[str, str], list[int]]] = {c: {} for c in HISTOGRAMS}
    totals: dict[str, dict[tuple[str, str], float]] = {c: defaultdict(float) for c in HISTOGRAMS}
    negated = [[-b for b in reversed(bounds)] for bounds in HISTOGRAMS.values()]
    for r in await conn.fetch(ROLLOUT_HISTOGRAMS, *negated):
        metric, key = r["metric"], (r["service"], r["environment"])
        per_bucket = counts[metric].setdefault(key, [0] * (len(HISTOGRAMS[metric]) + 1))
        per_bucket[r["bucket"]] += r["n"]
        totals[metric][key] += r["total"]
    return {
        metric: [
            Histogram(
                *key,
                tuple(zip(HISTOGRAMS[metric], accumulate(per_bucket[:-1]), strict=True)),
                sum(per_bucket),
                totals[metric][key],
            )
            for key, per_bucket in sorted(counts[metric].items())
        ]
        for metric in HISTOGRAMS
    }


async def load_snapshot(conn: Connection, catalog: Catalog, now: datetime) -> KpiSnapshot:
    """Everything `/metrics` serves, as of `now`, in one read-only transaction."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        releases, overdue = await release_rows(conn, catalog, now)
        histograms = await rollout_histograms(conn)
        return KpiSnapshot(
            taken_at=now,
            dora=tuple(await dora_rows(conn, now)),
            deployments=tuple(await deployment_counts(conn)),
            rollout_duration=tuple(histograms["duration_s"]),
            rollout_downtime=tuple(histograms["downtime_s"]),
            rollout_degraded=tuple(histograms["degraded_s"]),
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


async def open_tasks_by_team(conn: Connection, teams: list[str] | None = None) -> dict[str, int]:
    """Open tasks in open releases per team (of `teams`, or every team): the work that
    keeps a team on watch for idleness."""
    return {
        r["team"]: r["n"]
        for r in await conn.fetch(
            """SELECT t.team, count(*) AS n FROM tasks t LEFT JOIN releases r ON r.key = t.release
               WHERE t.status IS DISTINCT FROM 'done'
                 AND t.team IS NOT NULL AND t.release IS NOT NULL
                 AND coalesce(r.status, 'open') = 'open'
                 AND ($1::text[] IS NULL OR t.team = ANY($1))
               GROUP BY 1""",
            teams,
        )
    }


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
    open_tasks = await open_tasks_by_team(conn)
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
    calendar = catalog.defaults.calendar
    done_on: dict[str, dict[date, int]] = defaultdict(dict)
    for r in await conn.fetch(
        """SELECT team, (done_at AT TIME ZONE $2)::date AS day, count(*) AS n FROM tasks
           WHERE done_at > $1 AND team IS NOT NULL GROUP BY 1, 2""",
        history_start,
        calendar.timezone,
    ):
        done_on[r["team"]][r["day"]] = r["n"]

    progress = {
        release.id: Progress(
            release.id,
            {s: counts[release.id].get(s, 0) for s in TASK_STATUSES},
            {team: n for (rel, team), n in overdue.items() if rel == release.id},
        )
        for release in releases
    }
    objectives = await objective_rows(conn, [(r, progress[r.id]) for r in releases], now)

    @cache
    def team_throughput(team: str | None) -> tuple[int, ...]:
        """A team's tasks done per business day (None: no team, all zeros)."""
        return throughput_of_days(done_on[team] if team else {}, calendar, now)

    rows = []
    for release in releases:
        done = progress[release.id]
        teams = set(release.teams) | task_teams[release.id]
        # Counts add up: a release's throughput is the sum of its teams' (each once).
        per_team = (team_throughput(team) for team in teams)
        throughput = tuple(map(sum, zip(team_throughput(None), *per_team, strict=True)))
        prediction = forecast_completion(done.remaining, throughput, calendar, now)
        rows.append(
            ReleaseRow(
                release=release.id,
                target=release.target_date,
                progress=done.ratio,
                tasks={str(k): v for k, v in done.tasks_by_status.items()},
                forecast_p50=prediction.p50,
                forecast_p85=prediction.p85,
                forecast_basis=prediction.basis,
                at_risk=at_risk(release, prediction),
                late=late(release, done.remaining, now),
                objectives=objectives.get(release.id, ()),
            )
        )
    return rows, overdue


# What open releases measure: (release, service, environment) with the release's window,
# `start` to `stop` (planned -> closed or now, `ReleaseWindow`), and `since`, where its
# DORA figures start (`figures` counts over (stop - length, stop], at least a day); a
# NULL environment stands for every environment.
SCOPE = """(SELECT * FROM unnest($1::text[], $2::text[], $3::text[],
                                 $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
            AS s(release, service, environment, start, stop, since))"""
IN_SCOPE = "x.service = s.service AND (s.environment IS NULL OR x.environment = s.environment)"


async def objective_rows(
    conn: Connection, releases: Sequence[tuple[Release, Progress]], now: datetime
) -> dict[str, tuple[ObjectiveValue, ...]]:
    """Every open release's objectives, from one query per kind of fact (not per release)."""
    measured = [(r, p) for r, p in releases if r.objectives]
    windows = {r.id: ReleaseWindow.of(r, now) for r, _ in measured}
    scope = [
        (r.id, s, r.environment, windows[r.id])
        for r, _ in measured
        for s in sorted(set(r.services))
    ]
    if not scope:
        return {}
    args = (
        [release for release, _, _, _ in scope],
        [service for _, service, _, _ in scope],
        [environment for _, _, environment, _ in scope],
        [window.start for _, _, _, window in scope],
        [window.end for _, _, _, window in scope],
        [window.end - window.length for _, _, _, window in scope],
    )
    # Only the facts inside each release's window: `objective_values` counts no other,
    # and a release's services have years of history (docs/performance.md, eighth round).
    deployments: dict[str, list[Deployment]] = defaultdict(list)
    for r in await conn.fetch(
        f"""SELECT s.release, x.* FROM {SCOPE} s JOIN deployments x ON {IN_SCOPE}
            WHERE x.deployed_at > s.since AND x.deployed_at <= s.stop""",
        *args,
    ):
        deployments[r["release"]].append(
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
        )
    recoveries: dict[str, list[Recovery]] = defaultdict(list)
    for r in await conn.fetch(
        f"""SELECT s.release, x.* FROM {SCOPE} s JOIN recoveries x ON {IN_SCOPE}
            WHERE x.restored_at > s.since AND x.restored_at <= s.stop""",
        *args,
    ):
        recoveries[r["release"]].append(
            Recovery(r["service"], r["environment"], r["started_at"], r["restored_at"])
        )
    shipped: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    # A change first shipped inside a window went out with a completed deployment inside
    # it: only those changes' first deployments are looked for.
    lead_times = lead_times_sql(
        "d.service = ANY($2::text[]) AND "
        + changes_deployed(
            "d.service = ANY($2::text[]) AND d.deployed_at > (SELECT min(since) FROM s) "
            "AND d.deployed_at <= (SELECT max(stop) FROM s)"
        )
    )
    for r in await conn.fetch(
        f"""WITH s AS MATERIALIZED {SCOPE}
            SELECT s.release, x.* FROM s JOIN ({lead_times}) x ON {IN_SCOPE}
            WHERE x.shipped_at > s.since AND x.shipped_at <= s.stop""",
        *args,
    ):
        shipped[r["release"]].append((r["shipped_at"], float(r["seconds"])))
    # A finished rollout's cost is stored; one still in progress costs what it has so far.
    rollouts: dict[str, list[Availability]] = defaultdict(list)
    for r in await conn.fetch(
        f"""SELECT s.release, x.key, x.duration_s, x.downtime_s, x.degraded_s,
                   CASE WHEN x.duration_s IS NULL THEN x.doc END AS doc, s.stop
            FROM {SCOPE} s JOIN rollouts x ON {IN_SCOPE}
            WHERE x.started_at BETWEEN s.start AND s.stop""",
        *args,
    ):
        if r["doc"] is None:
            cost = Availability(r["key"], r["duration_s"], r["downtime_s"], r["degraded_s"], True)
        elif (live := availability(codec.decode_rollout(r["doc"]), r["stop"])) is not None:
            cost = live
        else:
            continue
        rollouts[r["release"]].append(cost)
    result = {}
    for release, progress in measured:
        values = objective_values(
            deployments=deployments[release.id],
            recoveries=recoveries[release.id],
            shipped=shipped[release.id],
            rollouts=rollouts[release.id],
            progress=progress,
            window=windows[release.id],
        )
        result[release.id] = tuple(
            ObjectiveValue(o.id, o.kpi, s.value, s.met)
            for o in release.objectives
            if (s := evaluate(o, values[o.kpi]))
        )
    return result
