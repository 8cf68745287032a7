"""Derived tables: deployments, recoveries and artifact changes, kept in step with the
projections inside each batch's transaction so the leader can aggregate them in SQL.

The derivation is the domain's (`domain.delivery.derive`), run for every (service,
environment) whose facts the batch changed. Each such pair is locked with a
transaction-level advisory lock (in key order) before its facts are read, so two
instances refreshing the same pair serialise and the second sees the first's commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from golive.domain.delivery import Delivery, derive
from golive.domain.model import Artifact, Incident, Rollout, Timeline
from golive.domain.state import State
from golive.store import codec
from golive.store.db import Connection
from golive.store.projections import TIMELINE_SEPARATOR

DeliveryKey = tuple[str, str]


def affected(before: State, after: State, touched: Mapping[str, Iterable[Any]]) -> set[DeliveryKey]:
    """The (service, environment) pairs whose derived rows a batch may have changed,
    including a pair an incident or rollout moved away from."""
    keys: set[DeliveryKey] = set(touched.get("timelines", ()))
    for name in ("incidents", "rollouts"):
        for key in touched.get(name, ()):
            for state in (before, after):
                entity = getattr(state, name).get(key)
                if entity is not None and entity.service and entity.environment:
                    keys.add((entity.service, entity.environment))
    return keys


def _pairs(keys: Iterable[DeliveryKey]) -> tuple[list[str], list[str]]:
    ordered = sorted(keys)
    return [s for s, _ in ordered], [e for _, e in ordered]


async def refresh_deliveries(
    conn: Connection, keys: set[DeliveryKey], locked: Mapping[DeliveryKey, Timeline] | None = None
) -> None:
    """Re-derive the rows of `keys`. `locked` holds timelines the caller's transaction has
    already locked and brought up to date: they are taken as they are instead of being
    read and decoded again (a second decode of each was 3 % of ingest CPU)."""
    if not keys:
        return
    locked = locked or {}
    services, environments = _pairs(keys)
    joined = [f"{s}{TIMELINE_SEPARATOR}{e}" for s, e in zip(services, environments, strict=True)]
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM "
        "(SELECT hashtextextended(k, 7) AS h FROM unnest($1::text[]) AS k ORDER BY k) AS ordered",
        joined,
    )
    in_keys = "(service, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    unread = [j for k, j in zip(sorted(keys), joined, strict=True) if k not in locked]
    timelines = {
        r["key"]: codec.decode_timeline(r["doc"])
        for r in await conn.fetch(
            "SELECT key, doc FROM timelines WHERE key = ANY($1::text[]) AND doc IS NOT NULL", unread
        )
    }
    incidents: dict[DeliveryKey, list[Incident]] = {}
    for r in await conn.fetch(
        "SELECT key, service, environment, detected_at, resolved_at "
        f"FROM incidents WHERE {in_keys}",
        services,
        environments,
    ):
        incidents.setdefault((r["service"], r["environment"]), []).append(
            Incident(
                r["key"], r["service"], r["environment"], None, r["detected_at"], r["resolved_at"]
            )
        )
    rollouts: dict[DeliveryKey, list[Rollout]] = {}
    for r in await conn.fetch(
        "SELECT key, service, environment, from_version, to_version, finished_at, outcome "
        f"FROM rollouts WHERE outcome IS NOT NULL AND {in_keys}",
        services,
        environments,
    ):
        rollouts.setdefault((r["service"], r["environment"]), []).append(
            Rollout(
                r["key"],
                r["service"],
                r["environment"],
                from_version=r["from_version"],
                to_version=r["to_version"],
                finished_at=r["finished_at"],
                outcome=r["outcome"],
            )
        )
    deliveries: list[Delivery] = []
    for key, joined_key in zip(sorted(keys), joined, strict=True):
        timeline = locked.get(key) or timelines.get(joined_key) or Timeline(*key)
        deliveries.append(derive(timeline, incidents.get(key, ()), rollouts.get(key, ())))
    await _replace(conn, services, environments, deliveries)


async def _replace(
    conn: Connection, services: list[str], environments: list[str], deliveries: list[Delivery]
) -> None:
    """Make the stored rows of these pairs the derived ones, writing only what differs:
    a pair's history is re-derived whole, but most of it is as stored, and rewriting it
    all was most of Postgres's time for this table (docs/performance.md)."""
    in_keys = "(service, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    deployments = {
        (d.service, d.environment, d.version): (
            d.service,
            d.environment,
            d.version,
            d.deployed_at,
            d.artifact,
            d.failed_at,
            d.rework,
            d.completed,
            d.attempt_failed,
        )
        for delivery in deliveries
        for d in delivery.deployments
    }
    recoveries: dict[tuple[str, str, datetime], tuple[Any, ...]] = {}
    for delivery in deliveries:
        for r in delivery.recoveries:  # the first of a start wins, as it always did
            recoveries.setdefault(
                (r.service, r.environment, r.started_at),
                (r.service, r.environment, r.started_at, r.restored_at, str(r.cause)),
            )
    stored = await conn.fetch(
        "SELECT service, environment, version, deployed_at, artifact, failed_at, rework, "
        f"completed, attempt_failed FROM deployments WHERE {in_keys}",
        services,
        environments,
    )
    gone, changed = _difference(stored, deployments, key_size=3)
    if gone:
        await conn.execute(
            "DELETE FROM deployments WHERE (service, environment, version) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
            *_columns(gone, 3),
        )
    if changed:
        await conn.execute(
            """INSERT INTO deployments (service, environment, version, deployed_at, artifact,
                   failed_at, rework, completed, attempt_failed)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
                   $5::text[], $6::timestamptz[], $7::bool[], $8::bool[], $9::bool[])
               ON CONFLICT (service, environment, version) DO UPDATE
               SET deployed_at = EXCLUDED.deployed_at, artifact = EXCLUDED.artifact,
                   failed_at = EXCLUDED.failed_at, rework = EXCLUDED.rework,
                   completed = EXCLUDED.completed, attempt_failed = EXCLUDED.attempt_failed""",
            *_columns(changed, 9),
        )
    stored = await conn.fetch(
        "SELECT service, environment, started_at, restored_at, cause "
        f"FROM recoveries WHERE {in_keys}",
        services,
        environments,
    )
    gone, changed = _difference(stored, recoveries, key_size=3)
    if gone:
        await conn.execute(
            "DELETE FROM recoveries WHERE (service, environment, started_at) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]))",
            *_columns(gone, 3),
        )
    if changed:
        await conn.execute(
            """INSERT INTO recoveries (service, environment, started_at, restored_at, cause)
               SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[],
                   $4::timestamptz[], $5::text[])
               ON CONFLICT (service, environment, started_at) DO UPDATE
               SET restored_at = EXCLUDED.restored_at, cause = EXCLUDED.cause""",
            *_columns(changed, 5),
        )


def _difference(
    stored: Sequence[Any], wanted: Mapping[tuple[Any, ...], tuple[Any, ...]], key_size: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The keys of stored rows `wanted` lacks, and the rows of `wanted` stored otherwise
    or not at all (both sorted: one lock order for every instance)."""
    held = {row[:key_size]: row for row in map(tuple, stored)}
    gone = sorted(held.keys() - wanted.keys())
    changed = [row for key, row in sorted(wanted.items()) if held.get(key) != row]
    return gone, changed


def _columns(rows: Sequence[tuple[Any, ...]], size: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(size)]


async def add_artifact_changes(conn: Connection, artifacts: Iterable[Artifact]) -> None:
    """An artifact's set of changes only grows: insert what is new."""
    pairs = sorted({(a.id, c) for a in artifacts for c in a.changes})
    if pairs:
        await conn.execute(
            """INSERT INTO artifact_changes (artifact, change)
               SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING""",
            [a for a, _ in pairs],
            [c for _, c in pairs],
        )


async def add_team_activity(
    conn: Connection, buckets: Mapping[tuple[str, datetime], tuple[int, datetime, datetime]]
) -> None:
    """Add a batch's team activity (`domain.teams.activity_buckets`) to its buckets."""
    if not buckets:
        return
    keys = sorted(buckets)  # one lock order for every instance: no deadlock
    await conn.execute(
        """INSERT INTO team_activity (team, bucket, events, first_at, last_at)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[],
                                $4::timestamptz[], $5::timestamptz[])
           ON CONFLICT (team, bucket) DO UPDATE
           SET events = team_activity.events + EXCLUDED.events,
               first_at = LEAST(team_activity.first_at, EXCLUDED.first_at),
               last_at = GREATEST(team_activity.last_at, EXCLUDED.last_at)""",
        [team for team, _ in keys],
        [bucket for _, bucket in keys],
        [buckets[k][0] for k in keys],
        [buckets[k][1] for k in keys],
        [buckets[k][2] for k in keys],
    )
