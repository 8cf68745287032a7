"""Team activity over a period, from the `team_activity` buckets: events per team, last
activity and idle periods (the rule is the domain's, `domain.teams.idle_periods`).

Quiet stretches are the gaps between buckets with activity, found in SQL: only gaps
longer than the shortest `idle_after` in wall-clock time can be idle (business time is
never longer), so a month of buckets comes back as a handful of rows. Inside a bucket,
activity is continuous: an `idle_after` under 15 minutes is measured at that grain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime

from golive.domain.catalog import Catalog
from golive.domain.periods import Period
from golive.domain.teams import idle_periods
from golive.reports.model import TeamActivity
from golive.store.db import Connection
from golive.store.kpis import open_tasks_by_team

Quiet = tuple[datetime, datetime, bool]
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a team never heard from: quiet since always


async def known_teams(conn: Connection, catalog: Catalog) -> set[str]:
    """Every team golive knows: named in the catalog, owning tasks, or seen active."""
    rows = await conn.fetch(
        """SELECT team FROM tasks WHERE team IS NOT NULL
           UNION SELECT key FROM teams WHERE doc IS NOT NULL"""
    )
    return {r["team"] for r in rows} | set(catalog.teams) | set(catalog.service_owners.values())


async def team_activity(
    conn: Connection,
    catalog: Catalog,
    period: Period,
    until: datetime,
    teams: Collection[str],
) -> tuple[TeamActivity, ...]:
    """Each of `teams` in `period`, observed up to `until` (its end, or now)."""
    names = sorted(teams)
    if not names:
        return ()
    within = {
        r["team"]: r
        for r in await conn.fetch(
            """SELECT team, sum(events) AS events, min(first_at) AS first_at,
                      max(last_at) AS last_at
               FROM team_activity
               WHERE bucket >= $1 AND bucket < $2 AND team = ANY($3::text[])
               GROUP BY team""",
            period.start,
            until,
            names,
        )
    }
    before = {
        r["team"]: r["last_at"]
        for r in await conn.fetch(
            """SELECT t.team, (SELECT a.last_at FROM team_activity a
                               WHERE a.team = t.team AND a.bucket < $1
                               ORDER BY a.bucket DESC LIMIT 1) AS last_at
               FROM unnest($2::text[]) AS t(team)""",
            period.start,
            names,
        )
    }
    shortest = min(catalog.policy(t).idle_after for t in names)
    gaps: dict[str, list[Quiet]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT team, quiet_from, quiet_to FROM (
               SELECT team, first_at AS quiet_to,
                      lag(last_at) OVER (PARTITION BY team ORDER BY bucket) AS quiet_from
               FROM team_activity
               WHERE bucket >= $1 AND bucket < $2 AND team = ANY($3::text[])) AS g
           WHERE quiet_to - quiet_from > $4
           ORDER BY team, quiet_from""",
        period.start,
        until,
        names,
        shortest,
    ):
        gaps[r["team"]].append((r["quiet_from"], r["quiet_to"], False))
    open_tasks = await open_tasks_by_team(conn, names)

    # Quiet stretches per team; silence before any activity is open-ended (the team's
    # open work then says from when it counts).
    quiet: dict[str, list[Quiet]] = {}
    for team in names:
        active, previous = within.get(team), before.get(team)
        start = previous or NEVER
        if active is None:
            stretches = [(start, until, True)]
        else:
            stretches = [(start, active["first_at"], False), *gaps[team]]
            stretches.append((active["last_at"], until, True))
        long_enough = [q for q in stretches if q[1] - q[0] > shortest]
        if long_enough:
            quiet[team] = long_enough
    work = await _open_work(conn, quiet)

    result = []
    for team in names:
        active, previous = within.get(team), before.get(team)
        policy = catalog.policy(team)
        periods = [
            p
            for p in idle_periods(
                quiet.get(team, []), work[team], policy.calendar, policy.idle_after
            )
            if p.end > period.start
        ]
        result.append(
            TeamActivity(
                team=team,
                events=int(active["events"]) if active else 0,
                last_activity=active["last_at"] if active else previous,
                open_tasks=open_tasks.get(team, 0),
                idle_periods=tuple(periods),
            )
        )
    return tuple(result)


async def _open_work(
    conn: Connection, quiet: dict[str, list[Quiet]]
) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """When each release task of the teams with quiet stretches was open, [created, done):
    only the tasks open at some point of those stretches."""
    work: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    if not quiet:
        return work
    teams = sorted(quiet)
    for r in await conn.fetch(
        """SELECT t.team, t.created_at, t.done_at
           FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS q(team, low, high)
           JOIN LATERAL (
               SELECT team, (doc->>'created_at')::timestamptz AS created_at, done_at
               FROM tasks
               WHERE team = q.team AND release IS NOT NULL AND doc IS NOT NULL
                 AND (done_at IS NULL OR done_at > q.low)) AS t
             ON t.created_at < q.high""",
        teams,
        [min(low for low, _, _ in quiet[t]) for t in teams],
        [max(high for _, high, _ in quiet[t]) for t in teams],
    ):
        work[r["team"]].append((r["created_at"], r["done_at"]))
    return work
